"""Collect the evaluations of docs/ppo.md: print its tables, write docs/ppo_eval.json and the comparison figures.

    python examples/ppo_eval_report.py                                  # from runs/eval_*/eval.json
    python examples/ppo_eval_report.py --from-json docs/ppo_eval.json   # from the committed data
    python examples/ppo_eval_report.py --set fidelity                   # the runs on the fixed env (issue 10)
    python examples/ppo_eval_report.py --set fidelity --from-json docs/ppo_fidelity_eval.json
    python examples/ppo_eval_report.py --set rllib                      # RLlib next to SB3 (docs/rllib.md)

Each entry names the command that wrote its ``eval.json`` (run them first; see docs/ppo.md). With
``--from-json`` the tables and figures are regenerated from the committed ``docs/ppo_eval.json`` (which holds
every entry's summary and command), so the published tables can be checked without the runs.
"""

import argparse
import json
import tempfile
from pathlib import Path

from ppo.plots import plot_comparison

CPU = "PPO cpu preset (no rand.), 2.04M steps"
ALL = "PPO cpu --randomization all, 1M steps"
ALL_STOCH = "PPO cpu --randomization all, 1M steps, stochastic"
NORAND = "PPO cpu preset at 1M steps"
E = "python examples/evaluate.py"
POSE = "--pose-model runs/pose64/pose_estimator.pt"

# (table, label, goal timeout, command, output directory)
ENTRIES = [
    ("baselines", CPU, 8, f"{E} --checkpoint runs/ppo_cpu_hour/final --episodes 50 --randomization all "
     "--goal-timeout-s 8 --out runs/eval_hour_8s", "runs/eval_hour_8s"),
    ("baselines", "random actions", 8, f"{E} --policy random --goal z --episodes 50 --goal-timeout-s 8 "
     "--out runs/eval_random_8s",
     "runs/eval_random_8s"),
    ("baselines", "hold still", 8, f"{E} --policy hold --goal z --episodes 50 --goal-timeout-s 8 "
     "--out runs/eval_hold_8s",
     "runs/eval_hold_8s"),
    ("baselines", CPU, 80, f"{E} --checkpoint runs/ppo_cpu_hour/final --episodes 30 --randomization all "
     "--goal-timeout-s 80 --no-video --out runs/eval_hour_80s", "runs/eval_hour_80s"),
    ("baselines", "random actions", 80, f"{E} --policy random --goal z --episodes 30 --goal-timeout-s 80 "
     "--out runs/eval_random_80s", "runs/eval_random_80s"),
    ("baselines", "hold still", 80, f"{E} --policy hold --goal z --episodes 30 --goal-timeout-s 80 --no-video "
     "--out runs/eval_hold_80s", "runs/eval_hold_80s"),
    ("ablation", ALL, 8, f"{E} --checkpoint runs/ppo_cpu/final --episodes 50 --goal-timeout-s 8 --out runs/eval_cpu_8s",
     "runs/eval_cpu_8s"),
    ("ablation", ALL_STOCH, 8, f"{E} --checkpoint runs/ppo_cpu/final --episodes 50 --no-deterministic --no-video "
     "--goal-timeout-s 8 --out runs/eval_cpu_8s_stoch", "runs/eval_cpu_8s_stoch"),
    ("ablation", NORAND, 8, f"{E} --checkpoint runs/ppo_cpu_norand/final --episodes 50 --randomization all "
     "--goal-timeout-s 8 --out runs/eval_norand_8s", "runs/eval_norand_8s"),
    ("ablation", ALL, 80, f"{E} --checkpoint runs/ppo_cpu/final --episodes 30 --goal-timeout-s 80 "
     "--out runs/eval_cpu_80s", "runs/eval_cpu_80s"),
    ("ablation", NORAND, 80, f"{E} --checkpoint runs/ppo_cpu_norand/final --episodes 30 --randomization all "
     "--goal-timeout-s 80 --no-video --out runs/eval_norand_80s", "runs/eval_norand_80s"),
    ("vision", CPU, 8, f"{E} --checkpoint runs/ppo_cpu_hour/final --episodes 50 --conditions nominal,vision {POSE} "
     "--goal-timeout-s 8 --out runs/eval_hour_vision_8s", "runs/eval_hour_vision_8s"),
    ("vision", CPU + ", held-out appearance", 8, f"{E} --checkpoint runs/ppo_cpu_hour/final --episodes 50 "
     f"--conditions vision --vision-appearance held_out {POSE} --no-video --goal-timeout-s 8 "
     "--out runs/eval_hour_vision_heldout_8s",
     "runs/eval_hour_vision_heldout_8s"),
    ("vision", CPU, 80, f"{E} --checkpoint runs/ppo_cpu_hour/final --episodes 10 --conditions nominal,vision {POSE} "
     "--goal-timeout-s 80 --no-video --out runs/eval_hour_vision_80s", "runs/eval_hour_vision_80s"),
]  # fmt: skip

