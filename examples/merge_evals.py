"""Merge ``eval.json`` files of ``examples/evaluate.py`` that split one evaluation's episodes by seed.

A paper-setting evaluation (100 episodes, 80 s goal timeout) from pixels takes tens of CPU-minutes; run it as
processes over consecutive seed ranges and merge them into the ``eval.json`` one process would have written:

    python examples/evaluate.py ... --episodes 50 --seed 1000 --out runs/a
    python examples/evaluate.py ... --episodes 50 --seed 1050 --out runs/b
    python examples/merge_evals.py runs/a/eval.json runs/b/eval.json --out runs/ab/eval.json

The parts must agree on every argument except ``seed``, ``episodes`` and ``out`` (and on what the checkpoint
was), and their seed ranges must be consecutive (sorted by seed, each part starts where the previous one ended), so
the merged episodes are exactly seeds ``first seed + i``. Summaries are recomputed with
:func:`ppo.rollout.summarize` from the per-episode records; nothing is averaged from the parts' summaries.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ppo.rollout import summarize

#: arguments that may differ between the parts
PER_PART = ("seed", "episodes", "out")


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from ``reports`` (``evaluate.py``'s ``eval.json`` contents) over consecutive seed ranges.

    Raises:
        ValueError: fewer than two reports, arguments or checkpoints that differ, seed ranges that are not
            consecutive, or episode lists that do not match the parts' ``episodes`` argument.
    """
    if len(reports) < 2:
        raise ValueError(f"reports must hold at least 2 eval.json contents, got {len(reports)}")
    parts = sorted(reports, key=lambda r: r["args"]["seed"])
    first = parts[0]
    same = {k: v for k, v in first["args"].items() if k not in PER_PART}
    for part in parts[1:]:
        other = {k: v for k, v in part["args"].items() if k not in PER_PART}
        if other != same:
            diff = sorted(k for k in same.keys() | other.keys() if same.get(k) != other.get(k))
            raise ValueError(f"the parts' arguments differ in {diff}: they are not one evaluation")
        for key in ("checkpoint", "num_timesteps", "policy", "goal_timeout_s", "pose_model", "vision_appearance"):
            if part.get(key) != first.get(key):
                raise ValueError(f"the parts' {key} differ: {first.get(key)!r} vs {part.get(key)!r}")
    expected = first["args"]["seed"]
    for part in parts:
        seed, n = part["args"]["seed"], part["args"]["episodes"]
        if seed != expected:
            raise ValueError(f"seed ranges must be consecutive: a part starts at seed {seed}, expected {expected}")
        for condition, episodes in part["episodes"].items():
            if len(episodes) != n:
                raise ValueError(f"part at seed {seed}: {len(episodes)} {condition} episodes, its --episodes is {n}")
        expected = seed + n
    conditions = list(first["episodes"])
    if any(list(p["episodes"]) != conditions for p in parts):
        raise ValueError("the parts evaluated different conditions")
    episodes = {c: [e for p in parts for e in p["episodes"][c]] for c in conditions}
    merged = {k: v for k, v in first.items() if k not in ("results", "episodes", "args")}
    merged["args"] = {**first["args"], "episodes": expected - first["args"]["seed"], "out": None}
    merged["merged_from"] = [{"seed": p["args"]["seed"], "episodes": p["args"]["episodes"],
                              "out": p["args"]["out"]} for p in parts]  # fmt: skip
    merged["results"] = {c: summarize(eps) for c, eps in episodes.items()}
    merged["episodes"] = episodes
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="+", type=Path, help="eval.json files of evaluate.py")
    parser.add_argument("--out", type=Path, required=True, help="merged eval.json (written atomically)")
    args = parser.parse_args()
    merged = merge([json.loads(p.read_text()) for p in args.parts])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=args.out.parent, delete=False, suffix=".tmp") as f:
        json.dump(merged, f, indent=2)
    os.replace(f.name, args.out)
    for condition, r in merged["results"].items():
        print(f"{condition:<12} {r['episodes']:>4} episodes  "
              f"consecutive successes {r['consecutive_successes_mean']:.2f} "
              f"± {r['consecutive_successes_std']:.2f} / {r['consecutive_successes_median']:g} "
              f"(s.e.m. {r['consecutive_successes_sem']:.2f})  drops {r['drop_rate']:.2f}  "
              f"pose error {r['pose_error_mm_mean']:.1f} mm / {r['pose_error_deg_mean']:.1f} deg")
    print(f"merged: {args.out}")


if __name__ == "__main__":
    main()
