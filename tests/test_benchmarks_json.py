"""Each benchmark's ``--json PATH`` writes the figures it printed, with its command and the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, script: str, *args: str) -> tuple[str, dict]:
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args, "--json", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["command"].startswith(f"python benchmarks/{script} ") and "--json" in record["command"]
    assert record["machine"]["cpus"] >= 1 and "utc" in record
    return proc.stdout, record


def test_env_throughput_json(tmp_path: Path) -> None:
    stdout, r = _run(tmp_path, "env_throughput.py", "--steps", "40", "--repeats", "1", "--clock", "cpu")
    assert r["clock"] == "cpu" and r["steps"] == 40
    assert r["ratio_env_to_floor"] == pytest.approx(r["env_steps_per_s"] / r["floor_steps_per_s"])
    assert f"ratio env / floor: {r['ratio_env_to_floor']:.3f}" in stdout


def test_wrapper_overhead_json(tmp_path: Path) -> None:
    stdout, r = _run(tmp_path, "wrapper_overhead.py", "--steps", "20", "--rounds", "1")
    full = r["variants"]["full stack (dactyl_randomization)"]
    assert r["clock"] == "wall" and r["variants"]["bare Dactyl-v0"]["ratio_to_bare"] == 1.0
    assert full["ratio_to_bare"] == r["ratio_full_stack_to_bare"]
    assert 0 < r["full_stack_share_in_env_step"] <= 1
    assert f"full stack / bare throughput ratio: {r['ratio_full_stack_to_bare']:.3f}" in stdout


def test_dreamer_throughput_json(tmp_path: Path) -> None:
    _, r = _run(tmp_path, "dreamer_throughput.py", "--presets", "tiny", "--updates", "1", "--repeats", "1",
                "--env-steps", "10")  # fmt: skip
    (row,) = r["rows"]
    assert r["device"] == "cpu" and row["preset"] == "tiny" and row["updates_per_s"] > 0
    assert row["speedup_over_naive"] == pytest.approx(row["updates_per_s"] / row["naive_updates_per_s"])
