from __future__ import annotations

import colorsys
import os
import warnings
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported (offscreen rendering)

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from gymnasium import spaces  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gym_dactyl import rotations as R  # noqa: E402
from wrappers.distributions import Constant, Normal, Uniform  # noqa: E402
from wrappers.visual_randomization import _VISUAL_FIELDS, VisualRandomization  # noqa: E402

FAST = settings(max_examples=8, deadline=None)
RENDERING = settings(max_examples=3, deadline=None)  # software GL on a shared CPU: ~0.1 s per frame
seeds = st.integers(0, 2**31 - 1)

LIGHTS = "\n".join(
    f'<light name="l{i}" pos="{0.8 * np.cos(i):.3f} {0.8 * np.sin(i):.3f} 0.9" dir="{-np.cos(i):.3f} '
    f'{-np.sin(i):.3f} -1" diffuse="0.5 0.5 0.5" active="{"true" if i < 2 else "false"}"/>'
    for i in range(6)
)
SCENE_XML = f"""
<mujoco model="visual_toy">
  <visual><global offwidth="64" offheight="64"/><quality offsamples="0"/></visual>
  <asset>
    <material name="robot_mat" rgba="0.8 0.2 0.2 1" specular="0.5" shininess="0.5"/>
    <material name="object_mat" rgba="0.2 0.4 0.9 1" specular="0.3" shininess="0.2"/>
  </asset>
  <worldbody>
    {LIGHTS}
    <geom name="floor" type="plane" size="1 1 0.1" rgba="0.5 0.5 0.5 1"/>
    <camera name="cam" pos="0 -0.9 0.5" xyaxes="1 0 0 0 0.5 1"/>
    <camera name="cam_top" pos="0 0 1.0"/>
    <body name="arm" pos="0 0 0.2">
      <joint name="hinge" type="hinge" axis="0 1 0" range="-1 1" damping="0.5"/>
      <geom name="arm_geom" type="capsule" fromto="0 0 0 0.2 0 0" size="0.03" material="robot_mat"/>
      <geom name="arm_tip" type="sphere" pos="0.2 0 0" size="0.04" rgba="0.1 0.9 0.1 1"/>
    </body>
    <body name="object" pos="-0.2 0 0.1">
      <freejoint/>
      <geom name="object" type="box" size="0.05 0.05 0.05" material="object_mat"/>
    </body>
  </worldbody>
  <actuator><motor joint="hinge" ctrlrange="-1 1"/></actuator>
</mujoco>
"""


