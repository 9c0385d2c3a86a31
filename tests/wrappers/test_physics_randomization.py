from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import scipy.stats
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from wrappers.distributions import LogUniform, Normal, Uniform
from wrappers.physics_randomization import PhysicsRandomization

FAST = settings(max_examples=10, deadline=None)
seeds = st.integers(0, 2**31 - 1)

TOY_XML = """
<mujoco model="toy">
  <option timestep="0.004" gravity="0 0 -9.81"/>
  <worldbody>
    <geom name="floor" type="plane" size="1 1 0.1"/>
    <body name="arm" pos="0 0 0.3">
      <joint name="hinge" type="hinge" axis="0 1 0" range="-1 1" limited="true" damping="0.5"/>
      <geom name="arm_geom" type="capsule" fromto="0 0 0 0.2 0 0" size="0.02" mass="0.3"/>
      <body name="slider" pos="0.2 0 0">
        <joint name="slide" type="slide" axis="1 0 0" range="-0.05 0.05" damping="2"/>
        <geom name="slider_geom" type="box" size="0.02 0.02 0.02" mass="0.1"/>
      </body>
    </body>
    <body name="object" pos="0.4 0 0.05">
      <freejoint name="object:joint"/>
      <geom name="object" type="box" size="0.025 0.025 0.025" mass="0.07" margin="0.002" gap="0.001"/>
      <geom name="object_knob" type="sphere" pos="0 0 0.03" size="0.01" mass="0.01"/>
    </body>
  </worldbody>
  <actuator>
    <position name="p_hinge" joint="hinge" kp="5" kv="0.1" ctrlrange="-1 1"/>
    <motor name="m_slide" joint="slide" ctrlrange="-1 1"/>
    <velocity name="v_hinge" joint="hinge" kv="0.2" ctrlrange="-1 1"/>
  </actuator>
</mujoco>
"""


class ToyMujocoEnv(gym.Env):
    """A small MuJoCo env: limited hinge + slide, a box object, position/motor/velocity actuators."""

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.model = mujoco.MjModel.from_xml_string(TOY_XML)
        self.data = mujoco.MjData(self.model)
        self.frame_skip = 5
        n = self.model.nq + self.model.nv
        self.observation_space = spaces.Box(-np.inf, np.inf, (n,), np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, (self.model.nu,), np.float32)

    @property
    def dt(self) -> float:
        return self.model.opt.timestep * self.frame_skip

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:2] += 0.01 * self.np_random.standard_normal(2)
        mujoco.mj_forward(self.model, self.data)
        for _ in range(3):  # "settle" with the current physics
            mujoco.mj_step(self.model, self.data)
        return self._obs(), {}

    def step(self, action):
        self.data.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        return self._obs(), 0.0, False, False, {}


