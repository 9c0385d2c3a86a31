from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from wrappers.action_delay import ActionDelay
from wrappers.action_noise import ActionNoise
from wrappers.backlash import Backlash
from wrappers.discretize_actions import DiscretizeActions
from wrappers.marker_freeze import MarkerFreeze
from wrappers.observation_noise import ObservationNoise

FAST = settings(max_examples=25, deadline=None)  # derandomized by the "ci" profile (tests/conftest.py)


def test_dactyl_default_11_bins_on_minus_one_one(dactyl_fake):
    env = DiscretizeActions(dactyl_fake)
    assert env.action_space == spaces.MultiDiscrete([11] * 20)
    assert env.observation_space == dactyl_fake.observation_space
    for b in range(11):
        out = env.action(np.full(20, b))
        assert out.dtype == np.float32 and out.shape == (20,)
        np.testing.assert_allclose(out, np.float32(b / 5 - 1), rtol=0, atol=1e-7)  # env contract: b/5 - 1
    np.testing.assert_array_equal(env.action(np.zeros(20, int)), -1.0)
    np.testing.assert_array_equal(env.action(np.full(20, 10)), 1.0)
    np.testing.assert_array_equal(env.action(np.full(20, 5)), 0.0)


@FAST
@given(
    bins=st.integers(2, 40),
    low=st.lists(st.floats(-100, 100, width=32), min_size=3, max_size=3),
    width=st.lists(st.floats(0, 100, width=32), min_size=3, max_size=3),
    data=st.data(),
)
def test_mapping_formula_exact_endpoints_monotone(fx, bins, low, width, data):
    low = np.float32(low)
    high = (low + np.float32(width)).astype(np.float32)
    inner = fx.FakeBoxEnv(low=low, high=high)
    env = DiscretizeActions(inner, bins=bins)
    assert env.action_space == spaces.MultiDiscrete([bins] * 3)
    np.testing.assert_array_equal(env.action(np.zeros(3, int)), inner.action_space.low)
    np.testing.assert_array_equal(env.action(np.full(3, bins - 1)), inner.action_space.high)
    assert np.all(np.diff(env.bin_values.astype(np.float64), axis=0) >= 0)
    b = np.array(data.draw(st.lists(st.integers(0, bins - 1), min_size=3, max_size=3)))
    out = env.action(b)
    assert inner.action_space.contains(out)
    lo, hi = inner.action_space.low.astype(np.float64), inner.action_space.high.astype(np.float64)
    np.testing.assert_allclose(out, lo + b * (hi - lo) / (bins - 1), rtol=1e-6, atol=1e-5)


def test_integer_valued_floats_and_lists_accepted(dactyl_fake):
    env = DiscretizeActions(dactyl_fake)
    np.testing.assert_array_equal(env.action(np.full(20, 10.0)), 1.0)
    np.testing.assert_array_equal(env.action([0] * 20), -1.0)
    np.testing.assert_array_equal(env.action(np.full(20, 3, dtype=np.uint8)), np.float32(-0.4))


@pytest.mark.parametrize(
    "action",
    [
        np.zeros(19, int),  # wrong shape
        np.zeros((20, 1), int),
        np.full(20, 11),  # out of range
        np.full(20, -1),
        np.full(20, 0.5),  # not integer-valued
        np.full(20, np.nan),
        np.zeros(20, bool),
        np.array(["0"] * 20),
        3,
    ],
)
def test_invalid_actions_raise_value_error(dactyl_fake, action):
    env = DiscretizeActions(dactyl_fake)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)
    assert dactyl_fake.actions == []  # nothing reached the env


@pytest.mark.parametrize(("bins", "name"), [(1, "bins"), (2.5, "bins"), (True, "bins"), ("11", "bins")])
def test_invalid_bins(dactyl_fake, bins, name):
    with pytest.raises(ValueError, match=name):
        DiscretizeActions(dactyl_fake, bins=bins)


@pytest.mark.parametrize("make", [lambda fx: fx.FakeDiscreteActionEnv(), lambda fx: gym.make("CartPole-v1")])
def test_non_box_inner_action_space_rejected(fx, make):
    with pytest.raises(ValueError, match="action_space"):
        DiscretizeActions(make(fx))


def test_unbounded_box_rejected(fx):
    inner = fx.FakeBoxEnv()
    inner.action_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
    with pytest.raises(ValueError, match="action_space"):
        DiscretizeActions(inner)


def test_check_env(fx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(DiscretizeActions(fx.FakeDactylEnv()), skip_render_check=True)
        check_env(DiscretizeActions(gym.make("Pendulum-v1").unwrapped, bins=7), skip_render_check=True)


def full_stack(env: gym.Env) -> gym.Env:
    """Every wrapper of this package, in the documented order (noise inside, freeze outside, bins outermost)."""
    env = ActionDelay(ActionNoise(Backlash(env)))
    return DiscretizeActions(MarkerFreeze(ObservationNoise(env), dropout_rate=2.0))


def test_full_stack_on_fake_env_is_seeded(fx):
    def run(seed: int):
        env = full_stack(fx.FakeDactylEnv())
        acts = [np.random.default_rng(i).integers(0, 11, 20) for i in range(8)]
        return fx.rollout(env, seed, 8, acts), env.unwrapped.actions

    (obs_a, act_a), (obs_b, act_b), (obs_c, act_c) = run(1), run(1), run(2)
    for x, y, z in zip(obs_a, obs_b, obs_c, strict=True):
        fx.assert_obs_equal(x, y)
        assert fx.obs_differ(x, z)
    np.testing.assert_array_equal(act_a, act_b)
    assert not np.array_equal(act_a, act_c)


def test_real_env_matches_discrete_dactyl(dactyl_make, fx):
    """DiscretizeActions(continuous Dactyl) behaves like Dactyl's own discrete interface.

    Not bit-for-bit: the env maps bins in float64, this wrapper returns the Box's float32, a 1e-8 difference.
    """
    ours = DiscretizeActions(dactyl_make())
    theirs = gym.make("Dactyl-v0", action_type="discrete")
    assert ours.action_space == theirs.action_space
    rng = np.random.default_rng(0)
    acts = [rng.integers(0, 11, 20) for _ in range(3)]
    for x, y in zip(fx.rollout(ours, 0, 3, acts), fx.rollout(theirs, 0, 3, acts), strict=True):
        for k in x:
            np.testing.assert_allclose(x[k], y[k], rtol=0, atol=1e-5, err_msg=k)


def test_real_env_full_stack_check_env_and_seeding(dactyl_make, fx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(full_stack(dactyl_make()), skip_render_check=True)
    acts = [np.full(20, 7)] * 3
    a = fx.rollout(full_stack(dactyl_make()), 3, 3, acts)
    b = fx.rollout(full_stack(dactyl_make()), 3, 3, acts)
    for x, y in zip(a, b, strict=True):
        fx.assert_obs_equal(x, y)


def test_real_env_stack_rebuilds_from_its_spec(dactyl_make, fx):
    """RecordConstructorArgs: gym.make(env.spec) rebuilds the whole stack with the same arguments."""
    env = full_stack(dactyl_make())
    assert [w.name for w in env.spec.additional_wrappers][-3:] == [
        "ObservationNoise",
        "MarkerFreeze",
        "DiscretizeActions",
    ]
    rebuilt = gym.make(env.spec)
    acts = [np.full(20, 2)] * 2
    for x, y in zip(fx.rollout(env, 9, 2, acts), fx.rollout(rebuilt, 9, 2, acts), strict=True):
        fx.assert_obs_equal(x, y)
