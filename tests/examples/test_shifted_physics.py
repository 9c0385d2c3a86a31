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
