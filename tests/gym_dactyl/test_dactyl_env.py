"""Tests of Dactyl-v0: spaces, reward semantics, determinism, checkers, bad input, rendering."""

from __future__ import annotations

import warnings

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import scipy.stats

import gym_dactyl
from gym_dactyl import constants as C
from gym_dactyl import rotations as R


@pytest.fixture
def env():
    e = gym.make("Dactyl-v0", action_type="continuous", goal="z")
    yield e
    e.close()


def hold(env) -> np.ndarray:
    """A zero relative action: hold the current joint targets."""
    return np.zeros(env.action_space.shape, dtype=np.float32)


def test_spaces_and_keys():
    env = gym.make("Dactyl-v0")
    assert env.action_space == gym.spaces.MultiDiscrete([11] * 20)
    assert set(env.observation_space.spaces) == {*C.POLICY_KEYS, "state"}
    obs, info = env.reset(seed=1)
    for key, dim in C.OBS_DIMS.items():
        assert obs[key].shape == (dim,) and obs[key].dtype == np.float32
        assert env.observation_space[key].contains(obs[key])
    assert C.STATE_DIM == 84
    assert set(info) == {"is_success", "consecutive_successes", "rotation_error", "dropped"}
    # The state vector's documented layout holds the same numbers as the policy keys.
    for key in ("object_pos", "object_quat", "relative_goal_quat", "fingertip_pos"):
        np.testing.assert_array_equal(obs["state"][C.STATE_LAYOUT[key]], obs[key])
    assert gym.make("Dactyl-v0", action_type="continuous").action_space == gym.spaces.Box(-1, 1, (20,), np.float32)


def test_timing_matches_paper(env):
    u = env.unwrapped
    assert u.frame_skip == 10
    assert u.model.opt.timestep == pytest.approx(0.008)
    assert u.dt == pytest.approx(0.08)


def test_hand_is_stable_at_8ms(env):
    """Holding still for the full 8 s goal timeout: no MuJoCo warning, the block stays on the palm."""
    env.reset(seed=3)
    u = env.unwrapped
    for _ in range(99):
        obs, reward, terminated, truncated, info = env.step(hold(env))
        assert not (terminated or truncated), info
        assert "physics_error" not in info
    assert all(u.data.warning[i].number == 0 for i in range(len(u.data.warning)))
    assert np.abs(u.data.qvel).max() < 5.0


def test_zero_action_holds_the_fingers(env):
    """Coupled pairs are driven as J1 + J0: a zero relative action must not curl the fingers."""
    obs, _ = env.reset(seed=3)
    layout = C.STATE_LAYOUT["joint_pos"]
    start = obs["state"][layout]
    for _ in range(50):
        obs, *_ = env.step(hold(env))
    fingers = slice(2, None)  # all but the two wrist joints, which the block's weight may tilt
    np.testing.assert_allclose(obs["state"][layout][fingers], start[fingers], atol=0.05)


def test_relative_goal_quat_is_goal_times_inverse_object(env):
    obs, _ = env.reset(seed=4)
    goal = env.unwrapped.goal_quat
    expected = R.canonical(R.quat_mul(goal, R.quat_conj(obs["object_quat"].astype(np.float64))))
    np.testing.assert_allclose(obs["relative_goal_quat"], expected, atol=1e-6)
    np.testing.assert_allclose(obs["state"][C.STATE_LAYOUT["goal_quat"]], goal, atol=1e-6)


def test_reward_is_rotation_progress(env):
    env.reset(seed=5, options={"object_quat": [1, 0, 0, 0], "goal_quat": R.yaw_quat(2.0)})
    prev = env.unwrapped._rotation_error
    _, reward, _, _, info = env.step(hold(env))
    assert reward == pytest.approx(prev - info["rotation_error"])


def test_success_gives_bonus_and_new_goal(env):
    env.reset(seed=6, options={"object_quat": [1, 0, 0, 0], "goal_quat": [1, 0, 0, 0]})
    old_goal = env.unwrapped.goal_quat
    before = env.unwrapped._rotation_error
    assert before < C.SUCCESS_THRESHOLD
    obs, reward, terminated, truncated, info = env.step(hold(env))
    assert info["is_success"] and info["consecutive_successes"] == 1
    assert not (terminated or truncated)
    new_goal = env.unwrapped.goal_quat
    assert not np.allclose(new_goal, old_goal)
    np.testing.assert_allclose(obs["state"][C.STATE_LAYOUT["goal_quat"]], new_goal, atol=1e-6)
    # +5 on top of the progress toward the (old) goal.
    assert 4.0 < reward < 6.0


