"""``examples/merge_evals.py``: an evaluation split by seed merges into the report one process would write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from merge_evals import merge
from ppo.rollout import summarize

ROOT = Path(__file__).resolve().parents[2]


def _episode(cs: int, dropped: bool = False) -> dict:
    return {"consecutive_successes": cs, "dropped": dropped, "length": 10 + cs, "return": float(cs),
            "rotation_progress": 0.5 * cs, "rotation_error_mean": 1.0, "final_rotation_error": 1.0, "end": "timeout",
            "pose_error_mm": 5.0 + cs, "pose_error_deg": 10.0}  # fmt: skip


def _report(seed: int, counts: list[int], **overrides) -> dict:
    args = {"checkpoint": "policies/p", "policy": "model", "conditions": "vision", "episodes": len(counts),
            "goal_timeout_s": 80.0, "seed": seed, "out": f"runs/e{seed}", "pose_model": "m.pt",
            "vision_appearance": "table9", **overrides}  # fmt: skip
    eps = [_episode(c, dropped=c == 0) for c in counts]
    return {"policy": "model", "checkpoint": "policies/p", "num_timesteps": 7, "goal_timeout_s": 80.0,
            "pose_model": "m.pt", "vision_appearance": "table9", "args": args,
            "results": {"vision": summarize(eps)}, "episodes": {"vision": eps}}  # fmt: skip


def test_merge_recomputes_the_summary_over_all_episodes_in_seed_order() -> None:
    a, b, c = _report(1000, [3, 0, 5]), _report(1003, [1, 2]), _report(1005, [7])
    merged = merge([b, c, a])  # any order: sorted by seed
    eps = merged["episodes"]["vision"]
    assert [e["consecutive_successes"] for e in eps] == [3, 0, 5, 1, 2, 7]
    assert merged["results"]["vision"] == summarize(eps)
    assert merged["results"]["vision"]["consecutive_successes_mean"] == pytest.approx(18 / 6)
    assert merged["args"]["seed"] == 1000 and merged["args"]["episodes"] == 6
    assert [p["seed"] for p in merged["merged_from"]] == [1000, 1003, 1005]


def test_merge_refuses_parts_that_are_not_one_evaluation() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        merge([_report(1000, [1])])
    with pytest.raises(ValueError, match="seed ranges must be consecutive: a part starts at seed 1004, expected 1002"):
        merge([_report(1000, [1, 2]), _report(1004, [1])])
    with pytest.raises(ValueError, match="seed ranges must be consecutive"):  # overlapping
        merge([_report(1000, [1, 2]), _report(1001, [1])])
    with pytest.raises(ValueError, match="arguments differ in \\['goal_timeout_s'\\]"):
        merge([_report(1000, [1]), _report(1001, [1], goal_timeout_s=8.0)])
    other = _report(1001, [1])
    other["num_timesteps"] = 8
    with pytest.raises(ValueError, match="num_timesteps differ"):
        merge([_report(1000, [1]), other])
    short = _report(1001, [1, 2])
    short["episodes"]["vision"].pop()
    with pytest.raises(ValueError, match="1 vision episodes, its --episodes is 2"):
        merge([_report(1000, [1]), short])


def test_merge_script_writes_the_merged_report(tmp_path: Path) -> None:
    paths = []
    for i, rep in enumerate((_report(1000, [2, 4]), _report(1002, [6]))):
        paths.append(tmp_path / f"p{i}.json")
        paths[-1].write_text(json.dumps(rep))
    out = tmp_path / "m" / "eval.json"
    cmd = [sys.executable, str(ROOT / "examples" / "merge_evals.py"), *map(str, paths), "--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "consecutive successes 4.00" in run.stdout
    assert json.loads(out.read_text())["results"]["vision"]["episodes"] == 3
