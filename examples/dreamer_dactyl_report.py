"""Figures and the baseline comparison of a Dreamer run on Dactyl-v0, from committed CSV/JSON only.

    python examples/dreamer_dactyl_report.py --data docs/dreamer_dactyl --prefix docs/dreamer_dactyl/s11

Reads, in ``--data``: ``episodes.csv``, ``eval.csv`` and ``diagnostics.csv`` (copied from the run's logdir,
written by examples/train_dreamer.py with ``--diag-every``) and the 50-episode evaluations written by
examples/evaluate_dreamer.py --out: ``eval_dreamer.json``, ``eval_random.json``, ``eval_hold.json``
(same env, seeds and timeout). Writes:

* ``<prefix>_curve.png`` — training-episode return and length (rolling means), in-training evaluations
  (consecutive successes, drop rate), the baselines' 50-episode means;
* ``<prefix>_diagnostics.png`` — imagined vs real lambda-returns (all replayed starts, and the states
  before a real drop), the predicted reward and continue at real drop rows (posterior and one-step prior)
  vs the real ones, imagined vs real drop frequency within the horizon, actor entropy;
* ``<data>/comparison.json`` — per metric (consecutive successes, rotation progress) and baseline: the
  difference of means, its standard error ``sqrt(se_a^2 + se_b^2)`` (``se = std(ddof=1) / sqrt(n)``), the
  ratio ``z`` and whether ``z >= 3``; printed as a table.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from plot_dreamer_curve import rolling_mean  # examples/ is on sys.path when run as a script

from world_models.evaluation import compare

METRICS = ("consecutive_successes", "rotation_progress")
BASELINES = ("random", "hold")


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no rows")
    out = {}
    for key in rows[0]:
        try:
            out[key] = np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in rows])
        except ValueError:
            continue
    return out


def nan_rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the finite values among the last ``window`` at each index (NaN where there are none)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    out = np.full(len(values), np.nan)
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        chunk = chunk[np.isfinite(chunk)]
        if chunk.size:
            out[i] = chunk.mean()
    return out


def comparison(data: Path) -> dict[str, Any]:
    evals = {name: json.loads((data / f"eval_{name}.json").read_text()) for name in ("dreamer", *BASELINES)}
    seeds = {name: (e["args"]["seed"], e["args"]["episodes"], e["args"]["env_kwargs"]) for name, e in evals.items()}
    if len(set(seeds.values())) != 1:
        raise ValueError(f"the evaluations differ in seeds / episodes / env kwargs: {seeds}")
    out: dict[str, Any] = {"seeds_episodes_env_kwargs": list(seeds["dreamer"]), "summaries": {}}
    for name, e in evals.items():
        out["summaries"][name] = e["summary"]
    for metric in METRICS:
        for base in BASELINES:
            out[f"{metric}_vs_{base}"] = compare(evals["dreamer"]["episodes"], evals[base]["episodes"], metric)
    out["criterion_met"] = all(out[f"{m}_vs_{b}"]["beats_by_3_se"] for m in METRICS for b in BASELINES)
    return out


def plot_curve(data: Path, out: Path, title: str, window: int, summaries: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = _read_csv(data / "episodes.csv")
    ev = _read_csv(data / "eval.csv") if (data / "eval.csv").exists() else {"timesteps": np.array([])}
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    ax = axes[0]
    ax.plot(ep["timesteps"], ep["return"], ".", ms=2, alpha=0.3, color="tab:blue", label="training episode")
    ax.plot(ep["timesteps"], rolling_mean(ep["return"], window), color="tab:blue", label=f"rolling mean ({window})")
    if "mean_return" in ev:
        ax.plot(ev["timesteps"], ev["mean_return"], "o-", ms=3, color="tab:orange", label="in-training eval")
    for name, style in (("random", ":"), ("hold", "--")):
        if name in summaries:
            ax.axhline(summaries[name]["return_mean"], ls=style, color="gray", label=f"{name} (50 episodes)")
    ax.set_ylabel("episode return")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1]
    if "consecutive_successes" in ev:
        ax.plot(ev["timesteps"], ev["consecutive_successes"], "o-", ms=3, color="tab:orange", label="in-training eval")
    for name, style in (("random", ":"), ("hold", "--")):
        if name in summaries:
            ax.axhline(
                summaries[name]["consecutive_successes_mean"], ls=style, color="gray", label=f"{name} (50 episodes)"
            )
    ax.set_ylabel("consecutive successes")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.plot(ep["timesteps"], rolling_mean(ep["length"], window), color="tab:blue", label="training episode length")
    ax.set_ylabel(f"episode length\n(rolling mean, {window})")
    if "drop_rate" in ev:
        ax2 = ax.twinx()
        ax2.plot(ev["timesteps"], ev["drop_rate"], "o-", ms=3, color="tab:red", label="eval drop rate")
        ax2.set_ylabel("eval drop rate", color="tab:red")
        ax2.set_ylim(-0.05, 1.05)
    ax.set_xlabel("environment steps")
    ax.legend(fontsize=7, loc="upper left")
    for a in axes:
        a.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_diagnostics(data: Path, out: Path, title: str, smooth: int = 5) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = _read_csv(data / "diagnostics.csv")
    x = d["timesteps"]

    def _line(ax: Any, x: np.ndarray, y: np.ndarray, *fmt: str, label: str = "", **kw: Any) -> None:
        # each row is measured on a few replayed windows: thin raw line, thick rolling mean of `smooth` rows
        (raw,) = ax.plot(x, y, *fmt, lw=0.6, alpha=0.35, **kw)
        kw["color"] = raw.get_color()
        ax.plot(x, nan_rolling_mean(y, smooth), *fmt, lw=1.6, label=label, **kw)

    fig, axes = plt.subplots(3, 2, figsize=(11, 10), sharex=True)
    ax = axes[0, 0]
    _line(ax, x, d["imag_return"], label="imagined λ-return (replayed starts)")
    _line(ax, x, d["real_return"], label="real λ-return (same starts)")
    _line(ax, x, d["critic_value"], ":", label="critic value (same starts)")
    ax.set_title("return: imagined vs real, all replayed starts", fontsize=9)
    ax = axes[0, 1]
    _line(ax, x, d["imag_return_pre_event"], label="imagined λ-return")
    _line(ax, x, d["real_return_pre_event"], label="real λ-return")
    _line(ax, x, d["critic_value_pre_event"], ":", label="critic value")
    ax.set_title("the same, on the ≤ H states before a real drop", fontsize=9)
    ax = axes[1, 0]
    _line(ax, x, d["event_reward_real"], color="k", label="real")
    _line(ax, x, d["event_reward_post"], label="predicted, posterior")
    _line(ax, x, d["event_reward_prior"], label="predicted, prior (1 imagined step)")
    ax.set_title("reward at real drop rows", fontsize=9)
    ax = axes[1, 1]
    _line(ax, x, d["event_cont_real"], color="k", label="real (γ · not terminal)")
    _line(ax, x, d["event_cont_post"], label="predicted, posterior")
    _line(ax, x, d["event_cont_prior"], label="predicted, prior (1 imagined step)")
    ax.set_title("continue at real drop rows", fontsize=9)
    ax = axes[2, 0]
    _line(ax, x, d["real_event_frac"], color="k", label="real: a drop within H steps of a replayed start")
    _line(ax, x, d["imag_event_frac"], label="imagined: a predicted drop in the H-step rollout")
    _line(ax, x, d["imag_term_prob"], ":", label="imagined: P(terminal within H) from continue")
    ax.set_title("drop frequency within the horizon", fontsize=9)
    ax.set_xlabel("environment steps")
    ax = axes[2, 1]
    _line(ax, x, d["entropy_post"], label="at replayed posteriors")
    _line(ax, x, d["entropy_imag"], label="along imagination")
    ax.set_title("actor entropy (nats)", fontsize=9)
    ax.set_xlabel("environment steps")
    for a in axes.flat:
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="directory with the CSV and JSON files")
    parser.add_argument("--prefix", required=True, help="figure path prefix (…_curve.png, …_diagnostics.png)")
    parser.add_argument("--title", default="Dreamer (small) on Dactyl-v0, goal z, continuous actions")
    parser.add_argument("--window", type=int, default=30, help="training episodes in the rolling means")
    parser.add_argument("--smooth", type=int, default=5, help="diagnostics rows in the rolling means")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        raise ValueError(f"--data must be a directory, got {args.data!r}")
    result: dict[str, Any] = {}
    summaries: dict[str, Any] = {}
    if all((data / f"eval_{n}.json").exists() for n in ("dreamer", *BASELINES)):
        result = comparison(data)
        summaries = result["summaries"]
        (data / "comparison.json").write_text(json.dumps(result, indent=2))
        print("metric                  vs       agent ± se       baseline ± se    diff ± se        z     >=3 s.e.")
        for metric in METRICS:
            for base in BASELINES:
                c = result[f"{metric}_vs_{base}"]
                print(
                    f"{metric:23s} {base:7s} {c['agent_mean']:+.3f} ± {c['agent_se']:.3f}   "
                    f"{c['baseline_mean']:+.3f} ± {c['baseline_se']:.3f}   {c['difference']:+.3f} ± "
                    f"{c['difference_se']:.3f}   {c['z']:+.2f}  {c['beats_by_3_se']}"
                )
        print(f"criterion (>= 3 s.e. over both baselines in both metrics) met: {result['criterion_met']}")
    else:
        for name in BASELINES:
            path = data / f"eval_{name}.json"
            if path.exists():
                summaries[name] = json.loads(path.read_text())["summary"]
    plot_curve(data, Path(f"{args.prefix}_curve.png"), args.title, args.window, summaries)
    if (data / "diagnostics.csv").exists():
        plot_diagnostics(data, Path(f"{args.prefix}_diagnostics.png"), args.title + ": diagnostics", args.smooth)
    return result


if __name__ == "__main__":
    main()
