"""Smoke tests: the example scripts run end to end with a tiny budget."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_train_resume_and_dream(tmp_path):
    logdir = tmp_path / "run"
    common = [
        "examples/train_dreamer.py",
        "--preset",
        "tiny",
        "--logdir",
        str(logdir),
        "--no-progress-bar",
        "--eval-every",
        "100",
        "--eval-episodes",
        "1",
        "--checkpoint-every",
        "100",
        "--train-ratio",
        "8",
    ]
    out = _run(*common, "--env", "CartPole-v1", "--total-timesteps", "150")
    assert "done: 150 env steps" in out
    for name in (
        "checkpoint.pt",
        "checkpoint.pt.replay.npz",
        "episodes.csv",
        "eval.csv",
        "learning_curve.png",
    ):
        assert (logdir / name).exists(), name
    out = _run(*common, "--env", "CartPole-v1", "--total-timesteps", "200", "--resume")
    assert "resumed from" in out and "done: 200 env steps" in out
    dream = tmp_path / "dream"
    out = _run(
        "examples/dream.py",
        "--checkpoint",
        str(logdir / "checkpoint.pt"),
        "--env",
        "CartPole-v1",
        "--horizon",
        "5",
        "--context",
        "3",
        "--out",
        str(dream),
    )
    assert (dream / "dream.mp4").stat().st_size > 0 and (dream / "dream_reward.png").exists()