def test_max_consecutive_successes_terminates():
    env = gym.make("Dactyl-v0", action_type="continuous", goal="z", max_consecutive_successes=1)
    env.reset(seed=7, options={"object_quat": [1, 0, 0, 0], "goal_quat": [1, 0, 0, 0]})
    _, _, terminated, truncated, info = env.step(np.zeros(20, np.float32))
    assert info["is_success"] and terminated and not truncated


def test_drop_gives_penalty_and_terminates(env):
    env.reset(seed=8)
    u = env.unwrapped
    u.data.qpos[u._obj_qpos : u._obj_qpos + 3] = [1.0, 0.5, 0.0]  # far below and away from the palm
    mujoco.mj_forward(u.model, u.data)
    _, reward, terminated, truncated, info = env.step(hold(env))
    assert info["dropped"] and terminated and not truncated
    assert reward < -19.0


def test_goal_timeout_truncates():
    env = gym.make("Dactyl-v0", action_type="continuous", goal="z", goal_timeout_s=0.4)
    env.reset(seed=9, options={"object_quat": [1, 0, 0, 0], "goal_quat": R.yaw_quat(np.pi)})
    results = [env.step(np.zeros(20, np.float32)) for _ in range(5)]
    assert [r[3] for r in results] == [False] * 4 + [True]
    assert not any(r[2] for r in results)


@pytest.mark.parametrize("goal", ["parallel", "z", "xyz"])
def test_goal_distributions(goal):
    env = gym_dactyl.DactylEnv(goal=goal)
    env.reset(seed=10)
    goals = np.array([env._sample_goal() for _ in range(200)])
    np.testing.assert_allclose(np.linalg.norm(goals, axis=1), 1.0, atol=1e-9)
    # Body z axis of each goal in the world frame.
    up = np.array([R.quat_mul(R.quat_mul(g, [0, 0, 0, 1]), R.quat_conj(g))[1:] for g in goals])
    if goal == "z":
        np.testing.assert_allclose(up, np.tile([0, 0, 1], (200, 1)), atol=1e-9)
    elif goal == "parallel":
        # Some face points up: every body axis is axis-aligned with the world z or horizontal.
        assert np.all(np.isclose(np.abs(up[:, 2]), 1.0) | np.isclose(up[:, 2], 0.0, atol=1e-9))
        assert len(np.unique(np.round(up[:, 2]))) == 3  # +z up, -z up and sideways all occur
    else:
        # Uniform on SO(3): no goal is axis-aligned (a parallel goal has |up_z| in {0, 1}) ...
        assert not np.any(np.isclose(np.abs(up[:, 2]), 1.0, atol=1e-6) | np.isclose(up[:, 2], 0.0, atol=1e-6))
        # ... and the body z axis is uniform on the sphere, so its world z component is U[-1, 1] (Archimedes).
        more = np.array([env._sample_goal() for _ in range(1800)])
        up_z = np.concatenate(
            [up[:, 2], [R.quat_mul(R.quat_mul(g, [0, 0, 0, 1]), R.quat_conj(g))[3] for g in more]]
        )
        assert scipy.stats.kstest(up_z, scipy.stats.uniform(-1.0, 2.0).cdf).pvalue > 1e-3


def test_seeded_determinism_200_steps():
    def rollout(seed: int) -> list[np.ndarray]:
        env = gym.make("Dactyl-v0")
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        out = [obs["state"]]
        for _ in range(200):
            obs, r, term, trunc, _ = env.step(env.action_space.sample())
            out.append(np.append(obs["state"], r))
            if term or trunc:
                obs, _ = env.reset()
                out.append(obs["state"])
        return out

    a, b, c = rollout(11), rollout(11), rollout(12)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_action_smoothing_is_an_ema():
    env = gym_dactyl.DactylEnv(action_type="continuous", action_smoothing=0.3)
    env.reset(seed=12)
    env.step(np.ones(20, np.float32))
    np.testing.assert_allclose(env._smoothed, 0.3)
    env.step(np.ones(20, np.float32))
    np.testing.assert_allclose(env._smoothed, 0.3 + 0.7 * 0.3)


def test_discrete_bins_map_to_unit_interval():
    env = gym_dactyl.DactylEnv()
    np.testing.assert_allclose(env._unit_action(np.arange(20) % 11), (np.arange(20) % 11) / 5 - 1)


