"""Smoke test: the rollout-inference benchmark runs, its three sb3/lean ways agree bitwise, the fused cell to 1e-5."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ppo_inference_script(tmp_path):
    out = tmp_path / "inference.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "ppo_inference.py"), "--calls", "3", "--blocks", "2",
           "--json", str(out)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["bitwise_equal"] is True
    assert data["fused_max_abs_diff"] < 1e-5  # equal to rounding: the products are summed in another order
    assert set(data["median_cpu_us_per_step"]) == {"sb3_forward", "sb3_split", "lean", "fused"}
    assert all(len(v) == 2 for v in data["cpu_us_per_step"].values())
    assert "lean/fused" in run.stdout


def test_ppo_inference_rejects_bad_counts():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "ppo_inference.py"), "--calls", "0"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode != 0 and "--calls must be >= 1, got 0" in run.stderr
