"""Checkpoints from elsewhere never execute code: crafted pickles are refused or ignored, never run."""

from __future__ import annotations

import base64
import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from ppo.checkpoint import (
    LegacyCheckpointError,
    UnsafeCheckpointError,
    export_policy,
    load_checkpoint,
    load_vecnormalize,
    save_checkpoint,
    space_from_json,
    space_to_json,
)
from ppo.policy import AsymmetricRecurrentPolicy
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import gym_dactyl  # noqa: F401

th.set_num_threads(1)


class _Touch:
    """Unpickling this creates ``path`` (through ``builtins.open``): the file must never appear."""

    def __init__(self, path: Path, via: str = "open") -> None:
        self.path, self.via = str(path), via

    def __reduce__(self):
        if self.via == "numpy":  # an allowed-looking module: the scan passes, so only "never unpickled" protects
            return (np.save, (self.path, np.zeros(1)))
        return (open, (self.path, "w"))


def _evil(path: Path, via: str = "open") -> bytes:
    return pickle.dumps(_Touch(path, via))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("Dactyl-v0")]), norm_obs_keys=["object_pos", "state"])
    model = RecurrentPPO(AsymmetricRecurrentPolicy, venv, n_steps=16, batch_size=16, n_epochs=1, seed=0,
                         policy_kwargs=dict(dense_units=8, lstm_hidden_size=8))  # fmt: skip
    model.learn(32)
    venv.training = False
    path = save_checkpoint(tmp_path_factory.mktemp("ckpt") / "safe", model, {"note": "x"})
    return model, venv, path


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _rewrite_zip(path: Path, entry: str, content: bytes | None = None, data_key: str | None = None, payload=None):
    """Replace ``entry`` of the zip (or, for ``data``, one key's ``:serialized:`` payload)."""
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    if data_key is not None:
        data = json.loads(files["data"])
        data[data_key] = {":type:": "<class 'x'>", ":serialized:": base64.b64encode(payload).decode()}
        files["data"] = json.dumps(data).encode()
    else:
        files[entry] = content
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)


