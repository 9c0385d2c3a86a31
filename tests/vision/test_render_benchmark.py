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
    assert len(rows) == 36  # 3 randomizations x 2 camera counts x 2 sizes x 3 methods
    assert {(r["cameras"], r["size"]) for r in rows} == {(1, 64), (1, 128), (3, 64), (3, 128)}
    base = [r for r in rows if r["cameras"] == 1 and r["size"] == 64 and r["method"] == "per-camera"]
    assert base[0]["ratio"] == 1.0 and all(r["fps"] > 0 for r in rows)
    assert "ratio" in run.stdout
    rand = [r for r in rows if r["randomization"] == "VisualRandomization"]
    assert len(rand) == 12 and all(r["speedup_vs_s11"] > 0 and r["speedup_vs_s11_nocull"] > 0 for r in rand)
    assert {r["method"] for r in rows} == {"per-camera", "one-pass", "one-pass-nocull"}


def test_render_throughput_filters_and_cpu_clock(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "render_throughput.py"), "--seconds", "0.02", "--rounds", "1",
           "--cameras", "3", "--sizes", "64", "--clock", "cpu", "--json", str(out)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["clock"] == "cpu" and len(data["rows"]) == 9
    assert {(r["cameras"], r["size"]) for r in data["rows"]} == {(3, 64)}