def model_snapshot(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    """Every array field of the model, plus the option and statistic scalars that matter here."""
    out: dict[str, np.ndarray] = {}
    for name in dir(model):
        if name.startswith("_"):
            continue
        try:
            value = getattr(model, name)
        except Exception:  # noqa: BLE001 - some properties are not readable
            continue
        if isinstance(value, np.ndarray):
            out[name] = value.copy()
    out["opt.gravity"] = model.opt.gravity.copy()
    out["opt.timestep"] = np.array(model.opt.timestep)
    return out


def assert_snapshot_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, differ


def toy(**kwargs: Any) -> PhysicsRandomization:
    kwargs.setdefault("object_geoms", ("object", "object_knob"))
    return PhysicsRandomization(ToyMujocoEnv(), **kwargs)


def ant(**kwargs: Any) -> PhysicsRandomization:
    kwargs.setdefault("object_geoms", None)
    return PhysicsRandomization(gym.make("Ant-v5"), **kwargs)


def expected_model(nominal: dict[str, np.ndarray], w: PhysicsRandomization, s: dict[str, Any]) -> dict:
    """Recompute the written fields from the nominal copy and one sample."""
    exp = {k: nominal[k].copy() for k in ("geom_size", "body_mass", "body_inertia", "geom_friction")}
    exp.update({k: nominal[k].copy() for k in ("dof_damping", "actuator_gainprm", "actuator_biasprm")})
    exp["opt.gravity"] = nominal["opt.gravity"] + s["gravity_offset"]
    g = w._object_geoms
    exp["geom_size"][g] *= s["object_size_scale"]
    exp["body_mass"][1:] *= s["mass_scale"]
    exp["body_inertia"][1:] *= s["mass_scale"][:, None]
    exp["geom_friction"] *= s["friction_scale"][:, None]
    exp["dof_damping"] *= s["damping_scale"]
    exp["actuator_gainprm"][:, 0] *= s["actuator_gain_scale"]
    p, v = w._position_actuators, w._velocity_actuators
    exp["actuator_biasprm"][p, 1] *= s["actuator_gain_scale"][p]
    exp["actuator_biasprm"][v, 2] *= s["actuator_gain_scale"][v]
    return exp


# --------------------------------------------------------------------------- identity and ranges
@FAST
@given(seed=seeds)
def test_scale_zero_is_exactly_nominal(seed: int) -> None:
    for make in (toy, ant):
        plain = make(scale=0.0).env  # an unwrapped twin for the observation check
        env = make(scale=0.0)
        nominal = model_snapshot(env.unwrapped.model)
        obs, info = env.reset(seed=seed)
        assert_snapshot_equal(model_snapshot(env.unwrapped.model), nominal)
        assert info["physics"]["mass_scale"].tolist() == [1.0] * (env.unwrapped.model.nbody - 1)
        assert np.all(info["physics"]["gravity_offset"] == 0.0)
        # The wrapper draws nothing from the env's generator: same seed, same initial observation.
        np.testing.assert_array_equal(obs, plain.reset(seed=seed)[0])
        env.close()
        plain.close()


@FAST
@given(seed=seeds, scale=st.floats(0.0, 2.0))
def test_samples_in_scaled_ranges_and_written_consistently(seed: int, scale: float) -> None:
    env = toy(scale=scale)
    m = env.unwrapped.model
    nominal = model_snapshot(m)
    _, info = env.reset(seed=seed)
    s = info["physics"]
    eps = 1e-12
    bounds = {
        "object_size_scale": Uniform(0.95, 1.05),
        "mass_scale": Uniform(0.5, 1.5),
        "friction_scale": Uniform(0.7, 1.3),
        "damping_scale": LogUniform(0.3, 3.0),
        "actuator_gain_scale": LogUniform(0.75, 1.5),
    }
    for key, dist in bounds.items():
        low, high = dist.scaled(scale, 1.0).support
        assert np.all((np.asarray(s[key]) >= low - eps) & (np.asarray(s[key]) <= high + eps)), key
    exp = expected_model(nominal, env, s)
    for key, value in exp.items():
        actual = m.opt.gravity if key == "opt.gravity" else getattr(m, key)
        np.testing.assert_array_equal(actual, value, err_msg=key)
    # A position actuator stays a P controller: bias -kp follows the gain; a velocity servo keeps -kv = gain.
    np.testing.assert_array_equal(m.actuator_biasprm[0, 1], -m.actuator_gainprm[0, 0])
    np.testing.assert_array_equal(m.actuator_biasprm[0, 2], nominal["actuator_biasprm"][0, 2])
    np.testing.assert_array_equal(m.actuator_biasprm[2, 2], -m.actuator_gainprm[2, 0])
    # Object geoms keep their layout and margins scale with them.
    g = env._object_geoms
    np.testing.assert_array_equal(m.geom_pos[g], nominal["geom_pos"][g] * s["object_size_scale"])
    np.testing.assert_array_equal(m.geom_margin[g], nominal["geom_margin"][g] * s["object_size_scale"])
    # Derived quantities were recomputed (mj_setConst).
    assert np.isclose(m.body_subtreemass[0], m.body_mass.sum())
    assert np.allclose(m.geom_rbound[0 + 2 + 1 + 1], np.linalg.norm(m.geom_size[4]))  # the object box
    # Joint limits: low < high, offsets within a generous 6-sigma band.
    assert np.all(m.jnt_range[m.jnt_limited.astype(bool), 0] < m.jnt_range[m.jnt_limited.astype(bool), 1])
    assert np.all(np.abs(s["joint_limit_offset"]) <= 6 * 0.15 * scale + eps)
    env.close()


WIDE_LIMITS_XML = """
<mujoco model="wide_limits">
  <compiler angle="radian"/>
  <worldbody>
    <body name="b0"><joint name="j0" type="hinge" axis="0 1 0" range="-2 2" limited="true"/>
      <geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.01" mass="0.1"/>
      <body name="b1" pos="0.1 0 0"><joint name="j1" type="hinge" axis="0 1 0" range="-2 2" limited="true"/>
        <geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.01" mass="0.1"/>
        <body name="b2" pos="0.1 0 0"><joint name="j2" type="hinge" axis="0 0 1" range="-2 2" limited="true"/>
          <geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.01" mass="0.1"/>
          <body name="b3" pos="0.1 0 0"><joint name="j3" type="hinge" axis="1 0 0" range="-2 2" limited="true"/>
            <geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.01" mass="0.1"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator><motor joint="j0" ctrlrange="-1 1"/></actuator>
</mujoco>
"""


class WideLimitsEnv(ToyMujocoEnv):
    """ToyMujocoEnv's API on a chain of four hinges limited to +-2 rad (no object)."""

    def __init__(self) -> None:
        super().__init__()
        self.model = mujoco.MjModel.from_xml_string(WIDE_LIMITS_XML)
        self.data = mujoco.MjData(self.model)
        n = self.model.nq + self.model.nv
        self.observation_space = spaces.Box(-np.inf, np.inf, (n,), np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, (self.model.nu,), np.float32)


def _normal_fit(x: np.ndarray, sigma: float) -> tuple[float, float, float]:
    """KS p-values of ``x`` against N(0, sigma) and against N(0, 1.15 sigma), and std(x) / sigma."""
    p = scipy.stats.kstest(x, scipy.stats.norm(0.0, sigma).cdf).pvalue
    p_wide = scipy.stats.kstest(x, scipy.stats.norm(0.0, 1.15 * sigma).cdf).pvalue
    return p, p_wide, float(np.std(x) / sigma)


def test_gravity_and_joint_limit_offsets_follow_table1() -> None:
    """Table 1: gravity + N(0, 0.4) m/s^2 per axis, joint limits + N(0, 0.15) rad, read back from the model.

    1500 seeded episodes of a chain of four hinges limited to +-2 rad (so that no randomized range ever
    crosses and gets repaired): 4500 gravity and 12000 joint-limit offsets. Each sample must pass a KS test
    against its Table 1 normal (p > 0.001), its std must be within 5 % of sigma (4.5 standard errors for
    gravity), its mean within 4 standard errors of 0, and the same KS test must reject a normal 15 % wider
    (the test has the power to see a wrong spread).
    """
    env = PhysicsRandomization(WideLimitsEnv(), object_geoms=None)
    m = env.unwrapped.model
    g0, r0 = m.opt.gravity.copy(), m.jnt_range.copy()
    gravity, limits = [], []
    env.reset(seed=0)
    for _ in range(1500):
        env.reset()
        gravity.append(m.opt.gravity - g0)
        limits.append(m.jnt_range - r0)
    env.close()
    for x, sigma in ((np.ravel(gravity), 0.4), (np.ravel(limits), 0.15)):
        p, p_wide, ratio = _normal_fit(x, sigma)
        assert p > 1e-3 and p_wide < 1e-3, (sigma, p, p_wide)
        assert abs(ratio - 1.0) < 0.05, (sigma, ratio)
        assert abs(np.mean(x)) < 4 * sigma / np.sqrt(x.size), (sigma, np.mean(x))


def test_joint_limits_never_cross() -> None:
    env = toy(joint_limit_offset=Normal(0.0, 5.0))
    m = env.unwrapped.model
    limited = m.jnt_limited.astype(bool)
    for seed in range(30):
        env.reset(seed=seed)
        assert np.all(m.jnt_range[limited, 0] < m.jnt_range[limited, 1])
    env.close()


@FAST
@given(seed=seeds)
def test_no_drift_after_many_resets(seed: int) -> None:
    env = toy()
    nominal = model_snapshot(env.unwrapped.model)
    env.reset(seed=seed)
    for _ in range(15):
        env.reset()
        env.step(env.action_space.sample())
    _, info = env.reset()
    m = env.unwrapped.model
    for key, value in expected_model(nominal, env, info["physics"]).items():
        actual = m.opt.gravity if key == "opt.gravity" else getattr(m, key)
        np.testing.assert_array_equal(actual, value, err_msg=key)
    env.close()


# --------------------------------------------------------------------------- restore
def test_close_and_restore_nominal() -> None:
    env = toy()
    nominal = model_snapshot(env.unwrapped.model)
    env.reset(seed=1)
    for _ in range(3):
        env.step(env.action_space.sample())
    assert not np.array_equal(env.unwrapped.model.body_mass, nominal["body_mass"])
    qpos = env.unwrapped.data.qpos.copy()
    env.restore_nominal()
    assert_snapshot_equal(model_snapshot(env.unwrapped.model), nominal)
    np.testing.assert_array_equal(env.unwrapped.data.qpos, qpos)  # the state is kept
    env.reset(seed=2)
    env.close()
    assert_snapshot_equal(model_snapshot(env.unwrapped.model), nominal)


# --------------------------------------------------------------------------- seeding
@FAST
@given(seed=seeds)
def test_same_seed_same_physics_different_seed_different(seed: int) -> None:
    a, b = toy(), toy()
    _, ia = a.reset(seed=seed)
    _, ib = b.reset(seed=seed)
    assert_snapshot_equal(model_snapshot(a.unwrapped.model), model_snapshot(b.unwrapped.model))
    for _ in range(3):  # the unseeded episodes that follow match too
        _, ia = a.reset()
        _, ib = b.reset()
        np.testing.assert_array_equal(ia["physics"]["mass_scale"], ib["physics"]["mass_scale"])
    _, ic = b.reset(seed=seed + 1)
    assert not np.array_equal(a.unwrapped.model.body_mass, b.unwrapped.model.body_mass)
    a.close()
    b.close()


def test_vector_sub_envs_get_different_physics() -> None:
    def make() -> gym.Env:
        return PhysicsRandomization(gym.make("Ant-v5"), object_geoms=None)

    envs = gym.vector.AsyncVectorEnv([make, make])
    try:
        _, infos = envs.reset(seed=7)
        mass = infos["physics"]["mass_scale"]
        assert mass.shape == (2, 13)
        assert not np.array_equal(mass[0], mass[1])
        sampled = envs.get_attr("sampled")
        np.testing.assert_array_equal(sampled[0]["mass_scale"], mass[0])
        _, again = envs.reset(seed=7)
        np.testing.assert_array_equal(again["physics"]["mass_scale"], mass)
    finally:
        envs.close()


# --------------------------------------------------------------------------- interface
def test_spaces_unchanged_and_check_env() -> None:
    for make in (toy, ant):
        env = make()
        assert env.observation_space == env.env.observation_space
        assert env.action_space == env.env.action_space
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(env, skip_render_check=True)
        env.close()


def test_disabled_groups_leave_fields_nominal() -> None:
    env = toy(mass_scale=None, gravity_offset=None)
    nominal = model_snapshot(env.unwrapped.model)
    _, info = env.reset(seed=0)
    assert "mass_scale" not in info["physics"] and "gravity_offset" not in info["physics"]
    np.testing.assert_array_equal(env.unwrapped.model.body_mass, nominal["body_mass"])
    np.testing.assert_array_equal(env.unwrapped.model.opt.gravity, nominal["opt.gravity"])
    assert not np.array_equal(env.unwrapped.model.geom_friction, nominal["geom_friction"])
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"scale": -0.5}, "scale"),
        ({"scale": float("nan")}, "scale"),
        ({"mass_scale": (0.5, 1.5)}, "mass_scale"),
        ({"mass_scale": Uniform(-0.5, 1.5)}, "mass_scale"),
        ({"object_size_scale": Normal(1.0, 0.1)}, "object_size_scale"),
        ({"friction_scale": Uniform(-0.1, 1.0)}, "friction_scale"),
        ({"damping_scale": Normal(1.0, 0.1)}, "damping_scale"),
        ({"actuator_gain_scale": Uniform(0.0, 1.0)}, "actuator_gain_scale"),
        ({"joint_limit_offset": 0.15}, "joint_limit_offset"),
        ({"gravity_offset": "N(0, 0.4)"}, "gravity_offset"),
        ({"object_geoms": ("no_such_geom",)}, "object_geoms"),
        ({"object_geoms": ("floor",)}, "object_geoms"),  # a plane cannot be scaled
        ({"object_geoms": 3}, "object_geoms"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        toy(**kwargs)


def test_default_object_geom_missing_raises() -> None:
    with pytest.raises(ValueError, match="object_geoms"):
        PhysicsRandomization(gym.make("Ant-v5"))
    PhysicsRandomization(gym.make("Ant-v5"), object_size_scale=None).close()  # group off: no object needed


def test_all_randomization_wrappers_stacked() -> None:
    from wrappers.random_forces import RandomForces
    from wrappers.timestep_randomization import TimestepRandomization
    from wrappers.visual_randomization import VisualRandomization

    base = gym.make("Ant-v5")
    nominal = model_snapshot(base.unwrapped.model)
    env = VisualRandomization(
        RandomForces(
            TimestepRandomization(PhysicsRandomization(base, object_geoms="torso_geom")),
            body="torso",
        ),
        object_geoms=None,
    )
    _, info = env.reset(seed=0)
    assert {"physics", "timestep", "random_force", "visual"} <= info.keys()
    for _ in range(3):
        env.step(env.action_space.sample())
    _, info2 = env.reset(seed=0)
    np.testing.assert_array_equal(info2["physics"]["mass_scale"], info["physics"]["mass_scale"])
    assert info2["timestep"] == info["timestep"]
    env.close()
    assert_snapshot_equal(model_snapshot(base.unwrapped.model), nominal)


def test_non_mujoco_env_raises() -> None:
    with pytest.raises(ValueError, match="env"):
        PhysicsRandomization(gym.make("CartPole-v1"), object_geoms=None)


def test_dactyl_env(dactyl_make) -> None:
    env = PhysicsRandomization(dactyl_make())
    m = env.unwrapped.model
    nominal = model_snapshot(m)
    obj = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "object")
    _, info = env.reset(seed=0)
    assert m.geom_size[obj, 0] == nominal["geom_size"][obj, 0] * info["physics"]["object_size_scale"]
    for _ in range(3):
        env.step(env.action_space.sample())
    env.close()
    assert_snapshot_equal(model_snapshot(m), nominal)


class Spy(gym.Wrapper):
    """Records the body masses the env sees while it resets."""

    def reset(self, **kwargs: Any):
        self.seen = self.env.unwrapped.model.body_mass.copy()
        return self.env.reset(**kwargs)


def test_model_written_before_env_reset() -> None:
    spy = Spy(ToyMujocoEnv())
    env = PhysicsRandomization(spy, object_geoms="object")
    env.reset(seed=0)
    np.testing.assert_array_equal(spy.seen, env.unwrapped.model.body_mass)
    assert not np.array_equal(spy.seen, env._nominal["body_mass"])
    env.close()