# The cpu-hour run re-measured on the env with the fidelity fixes (hold under load, clean resets, post-step
# observations): the paper's evaluation (100 episodes, 80 s, evaluate.py's defaults) and the training timeout.
FIXED = "PPO cpu preset (no rand.), 55 min, 1.41M steps"
FIXED_2M = "the same, resumed to 2.04M steps"
COND = "--conditions nominal,randomized,shifted"
FIDELITY_ENTRIES = [
    ("fidelity", FIXED, 80, f"{E} --checkpoint runs/ppo_cpu_hour/final --randomization all {COND} "
     "--out runs/ppo_cpu_hour/eval_80s", "runs/ppo_cpu_hour/eval_80s"),
    ("fidelity", "random actions", 80, f"{E} --policy random --goal z {COND} --no-video "
     "--out runs/fixed_eval_random_80s", "runs/fixed_eval_random_80s"),
    ("fidelity", "hold still", 80, f"{E} --policy hold --goal z {COND} --no-video --out runs/fixed_eval_hold_80s",
     "runs/fixed_eval_hold_80s"),
    ("fidelity", FIXED, 8, f"{E} --checkpoint runs/ppo_cpu_hour/final --randomization all {COND} --goal-timeout-s 8 "
     "--no-video --out runs/ppo_cpu_hour/eval_8s", "runs/ppo_cpu_hour/eval_8s"),
    ("fidelity", "random actions", 8, f"{E} --policy random --goal z {COND} --goal-timeout-s 8 --no-video "
     "--out runs/fixed_eval_random_8s", "runs/fixed_eval_random_8s"),
    ("fidelity", "hold still", 8, f"{E} --policy hold --goal z {COND} --goal-timeout-s 8 --no-video "
     "--out runs/fixed_eval_hold_8s", "runs/fixed_eval_hold_8s"),
    # the same run resumed to the issue-4 run's 2.04M steps (python examples/train_ppo.py --resume
    # runs/ppo_cpu_hour/final --logdir runs/ppo_cpu_hour_2m --total-timesteps 2040000 --no-video --no-progress-bar)
    ("fidelity", FIXED_2M, 80, f"{E} --checkpoint runs/ppo_cpu_hour_2m/final --randomization all {COND} --no-video "
     "--out runs/ppo_cpu_hour_2m/eval_80s", "runs/ppo_cpu_hour_2m/eval_80s"),
    ("fidelity", FIXED_2M, 8, f"{E} --checkpoint runs/ppo_cpu_hour_2m/final --randomization all {COND} "
     "--goal-timeout-s 8 --no-video --out runs/ppo_cpu_hour_2m/eval_8s", "runs/ppo_cpu_hour_2m/eval_8s"),
]  # fmt: skip
# RLlib PPO (issue 15) at the SB3 cpu run's budget, next to that run and the baselines on the same seeds.
RLLIB = "RLlib PPO, asymmetric LSTM, cpu preset, 1.41M steps"
ER = "python examples/evaluate_rllib.py"
RLLIB_ENTRIES = [
    ("rllib", RLLIB, 80, f"{ER} --checkpoint runs/rllib_cpu_s12/final --randomization all {COND} "
     "--out runs/rllib_cpu_s12/eval_80s", "runs/rllib_cpu_s12/eval_80s"),
    ("rllib", *FIDELITY_ENTRIES[0][1:]),
    ("rllib", RLLIB, 8, f"{ER} --checkpoint runs/rllib_cpu_s12/final --randomization all {COND} --goal-timeout-s 8 "
     "--out runs/rllib_cpu_s12/eval_8s", "runs/rllib_cpu_s12/eval_8s"),
    ("rllib", *FIDELITY_ENTRIES[3][1:]),
]  # fmt: skip
SETS = {
    "issue4": (ENTRIES, Path("docs/ppo_eval.json")),
    "fidelity": (FIDELITY_ENTRIES, Path("docs/ppo_fidelity_eval.json")),
    "rllib": (RLLIB_ENTRIES, Path("docs/rllib_eval.json")),
}


