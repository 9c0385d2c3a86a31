"""Print a step-range table of docs/ppo.md from a run's training metrics (means of the rows in each range).

    python examples/ppo_steps_table.py docs/ppo_cpu_metrics.json
    python examples/ppo_steps_table.py runs/ppo_cpu_hour/metrics.csv --ranges 0:20000 990000:1010000
    python examples/ppo_steps_table.py runs/ppo_cpu_hour/metrics.csv --write-json docs/ppo_cpu_hour_metrics.json \
        --source "runs/ppo_cpu_hour/metrics.csv of: python examples/train_ppo.py ..."   # commit a run's metrics

The input is a ``metrics.csv`` written by ``ppo.callbacks.DactylMetricsCallback`` or its committed JSON form
(``{"source", "columns", "rows"}``, e.g. ``docs/ppo_cpu_metrics.json``). Each range ``LO:HI`` (environment
steps, both ends inclusive) becomes one Markdown row: the means over the metrics rows whose ``timesteps`` lie
in it of the return, rotation progress, consecutive successes, success rate, drop rate and episode length
(statistics over the last 100 training episodes at each row). Rotation progress is derived for older logs
that lack the column (``ppo.plots.read_metrics``).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from ppo.plots import read_metrics

#: The ranges of docs/ppo.md's 1M-step table (the all-randomization ablation run).
DEFAULT_RANGES = ("0:20000", "90000:110000", "240000:260000", "490000:510000", "740000:760000", "950000:1000448")
COLUMNS = ("return_mean", "rotation_progress_mean", "consecutive_successes_mean", "success_rate", "drop_rate",
           "episode_length_mean")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (also used by the docs check)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", type=Path, help="metrics.csv of a run, or its committed JSON form")
    parser.add_argument("--ranges", nargs="+", default=list(DEFAULT_RANGES), metavar="LO:HI",
                        help="step ranges, inclusive (default: docs/ppo.md's 1M-step table)")  # fmt: skip
    parser.add_argument("--write-json", type=Path, default=None, metavar="PATH",
                        help="also write the metrics.csv in its committed JSON form to PATH")  # fmt: skip
    parser.add_argument("--source", default=None, help="the JSON form's source note (default: the input path)")
    return parser


def write_json(metrics_csv: Path, out: Path, source: str | None) -> None:
    """Store a metrics.csv as ``{"source", "columns", "rows"}`` JSON (numbers as numbers, empty cells as null)."""
    with metrics_csv.open(newline="") as f:
        reader = csv.reader(f)
        columns = next(reader)
        rows = [[float(v) if v not in ("", "nan") else None for v in row] for row in reader]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"source": source or str(metrics_csv), "columns": columns, "rows": rows}) + "\n")


def parse_range(text: str) -> tuple[float, float]:
    """``"LO:HI"`` -> ``(LO, HI)`` with ``0 <= LO <= HI``."""
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise ValueError(f"ranges: expected LO:HI in environment steps, got {text!r}") from None
    if not 0 <= lo <= hi:
        raise ValueError(f"ranges: expected 0 <= LO <= HI, got {text!r}")
    return lo, hi


def label(lo: float, hi: float) -> str:
    """``0–20k``, ``240k–260k``, ``950k–1M`` (a range ending within 0.1 % past a million reads as 1M)."""

    def short(x: float) -> str:
        if x == 0:
            return "0"
        if 1e6 <= x <= 1.001e6:
            return "1M"
        return f"{x / 1e3:g}k"

    return f"{short(lo)}–{short(hi)}"


def table(rows: list[dict[str, float]], ranges: list[tuple[float, float]]) -> list[str]:
    """One Markdown row per range: means of :data:`COLUMNS` over the rows in it."""
    lines = []
    for lo, hi in ranges:
        sel = [r for r in rows if lo <= r["timesteps"] <= hi]
        if not sel:
            raise ValueError(f"ranges: no metrics rows between {lo:g} and {hi:g} steps")
        m = {k: sum(r[k] for r in sel) / len(sel) for k in COLUMNS}
        lines.append(
            f"| {label(lo, hi)} | {m['return_mean']:+.2f} | {m['rotation_progress_mean']:+.2f} | "
            f"{m['consecutive_successes_mean']:.2f} | {m['success_rate']:.2f} | {m['drop_rate']:.2f} | "
            f"{m['episode_length_mean']:.0f} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.write_json is not None:
        if args.metrics.suffix == ".json":
            raise SystemExit("--write-json converts a metrics.csv; the input is already JSON")
        write_json(args.metrics, args.write_json, args.source)
    print("| steps | return | rotation progress (rad / episode) | consecutive successes | success rate | drop rate "
          "| episode length |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for line in table(read_metrics(args.metrics), [parse_range(r) for r in args.ranges]):
        print(line)


if __name__ == "__main__":
    main()
