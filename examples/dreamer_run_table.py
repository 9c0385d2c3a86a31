"""Print the Markdown tables of a train_dreamer.py run from its CSVs (and an evaluate_dreamer.py JSON).

    python examples/dreamer_run_table.py --logdir docs/dreamer_pendulum --bin 2000 --threshold -300 \
        --eval-json docs/dreamer_pendulum/eval_50.json

Tables (each row computed from the files, nothing typed by hand):

* training episodes per ``--bin`` env steps: episodes, mean return of the (stochastic) training episodes, and
  the update count and process CPU minutes of the bin's last episode;
* the in-training deterministic evaluations (``eval.csv``; with ``--eval-rows-every N`` only those at multiples
  of N env steps, and the last) and the end of the run (``final.csv``);
* with ``--threshold``: the first evaluation at or above it (env steps, updates, CPU minutes);
* with ``--eval-json``: the evaluated policy and its baselines (mean ± std / median, and the difference to
  each baseline with its standard error, as examples/evaluate_dreamer.py computed them).

The docs quote these rows verbatim; tests/world_models/test_examples.py checks that they still match.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def _minutes(row: dict[str, str]) -> str:
    return f"{float(row['cpu_s']) / 60:.1f}" if row.get("cpu_s") else "–"


def episode_rows(episodes: list[dict[str, str]], bin_steps: int) -> list[str]:
    """One row per ``bin_steps`` env steps (by the step count at each episode's end)."""
    rows = [
        "| env steps | training episodes | mean return (stochastic) | updates at end | CPU min at end |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    bins: dict[int, list[dict[str, str]]] = {}
    for r in episodes:
        bins.setdefault((int(r["timesteps"]) - 1) // bin_steps, []).append(r)
    for b in sorted(bins):
        group = bins[b]
        mean = sum(float(r["return"]) for r in group) / len(group)
        lo, hi = b * bin_steps, (b + 1) * bin_steps
        rows.append(
            f"| {lo / 1000:g}k–{hi / 1000:g}k | {len(group)} | {mean:.1f} | {group[-1]['updates']} | "
            f"{_minutes(group[-1])} |"
        )
    return rows


def eval_rows(evals: list[dict[str, str]], final: list[dict[str, str]], every: int = 0) -> list[str]:
    """The in-training evaluations (those at multiples of ``every`` env steps and the last; all if 0) and the
    final one."""
    rows = [
        "| env steps | updates | CPU min | deterministic return |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for i, r in enumerate(evals):
        if every and int(r["timesteps"]) % every and i != len(evals) - 1:
            continue
        rows.append(f"| {r['timesteps']} | {r['updates']} | {_minutes(r)} | {float(r['mean_return']):.1f} |")
    for r in final:
        rows.append(
            f"| {r['timesteps']} (end) | {r['updates']} | {_minutes(r)} | "
            f"{float(r['eval_10_episodes_mean_return']):.1f} (10 episodes) |"
        )
    return rows


def threshold_line(evals: list[dict[str, str]], threshold: float) -> str:
    for r in evals:
        if float(r["mean_return"]) >= threshold:
            return (
                f"first evaluation >= {threshold:g}: {float(r['mean_return']):.1f} at {r['timesteps']} env steps, "
                f"{r['updates']} updates, {_minutes(r)} CPU min"
            )
    return f"no evaluation >= {threshold:g}"


def _summary_cell(s: dict[str, float]) -> str:
    return f"{s['return_mean']:.2f} ± {s['return_std']:.2f} / {s['return_median']:.2f}"


def json_rows(report: dict) -> list[str]:
    """The evaluated policy and each baseline of an evaluate_dreamer.py JSON."""
    args, n = report["args"], report["summary"]["episodes"]
    who = f"{args['policy']} actions"
    if args["policy"] == "model":
        mode = "deterministic" if args["deterministic"] else "stochastic"
        who = f"Dreamer, {report.get('num_timesteps', '?')} env steps, {mode}"
    rows = [
        f"| policy ({n} episodes, seeds {args['seed']}–{args['seed'] + n - 1}) | return (mean ± std / median) "
        "| first row − this row (± s.e.) |",
        "| --- | --- | ---: |",
        f"| {who} | {_summary_cell(report['summary'])} | |",
    ]
    for name, base in report.get("baselines", {}).items():
        cmp = report["comparison"][name]
        z = cmp["z"]
        z_text = "inf" if math.isinf(z) else f"{z:.1f}"
        rows.append(
            f"| {name} actions | {_summary_cell(base['summary'])} | "
            f"{cmp['return_difference']:+.2f} ± {cmp['standard_error']:.2f} (z = {z_text}) |"
        )
    return rows


def tables(logdir: Path, bin_steps: int, threshold: float | None, eval_json: str, eval_every: int = 0) -> list[str]:
    episodes = _read(logdir / "episodes.csv")
    if not episodes:
        raise ValueError(f"--logdir {logdir} has no episodes.csv with rows (not a train_dreamer.py run?)")
    lines = [*episode_rows(episodes, bin_steps), ""]
    evals = _read(logdir / "eval.csv")
    final = _read(logdir / "final.csv")
    if evals or final:
        lines += [*eval_rows(evals, final, eval_every), ""]
    if threshold is not None:
        lines += [threshold_line(evals, threshold), ""]
    if eval_json:
        lines += json_rows(json.loads(Path(eval_json).read_text()))
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", required=True, help="run directory (episodes.csv, eval.csv, final.csv)")
    parser.add_argument("--bin", type=int, default=5000, help="env steps per row of the training-episode table")
    parser.add_argument(
        "--eval-rows-every", type=int, default=0, help="list only evaluations at multiples of this many env steps"
    )
    parser.add_argument("--threshold", type=float, default=None, help="report the first evaluation >= this")
    parser.add_argument("--eval-json", default="", help="examples/evaluate_dreamer.py JSON to tabulate")
    args = parser.parse_args(argv)
    if args.bin < 1:
        raise ValueError(f"--bin must be >= 1 env steps, got {args.bin}")
    if args.eval_rows_every < 0:
        raise ValueError(f"--eval-rows-every must be >= 0 env steps (0: every evaluation), got {args.eval_rows_every}")
    lines = tables(Path(args.logdir), args.bin, args.threshold, args.eval_json, args.eval_rows_every)
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main()
