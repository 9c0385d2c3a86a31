"""Plot a train_dreamer.py run: training-episode returns (raw and rolling mean), evaluations, baselines.

    python examples/plot_dreamer_curve.py --logdir runs/pixel_reach --out docs/dreamer_pixel_reach_curve.png \
        --baseline random=-49.5 --title "Dreamer (small) on PixelReach-v0, 16x16 pixels"

    python examples/plot_dreamer_curve.py --logdir docs/dreamer_pendulum --out docs/dreamer_pendulum_curve.png \
        --x cpu-minutes --baselines-from docs/dreamer_pendulum/eval_50.json

Reads ``<logdir>/episodes.csv`` and, when present, ``<logdir>/eval.csv``. With ``--length`` a second panel
shows the episode length (on Dactyl-v0 a short episode means an early drop). ``--x cpu-minutes`` puts the
process CPU time (the ``cpu_s`` column of train_dreamer.py's CSVs) on the x axis instead of env steps.
``--baselines-from`` reads an ``examples/evaluate_dreamer.py --baselines ...`` JSON: each baseline's mean
return becomes a dashed line and the evaluated policy's mean a star at the run's last training episode
(where the final checkpoint, the one evaluated, was written).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np


def parse_baseline(text: str) -> tuple[str, float]:
    """``LABEL=VALUE`` → ``(label, value)``."""
    label, sep, value = text.partition("=")
    try:
        if not sep or not label:
            raise ValueError
        return label, float(value)
    except ValueError:
        raise ValueError(f"--baseline must look like LABEL=NUMBER (e.g. random=-49.5), got {text!r}") from None


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each index (fewer at the start)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    sums = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (sums[idx] - sums[lo]) / (idx - lo)


def baselines_from(path: Path) -> tuple[list[tuple[str, float]], tuple[str, float] | None]:
    """Baseline lines and the evaluated policy's ``(label, mean return)`` from an evaluate_dreamer.py JSON."""
    report = json.loads(Path(path).read_text())
    if "summary" not in report or "args" not in report:
        raise ValueError(f"--baselines-from {path} is not an examples/evaluate_dreamer.py JSON (no summary/args)")
    n = report["summary"]["episodes"]
    lines = [
        (f"{name} actions ({b['summary']['episodes']} episodes)", float(b["summary"]["return_mean"]))
        for name, b in report.get("baselines", {}).items()
    ]
    args = report["args"]
    who = f"{args['policy']} actions"
    if args["policy"] == "model":
        who = "Dreamer, " + ("deterministic" if args["deterministic"] else "stochastic")
    return lines, (f"final {who} ({n} episodes)", float(report["summary"]["return_mean"]))


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", required=True, help="run directory written by train_dreamer.py")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--title", default="", help="figure title")
    parser.add_argument("--window", type=int, default=20, help="episodes in the rolling mean")
    parser.add_argument("--baseline", action="append", default=[], help="LABEL=VALUE horizontal line (repeatable)")
    parser.add_argument("--length", action="store_true", help="add a panel with the episode length")
    parser.add_argument("--x", choices=("steps", "cpu-minutes"), default="steps", help="x axis (default: steps)")
    parser.add_argument(
        "--baselines-from", default="", help="evaluate_dreamer.py JSON whose baselines (and final mean) to draw"
    )
    args = parser.parse_args(argv)
    baselines = [parse_baseline(b) for b in args.baseline]
    final = None
    if args.baselines_from:
        from_json, final = baselines_from(Path(args.baselines_from))
        baselines += from_json
    if args.window < 1:
        raise ValueError(f"--window must be >= 1, got {args.window}")
    logdir = Path(args.logdir)
    episodes = _read(logdir / "episodes.csv")
    if not episodes:
        raise ValueError(f"--logdir {logdir} has no episodes.csv with rows (not a train_dreamer.py run?)")
    evals = _read(logdir / "eval.csv")
    xcol = "timesteps" if args.x == "steps" else "cpu_s"
    if xcol not in episodes[0]:
        raise ValueError(
            f"--x {args.x} needs a {xcol!r} column in {logdir / 'episodes.csv'}; it has {list(episodes[0])}"
        )

    def xs(rows: list[dict[str, str]]) -> np.ndarray:
        values = np.array([float(r[xcol]) for r in rows])
        return values if args.x == "steps" else values / 60.0

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = xs(episodes)
    returns = np.array([float(r["return"]) for r in episodes])
    lengths = np.array([int(r["length"]) for r in episodes])
    panels = 2 if args.length else 1
    fig, axes = plt.subplots(panels, 1, figsize=(7, 3.6 * panels), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.plot(steps, returns, lw=0.5, alpha=0.3, color="C0", label="training episode (stochastic)")
    ax.plot(steps, rolling_mean(returns, args.window), lw=1.8, color="C0", label=f"mean of last {args.window}")
    if evals:
        ax.plot(
            xs(evals),
            [float(r["mean_return"]) for r in evals],
            "o-",
            ms=4,
            color="C1",
            label="evaluation (deterministic)",
        )
    for i, (label, value) in enumerate(baselines):
        ax.axhline(value, ls="--", color=f"C{i + 2}", label=label)
    if final is not None:
        ax.plot([steps[-1]], [final[1]], "*", ms=12, color="C1", mec="k", label=final[0])
    ax.set_ylabel("episode return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if args.title:
        ax.set_title(args.title)
    if args.length:
        ax = axes[1, 0]
        ax.plot(steps, lengths, lw=0.5, alpha=0.3, color="C0")
        ax.plot(steps, rolling_mean(lengths, args.window), lw=1.8, color="C0", label=f"mean of last {args.window}")
        ax.set_ylabel("episode length (steps)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("environment steps" if args.x == "steps" else "process CPU time (minutes)")
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
