"""The held-out "real" world of evaluate.py lies outside the training ranges and does not compound."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from ppo.envs import SHIFTED_PHYSICS, ShiftedPhysics

import gym_dactyl  # noqa: F401
from gym_dactyl.constants import OBJECT_BODY


def test_shifted_values_lie_outside_table1() -> None:
    assert SHIFTED_PHYSICS["object_mass_scale"] > 1.5 and SHIFTED_PHYSICS["link_mass_scale"] > 1.5
    assert SHIFTED_PHYSICS["friction_scale"] < 0.7
    assert SHIFTED_PHYSICS["damping_scale"] > 3.0
    assert SHIFTED_PHYSICS["actuator_gain_scale"] < 0.75


def test_shift_is_applied_from_nominal_and_does_not_compound() -> None:
    base = gym.make("Dactyl-v0", action_type="continuous", goal="z")
    m = base.unwrapped.model
    mass0, fric0, damp0, gain0 = (m.body(OBJECT_BODY).mass[0], m.geom_friction[:, 0].copy(),
                                  m.dof_damping.copy(), m.actuator_gainprm[:, 0].copy())  # fmt: skip
    env = ShiftedPhysics(base)
    for seed in range(3):
        env.reset(seed=seed)
        assert np.isclose(m.body(OBJECT_BODY).mass[0], mass0 * SHIFTED_PHYSICS["object_mass_scale"])
        np.testing.assert_allclose(m.geom_friction[:, 0], fric0 * SHIFTED_PHYSICS["friction_scale"])
        np.testing.assert_allclose(m.dof_damping, damp0 * SHIFTED_PHYSICS["damping_scale"])
        np.testing.assert_allclose(m.actuator_gainprm[:, 0], gain0 * SHIFTED_PHYSICS["actuator_gain_scale"])
        np.testing.assert_allclose(m.actuator_biasprm[:, 1], -m.actuator_gainprm[:, 0])
    obs, reward, terminated, truncated, info = env.step(np.zeros(20, dtype=np.float32))
    assert np.isfinite(obs["state"]).all() and "physics_error" not in info


def test_single_change_worlds_change_one_thing_outside_table1() -> None:
    from ppo.envs import HELD_OUT_WORLDS, make_condition_env

    assert set(HELD_OUT_WORLDS) == {"shifted", "weak_actuators", "slippery_heavy"}
    ref = gym.make("Dactyl-v0", action_type="continuous", goal="z").unwrapped.model
    expected = {
        "weak_actuators": {"actuator_gain_scale": 0.65},
        "slippery_heavy": {"object_mass_scale": 1.7, "friction_scale": 0.55},
    }
    for name, changed in expected.items():
        physics, noisy = HELD_OUT_WORLDS[name]
        assert not noisy
        assert {k: v for k, v in physics.items() if v != (0.0 if k == "gravity_offset_xy" else 1.0)} == changed
        env = make_condition_env(name, goal="z", action_type="continuous", goal_timeout_s=8.0, train_groups={})
        obs, _ = env.reset(seed=0)
        m = env.unwrapped.model
        gain = changed.get("actuator_gain_scale", 1.0)
        np.testing.assert_allclose(m.actuator_gainprm[:, 0], ref.actuator_gainprm[:, 0] * gain)
        obj = m.body(OBJECT_BODY).id
        np.testing.assert_allclose(m.body_mass[obj], ref.body_mass[obj] * changed.get("object_mass_scale", 1.0))
        np.testing.assert_allclose(m.geom_friction[:, 0], ref.geom_friction[:, 0] * changed.get("friction_scale", 1.0))
        np.testing.assert_allclose(m.dof_damping, ref.dof_damping)
        np.testing.assert_allclose(m.opt.gravity, ref.opt.gravity)
        mask = np.ones(m.nbody, bool)
        mask[obj] = False
        np.testing.assert_allclose(m.body_mass[mask], ref.body_mass[mask])
        # clean observations and no unmodeled effects: no randomization wrapper between the Monitor and the env
        chain, inner = [], env
        while isinstance(inner, gym.Wrapper):
            chain.append(type(inner).__name__)
            inner = inner.env
        assert "ObservationNoise" not in chain and "RandomForces" not in chain and "ShiftedPhysics" in chain, chain
        for _ in range(3):
            obs, *_ = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        assert all(np.isfinite(v).all() for v in obs.values())
