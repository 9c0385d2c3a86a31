from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gym_dactyl.constants import ACTUATOR_NAMES
from wrappers.backlash import DACTYL_BACKLASH_LOG_RATE_DOWN, DACTYL_BACKLASH_LOG_RATE_UP, Backlash

FAST = settings(max_examples=15, deadline=None)  # derandomized by the "ci" profile (tests/conftest.py)


def reference_step(a, slack, gain_up, gain_down):
    """The documented update, written out per actuator with plain Python floats."""
    out, new = [], []
    for ai, si, gu, gd in zip(a, slack, gain_up, gain_down, strict=True):
        ai = float(ai)
        incr = ai * (gu if ai > 0 else gd)
        gap = abs(np.sign(ai) - si)
        alpha = 0.0 if ai == 0 else min(max(gap / abs(incr), 0.0), 1.0)
        out.append((1 - alpha) * ai)
        new.append(min(max(si + incr, -1.0), 1.0))
    return np.array(out), np.array(new)


def test_defaults_calibrated_rates_for_the_20_actuators(dactyl_fake):
    assert len(DACTYL_BACKLASH_LOG_RATE_UP) == len(DACTYL_BACKLASH_LOG_RATE_DOWN) == len(ACTUATOR_NAMES) == 20
    env = Backlash(dactyl_fake)
    np.testing.assert_array_equal(env.log_rate_up, DACTYL_BACKLASH_LOG_RATE_UP)
    np.testing.assert_array_equal(env.log_rate_down, DACTYL_BACKLASH_LOG_RATE_DOWN)
    assert (env.std, env.min_rate, env.dt) == (0.1, 2.0, 0.08)
    np.testing.assert_array_equal(env.action_scale, 1.0)  # fake env: no MuJoCo model


@pytest.mark.parametrize("kwargs", [{"scale": 0.0}, {"enabled": False}])
def test_zero_scale_or_disabled_is_exact_identity(fx, kwargs):
    actions = [np.linspace(-1, 1, 20, dtype=np.float32) * (-1) ** i for i in range(12)]
    raw_env, inner = fx.FakeDactylEnv(), fx.FakeDactylEnv()
    raw = fx.rollout(raw_env, 2, 12, actions)
    wrapped = fx.rollout(Backlash(inner, **kwargs), 2, 12, actions)
    for a, b in zip(raw, wrapped, strict=True):
        fx.assert_obs_equal(a, b)
    np.testing.assert_array_equal(raw_env.actions, inner.actions)


