from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from wrappers.distributions import Constant, Normal, Uniform
from wrappers.physics_randomization import PhysicsRandomization
from wrappers.random_forces import RandomForces

FAST = settings(max_examples=10, deadline=None)
seeds = st.integers(0, 2**31 - 1)


def ant_forces(**kwargs: Any) -> RandomForces:
    kwargs.setdefault("body", "torso")
    return RandomForces(gym.make("Ant-v5"), **kwargs)


def run(env: gym.Env, seed: int, n: int) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, Any]]:
    obs, info0 = env.reset(seed=seed)
    observations, forces = [obs], []
    action = np.zeros(env.action_space.shape, env.action_space.dtype)
    for _ in range(n):
        obs, _, _, _, info = env.step(action)
        observations.append(obs)
        forces.append(info["random_force"])
    return observations, forces, info0


@FAST
@given(seed=seeds)
def test_scale_zero_is_identity(seed: int) -> None:
    env = ant_forces(scale=0.0, probability=Constant(1.0))
    plain = gym.make("Ant-v5")
    obs, forces, _ = run(env, seed, 5)
    ref, _, _ = run_plain(plain, seed, 5)
    for a, b in zip(obs, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(np.all(f == 0.0) for f in forces)
    env.close()
    plain.close()


def run_plain(env: gym.Env, seed: int, n: int) -> tuple[list[np.ndarray], None, None]:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(n):
        out.append(env.step(np.zeros(env.action_space.shape, env.action_space.dtype))[0])
    return out, None, None


@FAST
@given(seed=seeds)
def test_probability_in_range_and_force_applied(seed: int) -> None:
    env = ant_forces(probability=Uniform(0.3, 0.6))
    _, info = env.reset(seed=seed)
    assert 0.3 <= info["random_force_probability"] <= 0.6
    np.testing.assert_array_equal(info["random_force"], np.zeros(3))
    d = env.unwrapped.data
    torso = env._body
    for _ in range(5):
        _, _, _, _, info = env.step(env.action_space.sample())
        np.testing.assert_array_equal(d.xfrc_applied[torso, :3], info["random_force"])
        assert np.all(d.xfrc_applied[torso, 3:] == 0.0)
    env.reset()
    assert np.all(d.xfrc_applied[torso] == 0.0)  # cleared on reset
    env.close()


def test_default_probability_range() -> None:
    env = ant_forces()
    for seed in range(20):
        _, info = env.reset(seed=seed)
        assert 0.001 <= info["random_force_probability"] <= 0.1
    env.close()


def test_never_hit_means_no_force() -> None:
    env = ant_forces(probability=Constant(0.0))
    _, forces, _ = run(env, 0, 20)
    assert all(np.all(f == 0.0) for f in forces)
    env.close()


def test_force_statistics_and_decay() -> None:
    """Always hit, decay 0.5: f_t - 0.5 f_{t-1} are the fresh hits, N(0, (1 m/s^2 * mass)^2) per axis."""
    env = ant_forces(probability=Constant(1.0), decay=0.5)
    _, forces, _ = run(env, 3, 400)
    f = np.asarray(forces)
    hits = np.concatenate([f[:1], f[1:] - 0.5 * f[:-1]])
    mass = env.unwrapped.model.body_subtreemass[env._body]
    assert abs(hits.std() / mass - 1.0) < 0.1
    assert abs(hits.mean() / mass) < 0.1
    env.close()


def test_uses_current_randomized_mass() -> None:
    for inside in (True, False):
        base = gym.make("Ant-v5")
        physics = dict(object_geoms=None, mass_scale=Constant(2.0))
        if inside:
            env = RandomForces(PhysicsRandomization(base, **physics), body="torso")
        else:
            env = PhysicsRandomization(RandomForces(base, body="torso"), **physics)
        forces = env if inside else env.env
        nominal = base.unwrapped.model.body_subtreemass[forces._body]
        env.reset(seed=0)
        assert np.isclose(forces._sigma, 2.0 * nominal)
        env.close()


@FAST
@given(seed=seeds)
def test_same_seed_same_forces_and_env_stream_untouched(seed: int) -> None:
    a, b = ant_forces(probability=Constant(0.5)), ant_forces(probability=Constant(0.5))
    _, fa, _ = run(a, seed, 10)
    _, fb, _ = run(b, seed, 10)
    np.testing.assert_array_equal(np.asarray(fa), np.asarray(fb))
    _, fc, _ = run(b, seed + 1, 10)
    assert not np.array_equal(np.asarray(fa), np.asarray(fc))
    plain = gym.make("Ant-v5")
    plain.reset(seed=seed)
    a.reset(seed=seed)
    a.step(a.action_space.sample())
    assert a.unwrapped.np_random.bit_generator.state == plain.unwrapped.np_random.bit_generator.state
    for env in (a, b, plain):
        env.close()


def test_spaces_unchanged_and_check_env() -> None:
    env = ant_forces()
    assert env.observation_space == env.env.observation_space
    assert env.action_space == env.env.action_space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)
    env.close()


def test_step_before_reset_raises() -> None:
    env = ant_forces()
    with pytest.raises(gym.error.ResetNeeded):
        env.step(env.action_space.sample())
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"body": "no_such_body"}, "body"),
        ({"body": "world"}, "body"),
        ({"body": 3}, "body"),
        ({"probability": Uniform(0.5, 1.5)}, "probability"),
        ({"probability": Normal(0.01, 0.1)}, "probability"),
        ({"probability": None}, "probability"),
        ({"probability": 0.05}, "probability"),
        ({"acceleration_sigma": -1.0}, "acceleration_sigma"),
        ({"decay": 1.5}, "decay"),
        ({"decay": -0.1}, "decay"),
        ({"scale": -1.0}, "scale"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ant_forces(**kwargs)


def test_default_body_missing_and_non_mujoco_env_raise() -> None:
    with pytest.raises(ValueError, match="body"):
        RandomForces(gym.make("Ant-v5"))
    with pytest.raises(ValueError, match="env"):
        RandomForces(gym.make("CartPole-v1"))


def test_dactyl_env(dactyl_make) -> None:
    env = RandomForces(dactyl_make(), probability=Constant(1.0))
    _, info = env.reset(seed=0)
    for _ in range(3):
        _, _, _, _, info = env.step(env.action_space.sample())
    assert np.any(info["random_force"] != 0.0)
    env.close()
