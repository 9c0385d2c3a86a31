"""The three-way transfer comparison of docs/adr.md: unrandomized vs full randomization vs ADR, on held-out worlds.

    python examples/adr_report.py                                 # from the runs' eval.json -> docs/adr_eval.json
    python examples/adr_report.py --from-json docs/adr_eval.json  # the published table, from the committed data

Reads each policy's ``eval.json`` (the commands are in :data:`POLICIES`; run them first, see docs/adr.md), prints
one Markdown table (consecutive successes mean ± std / median and the standard error, per condition), the
target check of issue 12 (ADR keeps >= 2x the unrandomized policy's consecutive successes in every held-out
world while losing <= 30 % of its nominal score) and the ADR entropy reached; writes ``docs/adr_eval.json`` and,
from the committed training metrics, ``docs/adr_curves.png`` (training curves of the three runs) and
``docs/adr_eval.png`` (the evaluation as bars). Nothing is tuned to the test: every number is read from files.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path
from typing import Any

from ppo.plots import plot_comparison, plot_runs

E = "python examples/evaluate.py"
COND = "--conditions nominal,randomized,shifted,weak_actuators,slippery_heavy --randomization all --no-video"
CONDITIONS = ("nominal", "randomized", "shifted", "weak_actuators", "slippery_heavy")
HELD_OUT = ("shifted", "weak_actuators", "slippery_heavy")

#: name -> (label, evaluation command, its output directory, committed training metrics (JSON form) in order)
POLICIES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "cpu_norand": (
        "(a) unrandomized (cpu preset)",
        f"{E} --checkpoint policies/cpu_norand {COND} --out runs/adr_eval/cpu_norand_1m4",
        "runs/adr_eval/cpu_norand_1m4",
        ("docs/ppo_cpu_hour_metrics.json",),
    ),
    "cpu_fullrand": (
        "(b) full randomization from the start",
        f"{E} --checkpoint policies/cpu_fullrand {COND} --out runs/adr_eval/cpu_fullrand",
        "runs/adr_eval/cpu_fullrand",
        ("docs/adr_runs/cpu_fullrand_metrics.json",),
    ),
    "cpu_adr": (
        "(c) ADR (cpu-adr preset)",
        f"{E} --checkpoint policies/cpu_adr {COND} --out runs/adr_eval/cpu_adr",
        "runs/adr_eval/cpu_adr",
        ("docs/adr_runs/cpu_adr_metrics.json",),
    ),
    "cpu_adr_2m": (
        "(c) resumed to 2.04M steps (reference)",
        f"{E} --checkpoint policies/cpu_adr_2m {COND} --out runs/adr_eval/cpu_adr_2m",
        "runs/adr_eval/cpu_adr_2m",
        (),
    ),
    "cpu_norand_2m": (
        "(a) resumed to 2.04M steps (reference)",
        f"{E} --checkpoint policies/cpu_norand_2m {COND} --out runs/adr_eval/cpu_norand",
        "runs/adr_eval/cpu_norand",
        (),
    ),
    "random": (
        "random actions",
        f"{E} --policy random --goal z {COND} --out runs/adr_eval/random",
        "runs/adr_eval/random",
        (),
    ),
}
#: The ADR run's range log (the committed copy of runs/adr3_adr*/adr.csv, every logged rollout).
ADR_LOG = "docs/adr_runs/cpu_adr_adr.csv"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (also used by the docs check)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-json", type=Path, default=None, metavar="PATH",
                        help="read the committed summaries (docs/adr_eval.json) instead of the runs' eval.json")
    parser.add_argument("--out", type=Path, default=Path("docs/adr_eval.json"),
                        help="where to write the collected summaries (not written with --from-json)")
    parser.add_argument("--no-plots", action="store_true", help="print the table only")  # fmt: skip
    return parser


def collect() -> list[dict[str, Any]]:
    """Every policy's evaluation summary, read from its ``eval.json``."""
    evaluations = []
    for name, (label, command, out, _) in POLICIES.items():
        report = json.loads((Path(out) / "eval.json").read_text())
        missing = [c for c in CONDITIONS if c not in report["results"]]
        if missing or report["goal_timeout_s"] != 80 or any(r["episodes"] != 100 for r in report["results"].values()):
            raise ValueError(f"{out}/eval.json is not the paper's evaluation of every condition (missing {missing})")
        evaluations.append({"name": name, "policy": label, "command": command, "checkpoint": report["checkpoint"],
                            "num_timesteps": report["num_timesteps"], "results": report["results"]})  # fmt: skip
    return evaluations


