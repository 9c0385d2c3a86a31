"""DactylWarp-v0 on Warp's CPU device: agreement with Dactyl-v0, per-world randomization, masked resets, errors.

Skipped without the ``[warp]`` extra. Worlds and steps are few: Warp compiles MuJoCo Warp's kernels once
(minutes on a CPU, cached under ``WARP_CACHE_PATH`` / ``~/.cache/warp``) and each control step is 10 substeps.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("warp")
pytest.importorskip("mujoco_warp")

import dactyl_warp  # noqa: E402
from dactyl_warp import PHYSICS_FIELDS, DactylWarpSB3VecEnv, DactylWarpVectorEnv  # noqa: E402
from gym_dactyl import DactylEnv  # noqa: E402
from wrappers import PhysicsRandomization, TimestepRandomization  # noqa: E402

torch.set_num_threads(1)
SEED = 3
ACTIONS = np.random.default_rng(0).uniform(-0.3, 0.3, size=(3, 20)).astype(np.float32)
RAND = {"physics_randomization": {}, "timestep_randomization": {}}


@pytest.fixture(scope="module")
def nominal():
    envs = gym.make_vec(
        "DactylWarp-v0", num_envs=2, vectorization_mode="vector_entry_point", device="cpu", action_type="continuous"
    )
    yield envs
    envs.close()


@pytest.fixture(scope="module")
def randomized():
    envs = DactylWarpVectorEnv(2, device="cpu", action_type="continuous", randomizations=RAND)
    yield envs
    envs.close()


def _assert_block_close(state, ref, pos_m=5e-3, angle_rad=0.1):
    """Block position within ``pos_m`` and orientation within ``angle_rad`` (float32 Warp vs float64 MuJoCo).

    Measured: the block's orientation drifts ~0.01 rad per control step from CPU MuJoCo once it is in
    contact (float32 and a different contact / solver implementation), so the bounds hold for a few steps only.
    """
    np.testing.assert_allclose(state[48:51], ref[48:51], atol=pos_m)
    dot = min(abs(float(np.dot(state[51:55], ref[51:55]))), 1.0)
    assert 2 * np.arccos(dot) < angle_rad


def _cpu_randomized():
    return TimestepRandomization(PhysicsRandomization(DactylEnv(action_type="continuous")))


# ------------------------------------------------------------------ bad configs (no Warp work)
@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_num_envs_must_be_positive_integer(n):
    with pytest.raises((ValueError, TypeError), match="num_envs"):
        DactylWarpVectorEnv(n, device="cpu")


def test_failed_construction_closes_cleanly():
    """A constructor that raised leaves an object whose close() (called by gymnasium's __del__) does not fail."""
    env = DactylWarpVectorEnv.__new__(DactylWarpVectorEnv)
    with pytest.raises(ValueError, match="unknown name"):
        env.__init__(1, device="cpu", randomizations={"mass": {}})
    env.close()  # before the fix: AttributeError '_sampler', reported as an unraisable exception at GC


def test_unknown_and_unsupported_randomizations_raise():
    with pytest.raises(ValueError, match="unknown name 'mass'"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"mass": {}})
    with pytest.raises(ValueError, match="renders none"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"visual_randomization": {}})
    with pytest.raises(ValueError, match="fingertip_pos"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"marker_freeze": {"key": "object_pos"}})
    with pytest.raises(ValueError, match="action_type"):
        DactylWarpVectorEnv(1, device="cpu", action_type="binary")
    with pytest.raises(ValueError, match="unknown argument"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"action_noise": {"sigma": 0.1}})
    with pytest.raises(ValueError, match="uncorrelated_additive"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"action_noise": {"uncorrelated_additive": -1.0}})
    with pytest.raises(ValueError, match="must be a dict"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"random_forces": 3})
    with pytest.raises(ValueError, match="goal"):
        DactylWarpVectorEnv(1, device="cpu", goal="sideways")


