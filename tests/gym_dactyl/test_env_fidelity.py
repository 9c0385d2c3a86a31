"""Physics a policy can live with: a zero action holds the block, clean resets, observations of the current state,
the locked wrist (issue: env fidelity)."""

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import gym_dactyl  # noqa: F401
from gym_dactyl import constants as C
from gym_dactyl.dactyl_env import DactylEnv
from gym_dactyl.scene import PALM_CENTER, PALM_SURFACE_Z
from wrappers import dactyl_randomization

STEPS_8S = int(round(C.GOAL_TIMEOUT_S / (C.TIMESTEP * C.FRAME_SKIP)))  # 100 control steps


# ---------------------------------------------------------------------------------------------- hold under load
@pytest.mark.parametrize("goal", ["z", "parallel"])
def test_zero_actions_hold_the_block_for_8s(goal):
    """100 seeded episodes of zero actions: at most 2 drops, every hand joint within 0.05 rad of its reset angle."""
    env = DactylEnv(action_type="continuous", goal=goal)
    zero = np.zeros(env.action_space.shape, np.float32)
    drops, worst = 0, 0.0
    for seed in range(100):
        env.reset(seed=seed)
        q0 = env.data.qpos[env._hand_qpos].copy()
        for _ in range(STEPS_8S):
            _, _, terminated, truncated, info = env.step(zero)
            worst = max(worst, float(np.abs(env.data.qpos[env._hand_qpos] - q0).max()))
            if terminated or truncated:
                break
        drops += info["dropped"]
    assert drops <= 2
    assert worst < 0.05