def adr_entropy(path: Path = Path(ADR_LOG)) -> dict[str, float] | None:
    """The ADR run's last logged entropy (absolute and relative, nats per dimension) and how its bounds moved."""
    if not path.is_file():
        return None
    with path.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    last, first = rows[-1], rows[0]
    widened = [k[: -len("_low")] for k in last if k.endswith("_low")
               and (last[k] != first[k] or last[k[: -len("_low")] + "_high"] != first[k[: -len("_low")] + "_high"])]
    return {"timesteps": float(last["timesteps"]), "entropy": float(last["entropy"]),
            "entropy_relative": float(last["entropy_relative"]), "results": float(last["results"]),
            "widened": float(last["widened"]), "narrowed": float(last["narrowed"]),
            "parameters_moved": widened,
            "peak_entropy_relative": max(float(r["entropy_relative"]) for r in rows)}  # fmt: skip


def cell(r: dict[str, Any]) -> str:
    """``mean ± std / median (s.e.m.)`` of the consecutive successes, plus the drop rate."""
    return (f"{r['consecutive_successes_mean']:.2f} ± {r['consecutive_successes_std']:.2f} / "
            f"{r['consecutive_successes_median']:g} ({r['consecutive_successes_sem']:.2f}); "
            f"drops {r['drop_rate']:.0%}")  # fmt: skip


def table(evaluations: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of docs/adr.md and the README: one row per policy, one column per condition."""
    lines = ["| policy | steps | " + " | ".join(CONDITIONS) + " |", "|---|---|" + "---|" * len(CONDITIONS)]
    for e in evaluations:
        steps = f"{e['num_timesteps'] / 1e6:.2f}M" if e["num_timesteps"] else "-"
        lines.append(f"| {e['policy']} | {steps} | " + " | ".join(cell(e["results"][c]) for c in CONDITIONS) + " |")
    return lines


def targets(evaluations: list[dict[str, Any]]) -> dict[str, Any]:
    """Issue 12's targets: ADR >= 2x the unrandomized policy in every held-out world, >= 0.7x of it nominal."""
    by = {e["name"]: e["results"] for e in evaluations}
    a, c = by["cpu_norand"], by["cpu_adr"]

    def ratio(x: float, y: float) -> float | None:
        return x / y if y > 0 else None

    held = {w: ratio(c[w]["consecutive_successes_mean"], a[w]["consecutive_successes_mean"]) for w in HELD_OUT}
    nominal = ratio(c["nominal"]["consecutive_successes_mean"], a["nominal"]["consecutive_successes_mean"])
    return {
        "adr_over_unrandomized_held_out": held,
        "adr_over_unrandomized_nominal": nominal,
        "held_out_target_met": all(v is not None and v >= 2.0 for v in held.values()),
        "nominal_target_met": nominal is not None and nominal >= 0.7,
    }


def plots(evaluations: list[dict[str, Any]]) -> None:
    """docs/adr_curves.png (training curves, from the committed metrics) and docs/adr_eval.png (bars)."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for name, (label, _, _, metrics) in POLICIES.items():
            if not metrics:
                continue
            rows = []
            for path in metrics:
                data = json.loads(Path(path).read_text())
                rows += [dict(zip(data["columns"], r, strict=True)) for r in data["rows"]]
            csv_path = Path(tmp) / f"{name}.csv"
            with csv_path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            runs[label] = csv_path
        print(plot_runs(runs, Path("docs/adr_curves.png"), title="goal z, cpu preset sizes: training curves"))
        reports = {}
        for e in evaluations:
            path = Path(tmp) / f"{e['name']}.json"
            path.write_text(json.dumps({"results": e["results"]}))
            reports[e["policy"]] = path
        print(plot_comparison(reports, Path("docs/adr_eval.png"), title="paper evaluation: 100 episodes, 80 s"))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print the table, the target check and the ADR entropy; write the JSON and the figures."""
    args = build_parser().parse_args(argv)
    if args.from_json is not None:
        data = json.loads(args.from_json.read_text())
        evaluations = data["evaluations"]
    else:
        evaluations = collect()
        data = {
            "note": ("goal z, continuous actions, evaluate.py's paper settings (100 episodes, 80 s timeout), same "
                     "episode seeds (1000+i) for every policy; randomized = all groups of "
                     "wrappers.dactyl_randomization at scale 1 (= ADR fully expanded); held-out worlds = "
                     "ppo.envs.HELD_OUT_WORLDS; cell = "
                     "consecutive successes mean ± std (ddof 0) / median (s.e.m.); written by examples/adr_report.py"),
            "evaluations": evaluations,
            "targets": targets(evaluations),
            "adr": adr_entropy(),
        }  # fmt: skip
        args.out.write_text(json.dumps(data, indent=1))
    print("\n".join(table(evaluations)))
    print(json.dumps({"targets": data["targets"], "adr": data["adr"]}, indent=1))
    if not args.no_plots and args.from_json is None:
        plots(evaluations)
    return data


if __name__ == "__main__":
    main()
