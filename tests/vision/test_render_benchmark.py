"""Smoke test: the render benchmark runs end to end with a tiny budget."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_render_throughput_script(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "render_throughput.py"), "--seconds", "0.02", "--rounds", "1",
           "--json", str(out)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 16
    assert {(r["cameras"], r["size"]) for r in rows} == {(1, 64), (1, 128), (3, 64), (3, 128)}
    base = [r for r in rows if r["cameras"] == 1 and r["size"] == 64 and r["method"] == "per-camera"]
    assert base[0]["ratio"] == 1.0 and all(r["fps"] > 0 for r in rows)
    assert "ratio" in run.stdout