@pytest.mark.parametrize("action_type", ["discrete", "continuous"])
def test_env_checkers(action_type):
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")
        check_env(gym.make("Dactyl-v0", action_type=action_type, render_mode="rgb_array").unwrapped)
        # SB3 is an extra ([train]); the core-only install test runs this file without it
        sb3_check_env = pytest.importorskip("stable_baselines3.common.env_checker").check_env
        sb3_check_env(gym_dactyl.DactylEnv(action_type=action_type), warn=False)


@pytest.mark.parametrize(
    ("action_type", "action", "match"),
    [
        ("discrete", np.zeros(19, int), "shape"),
        ("discrete", np.full(20, 11), r"\[0, 10\]"),
        ("discrete", np.full(20, -1), r"\[0, 10\]"),
        ("discrete", np.full(20, 2.5), "integer"),
        ("continuous", np.full(20, np.nan), "finite"),
        ("continuous", np.full(20, 1.5), r"\[-1, 1\]"),
        ("continuous", np.zeros((2, 20)), "shape"),
        ("continuous", np.array(["a"] * 20), "numeric"),
    ],
)
def test_bad_actions_raise(action_type, action, match):
    env = gym_dactyl.DactylEnv(action_type=action_type)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"action_type": "binary"}, "action_type"),
        ({"goal": "y"}, "goal"),
        ({"action_smoothing": 0.0}, "action_smoothing"),
        ({"success_threshold": -1}, "success_threshold"),
        ({"goal_timeout_s": 0}, "goal_timeout_s"),
        ({"max_consecutive_successes": 0}, "max_consecutive_successes"),
        ({"frame_skip": 0}, "frame_skip"),
        ({"render_mode": "human"}, "render_mode"),
        ({"width": 5000}, "width"),
        ({"object_half_size": 1.0}, "object_half_size"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gym_dactyl.DactylEnv(**kwargs)


def test_physics_blowup_truncates_and_reset_recovers(env):
    env.reset(seed=13)
    u = env.unwrapped
    u.data.qvel[:] = np.nan
    _, reward, terminated, truncated, info = env.step(hold(env))
    assert truncated and not terminated and "physics_error" in info and reward == 0.0
    obs, _ = env.reset(seed=13)
    assert all(np.isfinite(v).all() for v in obs.values())
    _, _, _, truncated, info = env.step(hold(env))
    assert "physics_error" not in info


def test_rendering_three_cameras_and_default():
    env = gym.make("Dactyl-v0", render_mode="rgb_array", width=96, height=64)
    env.reset(seed=14)
    frame = env.render()
    assert frame.shape == (64, 96, 3) and frame.dtype == np.uint8 and frame.std() > 5
    images = env.unwrapped.render_cameras(width=48, height=40)
    assert images.shape == (3, 40, 48, 3) and images.dtype == np.uint8
    assert all(img.std() > 5 for img in images)
    assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[1], images[2])
    with pytest.raises(ValueError, match="camera_names"):
        env.unwrapped.render_cameras(camera_names=["nope"])
    env.close()


def test_close_cameras_share_positions_and_look_at_the_block_with_a_narrower_view():
    from gym_dactyl import constants as C
    from gym_dactyl.scene import CLOSE_CAMERA_FOVY, CLOSE_CAMERA_TARGET

    env = gym.make("Dactyl-v0")
    env.reset(seed=0)
    m, d = env.unwrapped.model, env.unwrapped.data
    assert C.CAMERA_SETS == {"wide": C.CAMERA_NAMES, "close": C.CLOSE_CAMERA_NAMES}
    assert [m.camera(i).name for i in range(1, 4)] == list(C.CAMERA_NAMES)  # the wide ids are unchanged
    for wide, close in zip(C.CAMERA_NAMES, C.CLOSE_CAMERA_NAMES, strict=True):
        cw, cc = m.camera(wide).id, m.camera(close).id
        np.testing.assert_array_equal(d.cam_xpos[cc], d.cam_xpos[cw])
        assert m.cam_fovy[cc] == CLOSE_CAMERA_FOVY < m.cam_fovy[cw] == 45.0
        forward = -d.cam_xmat[cc].reshape(3, 3)[:, 2]  # MuJoCo cameras look along -z
        to_target = CLOSE_CAMERA_TARGET - d.cam_xpos[cc]
        np.testing.assert_allclose(forward, to_target / np.linalg.norm(to_target), atol=1e-9)
    wide_img = env.unwrapped.render_cameras(width=64, height=64)
    close_img = env.unwrapped.render_cameras(C.CLOSE_CAMERA_NAMES, width=64, height=64)
    assert close_img.shape == wide_img.shape and not np.array_equal(close_img, wide_img)
    env.close()