# ------------------------------------------------------------------ Dactyl-v0 agreement
def test_world_starts_and_trajectory_match_dactyl_v0(nominal):
    obs, _ = nominal.reset(seed=SEED)
    cpu = [DactylEnv(action_type="continuous") for _ in range(2)]
    cpu_obs = [e.reset(seed=SEED + i)[0] for i, e in enumerate(cpu)]
    for i in range(2):  # starts are copied from Dactyl-v0's own reset: equal up to float32
        np.testing.assert_allclose(obs["state"][i].numpy(), cpu_obs[i]["state"], atol=2e-6)
        np.testing.assert_allclose(nominal.goal_quat[i].numpy(), cpu[i].goal_quat, atol=1e-7)
    for t in range(len(ACTIONS)):
        acts = np.stack([ACTIONS[t], -ACTIONS[t]])
        obs, reward, terminated, truncated, info = nominal.step(torch.as_tensor(acts))
        for i in range(2):
            o, r, te, tr, inf = cpu[i].step(acts[i])
            np.testing.assert_allclose(nominal.joint_targets[i].numpy(), cpu[i].joint_targets, atol=1e-6)
            s, ref = obs["state"][i].numpy(), o["state"]
            np.testing.assert_allclose(s[:24], ref[:24], atol=1e-3)  # hand joint angles (rad)
            np.testing.assert_allclose(s[24:48], ref[24:48], rtol=2e-2, atol=2e-2)  # joint velocities (rad/s)
            _assert_block_close(s, ref)
            assert float(reward[i]) == pytest.approx(r, abs=0.05)
            assert bool(terminated[i]) == te and bool(truncated[i]) == tr


def test_observations_are_zero_copy_views_and_seeded_resets_repeat(nominal):
    first, _ = nominal.reset(seed=SEED)
    again, _ = nominal.reset(seed=SEED)
    assert torch.equal(first["state"], again["state"]) and torch.equal(nominal.goal_quat[1], nominal.goal_quat[1])
    assert nominal.unwrapped._qpos.data_ptr() == nominal.unwrapped.wp_data.qpos.ptr


# ------------------------------------------------------------------ randomization
def test_per_world_physics_equals_cpu_wrappers_with_same_seed(randomized):
    randomized.reset(seed=SEED)
    m = randomized.wp_model
    for i in range(2):
        ref = _cpu_randomized()
        _, info = ref.reset(seed=SEED + i)
        rm = ref.unwrapped.model
        for f in PHYSICS_FIELDS:
            got = m.__dict__[f].numpy()[i].reshape(getattr(rm, f).shape)
            np.testing.assert_array_equal(got, getattr(rm, f).astype(np.float32), err_msg=f)
        np.testing.assert_array_equal(m.opt.gravity.numpy()[i], rm.opt.gravity.astype(np.float32))
        assert m.opt.timestep.numpy()[i] == np.float32(rm.opt.timestep) == np.float32(info["timestep"])
        np.testing.assert_array_equal(randomized.sampled(i)["physics"]["mass_scale"], info["physics"]["mass_scale"])
        ref.close()
    assert not np.array_equal(m.body_mass.numpy()[0], m.body_mass.numpy()[1])


def test_randomized_world_trajectory_matches_cpu_wrappers(randomized):
    obs, _ = randomized.reset(seed=SEED)
    ref = _cpu_randomized()
    o, _ = ref.reset(seed=SEED + 1)
    np.testing.assert_allclose(obs["state"][1].numpy(), o["state"], atol=2e-6)
    for t in range(2):
        obs, *_ = randomized.step(torch.as_tensor(np.stack([ACTIONS[t], ACTIONS[t]])))
        o, *_ = ref.step(ACTIONS[t])
        _assert_block_close(obs["state"][1].numpy(), o["state"])
        np.testing.assert_allclose(obs["state"][1, :24].numpy(), o["state"][:24], atol=1e-3)
    ref.close()


