"""Smoke test: the real example script with a tiny budget (CleanRL style)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gym_dactyl.vision.pose_net import load_pose_net

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_train_pose_estimator_script(tmp_path):
    cmd = [
        sys.executable, str(ROOT / "examples" / "train_pose_estimator.py"), "--out", str(tmp_path),
        "--num-samples", "24", "--num-test", "4", "--epochs", "2", "--batch-size", "8",
        "--channels", "8,8,8", "--no-progress",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Dactyl Table 6 (real)" in run.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["test"]) == {"table9", "nominal", "held_out", "visual_randomization"}
    assert len(metrics["history"]) == 2
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert payload["epoch"] == 2
    net = load_pose_net(tmp_path / "pose_estimator.pt")
    assert net.config.channels == (8, 8, 8)
    # a rerun resumes from the checkpoint and reuses the rendered shards
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert rerun.returncode == 0 and "resumed from" in rerun.stdout


def test_invalid_arguments_name_the_argument(tmp_path):
    script = str(ROOT / "examples" / "train_pose_estimator.py")
    for flag, value, name in (("--image-size", "32", "image_size"), ("--epochs", "0", "epochs")):
        run = subprocess.run([sys.executable, script, "--out", str(tmp_path), flag, value], capture_output=True,
                             text=True, timeout=120, cwd=ROOT)  # fmt: skip
        assert run.returncode != 0 and name in run.stderr
