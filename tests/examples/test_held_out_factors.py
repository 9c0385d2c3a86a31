"""examples/held_out_factors.py: renders the factor sets once, pairs them with Table 9 on the same samples."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dactyl_vision.dataset import shard_meta, write_dataset
from dactyl_vision.pose_net import PoseNet, PoseNetConfig, save_pose_net
from dactyl_vision.presets import FACTOR_APPEARANCES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "held_out_factors.py"


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)  # fmt: skip


def test_factors_script(tmp_path):
    data = tmp_path / "data"
    write_dataset(data / "test_table9", 3, 64, seed=7, appearance="table9", image_noise=True, progress=False)
    model = tmp_path / "net.pt"
    save_pose_net(PoseNet(PoseNetConfig(image_size=64, channels=(8, 8), hidden=16)), model)
    out = tmp_path / "factors.json"
    run = _run("--data", data, "--models", model, "--no-progress", "--json", out)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    rows = report["models"][str(model)]
    assert list(rows) == ["table9", *FACTOR_APPEARANCES]  # no test_held_out in this root
    assert rows["table9"]["rotation_deg"]["diff_mean"] == 0.0
    assert report["n"] == 3
    assert 0.0 <= rows["table9"]["rotation_deg"]["share_over_60"] <= 1.0
    for name in FACTOR_APPEARANCES:
        meta = shard_meta(data / f"test_{name}")
        assert (meta["appearance"], meta["seed"], meta["num_samples"], meta["image_noise"]) == (name, 7, 3, True)
    # a second run reuses the rendered sets and gives the same numbers
    run2 = _run("--data", data, "--models", model, "--no-progress", "--json", out)
    assert run2.returncode == 0 and json.loads(out.read_text()) == report


@pytest.mark.parametrize("mismatch", ["missing", "other_seed"])
def test_factors_script_refuses(tmp_path, mismatch):
    data = tmp_path / "data"
    model = tmp_path / "net.pt"
    save_pose_net(PoseNet(PoseNetConfig(image_size=64, channels=(8, 8), hidden=16)), model)
    if mismatch == "other_seed":
        write_dataset(data / "test_table9", 2, 64, seed=7, appearance="table9", image_noise=True, progress=False)
        write_dataset(data / "test_held_out_robot", 2, 64, seed=8, appearance="held_out_robot", image_noise=True,
                      progress=False)  # fmt: skip
    run = _run("--data", data, "--models", model, "--no-progress")
    assert run.returncode != 0
    assert ("holds no test_table9" if mismatch == "missing" else "holds another dataset") in run.stderr
