"""Per-episode appearance randomization and per-frame image noise (Dactyl Table 9, vision model)."""

from __future__ import annotations

import colorsys
import functools
import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, SupportsFloat

import gymnasium as gym
import mujoco
import numpy as np

from gym_dactyl.rotations import quat_mul
from wrappers._validation import (
    InvalidArgumentError,
    check_bool,
    check_int,
    check_positive,
    check_scale,
    check_sigma,
    model_ids,
)
from wrappers.distributions import (
    Distribution,
    SignedUniform,
    Uniform,
    check_distribution,
    clip_to_support,
    episode_generator,
)
from wrappers.physics_randomization import _mujoco_model

__all__ = [
    "CAMERA_FOVY_OFFSET_DEG",
    "CAMERA_POSITION_OFFSET",
    "CAMERA_ROTATION_DEG",
    "CONTRAST",
    "HELD_OUT",
    "HELD_OUT_FACTORS",
    "LIGHT_RELATIVE_INTENSITY",
    "LIGHT_TOTAL_INTENSITY",
    "OBJECT_GLOSS",
    "OBJECT_HUE_OFFSET",
    "OBJECT_METALLIC",
    "OBJECT_SATURATION_OFFSET",
    "OBJECT_VALUE_OFFSET",
    "PIXEL_NOISE",
    "ROBOT_GLOSS",
    "ROBOT_METALLIC",
    "VisualRandomization",
]

# Dactyl Table 9 (OpenAI, arXiv 1808.00177): the defaults of VisualRandomization.
CAMERA_POSITION_OFFSET = Uniform(-0.0015, 0.0015)  # camera position, +-1.5 mm per axis (m)
CAMERA_ROTATION_DEG = Uniform(0.0, 3.0)  # camera rotation, 0-3 degrees about a random axis
CAMERA_FOVY_OFFSET_DEG = Uniform(-1.0, 1.0)  # field of view, +-1 degree
LIGHT_RELATIVE_INTENSITY = Uniform(1.0, 5.0)  # relative intensity of each light, 1-5
LIGHT_TOTAL_INTENSITY = Uniform(0.0, 15.0)  # total intensity of the lights, 0-15 (paper units)
ROBOT_METALLIC = Uniform(0.05, 0.25)  # robot metallic 5-25 %
ROBOT_GLOSS = Uniform(0.0, 1.0)  # robot gloss 0-100 %
OBJECT_HUE_OFFSET = Uniform(-0.01, 0.01)  # object hue +-1 % (of the hue circle)
OBJECT_SATURATION_OFFSET = Uniform(-0.15, 0.15)  # object saturation +-15 %
OBJECT_VALUE_OFFSET = Uniform(-0.15, 0.15)  # object value +-15 %
OBJECT_METALLIC = Uniform(0.05, 0.15)  # object metallic 5-15 %
OBJECT_GLOSS = Uniform(0.05, 0.15)  # object gloss 5-15 %
CONTRAST = Uniform(0.5, 1.5)  # image contrast 50-150 %
PIXEL_NOISE = Uniform(0.0, 0.1)  # per-pixel Gaussian noise, sigma up to 10 % of 255, drawn per episode

#: The held-out appearance: every range just beyond Table 9 (larger camera errors, stronger object tints,
#: shinier materials, 2-3 brighter *coloured* lights), image contrast and noise as in Table 9. Keyword
#: arguments of :class:`VisualRandomization`; :meth:`VisualRandomization.held_out` builds it. The vision
#: analogue of the sim-to-real gap: a pose estimator trained on Table 9 never sees these appearances.
HELD_OUT: dict[str, Any] = {
    "camera_position_offset": SignedUniform(0.0015, 0.004),
    "camera_rotation_deg": Uniform(3.0, 5.0),
    "camera_fovy_offset_deg": SignedUniform(1.0, 3.0),
    "num_lights": (2, 3),
    "light_total_intensity": Uniform(15.0, 25.0),
    "light_color_saturation": Uniform(0.4, 0.8),
    "robot_metallic": Uniform(0.3, 0.6),
    "object_saturation_offset": SignedUniform(0.25, 0.5),
    "object_value_offset": SignedUniform(0.2, 0.4),
    "object_metallic": Uniform(0.2, 0.5),
    "object_gloss": Uniform(0.2, 0.5),
}

#: :data:`HELD_OUT`'s rows in groups, one factor of the appearance each: Table 9 with one group at its held-out
#: ranges isolates how much that factor alone costs an estimator trained on Table 9
#: (``dactyl_vision.with_appearance(env, "held_out_lights")``, ``examples/held_out_factors.py``). Together the
#: groups are exactly :data:`HELD_OUT`'s keys.
HELD_OUT_FACTORS: dict[str, tuple[str, ...]] = {
    "cameras": ("camera_position_offset", "camera_rotation_deg", "camera_fovy_offset_deg"),
    "lights": ("num_lights", "light_total_intensity"),  # fewer, brighter lights, still white
    "light_colour": ("light_color_saturation",),  # the lights' colour alone
    "object_saturation": ("object_saturation_offset",),  # stronger tints of the block (random hue)
    "object_value": ("object_value_offset",),  # darker block
    "object_material": ("object_metallic", "object_gloss"),  # shinier block
    "robot": ("robot_metallic",),
}

