"""train_rllib.py's presets and argument validation, and the driver-side episode statistics."""

import pytest

pytest.importorskip("ray.rllib", reason="Ray RLlib is not installed: pip install -e '.[rllib]' to run the RLlib tests")


import math

from dactyl_rllib.callbacks import EpisodeWindow, results_list
from dactyl_rllib.config import RLlibArgs, apply_preset, env_config, groups_of
from dactyl_rllib.envs import make_env


def test_presets_mirror_train_ppo():
    from ppo.config import PRESETS

    cpu = apply_preset(RLlibArgs(preset="cpu"))
    for key in ("goal", "n_steps", "batch_size", "dense_units", "lstm_units", "learning_rate", "randomization"):
        assert getattr(cpu, key) == PRESETS["cpu"][key]
    assert cpu.num_env_runners * cpu.num_envs_per_env_runner == PRESETS["cpu"]["n_envs"]
    quick = apply_preset(RLlibArgs())
    assert quick.preset == "quick" and groups_of(quick) == {"observation": True, "physics": True, "unmodeled": True}
    assert groups_of(apply_preset(RLlibArgs(randomization="no-physics")))["physics"] is False


def test_resume_base_fills_unset_flags_only():
    out = apply_preset(RLlibArgs(lstm_units=32), base={"preset": "cpu", "lstm_units": 8, "dense_units": 8})
    assert (out.preset, out.lstm_units, out.dense_units) == ("cpu", 32, 8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"preset": "paper"}, "--preset"), ({"goal": "y"}, "--goal"), ({"n_steps": 0}, "--n-steps"),
     ({"num_env_runners": -1}, "--num-env-runners"), ({"randomization": "none", "adr": True}, "--adr")],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        apply_preset(RLlibArgs(**kwargs))


def test_env_creator_rejects_unknown_keys_and_flattens():
    with pytest.raises(ValueError, match="unknown key"):
        make_env({"goal": "z", "gaol": "z"})
    env = make_env(env_config(apply_preset(RLlibArgs(randomization="none"))))
    obs, _ = env.reset(seed=0)
    assert obs.ndim == 1 and env.observation_space.contains(obs.astype(env.observation_space.dtype))
    env.close()


def test_episode_window_statistics():
    w = EpisodeWindow(window=3)
    row = w.row()
    assert row["window"] == 0 and math.isnan(row["consecutive_successes_mean"])
    eps = [{"return": r, "length": 10, "consecutive_successes": c, "dropped": d, "rotation_error_mean": 1.0,
            "rotation_progress": r} for r, c, d in [(1.0, 0, True), (2.0, 2, False), (3.0, 4, False), (4.0, 6, False)]]
    w.add(results_list({"env_runners": {"dactyl_episodes": eps}}, "dactyl_episodes"))
    row = w.row()
    assert row["episodes"] == 4 and row["window"] == 3
    assert row["consecutive_successes_mean"] == 4.0 and row["drop_rate"] == 0.0 and row["success_rate"] == 1.0
    assert results_list({}, "dactyl_episodes") == []
    with pytest.raises(ValueError, match="window"):
        EpisodeWindow(0)


@pytest.mark.parametrize(
    ("address", "env", "expected"),
    [(None, None, {"worker_niceness": 0}), ("auto", None, None), (None, "15", None)],
)
def test_connect_gives_local_workers_the_driver_niceness(monkeypatch, address, env, expected):
    """A local Ray's env runners must not start 15 nice levels below the driver (Ray's default), unless asked."""
    import ray
    from dactyl_rllib import runtime

    calls = []
    monkeypatch.setattr(ray, "init", lambda **kw: calls.append(kw))
    if env is None:
        monkeypatch.delenv("RAY_worker_niceness", raising=False)
    else:
        monkeypatch.setenv("RAY_worker_niceness", env)
    runtime.connect(address)
    assert calls[0]["_system_config"] == expected
    assert calls[0]["address"] == address
