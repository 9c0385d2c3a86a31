"""A bad action is refused where it is given, before any state changes; the episode goes on as if it never was."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gym_dactyl  # noqa: F401
from wrappers import ActionDelay, ActionNoise, Backlash, DiscretizeActions, RandomForces, dactyl_randomization
from wrappers.action_check import check_action

STACK = (
    "physics_randomization",
    "timestep_randomization",
    "random_forces",
    "backlash",
    "action_noise",
    "action_delay",
    "observation_noise",
    "marker_freeze",
)
CHECKERS = {"random_forces": "RandomForces", "backlash": "Backlash", "action_noise": "ActionNoise",
            "action_delay": "ActionDelay"}  # fmt: skip
BAD_CONTINUOUS = (np.nan, np.inf, -np.inf, 1.5, -1.01, 7.0)
BAD_DISCRETE = (-1, 11, 2.5, np.nan)


def make(subset: frozenset[str], discrete: bool) -> gym.Env:
    base = gym.make("Dactyl-v0", action_type="continuous")
    overrides = {name: name in subset for name in STACK}
    # every stateful action wrapper on, so the bad call would disturb them: delay on half the actuators, etc.
    if "action_delay" in subset:
        overrides["action_delay"] = {"probability": 0.5}
    return dactyl_randomization(base, discrete_actions=discrete, **overrides)


def expected_owner(subset: frozenset[str], discrete: bool) -> str:
    if discrete:
        return "DiscretizeActions"
    for name in ("action_delay", "action_noise", "backlash", "random_forces"):  # outermost first
        if name in subset:
            return CHECKERS[name]
    return "action must be finite"  # the bare env's own check


def same(a: tuple, b: tuple) -> bool:
    obs_a, r_a, te_a, tr_a, _ = a
    obs_b, r_b, te_b, tr_b, _ = b
    return (r_a, te_a, tr_a) == (r_b, te_b, tr_b) and all(np.array_equal(obs_a[k], obs_b[k]) for k in obs_a)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subset=st.frozensets(st.sampled_from(STACK)),
    discrete=st.booleans(),
    before=st.integers(0, 4),
    positions=st.lists(st.integers(0, 19), min_size=1, max_size=3, unique=True),
    bad_index=st.integers(0, 5),
    seed=st.integers(0, 2**16),
)
def test_bad_action_leaves_the_episode_as_if_never_given(subset, discrete, before, positions, bad_index, seed):
    env, twin = make(subset, discrete), make(subset, discrete)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(before + 4)]
    env.reset(seed=seed)
    twin.reset(seed=seed)
    for a in actions[:before]:
        assert same(env.step(a), twin.step(a))
    bad = actions[before].astype(np.float64)
    values = BAD_DISCRETE if discrete else BAD_CONTINUOUS
    for i, pos in enumerate(positions):
        bad[pos] = values[(bad_index + i) % len(values)]
    with pytest.raises(ValueError, match=expected_owner(subset, discrete)) as err:
        env.step(bad)
    if expected_owner(subset, discrete)[0].isupper():
        assert f"{positions[0]}: " in str(err.value)  # the bad entries are named
    for a in actions[before:]:
        out, out_twin = env.step(a), twin.step(a)
        assert same(out, out_twin)
        if out[2] or out[3]:
            break


@pytest.mark.parametrize("shape", [(19,), (20, 1), ()])
def test_wrong_shape_is_refused_by_the_outermost_wrapper(shape):
    env = make(frozenset(STACK), discrete=False)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"ActionDelay: action must have shape \(20,\)"):
        env.step(np.zeros(shape))


def test_action_delay_refuses_nan_on_the_step_it_is_given():
    env = ActionDelay(gym.make("Dactyl-v0", action_type="continuous"), probability=1.0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="ActionDelay.*3: nan"):
        env.step(np.where(np.arange(20) == 3, np.nan, 0.0))
    env.step(np.zeros(20))  # the next valid action is not blamed
    env.step(np.zeros(20))


def test_backlash_slack_survives_a_nan_action():
    env = Backlash(gym.make("Dactyl-v0", action_type="continuous"))
    env.reset(seed=0)
    env.step(np.full(20, 0.3))
    slack = env.slack.copy()
    with pytest.raises(ValueError, match="Backlash"):
        env.step(np.where(np.arange(20) == 0, np.nan, 0.0))
    np.testing.assert_array_equal(env.slack, slack)
    env.step(np.zeros(20))
    assert np.isfinite(env.slack).all()


def test_action_noise_and_forces_draw_nothing_for_a_bad_action():
    env = RandomForces(ActionNoise(gym.make("Dactyl-v0", action_type="continuous")))
    env.reset(seed=0)
    noise = env.env
    state = (noise.np_random.bit_generator.state, env._rng.bit_generator.state, env._force.copy())
    with pytest.raises(ValueError, match="RandomForces"):
        env.step(np.full(20, 2.0))
    with pytest.raises(ValueError, match="ActionNoise"):
        noise.step(np.full(20, -np.inf))
    assert noise.np_random.bit_generator.state == state[0] and env._rng.bit_generator.state == state[1]
    np.testing.assert_array_equal(env._force, state[2])


def test_trust_is_used_once():
    """An inner wrapper skips its check only for the very array the checked wrapper above handed down."""
    inner = ActionDelay(gym.make("Dactyl-v0", action_type="continuous"), probability=0.0)
    outer = DiscretizeActions(inner)
    outer.reset(seed=0)
    assert outer._downstream is inner
    outer.step(np.full(20, 5))
    assert inner._trusted is None  # consumed
    with pytest.raises(ValueError, match="ActionDelay"):
        inner.step(np.full(20, np.nan))


def test_check_action_other_spaces():
    assert check_action("X", gym.spaces.Discrete(3), 2) == 2
    with pytest.raises(ValueError, match="X: action must belong"):
        check_action("X", gym.spaces.Discrete(3), 3)
    with pytest.raises(ValueError, match="numeric"):
        check_action("X", gym.spaces.Box(-1, 1, (2,)), np.array(["a", "b"]))
