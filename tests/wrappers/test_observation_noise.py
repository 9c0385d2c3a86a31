from __future__ import annotations

import warnings

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from gym_dactyl.constants import STATE_LAYOUT
from wrappers.observation_noise import (
    DACTYL_OBSERVATION_NOISE,
    ObservationNoise,
    canonical_quat,
    quat_conj,
    quat_mul,
    random_rotation,
)

FAST = settings(max_examples=15, deadline=None)  # derandomized by the "ci" profile (tests/conftest.py)
POS_KEYS = ("fingertip_pos", "object_pos")


def rotation_angle(q_from: np.ndarray, q_to: np.ndarray) -> np.ndarray:
    """Angle of the rotation R with q_to = R ⊗ q_from, robust for small angles."""
    r = quat_mul(np.asarray(q_to, np.float64), quat_conj(np.asarray(q_from, np.float64)))
    return 2.0 * np.arctan2(np.linalg.norm(r[..., 1:], axis=-1), np.abs(r[..., 0]))


def test_defaults_are_dactyl_table_7(fx):
    assert DACTYL_OBSERVATION_NOISE == {
        "fingertip_pos": (0.001, 0.002),
        "object_pos": (0.005, 0.001),
        "object_quat": (0.1, 0.1),
    }
    env = ObservationNoise(fx.FakeDactylEnv())
    assert env.sigmas == DACTYL_OBSERVATION_NOISE
    assert env.quat_keys == ("object_quat",)
    assert env.linked_quats == {"relative_goal_quat": "object_quat"}


def test_quaternion_helpers_match_mujoco():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 16, 4))
    res = np.zeros(4)
    for i in range(16):
        mujoco.mju_mulQuat(res, a[i], b[i])
        np.testing.assert_allclose(quat_mul(a[i], b[i]), res, atol=1e-12)
    q = random_rotation(rng, 16, 0.3)
    axis_angle = np.zeros(4)
    for i in range(16):
        angle = 2 * np.arctan2(np.linalg.norm(q[i, 1:]), q[i, 0])
        mujoco.mju_axisAngle2Quat(axis_angle, q[i, 1:] / np.linalg.norm(q[i, 1:]), angle)
        np.testing.assert_allclose(axis_angle, q[i], atol=1e-12)
    c = canonical_quat(-3.0 * q)
    np.testing.assert_allclose(np.linalg.norm(c, axis=-1), 1.0)
    assert np.all(c[:, 0] >= 0)


@pytest.mark.parametrize("kwargs", [{"scale": 0.0}, {"enabled": False}, {"sigmas": {"object_pos": (0.0, 0.0)}}])
def test_zero_magnitude_is_exact_identity(fx, kwargs):
    raw = fx.rollout(fx.FakeDactylEnv(), seed=3, n=20)
    wrapped = fx.rollout(ObservationNoise(fx.FakeDactylEnv(), **kwargs), seed=3, n=20)
    for a, b in zip(raw, wrapped, strict=True):
        fx.assert_obs_equal(a, b)


@FAST
@given(scale=st.floats(0.0, 5.0), seed=st.integers(0, 2**31 - 1))
def test_spaces_unchanged_state_clean_quats_unit_and_linked(fx, scale, seed):
    inner = fx.FakeDactylEnv()
    env = ObservationNoise(inner, scale=scale)
    assert env.observation_space == inner.observation_space
    assert env.action_space == inner.action_space
    obs, _ = env.reset(seed=seed)
    for _ in range(5):
        clean = inner.clean_obs
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs["state"], clean["state"])
        for key in ("object_quat", "relative_goal_quat"):
            np.testing.assert_allclose(np.linalg.norm(obs[key].astype(np.float64)), 1.0, atol=1e-6)
            assert obs[key][0] >= 0
        # relative_noisy == goal ⊗ conj(object_noisy)
        goal = clean["state"][STATE_LAYOUT["goal_quat"]].astype(np.float64)
        expected = canonical_quat(quat_mul(goal, quat_conj(obs["object_quat"].astype(np.float64))))
        assert rotation_angle(expected, obs["relative_goal_quat"]) < 1e-5
        obs, *_ = env.step(env.action_space.sample())