def test_discrete_middle_bin_is_the_zero_action():
    env = DactylEnv(action_type="discrete", goal="z")
    env.reset(seed=3)
    target = env.joint_targets
    env.step(np.full(env.action_space.shape, C.ACTION_BINS // 2))
    np.testing.assert_array_equal(env.joint_targets, target)


def test_targets_integrate_relative_to_the_previous_target():
    env = DactylEnv(action_type="continuous", goal="z")
    env.reset(seed=0)
    t0 = env.joint_targets
    half = (env.model.actuator_ctrlrange[:, 1] - env.model.actuator_ctrlrange[:, 0]) / 2
    a = np.zeros(20, np.float32)
    a[5] = 0.05  # MFJ3
    env.step(a)
    env.step(a)
    expected = np.clip(t0[5] + 2 * 0.05 * half[5], *env.model.actuator_ctrlrange[5])
    assert env.joint_targets[5] == pytest.approx(expected, abs=1e-6)
    np.testing.assert_allclose(np.delete(env.joint_targets, 5), np.delete(t0, 5))
    np.testing.assert_array_equal(env.data.ctrl, env.joint_targets)
    # saturates at the control range, and comes back at once (no wind-up beyond the range)
    for _ in range(50):
        env.step(np.ones(20, np.float32))
    np.testing.assert_array_equal(env.joint_targets, env.model.actuator_ctrlrange[:, 1])
    env.step(-np.ones(20, np.float32))
    assert np.all(env.joint_targets < env.model.actuator_ctrlrange[:, 1])


def test_relative_to_angle_reanchors_and_sags_under_load():
    """The paper's literal semantics stay available, and show the sag they cause in this simulation."""
    env = DactylEnv(action_type="continuous", goal="z", relative_to="angle")
    env.reset(seed=0)
    wrj0 = env._hand_qpos[1]
    w0 = env.data.qpos[wrj0]
    zero = np.zeros(20, np.float32)
    for _ in range(50):
        env.step(zero)
    # target = measured angle every step: the commanded pose follows the sagging wrist
    assert env.data.qpos[wrj0] < w0 - 0.1
    qpos = env.data.qpos
    angle = qpos[env._act_qpos].copy()
    angle[env._coupled_act] += qpos[env._coupled_qpos]
    env.step(zero)
    # the new target was the angle before this step (clipped to the range)
    assert env.joint_targets[1] == pytest.approx(np.clip(angle[1], *env.model.actuator_ctrlrange[1]))


@pytest.mark.parametrize("kwargs, name", [({"relative_to": "current"}, "relative_to"), ({"wrist": "fixed"}, "wrist")])
def test_bad_mode_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DactylEnv(**kwargs)


# ---------------------------------------------------------------------------------------------- resets
def _check_start(env: gym.Env, u: DactylEnv) -> None:
    o, v = u._obj_qpos, u._obj_qvel
    pos = u.data.qpos[o : o + 3]
    assert np.hypot(*(pos[:2] - PALM_CENTER[:2])) <= u.ON_PALM_RADIUS
    assert pos[2] > PALM_SURFACE_Z
    mujoco.mj_forward(u.model, u.data)
    assert u._min_object_contact_dist() >= -u.RESET_MAX_PENETRATION
    assert np.linalg.norm(u.data.qvel[v : v + 3]) < 0.05
    _, _, terminated, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
    assert not info["dropped"] and not terminated


@pytest.mark.parametrize("goal", ["z", "parallel", "xyz"])
def test_1000_resets_start_on_the_palm_at_rest(goal):
    env = gym.make("Dactyl-v0", action_type="continuous", goal=goal)
    u = env.unwrapped
    for seed in range(1000):
        env.reset(seed=seed)
        _check_start(env, u)


@pytest.mark.parametrize("goal", ["z", "parallel", "xyz"])
def test_1000_resets_under_the_full_randomization_stack(goal):
    env = dactyl_randomization(gym.make("Dactyl-v0", action_type="continuous", goal=goal))
    u = env.unwrapped
    sizes = set()
    for seed in range(1000):
        env.reset(seed=seed)
        sizes.add(round(float(u.model.geom_size[u._obj_geom][0]), 6))
        mujoco.mj_forward(u.model, u.data)
        o, v = u._obj_qpos, u._obj_qvel
        pos = u.data.qpos[o : o + 3]
        assert np.hypot(*(pos[:2] - PALM_CENTER[:2])) <= u.ON_PALM_RADIUS
        assert u._min_object_contact_dist() >= -u.RESET_MAX_PENETRATION
        assert np.linalg.norm(u.data.qvel[v : v + 3]) < 0.05
        _, _, terminated, _, info = env.step(np.zeros(env.action_space.shape, np.float32))
        assert not info["dropped"]
    assert len(sizes) > 100  # the object size really was randomized, and respected


def test_spawn_clears_the_hand_for_any_orientation_and_size():
    """The block is placed with its lowest corner above the hand: no contact penetrates before settling."""
    rng = np.random.default_rng(0)
    for half in (0.02, 0.025, 0.03):
        env = DactylEnv(goal="xyz", object_half_size=half)
        env.reset(seed=0)
        for _ in range(50):
            mujoco.mj_resetData(env.model, env.data)
            q = rng.normal(size=4)
            env._place_object(q / np.linalg.norm(q), rng.uniform(-0.005, 0.005, 2))
            assert env._min_object_contact_dist() >= 0.0
            o = env._obj_qpos
            corners_z = env.data.geom_xpos[env._obj_geom][2] - np.abs(
                env.data.geom_xmat[env._obj_geom].reshape(3, 3) @ np.full(3, half)
            )
            assert env.data.qpos[o + 2] - np.linalg.norm(np.full(3, half)) >= PALM_SURFACE_Z
            assert corners_z.min() > PALM_SURFACE_Z - 1e-9


def test_reset_that_cannot_succeed_raises_clearly():
    env = DactylEnv(goal="z")
    env.RESET_MAX_SPEED = 0.0  # no state is ever slow enough
    with pytest.raises(RuntimeError, match="no valid start in 50 tries"):
        env.reset(seed=0)


# ---------------------------------------------------------------------------------------------- observation sync
@pytest.mark.parametrize("wrapped", [False, True])
def test_observations_are_computed_from_the_current_qpos(wrapped):
    base = gym.make("Dactyl-v0", action_type="continuous", goal="xyz")
    env = dactyl_randomization(base, observation=False) if wrapped else base
    u = env.unwrapped
    scratch = mujoco.MjData(u.model)
    env.reset(seed=1)
    env.action_space.seed(1)
    L = C.STATE_LAYOUT
    for _ in range(60):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        scratch.qpos[:] = u.data.qpos
        scratch.mocap_pos[:] = u.data.mocap_pos
        scratch.mocap_quat[:] = u.data.mocap_quat
        mujoco.mj_kinematics(u.model, scratch)
        mujoco.mj_camlight(u.model, scratch)
        np.testing.assert_allclose(u.data.site_xpos, scratch.site_xpos, rtol=0, atol=1e-9)
        np.testing.assert_allclose(u.data.xpos, scratch.xpos, rtol=0, atol=1e-9)
        np.testing.assert_allclose(u.data.xquat, scratch.xquat, rtol=0, atol=1e-9)
        np.testing.assert_allclose(u.data.geom_xpos, scratch.geom_xpos, rtol=0, atol=1e-9)
        np.testing.assert_allclose(u.data.cam_xpos, scratch.cam_xpos, rtol=0, atol=1e-9)
        tips = scratch.site_xpos[u._tip_sites].ravel().astype(np.float32)
        np.testing.assert_array_equal(obs["state"][L["fingertip_pos"]], tips)
        o = u._obj_qpos
        np.testing.assert_array_equal(obs["state"][L["object_pos"]], u.data.qpos[o : o + 3].astype(np.float32))
        if not wrapped:  # (MarkerFreeze holds some policy-visible markers on purpose)
            np.testing.assert_array_equal(obs["fingertip_pos"], tips)
            np.testing.assert_array_equal(obs["object_pos"], u.data.qpos[o : o + 3].astype(np.float32))
        # the rendered block (xpos of its body) is where the observation says it is
        np.testing.assert_allclose(u.data.xpos[u._obj_body], u.data.qpos[o : o + 3], rtol=0, atol=1e-12)
        if terminated or truncated:
            env.reset(seed=2)


# ---------------------------------------------------------------------------------------------- locked wrist
@pytest.mark.parametrize("action_type, space", [("discrete", gym.spaces.MultiDiscrete), ("continuous", gym.spaces.Box)])
def test_locked_wrist_has_18_actions_and_holds_the_wrist(action_type, space):
    env = gym.make("Dactyl-v0", action_type=action_type, wrist="locked", goal="z")
    assert isinstance(env.action_space, space) and env.action_space.shape == (18,)
    u = env.unwrapped
    np.testing.assert_array_equal(u.action_actuators, np.arange(2, 20))
    assert env.observation_space["state"].shape == (C.STATE_DIM,)
    env.reset(seed=0)
    env.action_space.seed(0)
    wrist_target = u.joint_targets[:2]
    w0 = u.data.qpos[u._hand_qpos[:2]].copy()
    for _ in range(100):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        np.testing.assert_array_equal(u.joint_targets[:2], wrist_target)
        assert np.abs(u.data.qpos[u._hand_qpos[:2]] - w0).max() < 0.05
        if terminated or truncated:
            break
    with pytest.raises(ValueError, match=r"shape \(18,\)"):
        env.step(np.zeros(20))


@pytest.mark.parametrize("discrete", [False, True])
def test_locked_wrist_under_the_full_stack(discrete):
    env = dactyl_randomization(
        gym.make("Dactyl-v0", action_type="continuous", wrist="locked", goal="z"), discrete_actions=discrete
    )
    assert env.action_space.shape == (18,)
    backlash = env
    from wrappers import Backlash

    while not isinstance(backlash, Backlash):
        backlash = backlash.env
    from wrappers.backlash import DACTYL_BACKLASH_LOG_RATE_UP

    # the calibrated rates of the 18 finger actuators, not the first 18 of the 20
    np.testing.assert_array_equal(backlash.log_rate_up, DACTYL_BACKLASH_LOG_RATE_UP[2:])
    half = (env.unwrapped.model.actuator_ctrlrange[2:, 1] - env.unwrapped.model.actuator_ctrlrange[2:, 0]) / 2
    np.testing.assert_allclose(backlash.action_scale, half)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(20):
        obs, *_ = env.step(env.action_space.sample())
    assert np.isfinite(obs["state"]).all()
