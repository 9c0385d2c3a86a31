from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import FilterObservation
from hypothesis import given, settings
from hypothesis import strategies as st

from wrappers.marker_freeze import MarkerFreeze
from wrappers.observation_noise import ObservationNoise

FAST = settings(max_examples=12, deadline=None)  # derandomized by the "ci" profile (tests/conftest.py)
ZERO = np.zeros(20, np.float32)


def markers(obs) -> np.ndarray:
    return np.asarray(obs["fingertip_pos"]).reshape(5, 3)


def test_defaults_are_dactyl_app_c2(dactyl_fake):
    env = MarkerFreeze(dactyl_fake)
    assert (env.dropout_rate, env.dropout_duration, env.n_markers, env.dt) == (0.2, 1.0, 5, 0.08)
    assert env.dropout_steps == 13  # 1 s / 80 ms = 12.5 -> 13 steps
    assert env.dropout_probability == pytest.approx(1 - np.exp(-0.2 * 0.08))
    assert env.use_state  # the fake env has Dactyl's clean "state"


def test_disabled_is_exact_identity(fx):
    raw = fx.rollout(fx.FakeDactylEnv(), 0, 15)
    wrapped = fx.rollout(MarkerFreeze(fx.FakeDactylEnv(), dropout_rate=5.0, enabled=False), 0, 15)
    for a, b in zip(raw, wrapped, strict=True):
        fx.assert_obs_equal(a, b)


@FAST
@given(seed=st.integers(0, 2**31 - 1), rate=st.floats(0.0, 5.0), noisy=st.booleans())
def test_frozen_markers_hold_their_value_others_pass_through(fx, seed, rate, noisy):
    layout = np.array([[0.0, 0.0, 0.1], [0.012, 0.0, 0.1], [0.1, 0.0, 0.1], [0.2, 0.0, 0.1], [0.0, 0.0, 0.02]])
    inner = fx.FakeDactylEnv(marker_layout=layout, walk=0.004)
    middle = ObservationNoise(inner) if noisy else inner
    env = MarkerFreeze(middle, dropout_rate=rate)
    assert env.observation_space == inner.observation_space and env.action_space == inner.action_space
    obs, info = env.reset(seed=seed)
    assert not info["marker_frozen"].any()
    prev = markers(obs).copy()
    for _ in range(25):
        obs, _, _, _, info = env.step(ZERO)
        frozen = info["marker_frozen"]
        np.testing.assert_array_equal(frozen, env.frozen)
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(markers(obs)[frozen], prev[frozen])
        if not noisy:
            np.testing.assert_array_equal(markers(obs)[~frozen], markers(inner.clean_obs)[~frozen])
            for key in ("object_pos", "object_quat", "relative_goal_quat", "state"):
                np.testing.assert_array_equal(obs[key], inner.clean_obs[key])
        prev = markers(obs).copy()


def test_occlusion_by_other_marker_and_by_object_uses_clean_state(fx):
    # markers 0 and 1 are 1 cm apart, marker 4 is 2 cm from the object centre; 2 and 3 are free
    layout = np.array([[0.0, 0.2, 0.0], [0.01, 0.2, 0.0], [0.1, 0.2, 0.0], [0.2, 0.2, 0.0], [0.0, 0.0, 0.02]])
    inner = fx.FakeDactylEnv(marker_layout=layout, walk=0.0005)
    env = MarkerFreeze(ObservationNoise(inner, sigmas={"fingertip_pos": (0.0, 0.05)}), dropout_rate=0.0)
    obs0, _ = env.reset(seed=0)
    for _ in range(20):
        obs, _, _, _, info = env.step(ZERO)
        np.testing.assert_array_equal(info["marker_frozen"], [True, True, False, False, True])
    np.testing.assert_array_equal(markers(obs)[[0, 1, 4]], markers(obs0)[[0, 1, 4]])  # the first noisy value
    # with 5 cm of noise the observed markers 0 and 1 are rarely within 2 cm: the mask above came from the clean
    # state, while the output of the free markers is the noisy observation
    assert not np.allclose(markers(obs)[2], markers(inner.clean_obs)[2], atol=0.01)