def row(label: str, timeout: int, condition: str, r: dict, pose: bool) -> str:
    mean, std, median = (r[f"consecutive_successes_{k}"] for k in ("mean", "std", "median"))
    cells = [label, f"{timeout} s", condition, str(r["episodes"]), f"{mean:.2f} ± {std:.2f} / {median:g}"]
    if "consecutive_successes_sem" in r:  # evaluations since the fidelity issue also report the standard error
        cells.append(f"{r['consecutive_successes_sem']:.2f}")
    cells += [f"{r['success_rate']:.2f}", f"{r['drop_rate']:.2f}", f"{r['rotation_progress_mean']:+.2f}",
              f"{r['rotation_error_mean']:.2f}"]  # fmt: skip
    if pose:
        cells.append(f"{r['pose_error_mm_mean']:.1f} / {r['pose_error_deg_mean']:.1f}")
    return "| " + " | ".join(cells) + " |"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (also used by the docs check)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-json", type=Path, default=None, metavar="PATH",
                        help="read the committed summaries (docs/ppo_eval.json) instead of runs/eval_*/eval.json")
    parser.add_argument("--set", default="issue4", choices=tuple(SETS),
                        help="which evaluations: issue4 (docs/ppo.md's first tables), fidelity (the fixed env) or "
                        "rllib (docs/rllib.md: RLlib next to the SB3 cpu run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the collected summaries (default: docs/ppo_eval.json or "
                        "docs/ppo_fidelity_eval.json by --set; not written with --from-json)")
    parser.add_argument("--no-plots", action="store_true", help="print the tables only")  # fmt: skip
    return parser


def collect(entries: list[tuple]) -> list[dict]:
    """The entries (:data:`ENTRIES` or :data:`FIDELITY_ENTRIES`) with their ``eval.json`` summaries (from the runs)."""
    evaluations = []
    for table, label, timeout, command, out in entries:
        report = json.loads((Path(out) / "eval.json").read_text())
        assert report["goal_timeout_s"] == timeout, (out, report["goal_timeout_s"])
        evaluations.append({"table": table, "policy": label, "goal_timeout_s": timeout, "command": command,
                            "checkpoint": report["checkpoint"], "num_timesteps": report["num_timesteps"],
                            "results": report["results"]})  # fmt: skip
    return evaluations


def tables(evaluations: list[dict]) -> dict[str, list[str]]:
    """The Markdown rows of docs/ppo.md's evaluation tables (baselines, ablation, vision; or fidelity)."""
    out: dict[str, list[str]] = {}
    for table in dict.fromkeys(e["table"] for e in evaluations):
        out[table] = [
            row(e["policy"], e["goal_timeout_s"], condition, r, table == "vision")
            for e in evaluations
            if e["table"] == table
            for condition, r in e["results"].items()
        ]
    return out


def plots(evaluations: list[dict]) -> None:
    """docs/ppo_eval.png (8 s) and docs/ppo_eval_80s.png (80 s): the cpu policy against the baselines."""
    labels = {CPU: ("baselines", CPU), ALL: ("ablation", ALL), "random actions": ("baselines", "random actions"),
              "hold still": ("baselines", "hold still")}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        reports = {}
        for i, e in enumerate(evaluations):
            path = Path(tmp) / f"{i}.json"
            path.write_text(json.dumps({"results": e["results"]}))
            reports[(e["table"], e["policy"], e["goal_timeout_s"])] = path
        for timeout, png in ((8, "docs/ppo_eval.png"), (80, "docs/ppo_eval_80s.png")):
            plot_comparison({lab: reports[(t, key, timeout)] for lab, (t, key) in labels.items()}, Path(png),
                            title=f"goal z, goal timeout {timeout} s (same seeds)")  # fmt: skip
            print(png)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    entries, default_out = SETS[args.set]
    out = args.out or default_out
    if args.from_json is not None:
        evaluations = json.loads(args.from_json.read_text())["evaluations"]
    else:
        evaluations = collect(entries)
    for table, lines in tables(evaluations).items():
        print(f"\n{table}:\n")
        print("\n".join(lines))
    if args.from_json is None:
        note = ("goal z, continuous actions, same episode seeds (1000+i) for every policy; randomized = all three "
                "groups of wrappers.dactyl_randomization; shifted = ppo.envs.SHIFTED_PHYSICS + observation noise + "
                "unmodeled effects; vision = nominal world, block pose from runs/pose64/pose_estimator.pt on Table "
                "9-randomized 64 px renders; written by examples/ppo_eval_report.py; see docs/ppo.md")  # fmt: skip
        if args.set in ("fidelity", "rllib"):
            note += "; fidelity: the env after the env-fidelity fixes (docs/env_fidelity.md), evaluate.py defaults"
        if args.set == "rllib":
            note += "; rllib: evaluate_rllib.py (the same conditions and seeds through ppo.rollout), docs/rllib.md"
        out.write_text(json.dumps({"note": note, "evaluations": evaluations}, indent=1))
    if not args.no_plots and args.set == "issue4":
        plots(evaluations)


if __name__ == "__main__":
    main()