class SceneEnv(gym.Env):
    """A tiny rendered MuJoCo env: 2 cameras, 6 lights (2 on), a robot and an object material.

    Its step draws from ``np_random`` (random joint torques), like Dactyl-v0's goal draws, so anything
    consuming the env's generator would change the rollout.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, render_mode: str | None = None, size: int = 32) -> None:
        self.model = mujoco.MjModel.from_xml_string(SCENE_XML)
        self.data = mujoco.MjData(self.model)
        self.render_mode = render_mode
        self.size = size
        self._renderer: mujoco.Renderer | None = None
        n = self.model.nq + self.model.nv
        self.observation_space = spaces.Box(-np.inf, np.inf, (n,), np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[0] = 0.1 * self.np_random.standard_normal()
        mujoco.mj_forward(self.model, self.data)
        return self._obs(), {}

    def step(self, action):
        self.data.ctrl[:] = action
        self.data.qfrc_applied[0] = 0.05 * self.np_random.standard_normal()
        mujoco.mj_step(self.model, self.data, nstep=4)
        return self._obs(), 0.0, False, False, {}

    def _render(self, camera: str) -> np.ndarray:
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.size, self.size)
        self._renderer.update_scene(self.data, camera=camera)
        return self._renderer.render()

    def render(self):
        return self._render("cam") if self.render_mode == "rgb_array" else None

    def render_cameras(self, camera_names=None, width=None, height=None) -> np.ndarray:
        names = camera_names or ("cam", "cam_top")
        return np.stack([self._render(n) for n in names])

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def scene(**kwargs: Any) -> VisualRandomization:
    return VisualRandomization(SceneEnv(render_mode="rgb_array"), **kwargs)


_CACHE: dict[str, gym.Env] = {}


def cached(name: str) -> gym.Env:
    """Rendering envs shared across hypothesis examples (an offscreen GL context costs about a second)."""
    if name not in _CACHE:
        _CACHE[name] = {
            "plain": lambda: SceneEnv(render_mode="rgb_array"),
            "scale0": lambda: scene(scale=0.0),
            "default": lambda: scene(),
        }[name]()
    return _CACHE[name]


@pytest.fixture(scope="module", autouse=True)
def _close_cached():
    yield
    for env in _CACHE.values():
        env.close()
    _CACHE.clear()


def snapshot(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    out = {}
    for name in dir(model):
        if name.startswith("_"):
            continue
        try:
            value = getattr(model, name)
        except Exception:  # noqa: BLE001
            continue
        if isinstance(value, np.ndarray):
            out[name] = value.copy()
    out["opt.gravity"] = model.opt.gravity.copy()
    return out


def differing(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> set[str]:
    return {k for k in a if not np.array_equal(a[k], b[k])}


def rollout(env: gym.Env, seed: int, n: int = 6, render: bool = False) -> list[np.ndarray]:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for i in range(n):
        obs, *_ = env.step(np.array([np.sin(i)], np.float32))
        out.append(obs)
        if render and i == 2:
            env.render()
    return out


# --------------------------------------------------------------------------- identity and physics
@RENDERING
@given(seed=seeds)
def test_scale_zero_is_identity(seed: int) -> None:
    env, plain = cached("scale0"), cached("plain")
    nominal = snapshot(plain.unwrapped.model)
    env.reset(seed=seed)
    plain.reset(seed=seed)
    assert not differing(snapshot(env.unwrapped.model), nominal)
    np.testing.assert_array_equal(env.render(), plain.render())
    np.testing.assert_array_equal(env.render_cameras(), plain.render_cameras())


@RENDERING
@given(seed=seeds)
def test_never_changes_physics(seed: int) -> None:
    env, plain = cached("default"), cached("plain")
    nominal = snapshot(plain.unwrapped.model)
    for a, b in zip(rollout(env, seed, render=True), rollout(plain, seed), strict=True):
        np.testing.assert_array_equal(a, b)
    changed = differing(snapshot(env.unwrapped.model), nominal)
    assert changed and changed <= set(_VISUAL_FIELDS)


# --------------------------------------------------------------------------- images
def test_images_change_and_are_deterministic_under_a_seed() -> None:
    a, b, plain = scene(), cached("default"), cached("plain")
    a.reset(seed=0)
    b.reset(seed=0)
    plain.reset(seed=0)
    ia, ib = [a.render(), a.render_cameras()], [b.render(), b.render_cameras()]
    for x, y in zip(ia, ib, strict=True):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == np.uint8
    nominal = plain.render()
    assert ia[0].shape == nominal.shape and ia[1].shape == (2, 32, 32, 3)
    assert not np.array_equal(ia[0], nominal)
    b.reset(seed=5)
    a.reset(seed=6)
    assert not np.array_equal(a.render(), b.render())
    assert not np.array_equal(a.render(), a.render())  # noise is drawn per frame
    a.close()


def test_model_appearance_changes_render_without_image_noise() -> None:
    env, plain = scene(images_enabled=False), cached("plain")
    env.reset(seed=0)
    plain.reset(seed=0)
    frame = env.render()
    assert not np.array_equal(frame, plain.render())
    np.testing.assert_array_equal(frame, env.render())  # no per-frame noise
    env.close()


@FAST
@given(seed=seeds, c=st.floats(0.5, 1.5))
def test_randomize_image_contrast_and_noise(seed: int, c: float) -> None:
    env = scene(contrast=Constant(c), pixel_noise=0.0)
    env.reset(seed=seed)
    img = np.random.default_rng(seed).integers(60, 200, (2, 8, 8, 3), dtype=np.uint8)
    out = env.randomize_image(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    for i in range(2):
        mean = img[i].astype(np.float64).mean()
        expected = np.clip(mean + c * (img[i] - mean), 0, 255)
        assert np.abs(out[i] - expected).max() <= 0.51 + 1e-3
    noisy = scene(contrast=Constant(1.0), pixel_noise=0.1)
    noisy.reset(seed=seed)
    flat = np.full((64, 64, 3), 128, np.uint8)
    diff = noisy.randomize_image(flat).astype(np.float64) - 128
    assert abs(diff.std() / 25.5 - 1.0) < 0.1
    env.close()
    noisy.close()


def test_randomize_image_rejects_non_uint8() -> None:
    env = scene()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="img"):
        env.randomize_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="img"):
        env.randomize_image(np.zeros((4, 4), np.uint8))
    env.close()


# --------------------------------------------------------------------------- sampled ranges
def quat_angle_deg(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    dot = np.abs(np.sum(q1 * q2, axis=-1)).clip(0, 1)
    return np.rad2deg(2 * np.arccos(dot))


@FAST
@given(seed=seeds, scale=st.floats(0.0, 1.0))
def test_sampled_values_in_ranges(seed: int, scale: float) -> None:
    env = scene(scale=scale)
    m = env.unwrapped.model
    nom = snapshot(m)
    _, info = env.reset(seed=seed)
    s, eps = info["visual"], 1e-9
    # Cameras (both named cameras: the Dactyl names are absent, so all cameras).
    assert np.all(np.abs(m.cam_pos - nom["cam_pos"]) <= 0.0015 * scale + eps)
    np.testing.assert_array_equal(m.cam_pos, nom["cam_pos"] + s["camera_position_offset"])
    assert np.all(quat_angle_deg(m.cam_quat, nom["cam_quat"]) <= 3.0 * scale + 1e-5)
    assert np.allclose(np.linalg.norm(m.cam_quat, axis=1), 1.0)
    assert np.all(np.abs(m.cam_fovy - nom["cam_fovy"]) <= 1.0 * scale + eps)
    # Lights.
    if scale > 0:
        n = int(m.light_active.sum())
        assert 4 <= n <= 6 and n == s["num_lights"]
        assert np.all(m.light_active[:n]) and not np.any(m.light_active[n:])
        active = m.light_active.astype(bool)
        dirs = m.light_dir[active]
        assert np.allclose(np.linalg.norm(dirs, axis=1), 1.0)
    # Robot material and plain-rgba geom; alpha untouched.
    robot = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_MATERIAL, "robot_mat")
    assert 0.05 - eps <= m.mat_specular[robot] <= 0.5 + eps  # between nominal 0.5 and the 5-25 % draw
    assert np.all((m.mat_rgba[:, :3] >= 0) & (m.mat_rgba[:, :3] <= 1))
    np.testing.assert_array_equal(m.mat_rgba[:, 3], nom["mat_rgba"][:, 3])
    # Object colour: HSV offsets within the scaled ranges.
    obj = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_MATERIAL, "object_mat")
    h0, s0, v0 = colorsys.rgb_to_hsv(*nom["mat_rgba"][obj, :3])
    h1, s1, v1 = colorsys.rgb_to_hsv(*m.mat_rgba[obj, :3])
    dh = (h1 - h0 + 0.5) % 1.0 - 0.5
    assert abs(dh) <= 0.01 * scale + 1e-6
    assert abs(s1 - s0) <= 0.15 * scale + 1e-6 and abs(v1 - v0) <= 0.15 * scale + 1e-6
    env.close()


@FAST
@given(seed=seeds)
def test_table9_light_and_material_ranges_at_full_scale(seed: int) -> None:
    """Table 9's light and material ranges, checked on every example (the paper's scale, 1.0)."""
    env = cached("default")
    m = env.unwrapped.model
    _, info = env.reset(seed=seed)
    s, eps = info["visual"], 1e-9
    # Lights: 4-6 on, on the upper hemisphere of radius light_radius, total intensity 0-15 (x 0.1), each
    # light's share of it within a factor 1-5 of the others.
    active = m.light_active.astype(bool)
    n = int(active.sum())
    assert 4 <= n <= 6 and n == s["num_lights"]
    center = env.light_center
    assert np.all(m.light_pos[active, 2] >= center[2] - eps)
    np.testing.assert_allclose(np.linalg.norm(m.light_pos[active] - center, axis=1), env.light_radius)
    total = m.light_diffuse[active, 0].sum()
    assert 0.0 <= total <= 1.5 + eps and np.isclose(total, 0.1 * s["light_total_intensity"])
    if total > 1e-9:
        rel = m.light_diffuse[active, 0] / total
        assert rel.max() / rel.min() <= 5.0 + 1e-6
    # Materials: the object's metallic and gloss in 5-15 %, the robot's metallic in 5-25 % and gloss in 0-100 %.
    obj = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_MATERIAL, "object_mat")
    robot = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_MATERIAL, "robot_mat")
    assert 0.05 - eps <= m.mat_specular[obj] <= 0.15 + eps
    assert 0.05 - eps <= m.mat_shininess[obj] <= 0.15 + eps
    assert 0.05 - eps <= m.mat_specular[robot] <= 0.25 + eps
    assert 0.0 - eps <= m.mat_shininess[robot] <= 1.0 + eps


@FAST
@given(seed=seeds)
def test_no_drift_and_close_restores(seed: int) -> None:
    env = scene()
    m = env.unwrapped.model
    nom = snapshot(m)
    env.reset(seed=seed)
    for _ in range(10):
        env.reset()
    _, info = env.reset()
    np.testing.assert_array_equal(m.cam_pos, nom["cam_pos"] + info["visual"]["camera_position_offset"])
    np.testing.assert_array_equal(m.cam_fovy, nom["cam_fovy"] + info["visual"]["camera_fovy_offset_deg"])
    env.restore_nominal()
    assert not differing(snapshot(m), nom)
    env.reset(seed=seed + 1)
    env.close()
    assert not differing(snapshot(m), nom)


def test_same_seed_same_appearance() -> None:
    a, b = scene(), scene()
    a.reset(seed=3)
    b.reset(seed=3)
    assert not differing(snapshot(a.unwrapped.model), snapshot(b.unwrapped.model))
    b.reset(seed=4)
    assert differing(snapshot(a.unwrapped.model), snapshot(b.unwrapped.model))
    a.close()
    b.close()


def test_disabled_groups() -> None:
    env = scene(cameras_enabled=False, lights_enabled=False)
    m = env.unwrapped.model
    nom = snapshot(m)
    env.reset(seed=0)
    changed = differing(snapshot(m), nom)
    assert not changed & {"cam_pos", "cam_quat", "cam_fovy", "light_active", "light_pos", "light_diffuse", "light_type"}
    assert "mat_rgba" in changed
    env.close()


@pytest.mark.parametrize("directional", [True, False])
def test_randomized_lights_are_directional_unless_asked(directional: bool) -> None:
    """Session 12: placed lights become directional (2x cheaper in software GL); nominal keeps its spotlights."""
    env = scene(directional_lights=directional)
    m = env.unwrapped.model
    spot = mujoco.mjtLightType.mjLIGHT_SPOT
    assert np.all(m.light_type == spot)
    env.reset(seed=0)
    want = mujoco.mjtLightType.mjLIGHT_DIRECTIONAL if directional else spot
    assert np.all(m.light_type == want)
    # the direction still points from the light's place on the hemisphere at the centre
    to_center = env.light_center - m.light_pos
    to_center /= np.linalg.norm(to_center, axis=1, keepdims=True)
    np.testing.assert_allclose(m.light_dir, to_center, atol=1e-6)
    env.restore_nominal()
    assert np.all(m.light_type == spot)
    env.close()
    nominal = scene(scale=0.0)
    nominal.reset(seed=0)
    assert np.all(nominal.unwrapped.model.light_type == spot)
    nominal.close()


def test_directional_lights_validated() -> None:
    with pytest.raises(ValueError, match="directional_lights"):
        scene(directional_lights="yes")


def test_image_noise_statistics_and_determinism() -> None:
    """The inverse-CDF noise (session 12) is N(0, (sigma * 255)^2) and reproducible under a seed."""
    a, b = scene(contrast=Constant(1.0), pixel_noise=0.08), scene(contrast=Constant(1.0), pixel_noise=0.08)
    a.reset(seed=5)
    b.reset(seed=5)
    flat = np.full((3, 64, 64, 3), 128, np.uint8)
    out = a.randomize_image(flat)
    assert out.shape == flat.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, b.randomize_image(flat))
    assert not np.array_equal(out, a.randomize_image(flat))  # fresh noise every frame
    diff = out.astype(np.float64) - 128
    assert abs(diff.mean()) < 0.2 and abs(diff.std() / (0.08 * 255) - 1.0) < 0.03
    # two-sided tails as a Gaussian's: |z| > 2 for about 4.55 % of the values
    assert abs((np.abs(diff) > 2 * 0.08 * 255).mean() - 0.0455) < 0.006
    a.close()
    b.close()


# --------------------------------------------------------------------------- interface
def test_spaces_unchanged_and_check_env() -> None:
    env = scene()
    assert env.observation_space == env.env.observation_space
    assert env.action_space == env.env.action_space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env)
    env.close()
    ant = VisualRandomization(gym.make("Ant-v5"), object_geoms=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(ant, skip_render_check=True)
    with pytest.raises(AttributeError, match="render_cameras"):
        ant.render_cameras()
    ant.close()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"scale": -1.0}, "scale"),
        ({"cameras": ["nope"]}, "cameras"),
        ({"cameras": "cam"}, "cameras"),
        ({"object_geoms": ["nope"]}, "object_geoms"),
        ({"robot_materials": ["nope"]}, "robot_materials"),
        ({"camera_position_offset": 0.0015}, "camera_position_offset"),
        ({"camera_rotation_deg": "3"}, "camera_rotation_deg"),
        ({"num_lights": (6, 4)}, "num_lights"),
        ({"num_lights": (4.0, 6)}, "num_lights"),
        ({"num_lights": (-1, 6)}, "num_lights"),
        ({"num_lights": 4}, "num_lights"),
        ({"light_relative_intensity": Uniform(0.0, 5.0)}, "light_relative_intensity"),
        ({"light_total_intensity": Normal(5.0, 1.0)}, "light_total_intensity"),
        ({"light_intensity_unit": 0.0}, "light_intensity_unit"),
        ({"light_center": (0.0, 0.0)}, "light_center"),
        ({"light_radius": -1.0}, "light_radius"),
        ({"robot_metallic": Uniform(0.0, 2.0)}, "robot_metallic"),
        ({"robot_gloss": Uniform(-0.1, 1.0)}, "robot_gloss"),
        ({"object_metallic": None}, "object_metallic"),
        ({"object_gloss": Uniform(0.0, 1.5)}, "object_gloss"),
        ({"object_hue_offset": 0.01}, "object_hue_offset"),
        ({"contrast": Uniform(-0.5, 1.5)}, "contrast"),
        ({"pixel_noise": -0.1}, "pixel_noise"),
        ({"images_enabled": "yes"}, "images_enabled"),
        ({"lights_enabled": 1}, "lights_enabled"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        scene(**kwargs)


def test_non_mujoco_env_raises() -> None:
    with pytest.raises(ValueError, match="env"):
        VisualRandomization(gym.make("CartPole-v1"), object_geoms=None)


def test_dactyl_env(dactyl_make) -> None:
    env, plain = VisualRandomization(dactyl_make()), dactyl_make()
    m = env.unwrapped.model
    nom = snapshot(m)
    oa, _ = env.reset(seed=0)
    ob, _ = plain.reset(seed=0)
    assert 4 <= int(m.light_active.sum()) <= 6
    imgs = env.render_cameras(width=24, height=24)
    ref = plain.unwrapped.render_cameras(width=24, height=24)
    assert imgs.shape == ref.shape == (3, 24, 24, 3) and not np.array_equal(imgs, ref)
    for _ in range(3):
        action = env.action_space.sample()
        oa, *_ = env.step(action)
        ob, *_ = plain.step(action)
    for k in oa:
        np.testing.assert_array_equal(oa[k], ob[k], err_msg=k)
    assert differing(snapshot(m), nom) <= set(_VISUAL_FIELDS)
    env.close()
    plain.close()
    assert not differing(snapshot(m), nom)


def test_close_cameras_get_the_mounting_error_of_their_wide_camera() -> None:
    """The close lenses take their wide camera's offsets (no extra draws); explicit ``cameras`` has no twins."""
    import gym_dactyl  # noqa: F401
    from gym_dactyl import constants as C

    env = VisualRandomization(gym.make("Dactyl-v0"))
    m = env.unwrapped.model
    nom = snapshot(m)
    _, info = env.reset(seed=3)
    s = info["visual"]
    for k, (wide, close) in enumerate(zip(C.CAMERA_NAMES, C.CLOSE_CAMERA_NAMES, strict=True)):
        cw, cc = m.camera(wide).id, m.camera(close).id
        np.testing.assert_allclose(m.cam_pos[cc] - nom["cam_pos"][cc], s["camera_position_offset"][k], atol=1e-15)
        np.testing.assert_allclose(m.cam_fovy[cc] - nom["cam_fovy"][cc], s["camera_fovy_offset_deg"][k], atol=1e-12)
        # the same local rotation: conj(nominal) * current is equal for the two lenses
        dq = [R.quat_mul(np.array([q[0], *(-q[1:])]), cur) for q, cur in
              ((nom["cam_quat"][c], m.cam_quat[c]) for c in (cw, cc))]  # fmt: skip
        np.testing.assert_allclose(dq[0], dq[1], atol=1e-12)
        assert abs(dq[0][0]) < 1.0  # it did rotate
    explicit = VisualRandomization(gym.make("Dactyl-v0"), cameras=list(C.CAMERA_NAMES))
    mm = explicit.unwrapped.model
    before = mm.cam_pos[[mm.camera(n).id for n in C.CLOSE_CAMERA_NAMES]].copy()
    explicit.reset(seed=3)
    np.testing.assert_array_equal(mm.cam_pos[[mm.camera(n).id for n in C.CLOSE_CAMERA_NAMES]], before)
    env.close()
    explicit.close()