def test_masked_reset_touches_only_reset_worlds(randomized):
    randomized.reset(seed=SEED)
    randomized.step(torch.as_tensor(np.stack([ACTIONS[0], ACTIONS[0]])))
    env = randomized.unwrapped
    qpos, target = env._qpos.clone(), env.joint_targets
    mass, dt = env.wp_model.body_mass.numpy().copy(), env.wp_model.opt.timestep.numpy().copy()
    time = env._time.clone()
    obs, _ = randomized.reset(options={"reset_mask": np.array([True, False])})
    assert torch.equal(env._qpos[1], qpos[1]) and torch.equal(env.joint_targets[1], target[1])
    assert env._time[1] == time[1] and env._time[0] != time[0]
    np.testing.assert_array_equal(env.wp_model.body_mass.numpy()[1], mass[1])
    assert env.wp_model.opt.timestep.numpy()[1] == dt[1]
    assert not torch.equal(env._qpos[0], qpos[0])
    assert not np.array_equal(env.wp_model.body_mass.numpy()[0], mass[0])
    with pytest.raises(ValueError, match="reset_mask"):
        randomized.reset(options={"reset_mask": np.array([1, 0])})


def test_set_parameters_reaches_the_next_reset_of_each_world(randomized):
    from wrappers import Uniform
    from wrappers.physics_randomization import MASS_SCALE

    randomized.reset(seed=SEED)
    env = randomized.unwrapped
    try:
        randomized.set_parameters("physics_randomization", mass_scale=Uniform(2.0, 2.0))
        before = env.wp_model.body_mass.numpy()[1].copy()
        randomized.reset(options={"reset_mask": np.array([True, False])})
        assert (env.sampled(0)["physics"]["mass_scale"] == 2.0).all()
        nominal = DactylEnv().model.body_mass
        np.testing.assert_array_equal(env.wp_model.body_mass.numpy()[0, 1:], (2.0 * nominal[1:]).astype(np.float32))
        np.testing.assert_array_equal(env.wp_model.body_mass.numpy()[1], before)
        with pytest.raises(ValueError, match="not a randomization"):
            randomized.set_parameters("random_forces", probability=Uniform(0.1, 0.1))
        with pytest.raises(ValueError):
            randomized.set_parameters("physics_randomization", mass_scale=Uniform(-1.0, 1.0))
    finally:
        randomized.set_parameters("physics_randomization", mass_scale=MASS_SCALE)


# ------------------------------------------------------------------ episode ends, SB3 adapter
def test_autoreset_same_step_and_sb3_adapter(nominal):
    env = nominal.unwrapped
    old = env.goal_timeout_s
    env.goal_timeout_s = 2 * env._base.dt  # end every episode after two steps
    try:
        vec = DactylWarpSB3VecEnv(env)
        vec.seed(SEED)
        obs = vec.reset()
        assert obs["state"].shape == (2, 84) and isinstance(obs["state"], np.ndarray)
        zero = np.zeros((2, 20), dtype=np.float32)
        obs, rewards, dones, infos = vec.step(zero)
        assert not dones.any() and "terminal_observation" not in infos[0]
        obs, rewards, dones, infos = vec.step(zero)
        assert dones.all() and all(i["TimeLimit.truncated"] for i in infos)
        for i in range(2):
            term = infos[i]["terminal_observation"]["state"]
            assert not np.array_equal(term, obs["state"][i])  # the new episode's first
        assert (env._consecutive == 0).all() and torch.allclose(env._time, env._goal_start)
    finally:
        env.goal_timeout_s = old


def test_step_before_reset_and_bad_actions():
    assert dactyl_warp.warp_available()
    envs = DactylWarpVectorEnv(1, device="cpu")
    with pytest.raises(gym.error.ResetNeeded):
        envs.step(np.zeros((1, 20), dtype=np.int64))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros((2, 20), dtype=np.int64))
    with pytest.raises(ValueError, match="bins"):
        envs.step(np.full((1, 20), 11))
    envs.close()


