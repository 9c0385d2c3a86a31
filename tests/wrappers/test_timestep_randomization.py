from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from wrappers.distributions import Normal, Uniform
from wrappers.timestep_randomization import TimestepRandomization

FAST = settings(max_examples=10, deadline=None)
seeds = st.integers(0, 2**31 - 1)


class Spy(gym.Wrapper):
    """Records the model's timestep seen while the env resets."""

    def reset(self, **kwargs: Any):
        self.seen = float(self.env.unwrapped.model.opt.timestep)
        return self.env.reset(**kwargs)


def ant(**kwargs: Any) -> TimestepRandomization:
    return TimestepRandomization(Spy(gym.make("Ant-v5")), **kwargs)


@FAST
@given(seed=seeds)
def test_scale_zero_is_nominal(seed: int) -> None:
    env = ant(scale=0.0)
    _, info = env.reset(seed=seed)
    assert info["timestep"] == 0.01 == env.unwrapped.model.opt.timestep
    env.close()


@FAST
@given(seed=seeds, scale=st.floats(0.0, 2.0))
def test_sampled_timestep_in_range_and_used_by_reset(seed: int, scale: float) -> None:
    env = ant(scale=scale)
    _, info = env.reset(seed=seed)
    assert 1250.0 <= info["timestep_rate"] <= 10000.0
    assert info["timestep"] >= 0.01
    assert env.unwrapped.model.opt.timestep == info["timestep"] == env.env.seen  # written before env.reset
    assert env.unwrapped.dt == info["timestep"] * env.unwrapped.frame_skip
    env.step(env.action_space.sample())
    assert env.unwrapped.model.opt.timestep == info["timestep"]  # held for the episode
    env.close()


def test_extra_time_statistics() -> None:
    """E[extra] = E[1/lambda] = ln(8)/8750 s for lambda ~ U[1250, 10000]."""
    env = ant()
    extra = []
    env.reset(seed=0)
    for _ in range(1500):
        extra.append(env.reset()[1]["timestep"] - 0.01)
    assert abs(np.mean(extra) / (np.log(8.0) / 8750.0) - 1.0) < 0.1
    env.close()


@FAST
@given(seed=seeds)
def test_no_drift_and_seeding(seed: int) -> None:
    env = ant()
    _, first = env.reset(seed=seed)
    for _ in range(10):
        _, info = env.reset()
        assert info["timestep"] >= 0.01  # always from the base, never from the last value
    _, again = env.reset(seed=seed)
    assert again["timestep"] == first["timestep"]
    _, other = env.reset(seed=seed + 1)
    assert other["timestep"] != first["timestep"]
    env.close()


def test_base_override_and_restore() -> None:
    """``base`` replaces the model's own 0.01 s: the timesteps start at 0.008 s, with the same Exp extra."""
    env = ant(base=0.008)
    assert env.nominal_timestep == 0.01
    _, info = env.reset(seed=0)
    steps = np.array([info["timestep"]] + [env.reset()[1]["timestep"] for _ in range(300)])
    assert np.all(steps >= 0.008)
    assert np.mean(steps < 0.01) > 0.9  # ignoring the override would put every timestep at >= 0.01
    extra = steps - 0.008
    assert abs(np.mean(extra) / (np.log(8.0) / 8750.0) - 1.0) < 0.25  # E[1/lambda], lambda ~ U[1250, 10000]
    assert env.unwrapped.model.opt.timestep == steps[-1]
    env.restore_nominal()
    assert env.unwrapped.model.opt.timestep == 0.01
    env.reset(seed=1)
    env.close()
    assert env.unwrapped.model.opt.timestep == 0.01


def test_spaces_unchanged_and_check_env() -> None:
    env = TimestepRandomization(gym.make("Ant-v5"))
    assert env.observation_space == env.env.observation_space
    assert env.action_space == env.env.action_space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"base": 0.0}, "base"),
        ({"base": -0.008}, "base"),
        ({"base": float("inf")}, "base"),
        ({"rate": Uniform(0.0, 10.0)}, "rate"),
        ({"rate": Normal(5000.0, 100.0)}, "rate"),
        ({"rate": None}, "rate"),
        ({"rate": (1250, 10000)}, "rate"),
        ({"scale": -1.0}, "scale"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ant(**kwargs)


def test_non_mujoco_env_raises() -> None:
    with pytest.raises(ValueError, match="env"):
        TimestepRandomization(gym.make("CartPole-v1"))


def test_dactyl_env(dactyl_make) -> None:
    env = TimestepRandomization(dactyl_make())
    _, info = env.reset(seed=0)
    assert info["timestep"] >= 0.008
    assert np.isclose(env.unwrapped.dt, info["timestep"] * 10)
    env.step(env.action_space.sample())
    env.close()
    assert env.unwrapped.model.opt.timestep == 0.008