def test_position_noise_statistics(fx):
    """Uncorrelated part: std σ_u around the episode's constant offset; correlated part: std σ_c across resets."""
    inner = fx.FakeDactylEnv()
    env = ObservationNoise(inner)
    env.reset(seed=0)
    noise = {k: [] for k in POS_KEYS}
    for _ in range(2000):
        obs, *_ = env.step(np.zeros(20, np.float32))
        for k in POS_KEYS:
            noise[k].append(obs[k].astype(np.float64) - inner.clean_obs[k])
    for k in POS_KEYS:
        corr, uncorr = DACTYL_OBSERVATION_NOISE[k]
        n = np.array(noise[k])
        resid = n - env.correlated_offset[k]
        assert abs(resid.std() / uncorr - 1) < 0.05, k  # 2000·d draws: SE of the std ≈ 1 %
        assert np.all(np.abs(resid.mean(axis=0)) < 4 * uncorr / np.sqrt(len(n))), k

    offsets = {k: [] for k in POS_KEYS}
    for seed in range(600):
        env.reset(seed=seed)
        for k in POS_KEYS:
            offsets[k].append(env.correlated_offset[k].copy())
    for k in POS_KEYS:
        o = np.array(offsets[k])
        assert abs(o.std() / DACTYL_OBSERVATION_NOISE[k][0] - 1) < 0.06, k
        assert len(np.unique(o[:, 0])) == len(o)  # a new draw every reset


def test_correlated_noise_constant_within_episode_changes_across_resets(fx):
    inner = fx.FakeDactylEnv()
    env = ObservationNoise(inner, sigmas={"object_pos": (0.005, 0.0), "object_quat": (0.1, 0.0)})
    offsets, rotations = [], []
    for seed in (1, 2):
        obs, _ = env.reset(seed=seed)
        per_episode = []
        for _ in range(30):
            per_episode.append(obs["object_pos"].astype(np.float64) - inner.clean_obs["object_pos"])
            r = quat_mul(obs["object_quat"].astype(np.float64), quat_conj(inner.clean_obs["object_quat"]))
            rotations.append(canonical_quat(r))
            obs, *_ = env.step(np.zeros(20, np.float32))
        per_episode = np.array(per_episode)
        np.testing.assert_allclose(per_episode, np.broadcast_to(per_episode[0], per_episode.shape), atol=1e-6)
        np.testing.assert_allclose(np.array(rotations[-30:]), np.tile(rotations[-30], (30, 1)), atol=1e-5)
        offsets.append(per_episode[0])
    assert not np.allclose(offsets[0], offsets[1])
    assert not np.allclose(rotations[0], rotations[-1])


@pytest.mark.parametrize("sigmas", [(0.1, 0.0), (0.0, 0.1)])
def test_rotation_angle_distribution_matches_sigma(fx, sigmas):
    """Angle ~ |N(0, σ)| about a uniform axis: RMS angle ≈ σ, mean axis ≈ 0."""
    sigma = 0.1
    inner = fx.FakeDactylEnv()
    env = ObservationNoise(inner, sigmas={"object_quat": sigmas})
    angles, axes = [], []
    for i in range(2000):
        if sigmas[0] > 0 or i == 0:
            obs, _ = env.reset(seed=i)
        else:
            obs, *_ = env.step(np.zeros(20, np.float32))
        q_noisy = obs["object_quat"].astype(np.float64)
        q_clean = inner.clean_obs["object_quat"].astype(np.float64)
        r = quat_mul(q_noisy, quat_conj(q_clean))
        r = r if r[0] >= 0 else -r
        angles.append(rotation_angle(q_clean, q_noisy))
        axes.append(r[1:] / np.linalg.norm(r[1:]))
        np.testing.assert_allclose(np.linalg.norm(q_noisy), 1.0, atol=1e-6)
    rms = np.sqrt(np.mean(np.square(angles)))
    assert abs(rms / sigma - 1) < 0.05  # SE of the RMS with 2000 draws ≈ 1.6 %
    assert np.all(np.abs(np.mean(axes, axis=0)) < 0.1)  # axis mean of a uniform sphere: 0 ± 0.013