def test_round_trip_is_exact_and_pickle_free(trained, tmp_path):
    model, venv, path = trained
    loaded, meta, _ = load_checkpoint(path)
    vecnorm = load_vecnormalize(path)
    assert meta["note"] == "x" and loaded.num_timesteps == model.num_timesteps
    assert not (path / "vecnormalize.pkl").exists()
    for k, v in model.policy.state_dict().items():
        assert th.equal(v, loaded.policy.state_dict()[k])
    obs = {k: v[None] for k, v in gym.make("Dactyl-v0").reset(seed=0)[0].items()}
    for k in obs:
        np.testing.assert_array_equal(venv.normalize_obs(obs)[k], vecnorm.normalize_obs(obs)[k])
    a1, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
    a2, _ = loaded.predict(vecnorm.normalize_obs(obs), deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    assert loaded.clip_range(1.0) == model.clip_range(1.0) and loaded.learning_rate == model.learning_rate


@pytest.mark.parametrize("key", ["observation_space", "policy_class", "clip_range"])
def test_crafted_data_pickle_is_refused_and_never_run(trained, tmp_path, key):
    marker = tmp_path / "pwned"
    bad = _copy(trained[2], tmp_path / "bad")
    _rewrite_zip(bad / "model.zip", "data", data_key=key, payload=_evil(marker))
    with pytest.raises(UnsafeCheckpointError, match=rf"{key}.*io\.open.*refused"):
        load_checkpoint(bad)
    assert not marker.exists()


def test_pickled_entries_are_replaced_not_decoded(trained, tmp_path):
    """A payload whose globals look harmless (numpy.save) passes the scan, and still never runs."""
    marker = tmp_path / "pwned.npy"
    bad = _copy(trained[2], tmp_path / "bad")
    _rewrite_zip(bad / "model.zip", "data", data_key="clip_range", payload=_evil(marker, via="numpy"))
    _rewrite_zip(bad / "model.zip", "data", data_key="extra_entry", payload=_evil(marker, via="numpy"))
    model, _, _ = load_checkpoint(bad)
    assert model.clip_range(1.0) == trained[0].clip_range(1.0)
    assert not marker.exists()


def test_crafted_tensor_file_is_refused(trained, tmp_path):
    marker = tmp_path / "pwned"
    bad = _copy(trained[2], tmp_path / "bad")
    buf = io.BytesIO()
    th.save({"x": _Touch(marker)}, buf)
    _rewrite_zip(bad / "model.zip", "policy.pth", content=buf.getvalue())
    with pytest.raises(UnsafeCheckpointError, match="without unpickling"):
        load_checkpoint(bad)
    assert not marker.exists()


def test_old_pickled_checkpoint_is_refused_with_the_conversion_command(trained, tmp_path):
    marker = tmp_path / "pwned"
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(trained[2] / "model.zip", old / "model.zip")
    (old / "vecnormalize.pkl").write_bytes(_evil(marker))
    for load in (load_checkpoint, load_vecnormalize):
        with pytest.raises(LegacyCheckpointError, match=r"old pickled format.*convert_checkpoint\.py"):
            load(old)
    assert not marker.exists()


def test_conversion_script_makes_an_old_checkpoint_loadable(trained, tmp_path):
    import convert_checkpoint  # examples/convert_checkpoint.py

    model, venv, _ = trained
    old = tmp_path / "old"
    old.mkdir()
    model.save(old / "model.zip")  # the old format: cloudpickled model.zip + pickled VecNormalize
    venv.save(str(old / "vecnormalize.pkl"))
    (old / "meta.json").write_text(json.dumps({"args": {"goal": "z"}}))
    convert_checkpoint.main([str(old)])
    assert not (old / "vecnormalize.pkl").exists()
    loaded, meta, _ = load_checkpoint(old)
    assert meta["args"] == {"goal": "z"} and "converted_from" in meta
    for k, v in model.policy.state_dict().items():
        assert th.equal(v, loaded.policy.state_dict()[k])
    np.testing.assert_array_equal(load_vecnormalize(old).obs_rms["state"].mean, venv.obs_rms["state"].mean)


def test_policy_only_export_is_smaller_and_acts_identically(trained, tmp_path):
    model, venv, path = trained
    out = export_policy(path, tmp_path / "slim", {"scores": {"nominal": 1.5}})
    with zipfile.ZipFile(out / "model.zip") as z:
        assert "policy.optimizer.pth" not in z.namelist() and "policy.pth" in z.namelist()
    assert (out / "model.zip").stat().st_size < (path / "model.zip").stat().st_size
    loaded, meta, _ = load_checkpoint(out)
    assert meta["policy_only"] is True and meta["scores"] == {"nominal": 1.5} and meta["note"] == "x"
    for k, v in model.policy.state_dict().items():
        assert th.equal(v, loaded.policy.state_dict()[k])
    obs = {k: v[None] for k, v in gym.make("Dactyl-v0").reset(seed=1)[0].items()}
    vecnorm = load_vecnormalize(out)
    a1, s1 = model.predict(venv.normalize_obs(obs), deterministic=True)
    a2, s2 = loaded.predict(vecnorm.normalize_obs(obs), deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(s1[0], s2[0])
    loaded.set_env(venv)
    loaded.learn(16, reset_num_timesteps=False)  # resuming from an export trains with a fresh optimizer
    with pytest.raises(ValueError, match="out must differ"):
        export_policy(out, out)


def test_export_script_rejects_a_bad_note(trained, tmp_path):
    import export_policy as script  # examples/export_policy.py

    with pytest.raises(ValueError, match="--note must be a JSON object"):
        script.main([str(trained[2]), str(tmp_path / "x"), "--note", "[1, 2]"])
    out = script.main([str(trained[2]), str(tmp_path / "y"), "--note", '{"seed": 0}'])
    assert json.loads((out / "meta.json").read_text())["seed"] == 0


def test_a_model_zip_without_weights_is_refused(trained, tmp_path):
    path = _copy(trained[2], tmp_path / "noweights")
    with zipfile.ZipFile(path / "model.zip") as z:
        files = {n: z.read(n) for n in z.namelist() if n != "policy.pth"}
    with zipfile.ZipFile(path / "model.zip", "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    with pytest.raises(ValueError, match="no policy.pth"):
        load_checkpoint(path)


def test_dreamer_checkpoint_with_a_crafted_pickle_is_refused(tmp_path):
    from world_models import Dreamer

    marker = tmp_path / "pwned"
    path = tmp_path / "dreamer.pt"
    th.save({"format": "x", "payload": _Touch(marker)}, path)
    with pytest.raises(ValueError, match="dreamer.pt"):
        Dreamer.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "space",
    [
        gym.make("Dactyl-v0").observation_space,
        gym.spaces.MultiDiscrete([11] * 3),
        gym.spaces.Box(-1.0, 1.0, (2, 3)),
        gym.spaces.Discrete(4, start=1),
    ],
)
def test_spaces_json_round_trip(space):
    again = space_from_json(json.loads(json.dumps(space_to_json(space))))
    assert again == space
