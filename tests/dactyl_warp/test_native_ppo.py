"""``examples/train_ppo_warp_native.py`` end to end on DactylWarp-v0 (Warp's CPU device, 2 worlds, a few steps).

Trains, writes metrics / TensorBoard / an atomic checkpoint, resumes from it (counters, weights and ADR state
continue), all with finite losses. Skipped without the ``[warp]`` extra.
"""

import csv
import math
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("warp")
pytest.importorskip("mujoco_warp")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import train_ppo_warp_native  # noqa: E402
from warp_ppo.checkpoint import load_checkpoint  # noqa: E402

SMALL = ["--device", "cpu", "--n-envs", "2", "--n-steps", "4", "--minibatches", "1", "--dense", "32", "--hidden", "16"]


def test_native_ppo_trains_saves_and_resumes_with_adr(tmp_path):
    rand = ["--randomize", "backlash", "action_noise", "--adr", "--adr-preset", "cpu"]
    args = [*SMALL, *rand, "--logdir", str(tmp_path)]
    path = train_ppo_warp_native.main([*args, "--total-timesteps", "16"])
    state, meta = load_checkpoint(path, "cpu")
    assert meta["num_timesteps"] == 16 and meta["updates"] == 2
    assert meta["env"]["randomize"] == ["backlash", "action_noise"] and meta["adr"]["format"] == "gym-dactyl ADR state"
    assert "action_noise_uncorrelated_additive" in meta["adr"]["parameters"]
    assert any(p.name.startswith("events") for p in (tmp_path / "tb").iterdir())
    before = {k: v.clone() for k, v in state["model"].items()}
    path = train_ppo_warp_native.main(["--device", "cpu", "--resume", str(path), "--total-timesteps", "24",
                                       "--logdir", str(tmp_path)])  # fmt: skip
    state, meta = load_checkpoint(path, "cpu")
    assert meta["num_timesteps"] == 24 and meta["updates"] == 3
    assert any(not torch.equal(before[k], state["model"][k]) for k in before)  # the resumed update trained
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(float(r["timesteps"])) for r in rows] == [8, 16, 24]
    assert all(math.isfinite(float(r["loss"])) for r in rows)
