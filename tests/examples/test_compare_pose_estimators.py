"""``examples/compare_pose_estimators.py``: paired errors over test sets that hold the same samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from compare_pose_estimators import compare, paired

from dactyl_vision.dataset import ShardWriter
from dactyl_vision.pose_net import PoseNet, PoseNetConfig, save_pose_net
from gym_dactyl.constants import CAMERA_NAMES, CLOSE_CAMERA_NAMES

ROOT = Path(__file__).resolve().parents[2]


def _net(cameras: tuple[str, ...], seed: int) -> PoseNet:
    torch.manual_seed(seed)
    return PoseNet(PoseNetConfig(image_size=64, channels=(4, 4, 4), hidden=8, camera_names=cameras)).eval()


def _data(root: Path, cameras: tuple[str, ...], seed: int, label_seed: int = 0, sets=("table9",)) -> Path:
    rng, labels = np.random.default_rng(seed), np.random.default_rng(label_seed)
    for name in sets:
        with ShardWriter(root / f"test_{name}", meta={"image_size": 64, "camera_names": list(cameras)}) as w:
            for _ in range(6):
                q = labels.normal(size=4)
                q /= np.linalg.norm(q)
                pos = labels.normal(size=3) * 0.01 + [1.0, 0.9, 0.2]
                w.add(rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8), pos, q * np.sign(q[0]))
    return root


def test_paired_statistics() -> None:
    a, b = np.array([10.0, 20.0, 30.0, 40.0]), np.array([9.0, 18.0, 31.0, 36.0])
    r = paired(a, b, np.random.default_rng(0), n_boot=200)
    assert r["a_mean"] == 25.0 and r["b_mean"] == 23.5 and r["diff_mean"] == -1.5
    assert r["b_better_fraction"] == 0.75
    assert -4.0 <= r["diff_ci95"][0] <= -1.5 <= r["diff_ci95"][1] <= 1.0


def test_compare_checks_labels_and_cameras(tmp_path: Path) -> None:
    a, b = _net(CAMERA_NAMES, 0), _net(CLOSE_CAMERA_NAMES, 1)
    da = _data(tmp_path / "a", CAMERA_NAMES, seed=1, sets=("table9", "held_out"))
    db = _data(tmp_path / "b", CLOSE_CAMERA_NAMES, seed=2, sets=("table9", "held_out"))
    out = compare(a, da, b, db, ("table9", "held_out"))
    assert set(out) == {"table9", "held_out"} and out["table9"]["n"] == 6
    assert 0.0 <= out["table9"]["rotation_deg"]["a_mean"] <= 180.0
    same = compare(a, da, a, da, ("table9",))["table9"]["rotation_deg"]
    assert same["diff_mean"] == 0.0 and same["b_better_fraction"] == 0.0
    other = _data(tmp_path / "c", CLOSE_CAMERA_NAMES, seed=2, label_seed=5)
    with pytest.raises(ValueError, match="same samples"):
        compare(a, da, b, other, ("table9",))
    with pytest.raises(ValueError, match="--b-data.*cameras"):
        compare(a, da, a, db, ("table9",))


def test_script_writes_the_comparison(tmp_path: Path) -> None:
    save_pose_net(_net(CAMERA_NAMES, 0), tmp_path / "a.pt")
    save_pose_net(_net(CAMERA_NAMES, 1), tmp_path / "b.pt")
    data = _data(tmp_path / "d", CAMERA_NAMES, seed=1)
    cmd = [sys.executable, str(ROOT / "examples" / "compare_pose_estimators.py"), "--a", str(tmp_path / "a.pt"),
           "--a-data", str(data), "--b", str(tmp_path / "b.pt"), "--b-data", str(data), "--sets", "table9",
           "--json", str(tmp_path / "out" / "cmp.json")]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "cmp.json").read_text())
    assert set(report["sets"]) == {"table9"} and "B - A" in run.stdout
    bad = subprocess.run([*cmd[:-2], "--sets", "sepia"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert bad.returncode != 0 and "sets" in bad.stderr