def test_same_seed_same_sequence_different_seed_differs(fx):
    a = fx.rollout(ObservationNoise(fx.FakeDactylEnv()), seed=7, n=10)
    b = fx.rollout(ObservationNoise(fx.FakeDactylEnv()), seed=7, n=10)
    c = fx.rollout(ObservationNoise(fx.FakeDactylEnv()), seed=8, n=10)
    for x, y in zip(a, b, strict=True):
        fx.assert_obs_equal(x, y)
    assert all(fx.obs_differ(x, z) for x, z in zip(a, c, strict=True))


def test_env_arrays_not_modified(fx):
    inner = fx.FakeDactylEnv()
    env = ObservationNoise(inner)
    raw, _ = inner.reset(seed=0)
    kept = {k: v.copy() for k, v in raw.items()}
    env.observation(raw)
    fx.assert_obs_equal(raw, kept)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sigmas": {"object_pos": (-0.1, 0.0)}}, "sigmas['object_pos'][0]"),
        ({"sigmas": {"object_pos": (0.0, float("nan"))}}, "sigmas['object_pos'][1]"),
        ({"sigmas": {"object_pos": 0.1}}, "sigmas['object_pos']"),
        ({"sigmas": {"nope": (0.1, 0.1)}}, "sigmas"),
        ({"sigmas": {"state": (0.1, 0.1)}}, "sigmas"),
        ({"sigmas": [("object_pos", (0.1, 0.1))]}, "sigmas"),
        ({"sigmas": {"object_pos": (0.1, 0.1)}, "quat_keys": ("object_pos",)}, "sigmas['object_pos']"),
        ({"linked_quats": {"relative_goal_quat": "object_pos"}}, "linked_quats['relative_goal_quat']"),
        ({"linked_quats": {"nope": "object_quat"}}, "linked_quats"),
        ({"linked_quats": {"fingertip_pos": "object_quat"}}, "linked_quats['fingertip_pos']"),
        ({"scale": -1.0}, "scale"),
        ({"scale": float("inf")}, "scale"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(fx, kwargs, name):
    with pytest.raises(ValueError) as err:
        ObservationNoise(fx.FakeDactylEnv(), **kwargs)
    assert name in str(err.value)


def test_non_dict_observation_space_rejected():
    with pytest.raises(ValueError, match="observation_space"):
        ObservationNoise(gym.make("Pendulum-v1"))


def test_check_env(fx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(ObservationNoise(fx.FakeDactylEnv()), skip_render_check=True)


def test_real_env(dactyl_make):
    inner = dactyl_make()
    env = ObservationNoise(inner)
    assert env.observation_space == inner.observation_space
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        assert env.observation_space.contains(obs)
        state = obs["state"].astype(np.float64)
        np.testing.assert_allclose(np.linalg.norm(obs["object_quat"]), 1.0, atol=1e-6)
        # noise only on policy keys; state stays clean, relative goal consistent with the noisy object quat
        assert rotation_angle(state[STATE_LAYOUT["object_quat"]], obs["object_quat"]) > 0
        expected = quat_mul(state[STATE_LAYOUT["goal_quat"]], quat_conj(obs["object_quat"].astype(np.float64)))
        assert rotation_angle(expected, obs["relative_goal_quat"]) < 1e-4
        assert not np.allclose(obs["fingertip_pos"], state[STATE_LAYOUT["fingertip_pos"]])
        obs, *_ = env.step(env.action_space.sample())
    a = fx_rollout_real(dactyl_make, seed=5)
    b = fx_rollout_real(dactyl_make, seed=5)
    np.testing.assert_array_equal(a, b)


def fx_rollout_real(make, seed: int) -> np.ndarray:
    env = ObservationNoise(make())
    obs, _ = env.reset(seed=seed)
    out = [obs["object_pos"]]
    for _ in range(2):
        obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
        out.append(obs["object_pos"])
    return np.array(out)
