"""Smoke test: the real example script with a tiny budget (CleanRL style)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dactyl_vision.dataset import shard_meta
from dactyl_vision.pose_net import load_pose_net
from gym_dactyl.constants import CAMERA_NAMES, CLOSE_CAMERA_NAMES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_train_pose_estimator_script_smoke(tmp_path):
    cmd = [
        sys.executable, str(ROOT / "examples" / "train_pose_estimator.py"), "--out", str(tmp_path),
        "--num-samples", "24", "--num-test", "4", "--epochs", "2", "--batch-size", "8",
        "--channels", "8,8,8", "--no-progress",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Dactyl Table 6 (real)" in run.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["test"]) == {"table9", "nominal", "held_out"}
    assert len(metrics["history"]) == 2
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert payload["epoch"] == 2
    net = load_pose_net(tmp_path / "pose_estimator.pt")
    assert net.config.channels == (8, 8, 8)
    # a rerun resumes from the checkpoint and reuses the rendered shards
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert rerun.returncode == 0 and "resumed from" in rerun.stdout
    # a smaller run on the shared data takes the first samples of the stored set, with the geodesic loss
    small = [*cmd[:3], str(tmp_path / "small"), "--data", str(tmp_path / "data"), *cmd[4:], "--rot-loss", "geodesic"]
    small[small.index("--num-samples") + 1] = "20"
    run = subprocess.run(small, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    metrics = json.loads((tmp_path / "small" / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_val"] == 20 and metrics["args"]["rot_loss"] == "geodesic"
    assert not (tmp_path / "small" / "data").exists()
    # the close cameras: the shared wide data is refused (its cameras differ); their own data and a model that
    # records them
    close = [*small, "--cameras", "close"]
    run = subprocess.run(close, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode != 0 and "different dataset" in run.stderr
    close[close.index("--data") + 1] = str(tmp_path / "close_data")
    close[close.index("--out") + 1] = str(tmp_path / "close")
    run = subprocess.run(close, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert load_pose_net(tmp_path / "close" / "pose_estimator.pt").config.camera_names == CLOSE_CAMERA_NAMES
    assert shard_meta(tmp_path / "close_data" / "test_held_out")["camera_names"] == list(CLOSE_CAMERA_NAMES)
    assert shard_meta(tmp_path / "data" / "test_held_out")["camera_names"] == list(CAMERA_NAMES)
    wrong = [*close, "--eval-only", "--cameras", "wide"]  # the last --cameras wins
    wrong[wrong.index("--data") + 1] = str(tmp_path / "data")
    run = subprocess.run(wrong, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode != 0 and "was trained on" in run.stderr


def test_invalid_arguments_name_the_argument(tmp_path):
    script = str(ROOT / "examples" / "train_pose_estimator.py")
    for flag, value, name in (("--image-size", "32", "image_size"), ("--epochs", "0", "epochs"),
                              ("--rot-loss", "l1", "rot_loss"), ("--color-gain", "1.0", "color_gain"),
                              ("--color-gain", "-0.1", "color_gain"), ("--cameras", "fisheye", "cameras")):  # fmt: skip
        run = subprocess.run([sys.executable, script, "--out", str(tmp_path), flag, value], capture_output=True,
                             text=True, timeout=120, cwd=ROOT)  # fmt: skip
        assert run.returncode != 0 and name in run.stderr


def test_color_gain_scales_channels_and_leaves_the_default_stream_alone():
    """``augment(color_gain=0)`` is the earlier augmentation draw for draw; ``g > 0`` scales each camera image's
    channels by gains within [1 - g, 1 + g] (seen with contrast and noise cancelled out)."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from train_pose_estimator import augment
    finally:
        sys.path.remove(str(ROOT / "examples"))
    images = torch.full((5, 3, 4, 4, 3), 100, dtype=torch.uint8)
    a = augment(images, torch.Generator().manual_seed(0))
    b = augment(images, torch.Generator().manual_seed(0), color_gain=0.0)
    assert torch.equal(a, b)
    gen = torch.Generator().manual_seed(1)
    big = torch.full((5, 3, 32, 32, 3), 100, dtype=torch.uint8)
    out = augment(big, gen, color_gain=0.3)
    assert out.shape == big.shape and out.dtype == torch.float32
    # per-channel means of a flat grey image: the gains (±30 %), spread by contrast (50-150 % about the image's mean)
    # and the zero-mean noise (σ ≤ 25.5 over 1,024 pixels); without gains all three channels would be equal
    gains = out.mean(dim=(2, 3)) / 100.0
    assert ((gains > 0.4) & (gains < 1.6)).all() and (gains.max(-1).values - gains.min(-1).values > 0.02).all()
    flat = augment(big, torch.Generator().manual_seed(1)).mean(dim=(2, 3)) / 100.0
    assert (flat.max(-1).values - flat.min(-1).values < 0.02).all()