def test_action_noise_uses_the_wrappers_sigmas_and_perturbs_targets():
    from wrappers.action_noise import ActionNoise

    ref = ActionNoise(gym.make("Dactyl-v0", action_type="continuous"))
    envs = DactylWarpVectorEnv(2, device="cpu", action_type="continuous", randomizations={"action_noise": {}})
    envs.reset(seed=SEED)
    torch.testing.assert_close(envs._an_sigma_u, torch.full((2, 1), 2 * ref.uncorrelated_additive), rtol=0, atol=0)
    torch.testing.assert_close(envs._an_sigma_m, torch.full((2, 1), ref.uncorrelated_multiplicative), rtol=0, atol=0)
    before = envs.joint_targets
    envs.step(np.zeros((2, 20), dtype=np.float32))  # zero action: targets move only by the noise
    delta = (envs.joint_targets - before) / torch.as_tensor(envs._base._ctrl_half, dtype=torch.float32)
    assert 0 < delta.abs().max() < 0.5 and not torch.allclose(delta[0], delta[1])
    envs.close()
    off = DactylWarpVectorEnv(1, device="cpu", action_type="continuous", randomizations={"action_noise": {"scale": 0}})
    off.reset(seed=SEED)
    t0 = off.joint_targets
    off.step(np.zeros((1, 20), dtype=np.float32))
    torch.testing.assert_close(off.joint_targets, t0, rtol=0, atol=0)  # scale 0: exactly the identity
    off.close()


def test_observation_noise_follows_the_wrapper_and_leaves_state_clean():
    from dactyl_warp.vector_env import _canonical, _quat_mul

    with pytest.raises(ValueError, match="observation_noise"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"observation_noise": {"sigma": 1.0}})
    with pytest.raises(ValueError):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"observation_noise": {"sigmas": {"nope": (1, 1)}}})
    envs = DactylWarpVectorEnv(2, device="cpu", randomizations={"observation_noise": {}})
    obs, _ = envs.reset(seed=SEED)
    L = gym_dactyl_layout()
    s = obs["state"]
    for key in ("fingertip_pos", "object_pos"):
        err = (obs[key] - s[:, L[key]]).abs()
        assert 0 < err.max() < 0.05, key  # Table 7: mm-scale noise
    q = obs["object_quat"]
    angle = 2 * torch.acos((q * s[:, L["object_quat"]]).sum(1).abs().clamp(max=1))
    assert (angle > 0).all() and (angle < 1.0).all()
    conj = q * torch.tensor([1.0, -1.0, -1.0, -1.0])
    expected = _canonical(_quat_mul(s[:, L["goal_quat"]], conj))
    torch.testing.assert_close(obs["relative_goal_quat"], expected, atol=1e-5, rtol=0)  # consistent with the noise
    obs2, *_ = envs.step(np.full((2, 20), 5))
    assert not torch.equal(
        obs2["object_pos"] - obs2["state"][:, L["object_pos"]], obs["object_pos"] - s[:, L["object_pos"]]
    )
    envs.close()


def gym_dactyl_layout():
    from gym_dactyl import STATE_LAYOUT

    return STATE_LAYOUT


def test_action_delay_shifts_actions_by_one_step():
    with pytest.raises(ValueError, match="probability"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"action_delay": {"probability": 1.5}})
    with pytest.raises(ValueError, match="fill"):
        DactylWarpVectorEnv(1, device="cpu", randomizations={"action_delay": {"fill": 2.0}})
    envs = DactylWarpVectorEnv(
        1, device="cpu", action_type="continuous", randomizations={"action_delay": {"probability": 1.0}}
    )
    envs.reset(seed=SEED)
    t0 = envs.joint_targets
    a = torch.full((1, 20), 0.1)
    envs.step(a)  # every actuator delayed: receives the fill 0, i.e. holds its target
    torch.testing.assert_close(envs.joint_targets, t0, atol=0, rtol=0)
    envs.step(torch.zeros(1, 20))  # now receives the first action
    half = torch.as_tensor(envs._base._ctrl_half, dtype=torch.float32)
    expected = torch.minimum(torch.maximum(t0 + 0.1 * half, envs._act_low), envs._act_high)
    torch.testing.assert_close(envs.joint_targets, expected, atol=1e-6, rtol=0)
    envs.close()
