from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from wrappers.action_noise import ActionNoise

FAST = settings(max_examples=15, deadline=None)  # derandomized by the "ci" profile (tests/conftest.py)


def test_defaults_are_dactyl_table_8(box_fake):
    env = ActionNoise(box_fake)
    assert (env.uncorrelated_additive, env.correlated_additive, env.uncorrelated_multiplicative) == (
        0.05,
        0.015,
        0.015,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale": 0.0},
        {"enabled": False},
        {"uncorrelated_additive": 0.0, "correlated_additive": 0.0, "uncorrelated_multiplicative": 0.0},
    ],
)
def test_zero_magnitude_is_exact_identity(fx, kwargs):
    actions = [np.linspace(-1, 1, 20, dtype=np.float32) * (i % 3 - 1) for i in range(15)]
    raw_env, wrapped_inner = fx.FakeDactylEnv(), fx.FakeDactylEnv()
    raw = fx.rollout(raw_env, 3, 15, actions)
    wrapped = fx.rollout(ActionNoise(wrapped_inner, **kwargs), 3, 15, actions)
    for a, b in zip(raw, wrapped, strict=True):
        fx.assert_obs_equal(a, b)
    for a, b in zip(raw_env.actions, wrapped_inner.actions, strict=True):
        np.testing.assert_array_equal(a, b)