def test_occlusion_without_state_uses_observed_positions(fx):
    layout = np.array([[0.0, 0.2, 0.0], [0.01, 0.2, 0.0], [0.1, 0.2, 0.0], [0.2, 0.2, 0.0], [0.0, 0.0, 0.02]])
    inner = FilterObservation(fx.FakeDactylEnv(marker_layout=layout, walk=0.0), ["fingertip_pos", "object_pos"])
    env = MarkerFreeze(inner, dropout_rate=0.0)
    assert not env.use_state
    env.reset(seed=0)
    _, _, _, _, info = env.step(ZERO)
    np.testing.assert_array_equal(info["marker_frozen"], [True, True, False, False, True])
    only_markers = MarkerFreeze(FilterObservation(fx.FakeDactylEnv(marker_layout=layout), ["fingertip_pos"]),
                                dropout_rate=0.0)  # fmt: skip
    only_markers.reset(seed=0)
    np.testing.assert_array_equal(only_markers.step(ZERO)[4]["marker_frozen"], [True, True, False, False, False])


def test_dropout_durations_and_frequency(fx):
    env = MarkerFreeze(fx.FakeDactylEnv(), marker_distance=0.0, object_distance=0.0)  # dropouts only
    env.reset(seed=0)
    frozen = np.array([env.step(ZERO)[4]["marker_frozen"] for _ in range(4000)])
    d, p = env.dropout_steps, env.dropout_probability
    for m in range(5):
        edges = np.flatnonzero(np.diff(np.concatenate(([0], frozen[:, m].astype(int), [0]))))
        runs = (edges[1::2] - edges[::2])[:-1]  # drop a run cut by the end
        assert len(runs) > 10 and np.all(runs % d == 0)  # back-to-back dropouts merge into multiples of D
    expected = p * d / (p * d + 1 - p)  # renewal: D frozen steps per ~1/p eligible steps
    assert abs(frozen.mean() - expected) < 0.04


def test_same_seed_same_sequence_different_seed_differs(fx):
    def run(seed: int) -> np.ndarray:
        env = MarkerFreeze(fx.FakeDactylEnv(), dropout_rate=3.0)
        env.reset(seed=seed)
        return np.array([env.step(ZERO)[4]["marker_frozen"] for _ in range(40)])

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


class _NoDtEnv(gym.Env):
    observation_space = gym.spaces.Dict({"fingertip_pos": gym.spaces.Box(-1, 1, (15,))})
    action_space = gym.spaces.Box(-1, 1, (2,))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"key": "nope"}, "key"),
        ({"key": "object_quat"}, "key"),
        ({"dropout_rate": -0.2}, "dropout_rate"),
        ({"dropout_duration": float("nan")}, "dropout_duration"),
        ({"marker_distance": -0.01}, "marker_distance"),
        ({"object_distance": "far"}, "object_distance"),
        ({"dt": 0.0}, "dt"),
        ({"use_state": "yes"}, "use_state"),
        ({"enabled": 0}, "enabled"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(dactyl_fake, kwargs, name):
    with pytest.raises(ValueError) as err:
        MarkerFreeze(dactyl_fake, **kwargs)
    assert name in str(err.value)


def test_wrong_env_rejected(fx):
    with pytest.raises(ValueError, match="observation_space"):
        MarkerFreeze(gym.make("Pendulum-v1"))
    with pytest.raises(ValueError, match="dt"):
        MarkerFreeze(_NoDtEnv())
    with pytest.raises(ValueError, match="use_state"):
        MarkerFreeze(FilterObservation(fx.FakeDactylEnv(), ["fingertip_pos", "object_pos"]), use_state=True)


def test_check_env(fx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(MarkerFreeze(ObservationNoise(fx.FakeDactylEnv()), dropout_rate=2.0), skip_render_check=True)


def test_real_env(dactyl_make):
    inner = dactyl_make()
    env = MarkerFreeze(ObservationNoise(inner), dropout_rate=5.0)
    assert env.use_state and env.dt == inner.unwrapped.dt
    obs, info = env.reset(seed=0)
    assert info["marker_frozen"].shape == (5,) and not info["marker_frozen"].any()
    prev = markers(obs).copy()
    for _ in range(5):
        obs, _, _, _, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(markers(obs)[info["marker_frozen"]], prev[info["marker_frozen"]])
        prev = markers(obs).copy()
