"""DactylWarp-v0's per-world backlash, marker freezing, action / observation noise draws and ADR, on Warp's CPU device.

Each world's per-episode parameters and draws are the CPU wrappers' own (the sampler is the wrapper stack), so
they are compared exactly with a CPU stack reset with the same seed; trajectories over a few steps within the
bounds of ``test_vector_env.py``. Skipped without the ``[warp]`` extra.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("warp")
pytest.importorskip("mujoco_warp")

from dactyl_warp import DactylWarpSB3VecEnv, DactylWarpVectorEnv  # noqa: E402
from dactyl_warp.vector_env import SUPPORTED_RANDOMIZATIONS  # noqa: E402
from gym_dactyl import STATE_LAYOUT, DactylEnv  # noqa: E402
from wrappers import (  # noqa: E402
    ActionDelay,
    ActionNoise,
    ADRConfig,
    ADRState,
    AutomaticDomainRandomization,
    Backlash,
    MarkerFreeze,
    ObservationNoise,
)

torch.set_num_threads(1)
SEED = 5
# Alternating signs: every step reverses the drives, so the backlash slack matters.
ACTIONS = np.random.default_rng(1).uniform(0.2, 0.4, size=(4, 20)).astype(np.float32) * np.array([[1], [-1], [1], [-1]])
# A fast dropout rate so dropouts start within the few steps compared (p = 1 - exp(-4 · 0.08) ≈ 0.27 per step).
FREEZE = {"dropout_rate": 4.0}


def test_supported_order_is_the_stack_order():
    from wrappers.stack import _STACK

    stack = [name for name, _, _ in _STACK if name != "visual_randomization"]
    assert list(SUPPORTED_RANDOMIZATIONS) == stack


def test_backlash_and_marker_freeze_equal_the_cpu_wrappers():
    """Same seed: the same slack rates, dropout schedule and thresholds; then the same frozen masks and close
    trajectories over 4 steps with reversing actions."""
    envs = DactylWarpVectorEnv(
        1, device="cpu", action_type="continuous", randomizations={"backlash": {}, "marker_freeze": FREEZE}
    )
    cpu = MarkerFreeze(Backlash(DactylEnv(action_type="continuous")), **FREEZE)
    obs, _ = envs.reset(seed=SEED)
    ref, info = cpu.reset(seed=SEED)
    bl, mf = cpu.env, cpu
    # exact parameters (float32 of the same numbers)
    gain_up = torch.as_tensor(bl.action_scale * bl.rate_up * bl.dt, dtype=torch.float32)
    torch.testing.assert_close(envs._bl_gain_up[0], gain_up, rtol=0, atol=0)
    gain_down = torch.as_tensor(bl.action_scale * bl.rate_down * bl.dt, dtype=torch.float32)
    torch.testing.assert_close(envs._bl_gain_down[0], gain_down, rtol=0, atol=0)
    assert not np.allclose(bl.rate_up, np.exp(bl.log_rate_up))  # σ 0.1: the rates were randomized
    np.testing.assert_array_equal(envs._mf_next[0].numpy(), mf._next_start)
    assert envs._mf_p[0, 0].item() == pytest.approx(mf.dropout_probability, rel=1e-7)
    assert envs._mf_steps[0, 0].item() == mf.dropout_steps == 13
    np.testing.assert_array_equal(envs._mf_thresholds[0].numpy(), mf._thresholds.astype(np.float32))
    assert not info["marker_frozen"].any() and not envs._mf_frozen.any()
    np.testing.assert_allclose(obs["fingertip_pos"][0].numpy(), ref["fingertip_pos"], atol=2e-6)
    frozen_seen = False
    for a in ACTIONS:
        obs, *_ = envs.step(torch.as_tensor(a[None]))
        ref, _, _, _, info = cpu.step(a)
        np.testing.assert_allclose(envs._bl_slack[0].numpy(), bl.slack, atol=1e-5)
        np.testing.assert_allclose(envs.joint_targets[0].numpy(), cpu.unwrapped.joint_targets, atol=1e-5)
        np.testing.assert_array_equal(envs._mf_frozen[0].numpy(), info["marker_frozen"])
        np.testing.assert_allclose(obs["fingertip_pos"][0].numpy(), ref["fingertip_pos"], atol=2e-3)
        np.testing.assert_allclose(obs["state"][0, :24].numpy(), ref["state"][:24], atol=1e-3)
        frozen_seen |= bool(info["marker_frozen"].any())
    assert frozen_seen  # the seed makes some marker drop out within the 4 steps
    assert (bl.slack != 0).any()
    envs.close()
    cpu.close()


def test_frozen_markers_hold_the_last_output_and_occlusion_freezes():
    """Dropouts hold the previous output exactly; a huge marker distance occludes every marker at once."""
    envs = DactylWarpVectorEnv(
        2, device="cpu", randomizations={"observation_noise": {}, "marker_freeze": {"dropout_rate": 1e6}}
    )
    obs, _ = envs.reset(seed=SEED)
    first = obs["fingertip_pos"].clone()
    obs, *_ = envs.step(np.full((2, 20), 8))  # p ≈ 1: every marker drops out at step 1 and holds the reset value
    assert envs._mf_frozen.all()
    torch.testing.assert_close(obs["fingertip_pos"], first, rtol=0, atol=0)
    assert not torch.equal(obs["state"][:, STATE_LAYOUT["fingertip_pos"]], first)  # the hand moved
    envs.close()
    occlusion = {"marker_freeze": {"dropout_rate": 0.0, "marker_distance": 10.0}}
    occl = DactylWarpVectorEnv(1, device="cpu", randomizations=occlusion)
    occl.reset(seed=SEED)
    occl.step(np.full((1, 20), 5))
    assert occl._mf_frozen.all()
    occl.set_parameters("marker_freeze", marker_distance=0.0, object_distance=0.0)
    occl.reset(seed=SEED)
    occl.step(np.full((1, 20), 5))
    assert not occl._mf_frozen.any()  # no dropouts, no occlusion: nothing frozen
    occl.close()


def test_noise_and_delay_episode_draws_equal_the_cpu_stack():
    """ActionNoise's offset, ActionDelay's mask and ObservationNoise's correlated terms: the wrappers' own draws."""
    rand = {"action_noise": {}, "action_delay": {}, "observation_noise": {}}
    envs = DactylWarpVectorEnv(2, device="cpu", action_type="continuous", randomizations=rand)
    envs.reset(seed=SEED)
    for i in range(2):
        cpu = ObservationNoise(ActionDelay(ActionNoise(DactylEnv(action_type="continuous"))))
        cpu.reset(seed=SEED + i)
        noise, delay = cpu.env.env, cpu.env
        torch.testing.assert_close(envs._noise_offset[i], torch.as_tensor(noise.correlated_noise, dtype=torch.float32))
        np.testing.assert_array_equal(envs._delay_mask[i].numpy(), delay.delay_mask)
        for key, offset in cpu.correlated_offset.items():
            torch.testing.assert_close(envs._obs_offset[key][i], torch.as_tensor(offset, dtype=torch.float32))
        rot = torch.as_tensor(cpu.correlated_rotation["object_quat"][0], dtype=torch.float32)
        torch.testing.assert_close(envs._obs_rotation["object_quat"][i], rot)
        assert envs._obs_sigma_u["object_pos"][i, 0].item() == pytest.approx(cpu.sigmas["object_pos"][1])
        cpu.close()
    envs.close()


def _adr_envs(n: int, state: ADRState) -> DactylWarpVectorEnv:
    rand = {"physics_randomization": {}, "backlash": {}, "action_noise": {}}
    return DactylWarpVectorEnv(n, device="cpu", action_type="continuous", randomizations=rand, adr=state)


def test_adr_boundary_per_world_results_and_push():
    """Each world's reset draws its own boundary episode exactly as a CPU ADR stack with that seed; ended boundary
    episodes report results ADRState.record_infos takes; push() reaches the next resets."""
    config = ADRConfig(boundary_probability=1.0, delta=0.5, upper_threshold=0.5, lower_threshold=0.25, buffer_size=1)
    names = ["mass_scale", "backlash_scale", "action_noise_uncorrelated_additive"]
    state = ADRState(names, config=config)
    state.set_ranges({"mass_scale": (0.75, 1.25), "backlash_scale": (0.0, 0.5),
                      "action_noise_uncorrelated_additive": (0.0, 0.05)})  # fmt: skip
    with pytest.raises(ValueError, match="adr"):
        DactylWarpVectorEnv(1, device="cpu", adr={"params": []}, randomizations={"backlash": {}})
    envs = _adr_envs(2, state)  # an ADRState: its settings and current ranges
    assert envs.get_adr_ranges() == state.ranges and envs.adr is not state
    envs.reset(seed=SEED)
    for i in range(2):  # the same boundary and values as the CPU ADR stack reset with the world's seed
        stack = gym.make("Dactyl-v0", action_type="continuous").unwrapped
        from wrappers import PhysicsRandomization

        cpu = AutomaticDomainRandomization(
            ActionNoise(Backlash(PhysicsRandomization(stack))), names, config=config, update=False
        )
        cpu.set_adr_ranges(state.ranges)
        _, info = cpu.reset(seed=SEED + i)
        assert envs.sampled(i)["adr"] == info["adr"]
        assert envs._boundary[i] is not None and envs._boundary[i][:2] == info["adr"]["boundary"]
        noise = cpu.env
        assert envs._an_sigma_u[i, 0].item() == pytest.approx(2 * noise.uncorrelated_additive, rel=1e-6)
        cpu.close()
    envs.goal_timeout_s = 2 * envs._base.dt  # every episode ends after two steps
    envs.step(np.zeros((2, 20), dtype=np.float32))
    _, _, _, truncated, info = envs.step(np.zeros((2, 20), dtype=np.float32))
    assert truncated.all() and info["_adr_result"].all()
    assert list(info["adr_result"]["performance"]) == [0.0, 0.0]  # no success in two steps: narrowed (<= t_L)
    before = dict(state.ranges)
    assert state.record_infos(info)
    assert state.ranges != before and state.counts["narrowed"] >= 1
    state.push(envs)
    assert envs.get_adr_ranges() == state.ranges
    # SB3 adapter: per-world adr_result dicts for ADRCallback; env_method reaches the env once.
    vec = DactylWarpSB3VecEnv(envs)
    vec.seed(SEED)
    vec.reset()
    vec.step(np.zeros((2, 20), dtype=np.float32))
    _, _, dones, infos = vec.step(np.zeros((2, 20), dtype=np.float32))
    assert dones.all() and all("adr_result" in i for i in infos)
    assert infos[0]["adr_result"]["parameter"] in names
    state.push(vec)
    with pytest.raises(ValueError, match="adr"):
        DactylWarpVectorEnv(1, device="cpu").set_adr_ranges({})
    envs.close()
