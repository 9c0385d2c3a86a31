from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from wrappers.action_delay import ActionDelay

FAST = settings(max_examples=20, deadline=None)  # derandomized by the "ci" profile (tests/conftest.py)


def test_defaults_are_dactyl_app_c2(box_fake):
    env = ActionDelay(box_fake)
    assert (env.probability, env.delay_steps) == (0.5, 1)
    np.testing.assert_array_equal(env.fill, 0.0)


@FAST
@given(
    k=st.integers(1, 4),
    p=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    fill=st.floats(-1, 1, width=32),
    n=st.integers(0, 12),
    seed=st.integers(0, 2**31 - 1),
)
def test_delayed_actuators_get_exactly_the_input_shifted_by_k(fx, k, p, fill, n, seed):
    inner = fx.FakeDactylEnv()
    env = ActionDelay(inner, probability=p, delay_steps=k, fill=fill)
    assert env.action_space == inner.action_space and env.observation_space == inner.observation_space
    _, info = env.reset(seed=seed)
    mask = info["action_delay_mask"]
    np.testing.assert_array_equal(mask, env.delay_mask)
    assert mask.dtype == bool and mask.shape == (20,)
    rng = np.random.default_rng(seed)
    sent = [rng.uniform(-1, 1, 20).astype(np.float32) for _ in range(n)]
    for a in sent:
        env.step(a)
    for t, got in enumerate(inner.actions):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got[~mask], sent[t][~mask])
        expected = sent[t - k][mask] if t >= k else np.full(mask.sum(), np.float32(fill))
        np.testing.assert_array_equal(got[mask], expected)


def test_mask_frequency_matches_probability():
    env = ActionDelay(gym.make("Pendulum-v1").unwrapped, probability=0.3)
    masks = np.array([env.reset(seed=s)[1]["action_delay_mask"][0] for s in range(2000)])
    assert abs(masks.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 2000)


def test_mask_resampled_and_delay_line_emptied_each_reset(fx):
    env = ActionDelay(fx.FakeDactylEnv(), probability=0.5, fill=-0.5)
    masks = []
    for seed in range(5):
        _, info = env.reset(seed=seed)
        masks.append(info["action_delay_mask"])
        first = env.action(np.ones(20, np.float32))
        np.testing.assert_array_equal(first[info["action_delay_mask"]], -0.5)
        env.action(np.zeros(20, np.float32))
    assert len({m.tobytes() for m in masks}) > 1


@pytest.mark.parametrize("kwargs", [{"probability": 0.0}, {"enabled": False}])
def test_zero_probability_or_disabled_is_exact_identity(fx, kwargs):
    actions = [np.full(20, (i % 5 - 2) / 2, np.float32) for i in range(10)]
    raw_env, inner = fx.FakeDactylEnv(), fx.FakeDactylEnv()
    raw = fx.rollout(raw_env, 1, 10, actions)
    env = ActionDelay(inner, **{"probability": 1.0, **kwargs})
    wrapped = fx.rollout(env, 1, 10, actions)
    for a, b in zip(raw, wrapped, strict=True):
        fx.assert_obs_equal(a, b)
    np.testing.assert_array_equal(raw_env.actions, inner.actions)
    assert not env.delay_mask.any()


def test_array_fill(box_fake):
    env = ActionDelay(box_fake, probability=1.0, delay_steps=2, fill=[0.1, -0.2, 0.3])
    env.reset(seed=0)
    np.testing.assert_array_equal(env.action(np.zeros(3, np.float32)), np.float32([0.1, -0.2, 0.3]))


def test_same_seed_same_mask_different_seeds_differ(fx):
    env = ActionDelay(fx.FakeDactylEnv())
    a = env.reset(seed=11)[1]["action_delay_mask"]
    b = env.reset(seed=11)[1]["action_delay_mask"]
    np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, env.reset(seed=s)[1]["action_delay_mask"]) for s in range(12, 15))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"probability": 1.5}, "probability"),
        ({"probability": -0.1}, "probability"),
        ({"probability": float("nan")}, "probability"),
        ({"delay_steps": 0}, "delay_steps"),
        ({"delay_steps": 1.5}, "delay_steps"),
        ({"fill": 2.0}, "fill"),
        ({"fill": [0.0, 0.0]}, "fill"),
        ({"fill": "hold"}, "fill"),
        ({"enabled": None}, "enabled"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(box_fake, kwargs, name):
    with pytest.raises(ValueError) as err:
        ActionDelay(box_fake, **kwargs)
    assert name in str(err.value)


def test_non_box_action_space_rejected(fx):
    with pytest.raises(ValueError, match="action_space"):
        ActionDelay(fx.FakeDiscreteActionEnv())


def test_check_env(fx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(ActionDelay(fx.FakeDactylEnv()), skip_render_check=True)


def test_real_env(dactyl_make):
    inner = dactyl_make()
    env = ActionDelay(inner, probability=0.5)
    assert env.action_space == inner.action_space and env.observation_space == inner.observation_space
    _, info = env.reset(seed=0)
    mask = info["action_delay_mask"]
    assert 0 < mask.sum() < 20
    a1 = np.linspace(-1, 1, 20, dtype=np.float32)
    np.testing.assert_array_equal(env.action(a1), np.where(mask, 0, a1))
    np.testing.assert_array_equal(env.action(-a1), np.where(mask, a1, -a1))
    _, info2 = env.reset(seed=0)
    np.testing.assert_array_equal(info2["action_delay_mask"], mask)
    obs, *_ = env.step(a1)
    assert env.observation_space.contains(obs)