@FAST
@given(
    actions=hnp.arrays(np.float32, (8, 3), elements=st.floats(-1, 1, width=32)),
    log_rate=st.floats(-2.0, 6.0),
    scale=st.floats(0.01, 10.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_attenuates_never_amplifies_and_matches_documented_update(fx, actions, log_rate, scale, seed):
    inner = fx.FakeBoxEnv()
    env = Backlash(inner, log_rate_up=log_rate, log_rate_down=log_rate - 0.5, scale=scale)
    assert env.action_space == inner.action_space and env.observation_space == inner.observation_space
    env.reset(seed=seed)
    assert np.all(env.slack == 0)
    for a in actions:
        slack = env.slack.copy()
        expected, expected_slack = reference_step(a, slack, env._gain_up, env._gain_down)
        out = env.action(a)
        assert out.dtype == np.float32 and inner.action_space.contains(out)
        np.testing.assert_allclose(out, expected.astype(np.float32), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(env.slack, expected_slack, atol=1e-12)
        assert np.all(np.abs(out) <= np.abs(a)) and np.all(out * a >= 0)
        assert np.all(np.abs(env.slack) <= 1)


def test_slack_taken_up_then_full_action_and_reversal_attenuated(fx):
    env = Backlash(fx.FakeBoxEnv(shape=(1,)), log_rate_up=1.5, log_rate_down=1.5, std=0.0)  # δ = e^1.5 /s
    env.reset(seed=0)
    up, down = np.float32([0.5]), np.float32([-0.5])
    outs = [float(env.action(up)[0]) for _ in range(40)]
    assert outs[0] < 0.5 and outs[-1] == 0.5 and env.slack[0] == 1.0
    assert all(x <= y for x, y in zip(outs, outs[1:], strict=False))  # ramps up as the slack closes
    back = [float(env.action(down)[0]) for _ in range(40)]
    assert back[0] == 0.0 and back[-1] == -0.5 and env.slack[0] == -1.0  # full gap of 2 to cross
    # crossing the full gap (2) takes longer than the first half gap (1) from mid-slack
    assert sum(b == 0.0 for b in back) > sum(o == 0.0 for o in outs)


def test_per_episode_rates_log_normal_around_calibration(fx):
    env = Backlash(fx.FakeBoxEnv(shape=(4,)), log_rate_up=4.0, log_rate_down=3.0)
    ups, downs = [], []
    for seed in range(500):
        env.reset(seed=seed)
        ups.append(np.log(env.rate_up))
        downs.append(np.log(env.rate_down))
    ups, downs = np.array(ups), np.array(downs)
    assert abs(ups.mean() / 4.0 - 1) < 0.01 and abs(ups.std() / (0.1 * 4.0) - 1) < 0.08
    assert abs(downs.mean() / 3.0 - 1) < 0.01 and abs(downs.std() / (0.1 * 3.0) - 1) < 0.08
    # constant within an episode: stepping does not redraw
    rate = env.rate_up.copy()
    for _ in range(5):
        env.action(np.ones(4, np.float32))
    np.testing.assert_array_equal(rate, env.rate_up)


def test_min_rate_and_scale(fx):
    env = Backlash(fx.FakeBoxEnv(shape=(2,)), log_rate_up=-5.0, log_rate_down=-5.0, min_rate=3.0, scale=2.0)
    env.reset(seed=0)
    np.testing.assert_allclose(env.rate_up, 3.0 / 2.0)  # clipped at min_rate, slack doubled (rate halved)


def test_same_seed_same_sequence_different_seed_differs(fx):
    def run(seed: int) -> list[np.ndarray]:
        inner = fx.FakeDactylEnv()
        acts = [np.full(20, 0.8 * (-1) ** (i // 3), np.float32) for i in range(12)]
        fx.rollout(Backlash(inner, std=0.5), seed, 12, acts)
        return inner.actions

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(x, z) for x, z in zip(a, c, strict=True))


class _NoDt(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (1,))
    action_space = gym.spaces.Box(-1, 1, (2,))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"log_rate_up": [1.0, 2.0]}, "log_rate_up"),
        ({"log_rate_up": float("nan")}, "log_rate_up"),
        ({"log_rate_down": "x"}, "log_rate_down"),
        ({"std": -0.1}, "std"),
        ({"min_rate": 0.0}, "min_rate"),
        ({"action_scale": 0.0}, "action_scale"),
        ({"action_scale": [1.0, -1.0, 1.0]}, "action_scale"),
        ({"dt": -0.08}, "dt"),
        ({"scale": -1.0}, "scale"),
        ({"enabled": "no"}, "enabled"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(box_fake, kwargs, name):
    kwargs = {"log_rate_up": 3.0, "log_rate_down": 3.0, **kwargs}
    with pytest.raises(ValueError) as err:
        Backlash(box_fake, **kwargs)
    assert name in str(err.value)


def test_defaults_need_20_actuators_and_dt_needed(box_fake):
    with pytest.raises(ValueError, match="log_rate_up"):
        Backlash(box_fake)
    with pytest.raises(ValueError, match="dt"):
        Backlash(_NoDt(), log_rate_up=3.0, log_rate_down=3.0)
    assert Backlash(_NoDt(), log_rate_up=3.0, log_rate_down=3.0, dt=0.1).dt == 0.1


def test_non_box_action_space_rejected(fx):
    with pytest.raises(ValueError, match="action_space"):
        Backlash(fx.FakeDiscreteActionEnv(), log_rate_up=3.0, log_rate_down=3.0)


def test_check_env(fx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(Backlash(fx.FakeDactylEnv()), skip_render_check=True)


def test_real_env(dactyl_make):
    inner = dactyl_make()
    env = Backlash(inner)
    ctrlrange = inner.unwrapped.model.actuator_ctrlrange
    np.testing.assert_allclose(env.action_scale, 0.5 * (ctrlrange[:, 1] - ctrlrange[:, 0]))
    assert env.dt == inner.unwrapped.dt
    obs, _ = env.reset(seed=0)
    a = np.full(20, 0.5, np.float32)
    first = env.action(a)
    assert np.all(first <= a) and np.any(first < a)  # the slow (calibrated) joints start in mid-slack
    for _ in range(3):
        obs, *_ = env.step(a)
        assert env.observation_space.contains(obs)