_VISUAL_FIELDS = (
    "cam_pos",
    "cam_quat",
    "cam_fovy",
    "light_active",
    "light_type",
    "light_pos",
    "light_dir",
    "light_diffuse",
    "mat_rgba",
    "mat_specular",
    "mat_shininess",
    "mat_metallic",
    "mat_roughness",
    "geom_rgba",
)


@functools.cache
def _standard_normal_quantiles(bits: int = 16) -> np.ndarray:
    """Quantiles of N(0, 1) at (k + 0.5) / 2^bits, k = 0 .. 2^bits - 1 (float32; |z| <= 4.3 for 16 bits).

    Per-pixel noise is drawn by inverse-CDF sampling from these (``VisualRandomization.randomize_image``).
    """
    u = (np.arange(1 << bits, dtype=np.float64) + 0.5) / (1 << bits)
    normal = NormalDist()
    table = np.array([normal.inv_cdf(x) for x in u], dtype=np.float32)
    table.flags.writeable = False
    return table


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.array([colorsys.hsv_to_rgb(*hsv) for hsv in zip(h, s, v, strict=True)]).reshape(len(h), 3)


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.where(norm > 1e-12, v / np.maximum(norm, 1e-12), np.array([1.0, 0.0, 0.0]))


class VisualRandomization(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Randomize how a MuJoCo scene looks, never how it moves (Dactyl Table 9, for the vision model).

    Per episode, on the model's *visual* fields only (cameras, lights, materials, geom colours; no
    physics field is touched, so rollouts are identical with and without this wrapper), and per frame on
    the rendered images:

    ==================  ====================================  ===========================================
    group               Table 9                               here (argument)
    ==================  ====================================  ===========================================
    cameras             position +-1.5 mm                     ``cam_pos`` + U[-1.5, 1.5] mm per axis
                        rotation 0-3 deg                      ``cam_quat`` turned U[0, 3] deg about a
                                                              uniformly random axis (camera frame)
                        field of view +-1 deg                 ``cam_fovy`` + U[-1, 1] deg
    lights              4-6 lights, upper hemisphere          ``num_lights`` of the scene's lights on
                                                              (``light_active``), the rest off; each
                                                              placed uniformly on the upper hemisphere
                                                              around ``light_center``, aimed at it, and
                                                              directional (``directional_lights``)
                        relative intensity 1-5, total 0-15    diffuse = unit * total * rel / sum(rel),
                                                              white (``light_color_saturation`` tints
                                                              them: held-out appearance only)
    robot               colours random RGB                    ``geom_rgba`` RGB ~ U[0, 1] *per geom*
                                                              (every link its own colour)
                        metallic 5-25 %, gloss 0-100 %        ``mat_specular`` / ``mat_shininess``
    object              hue +-1 %, sat. +-15 %, value +-15 %  HSV offsets around the nominal colour; an
                                                              achromatic nominal colour (the textured
                                                              block's white) has no hue, so it gets a
                                                              uniformly random hue and saturation
                                                              ``|offset|`` (a weak tint of the texture)
                        metallic and gloss 5-15 %             ``mat_specular`` / ``mat_shininess``
    images              contrast 50-150 %                     ``mean + c * (img - mean)``, ``c`` drawn
                                                              per image (each camera, each frame)
                        per-pixel Gaussian noise +-10 %       N(0, (sigma * 255)^2) per pixel and
                                                              channel, sigma ~ U[0, 10 %] per episode
                                                              (inverse-CDF sampling, 2^16 quantiles)
    ==================  ====================================  ===========================================

    Where the two earlier implementations of this table differed, the behaviour kept is the one that
    covers the row more fully: per-geom robot colours (not one colour for the whole hand: the paper's
    renders show differently coloured links), sigma of the noise sampled per episode (a fixed 10 % never
    shows the estimator a clean or lightly noisy image), contrast drawn per image (every camera sees its
    own), lights uniform on the upper hemisphere (not biased to high elevations). :data:`HELD_OUT` /
    :meth:`held_out` is the held-out appearance, the same code path with ranges beyond Table 9.

    Which parts of the model each group uses: *cameras* the named ``cameras`` (default
    :data:`gym_dactyl.constants.CAMERA_NAMES` when the model has them, else every camera; by default the
    close-lens twins :data:`gym_dactyl.constants.CLOSE_CAMERA_NAMES`, when present, get the position,
    rotation and field-of-view offsets of their wide camera: one mounting error per physical camera, no
    extra draws); *lights* the
    model's lights (Dactyl-v0 provides 6; with fewer than 4 all are used) — positions and directions only
    for lights attached to the world body, others keep their pose; *robot* the ``geom_rgba`` of every geom
    on a non-world, non-mocap body outside the object (MuJoCo's renderer uses it instead of the material's
    colour when it differs from the default grey, so each geom gets its own colour) and those geoms'
    materials (or ``robot_materials`` by name) for metallic and gloss; *object* the materials (or, without
    one, ``geom_rgba``) of ``object_geoms``. Metallic and gloss are written to the classic renderer's
    ``mat_specular`` and ``mat_shininess``, and to ``mat_metallic`` / ``mat_roughness = 1 - gloss`` for PBR renderers.

    Image noise applies to what :meth:`render` returns and to :meth:`render_cameras` (the same call
    forwarded to the env's ``render_cameras`` when it has one, e.g. Dactyl-v0); :meth:`randomize_image`
    is the image-space part on its own (``uint8`` in, ``uint8`` out, any leading batch shape). Contrast is
    drawn per image.

    Intensities: MuJoCo lights have no physical unit, so the paper's total 0-15 is mapped to MuJoCo's
    diffuse colour by ``light_intensity_unit`` (default 0.1: the active lights share 0-1.5 of diffuse);
    the headlight and ambient light are left nominal.

    ``scale`` sets the strength: it multiplies the width of every *offset* (camera pose, fovy, HSV,
    contrast around 1, noise sigma) around the nominal value; for draws that have no nominal centre
    (light positions, intensities and colours, random robot colours, metallic and gloss values) the result is
    ``nominal + min(scale, 1) * (draw - nominal)``, and which lights are on follows the draw whenever
    ``scale > 0``. ``scale=0`` leaves the model and the
    images exactly nominal. Any ``scale >= 0`` gives valid images: a widened contrast distribution is
    clipped to ``>= 0`` (:class:`wrappers.distributions.Clipped`; never an inverted image) and the field of
    view to [1, 179] degrees. Each group can also be switched off (``cameras_enabled`` ...).

    Randomness: per-episode values come from a child of the env's seed
    (:func:`wrappers.distributions.episode_generator`), image noise from a per-episode child of that, so
    images are reproducible under ``reset(seed=s)`` given the same sequence of render calls, and neither
    rendering nor this wrapper ever draws from the env's own generator (physics and goals unchanged).

    Args:
        env: a MuJoCo env (``env.unwrapped.model`` / ``.data``); rendering needs ``render_mode="rgb_array"``.
        cameras: camera names to perturb (None: the Dactyl vision cameras if present, else all).
        object_geoms: the object's geom names (a name, a sequence, or None / () for none).
        robot_materials: robot material names (None: inferred as described above).
        camera_position_offset: per-axis offset of the camera position (m).
        camera_rotation_deg: rotation angle (degrees) about a random axis.
        camera_fovy_offset_deg: offset of the vertical field of view (degrees).
        num_lights: ``(min, max)`` number of active lights, inclusive, clipped to the scene's count.
        light_relative_intensity: relative intensity of each light (support > 0).
        light_total_intensity: total intensity of the active lights (paper units, support >= 0).
        light_intensity_unit: MuJoCo diffuse per paper intensity unit, ``> 0``.
        light_center: centre of the light hemisphere (world frame); None: ``model.stat.center``.
        light_radius: hemisphere radius (m); None: the mean distance of the nominal lights from the centre.
        robot_metallic: robot metallic in [0, 1] (``mat_specular``).
        robot_gloss: robot gloss in [0, 1] (``mat_shininess``).
        object_hue_offset: additive hue offset (fraction of the hue circle).
        object_saturation_offset: additive saturation offset.
        object_value_offset: additive value offset.
        object_metallic: object metallic in [0, 1].
        object_gloss: object gloss in [0, 1].
        light_color_saturation: saturation of each light's colour (random hue), support in [0, 1];
            None (Table 9): white lights.
        directional_lights: make the placed lights directional (parallel light from their direction on the
            hemisphere, ``light_type``) instead of the scene's spotlights. Table 9 fixes the lights'
            number, placement and intensities, not their kind; a spotlight costs software GL about twice
            a directional light per vertex (``benchmarks/render_throughput.py``), and the nominal scene
            (``scale=0`` or ``lights_enabled=False``) keeps its spotlights.
        contrast: image contrast factor (support >= 0).
        pixel_noise: standard deviation of the per-pixel noise as a fraction of 255: a number ``>= 0``
            (fixed) or a distribution with support ``>= 0`` drawn once per episode.
        cameras_enabled: randomize cameras.
        lights_enabled: randomize lights.
        robot_enabled: randomize robot appearance.
        object_enabled: randomize object appearance.
        images_enabled: apply contrast and noise to rendered images.
        scale: strength of the whole randomization, ``>= 0`` (0: nominal appearance).

    Raises:
        ValueError: on an invalid argument, a non-MuJoCo env or a missing camera / geom / material name.

    Example:
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> from wrappers.visual_randomization import VisualRandomization
        >>> env = VisualRandomization(gym.make("Ant-v5"), object_geoms=None, scale=0.5)
        >>> _, info = env.reset(seed=0)
        >>> info["visual"]["num_lights"]  # Ant-v5 has a single light
        1
        >>> img = np.full((4, 4, 3), 128, np.uint8)
        >>> env.randomize_image(img).dtype
        dtype('uint8')
        >>> env.close()
    """

    #: Actions reach the inner env unchanged (see :mod:`wrappers.action_check`).
    passes_actions = True

    def __init__(
        self,
        env: gym.Env,
        *,
        cameras: Sequence[str] | None = None,
        object_geoms: str | Sequence[str] | None = ("object",),
        robot_materials: Sequence[str] | None = None,
        camera_position_offset: Distribution | None = CAMERA_POSITION_OFFSET,
        camera_rotation_deg: Distribution | None = CAMERA_ROTATION_DEG,
        camera_fovy_offset_deg: Distribution | None = CAMERA_FOVY_OFFSET_DEG,
        num_lights: tuple[int, int] = (4, 6),
        light_relative_intensity: Distribution = LIGHT_RELATIVE_INTENSITY,
        light_total_intensity: Distribution = LIGHT_TOTAL_INTENSITY,
        light_intensity_unit: float = 0.1,
        light_center: Sequence[float] | None = None,
        light_radius: float | None = None,
        robot_metallic: Distribution = ROBOT_METALLIC,
        robot_gloss: Distribution = ROBOT_GLOSS,
        object_hue_offset: Distribution = OBJECT_HUE_OFFSET,
        object_saturation_offset: Distribution = OBJECT_SATURATION_OFFSET,
        object_value_offset: Distribution = OBJECT_VALUE_OFFSET,
        object_metallic: Distribution = OBJECT_METALLIC,
        object_gloss: Distribution = OBJECT_GLOSS,
        light_color_saturation: Distribution | None = None,
        directional_lights: bool = True,
        contrast: Distribution = CONTRAST,
        pixel_noise: float | Distribution = PIXEL_NOISE,
        cameras_enabled: bool = True,
        lights_enabled: bool = True,
        robot_enabled: bool = True,
        object_enabled: bool = True,
        images_enabled: bool = True,
        scale: float = 1.0,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            cameras=cameras,
            object_geoms=object_geoms,
            robot_materials=robot_materials,
            camera_position_offset=camera_position_offset,
            camera_rotation_deg=camera_rotation_deg,
            camera_fovy_offset_deg=camera_fovy_offset_deg,
            num_lights=num_lights,
            light_relative_intensity=light_relative_intensity,
            light_total_intensity=light_total_intensity,
            light_intensity_unit=light_intensity_unit,
            light_center=light_center,
            light_radius=light_radius,
            robot_metallic=robot_metallic,
            robot_gloss=robot_gloss,
            object_hue_offset=object_hue_offset,
            object_saturation_offset=object_saturation_offset,
            object_value_offset=object_value_offset,
            object_metallic=object_metallic,
            object_gloss=object_gloss,
            light_color_saturation=light_color_saturation,
            directional_lights=directional_lights,
            contrast=contrast,
            pixel_noise=pixel_noise,
            cameras_enabled=cameras_enabled,
            lights_enabled=lights_enabled,
            robot_enabled=robot_enabled,
            object_enabled=object_enabled,
            images_enabled=images_enabled,
            scale=scale,
        )
        gym.Wrapper.__init__(self, env)
        self.scale = check_scale("scale", scale)
        self._w = min(self.scale, 1.0)  # interpolation weight of draws without a nominal centre
        self.enabled = {
            "cameras": check_bool("cameras_enabled", cameras_enabled),
            "lights": check_bool("lights_enabled", lights_enabled),
            "robot": check_bool("robot_enabled", robot_enabled),
            "object": check_bool("object_enabled", object_enabled),
            "images": check_bool("images_enabled", images_enabled),
        }

        def offset(name: str, value: Any) -> Distribution | None:
            dist = check_distribution(name, value)
            return None if dist is None else dist.scaled(self.scale, 0.0)

        def unit_interval(name: str, value: Any) -> Distribution:
            dist = check_distribution(name, value, allow_none=False, min_value=0.0)
            if not dist.support[1] <= 1.0:
                raise InvalidArgumentError(f"{name} must be a distribution with support in [0, 1], got {value!r}")
            return dist

        self._camera_position = offset("camera_position_offset", camera_position_offset)
        self._camera_rotation = offset("camera_rotation_deg", camera_rotation_deg)
        self._camera_fovy = offset("camera_fovy_offset_deg", camera_fovy_offset_deg)
        if isinstance(num_lights, (str, bytes)) or not isinstance(num_lights, Sequence) or len(num_lights) != 2:
            raise InvalidArgumentError(f"num_lights must be a (min, max) pair of integers, got {num_lights!r}")
        low, high = (check_int("num_lights", n, min_value=0) for n in num_lights)
        if low > high:
            raise InvalidArgumentError(f"num_lights must be a (min, max) pair with min <= max, got {num_lights!r}")
        self.num_lights = (low, high)
        self._light_rel = check_distribution(
            "light_relative_intensity", light_relative_intensity, allow_none=False, positive=True
        )
        self._light_total = check_distribution(
            "light_total_intensity", light_total_intensity, allow_none=False, min_value=0.0
        )
        self.light_intensity_unit = check_positive("light_intensity_unit", light_intensity_unit)
        self.directional_lights = check_bool("directional_lights", directional_lights)
        self._robot_metallic = unit_interval("robot_metallic", robot_metallic)
        self._robot_gloss = unit_interval("robot_gloss", robot_gloss)
        self._hsv = [
            offset("object_hue_offset", object_hue_offset),
            offset("object_saturation_offset", object_saturation_offset),
            offset("object_value_offset", object_value_offset),
        ]
        self._object_metallic = unit_interval("object_metallic", object_metallic)
        self._object_gloss = unit_interval("object_gloss", object_gloss)
        self._contrast = clip_to_support(
            check_distribution("contrast", contrast, allow_none=False, min_value=0.0).scaled(self.scale, 1.0), 0.0
        )
        if isinstance(pixel_noise, Distribution):
            noise = check_distribution("pixel_noise", pixel_noise, allow_none=False, min_value=0.0)
        else:
            noise = Uniform(check_sigma("pixel_noise", pixel_noise), check_sigma("pixel_noise", pixel_noise))
        self._pixel_noise = noise.scaled(self.scale, 0.0)
        self.pixel_noise = float(self._pixel_noise.support[1])
        """This episode's noise sigma (fraction of 255), drawn at :meth:`reset` (before it: the largest)."""
        self._light_color_saturation = (
            None if light_color_saturation is None else unit_interval("light_color_saturation", light_color_saturation)
        )

        self._model, self._data = _mujoco_model(env, "VisualRandomization")
        m = self._model
        self._cameras = self._resolve_cameras(cameras)
        self._camera_twins, self._camera_twin_src = self._resolve_camera_twins(cameras)
        self._object_geoms = self._resolve_geoms(object_geoms)
        obj_mats = sorted({int(m.geom_matid[g]) for g in self._object_geoms if m.geom_matid[g] >= 0})
        self._object_mats = np.asarray(obj_mats, dtype=int)
        self._object_rgba_geoms = np.asarray([g for g in self._object_geoms if m.geom_matid[g] < 0], dtype=int)
        self._robot_mats, self._robot_rgba_geoms = self._resolve_robot(robot_materials, set(obj_mats))

        if light_center is None:
            center = np.array(m.stat.center, dtype=float)
        else:
            center = np.asarray(light_center, dtype=float)
            if center.shape != (3,) or not np.all(np.isfinite(center)):
                raise InvalidArgumentError(f"light_center must be 3 finite numbers, got {light_center!r}")
        self.light_center = center
        if light_radius is None:
            dist = np.linalg.norm(m.light_pos - center, axis=1) if m.nlight else np.zeros(0)
            radius = float(dist.mean()) if m.nlight and dist.mean() > 0 else float(m.stat.extent)
        else:
            radius = check_positive("light_radius", light_radius)
        self.light_radius = radius
        self._world_lights = np.flatnonzero(m.light_bodyid == 0)

        self._nominal = {f: getattr(m, f).copy() for f in _VISUAL_FIELDS if hasattr(m, f)}
        self._rng: np.random.Generator | None = None
        self._image_rng = np.random.default_rng(0)
        self._image_bufs: tuple[np.ndarray, np.ndarray] | None = None
        self._noise_sigma: float | None = None
        self._noise_lut = np.zeros(1 << 16, np.float32)
        self.sampled: dict[str, Any] = {}

    @classmethod
    def held_out(cls, env: gym.Env, **kwargs: Any) -> VisualRandomization:
        """The held-out appearance (:data:`HELD_OUT`): every range beyond Table 9, coloured lights.

        Args:
            env: the env to wrap.
            **kwargs: further :class:`VisualRandomization` arguments; they override :data:`HELD_OUT`'s.

        Returns:
            ``VisualRandomization(env, **{**HELD_OUT, **kwargs})``.

        Example:
            >>> import gymnasium as gym, gym_dactyl
            >>> env = VisualRandomization.held_out(gym.make("Dactyl-v0"))
            >>> _, info = env.reset(seed=0)
            >>> 2 <= info["visual"]["num_lights"] <= 3
            True
        """
        return cls(env, **{**HELD_OUT, **kwargs})

    # ------------------------------------------------------------------ name resolution
    def _resolve_cameras(self, cameras: Sequence[str] | None) -> np.ndarray:
        m = self._model
        if cameras is None:
            try:
                from gym_dactyl.constants import CAMERA_NAMES
            except ImportError:  # pragma: no cover - gym_dactyl ships with this repository
                CAMERA_NAMES = ()  # noqa: N806
            ids = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, n) for n in CAMERA_NAMES]
            if CAMERA_NAMES and all(i >= 0 for i in ids):
                return np.asarray(ids, dtype=int)
            return np.arange(m.ncam)
        if isinstance(cameras, str) or not all(isinstance(n, str) for n in cameras):
            raise InvalidArgumentError(f"cameras must be a sequence of camera names or None, got {cameras!r}")
        ids = []
        for n in cameras:
            i = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, n)
            if i < 0:
                raise InvalidArgumentError(f"cameras must name cameras of the model, got {n!r} which the model lacks")
            ids.append(i)
        return np.asarray(ids, dtype=int)

    def _resolve_camera_twins(self, cameras: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the close-lens twins of the default cameras and, for each, the index of its wide camera."""
        none = (np.zeros(0, dtype=int), np.zeros(0, dtype=int))
        if cameras is not None:
            return none
        try:
            from gym_dactyl.constants import CAMERA_NAMES, CLOSE_CAMERA_NAMES
        except ImportError:  # pragma: no cover - gym_dactyl ships with this repository
            return none
        m = self._model
        wide = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, n) for n in CAMERA_NAMES]
        close = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, n) for n in CLOSE_CAMERA_NAMES]
        if min(close, default=-1) < 0 or list(self._cameras) != wide:
            return none
        return np.asarray(close, dtype=int), np.arange(len(close))

    def _resolve_geoms(self, object_geoms: str | Sequence[str] | None) -> np.ndarray:
        return model_ids(
            self._model, mujoco.mjtObj.mjOBJ_GEOM, object_geoms, "object_geoms",
            hint="(pass object_geoms=None for an env without an object)",
        )  # fmt: skip

    def _resolve_robot(self, robot_materials: Sequence[str] | None, object_mats: set[int]) -> tuple:
        m = self._model
        object_bodies = {int(m.geom_bodyid[g]) for g in self._object_geoms}
        robot_geoms = [
            g
            for g in range(m.ngeom)
            if m.geom_bodyid[g] != 0
            and m.body_mocapid[m.geom_bodyid[g]] < 0
            and int(m.geom_bodyid[g]) not in object_bodies
            and g not in set(self._object_geoms.tolist())
        ]
        if robot_materials is None:
            mats = sorted({int(m.geom_matid[g]) for g in robot_geoms if m.geom_matid[g] >= 0} - object_mats)
        else:
            if isinstance(robot_materials, str) or not all(isinstance(n, str) for n in robot_materials):
                raise InvalidArgumentError(
                    f"robot_materials must be a sequence of material names or None, got {robot_materials!r}"
                )
            mats = []
            for n in robot_materials:
                i = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_MATERIAL, n)
                if i < 0:
                    raise InvalidArgumentError(
                        f"robot_materials must name materials of the model, got {n!r} which the model lacks"
                    )
                mats.append(i)
        # Every robot geom gets its own colour through geom_rgba, which MuJoCo's renderer uses instead of the
        # material's colour unless it is the default grey; the nominal colour a geom shows is remembered so
        # that scale < 1 interpolates from what was on screen.
        default = np.array([0.5, 0.5, 0.5, 1.0], dtype=np.float32)
        shown = [
            m.mat_rgba[m.geom_matid[g], :3]
            if m.geom_matid[g] >= 0 and np.array_equal(m.geom_rgba[g], default)
            else m.geom_rgba[g, :3]
            for g in robot_geoms
        ]
        self._robot_shown_rgb = np.asarray(shown, dtype=float).reshape(len(robot_geoms), 3)
        return np.asarray(mats, dtype=int), np.asarray(robot_geoms, dtype=int)

    # ------------------------------------------------------------------ sampling and writing
    def _sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one episode's appearance; every group draws the same count whatever is enabled."""
        m, s = self._model, {}
        nc, nl = len(self._cameras), m.nlight

        def draw(dist: Distribution | None, size: Any) -> Any:
            # Disabled parts still draw (from a zero-width copy), so other groups' streams do not shift.
            return (dist if dist is not None else Uniform(0.0, 0.0)).sample(rng, size)

        s["camera_position_offset"] = draw(self._camera_position, (nc, 3))
        s["camera_rotation_deg"] = draw(self._camera_rotation, nc)
        s["camera_axis"] = _unit_vectors(rng, nc)
        s["camera_fovy_offset_deg"] = draw(self._camera_fovy, nc)

        lo, hi = min(self.num_lights[0], nl), min(self.num_lights[1], nl)
        s["num_lights"] = int(rng.integers(lo, hi + 1))
        z = rng.random(nl)
        phi = 2.0 * math.pi * rng.random(nl)
        r = np.sqrt(np.maximum(0.0, 1.0 - z**2))
        s["light_direction"] = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)  # from centre to light
        s["light_relative_intensity"] = self._light_rel.sample(rng, nl)
        s["light_total_intensity"] = self._light_total.sample(rng)
        hue, sat = rng.random(nl), draw(self._light_color_saturation, nl)
        s["light_color"] = _hsv_to_rgb(hue, np.clip(sat, 0.0, 1.0), np.ones(nl))

        s["robot_rgb"] = rng.random((len(self._robot_rgba_geoms), 3))
        s["robot_metallic"] = self._robot_metallic.sample(rng, len(self._robot_mats))
        s["robot_gloss"] = self._robot_gloss.sample(rng, len(self._robot_mats))

        n_obj = len(self._object_mats) + len(self._object_rgba_geoms)
        s["object_hsv_offset"] = np.stack([draw(d, n_obj) for d in self._hsv], axis=1).reshape(n_obj, 3)
        s["object_metallic"] = self._object_metallic.sample(rng, len(self._object_mats))
        s["object_gloss"] = self._object_gloss.sample(rng, len(self._object_mats))
        s["object_hue"] = rng.random(n_obj)  # used where the nominal colour has no hue
        s["pixel_noise"] = float(self._pixel_noise.sample(rng))
        return s

    def _write(self, s: dict[str, Any]) -> None:
        m, nom, w = self._model, self._nominal, self._w
        for field, value in nom.items():
            getattr(m, field)[:] = value
        if not s:
            return
        if self.enabled["cameras"] and len(self._cameras):
            c = self._cameras
            m.cam_pos[c] = nom["cam_pos"][c] + s["camera_position_offset"]
            half = np.deg2rad(s["camera_rotation_deg"])[:, None] / 2.0
            dq = np.concatenate([np.cos(half), np.sin(half) * s["camera_axis"]], axis=1)
            m.cam_quat[c] = quat_mul(nom["cam_quat"][c], dq)
            m.cam_fovy[c] = np.clip(nom["cam_fovy"][c] + s["camera_fovy_offset_deg"], 1.0, 179.0)
            if len(self._camera_twins):  # the close lenses share their camera's mounting error (no new draws)
                t, k = self._camera_twins, self._camera_twin_src
                m.cam_pos[t] = nom["cam_pos"][t] + s["camera_position_offset"][k]
                m.cam_quat[t] = quat_mul(nom["cam_quat"][t], dq[k])
                m.cam_fovy[t] = np.clip(nom["cam_fovy"][t] + s["camera_fovy_offset_deg"][k], 1.0, 179.0)
        if self.enabled["lights"] and m.nlight and w > 0:
            n = s["num_lights"]
            m.light_active[:] = np.arange(m.nlight) < n
            rel = s["light_relative_intensity"]
            share = np.where(np.arange(m.nlight) < n, rel / max(rel[:n].sum(), 1e-12), 0.0)
            diffuse = (self.light_intensity_unit * s["light_total_intensity"] * share)[:, None] * s["light_color"]
            active = np.arange(m.nlight) < n
            m.light_diffuse[active] = nom["light_diffuse"][active] + w * (
                diffuse[active] - nom["light_diffuse"][active]
            )
            wl = self._world_lights
            pos = self.light_center + self.light_radius * s["light_direction"][wl]
            m.light_pos[wl] = nom["light_pos"][wl] + w * (pos - nom["light_pos"][wl])
            direction = self.light_center - m.light_pos[wl]
            norm = np.linalg.norm(direction, axis=1, keepdims=True)
            m.light_dir[wl] = np.where(norm > 1e-9, direction / np.maximum(norm, 1e-9), nom["light_dir"][wl])
            if self.directional_lights and "light_type" in nom:
                m.light_type[wl] = mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
        if self.enabled["robot"]:
            mats, geoms = self._robot_mats, self._robot_rgba_geoms
            if w > 0 and len(geoms):
                m.geom_rgba[geoms, :3] = self._robot_shown_rgb + w * (s["robot_rgb"] - self._robot_shown_rgb)
            self._write_finish(mats, s["robot_metallic"], s["robot_gloss"])
        if self.enabled["object"]:
            mats, geoms = self._object_mats, self._object_rgba_geoms
            off, hue = s["object_hsv_offset"], s["object_hue"]
            m.mat_rgba[mats, :3] = self._shift_hsv(nom["mat_rgba"][mats, :3], off[: len(mats)], hue[: len(mats)])
            m.geom_rgba[geoms, :3] = self._shift_hsv(nom["geom_rgba"][geoms, :3], off[len(mats) :], hue[len(mats) :])
            self._write_finish(mats, s["object_metallic"], s["object_gloss"])

    def _write_finish(self, mats: np.ndarray, metallic: np.ndarray, gloss: np.ndarray) -> None:
        m, nom, w = self._model, self._nominal, self._w
        m.mat_specular[mats] = nom["mat_specular"][mats] + w * (metallic - nom["mat_specular"][mats])
        m.mat_shininess[mats] = nom["mat_shininess"][mats] + w * (gloss - nom["mat_shininess"][mats])
        if "mat_metallic" in nom:
            m.mat_metallic[mats] = nom["mat_metallic"][mats] + w * (metallic - nom["mat_metallic"][mats])
        if "mat_roughness" in nom:
            m.mat_roughness[mats] = nom["mat_roughness"][mats] + w * (1.0 - gloss - nom["mat_roughness"][mats])

    @staticmethod
    def _shift_hsv(rgb: np.ndarray, offset: np.ndarray, random_hue: np.ndarray) -> np.ndarray:
        out = rgb.copy()
        for i, (color, (dh, ds, dv)) in enumerate(zip(rgb, offset, strict=True)):
            if dh == 0.0 and ds == 0.0 and dv == 0.0:
                continue  # exactly nominal (an HSV round trip is not bit-exact)
            h, s, v = colorsys.rgb_to_hsv(*color)
            if s == 0.0:  # achromatic (e.g. the white under a texture): no hue to offset, so tint it
                h, ds = random_hue[i], abs(ds)
            out[i] = colorsys.hsv_to_rgb((h + dh) % 1.0, min(max(s + ds, 0.0), 1.0), min(max(v + dv, 0.0), 1.0))
        return out

    # ------------------------------------------------------------------ images
    def randomize_image(self, img: np.ndarray) -> np.ndarray:
        """Apply contrast and per-pixel Gaussian noise to ``uint8`` image(s) of shape ``(..., H, W, C)``.

        Each image (leading index) gets its own contrast factor ``c``: ``mean + c * (img - mean)``, then
        noise ``N(0, (pixel_noise * 255)^2)`` per pixel and channel (``pixel_noise``: this episode's
        sigma); the result is rounded (half up) and clipped to ``uint8``. Draws come from the episode's
        image generator (set at :meth:`reset`): one contrast factor per image, then the noise, in float32.

        Args:
            img: ``uint8`` array with at least 3 dimensions ``(H, W, C)``.

        Returns:
            A new ``uint8`` array of the same shape (an unchanged copy when images are not randomized).
        """
        img = np.asarray(img)
        if img.dtype != np.uint8 or img.ndim < 3:
            raise InvalidArgumentError(
                f"img must be a uint8 array of shape (..., H, W, C), got {img.dtype} {img.shape}"
            )
        if not self.enabled["images"] or self.scale == 0.0:
            return img.copy()
        rng = self._image_rng
        batch = img.shape[:-3]
        x, noise = self._image_buffers(img.shape)
        # Per-image mean from an exact integer sum (faster than a float mean over a float copy).
        flat = img.reshape(batch + (-1,))
        mean = flat.sum(axis=-1, dtype=np.uint64).astype(np.float32) / np.float32(flat.shape[-1])
        c = np.asarray(self._contrast.sample(rng, batch if batch else None), dtype=np.float32)
        # mean + c * (img - mean) + 0.5 = c * img + ((1 - c) * mean + 0.5); the + 0.5 makes the final
        # truncating uint8 cast round half up after the clip to [0, 255].
        np.multiply(img, c.reshape(batch + (1, 1, 1)), out=x)
        x += ((1.0 - c) * mean + np.float32(0.5)).reshape(batch + (1, 1, 1))
        if self.pixel_noise > 0:
            # Inverse-CDF sampling: one uniform 16-bit integer per pixel and channel indexes the Gaussian's
            # quantiles at (k + 0.5) / 2^16, already scaled by sigma (3.5x faster than standard_normal).
            np.take(self._noise_table(), rng.integers(0, 1 << 16, img.shape, dtype=np.uint16), out=noise)
            x += noise
        np.clip(x, 0.0, 255.0, out=x)
        return x.astype(np.uint8)

    def _noise_table(self) -> np.ndarray:
        """The 2^16 quantiles of N(0, (pixel_noise * 255)^2) (float32), rebuilt when ``pixel_noise`` changes."""
        sigma = float(self.pixel_noise)
        if self._noise_sigma != sigma:
            self._noise_lut = (np.float32(sigma * 255.0) * _standard_normal_quantiles()).astype(np.float32)
            self._noise_sigma = sigma
        return self._noise_lut

    def _image_buffers(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Float32 work buffers of ``shape`` (image, noise), reused while the shape stays the same."""
        bufs = self._image_bufs
        if bufs is None or bufs[0].shape != shape:
            bufs = self._image_bufs = (np.empty(shape, np.float32), np.empty(shape, np.float32))
        return bufs

    def render(self) -> Any:
        """Render the env and apply :meth:`randomize_image` to the frame(s)."""
        out = self.env.render()
        if out is None:
            return None
        if isinstance(out, list):
            return [self.randomize_image(f) for f in out]
        return self.randomize_image(out)

    def render_cameras(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Call the env's ``render_cameras`` (same arguments) and apply :meth:`randomize_image` per image.

        Raises:
            AttributeError: if the wrapped env has no ``render_cameras``.
        """
        try:
            fn = self.env.get_wrapper_attr("render_cameras")
        except AttributeError as err:
            raise AttributeError(f"{self.env.unwrapped!r} has no render_cameras method") from err
        return self.randomize_image(fn(*args, **kwargs))

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Draw and write this episode's appearance, then reset the env."""
        self._rng = episode_generator(self.env, seed, type(self).__name__, self._rng)
        self.sampled = self._sample(self._rng)
        self._image_rng = np.random.Generator(np.random.PCG64(self._rng.integers(2**63)))
        self.pixel_noise = self.sampled["pixel_noise"]
        self._write(self.sampled)
        obs, info = self.env.reset(seed=seed, options=options)
        mujoco.mj_camlight(self._model, self._data)  # camera/light poses in data follow the new model
        info = dict(info)
        info["visual"] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.sampled.items()}
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env unchanged (appearance is held for the episode)."""
        return self.env.step(action)

    def restore_nominal(self) -> None:
        """Write the nominal appearance back (images keep their per-frame contrast and noise)."""
        self.sampled = {}
        self._write({})
        mujoco.mj_camlight(self._model, self._data)

    def close(self) -> None:
        """Restore the nominal appearance and close the env."""
        self.restore_nominal()
        super().close()