@FAST
@given(
    fraction=hnp.arrays(np.float64, 3, elements=st.floats(0, 1)),
    scale=st.floats(0.0, 20.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_output_in_box_with_dtype_and_spaces_unchanged(fx, fraction, scale, seed):
    inner = fx.FakeBoxEnv(low=[-1.0, 0.0, -3.0], high=[1.0, 0.5, 3.0])
    low, high = inner.action_space.low, inner.action_space.high
    action = np.clip(low + fraction * (high - low), low, high).astype(np.float32)  # any action inside the Box
    env = ActionNoise(inner, scale=scale)
    assert env.action_space == inner.action_space and env.observation_space == inner.observation_space
    env.reset(seed=seed)
    out = env.action(action)
    assert out.dtype == np.float32 and out.shape == (3,)
    assert inner.action_space.contains(out)


def _noise(env: ActionNoise, action: np.ndarray, n: int) -> np.ndarray:
    return np.array([env.action(action).astype(np.float64) - action for _ in range(n)])


def test_uncorrelated_additive_std_is_fraction_of_range_width(fx):
    # wide Box so clipping never binds: width 20, σ = 5 % · 20 = 1
    env = ActionNoise(fx.FakeBoxEnv(low=-10.0, high=10.0, shape=(8,)), correlated_additive=0.0,
                      uncorrelated_multiplicative=0.0)  # fmt: skip
    env.reset(seed=0)
    noise = _noise(env, np.zeros(8, np.float32), 2000)
    assert abs(noise.std() / 1.0 - 1) < 0.04  # 16000 draws: SE ≈ 0.6 %
    assert np.all(np.abs(noise.mean(axis=0)) < 4 / np.sqrt(2000))


def test_multiplicative_std(fx):
    env = ActionNoise(fx.FakeBoxEnv(low=-10.0, high=10.0, shape=(8,)), uncorrelated_additive=0.0,
                      correlated_additive=0.0)  # fmt: skip
    env.reset(seed=1)
    action = np.full(8, 2.0, np.float32)
    ratio = np.array([env.action(action) / action for _ in range(2000)])
    assert abs(ratio.mean() - 1) < 4 * 0.015 / np.sqrt(16000)
    assert abs(ratio.std() / 0.015 - 1) < 0.04


def test_correlated_constant_within_episode_std_across_resets(fx):
    env = ActionNoise(fx.FakeBoxEnv(low=-10.0, high=10.0, shape=(8,)), uncorrelated_additive=0.0,
                      uncorrelated_multiplicative=0.0)  # fmt: skip
    offsets = []
    for seed in range(1000):
        env.reset(seed=seed)
        noise = _noise(env, np.zeros(8, np.float32), 3)
        np.testing.assert_allclose(noise, np.broadcast_to(noise[0], noise.shape), atol=1e-6)
        np.testing.assert_allclose(noise[0], env.correlated_noise, atol=1e-6)
        offsets.append(noise[0])
    offsets = np.array(offsets)
    assert abs(offsets.std() / (0.015 * 20) - 1) < 0.04  # 8000 draws: SE ≈ 0.8 %
    assert len(np.unique(offsets[:, 0])) == len(offsets)


def test_correlated_offset_gone_when_sigma_set_to_zero_between_episodes(fx):
    """An episode with σ_c = 0 (e.g. an ADR boundary at 0) must not keep the previous episode's offset."""
    env = ActionNoise(fx.FakeBoxEnv(low=-10.0, high=10.0, shape=(8,)), uncorrelated_additive=0.0,
                      uncorrelated_multiplicative=0.0)  # fmt: skip
    env.reset(seed=0)
    assert np.abs(_noise(env, np.zeros(8, np.float32), 2)).max() > 0
    env.set_parameters(correlated_additive=0.0)
    env.reset(seed=1)
    np.testing.assert_array_equal(env.correlated_noise, 0.0)
    np.testing.assert_array_equal(_noise(env, np.zeros(8, np.float32), 3), 0.0)


def test_scale_multiplies_sigma(fx):
    env = ActionNoise(fx.FakeBoxEnv(low=-10.0, high=10.0, shape=(8,)), correlated_additive=0.0,
                      uncorrelated_multiplicative=0.0, scale=0.5)  # fmt: skip
    env.reset(seed=0)
    assert abs(_noise(env, np.zeros(8, np.float32), 2000).std() / 0.5 - 1) < 0.04


def test_clipping_to_box(fx):
    env = ActionNoise(fx.FakeBoxEnv(), uncorrelated_additive=1.0)
    env.reset(seed=0)
    outs = np.array([env.action(np.ones(3, np.float32)) for _ in range(200)])
    assert outs.max() == 1.0 and outs.min() >= -1.0 and outs.min() < 0.0


def test_same_seed_same_sequence_different_seed_differs(fx):
    def run(seed: int) -> list[np.ndarray]:
        inner = fx.FakeDactylEnv()
        fx.rollout(ActionNoise(inner), seed, 10, [np.full(20, 0.3, np.float32)] * 10)
        return inner.actions

    a, b, c = run(4), run(4), run(5)
    np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(x, z) for x, z in zip(a, c, strict=True))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"uncorrelated_additive": -0.1}, "uncorrelated_additive"),
        ({"correlated_additive": float("nan")}, "correlated_additive"),
        ({"uncorrelated_multiplicative": -1}, "uncorrelated_multiplicative"),
        ({"uncorrelated_multiplicative": "0.1"}, "uncorrelated_multiplicative"),
        ({"scale": -0.5}, "scale"),
        ({"enabled": 1}, "enabled"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(box_fake, kwargs, name):
    with pytest.raises(ValueError) as err:
        ActionNoise(box_fake, **kwargs)
    assert name in str(err.value)


@pytest.mark.parametrize("make", [lambda fx: fx.FakeDiscreteActionEnv(), lambda fx: gym.make("CartPole-v1")])
def test_non_box_action_space_rejected(fx, make):
    with pytest.raises(ValueError, match="action_space"):
        ActionNoise(make(fx))


def test_check_env(fx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(ActionNoise(fx.FakeDactylEnv()), skip_render_check=True)
        check_env(ActionNoise(gym.make("Pendulum-v1").unwrapped), skip_render_check=True)


def test_real_env(dactyl_make):
    inner = dactyl_make()
    env = ActionNoise(inner)
    assert env.action_space == inner.action_space and env.observation_space == inner.observation_space
    obs, _ = env.reset(seed=0)
    assert np.any(env.correlated_noise != 0)
    for _ in range(3):
        out = env.action(np.zeros(20, np.float32))
        assert env.action_space.contains(out) and np.any(out != 0)
        obs, *_ = env.step(np.zeros(20, np.float32))
        assert env.observation_space.contains(obs)
