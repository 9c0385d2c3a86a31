"""Appearance randomization for the vision model (Dactyl Table 9), plus a held-out appearance.

This is the vision package's own sampler, used to build pose-estimation datasets and to measure
robustness. The env-facing wrapper is ``wrappers.visual_randomization.VisualRandomization`` (owned by
the wrappers package); :class:`~gym_dactyl.vision.camera_observation.CameraObservation` uses that wrapper's
``randomize_image`` whenever it is in the wrapper stack, and this module is not needed at run time.

Table 9 (``shared/docs/dactyl_reference.md`` §2) and how each row maps onto MuJoCo model fields:

========================  ==========================  ==============================================
Table 9                   value                       MuJoCo field
========================  ==========================  ==============================================
camera position           ±1.5 mm                     ``cam_pos`` (per axis, uniform)
camera rotation           0–3°                        ``cam_quat`` ⊗ rotation about a random axis
camera field of view      ±1°                         ``cam_fovy``
robot colours             random RGB                  ``geom_rgba`` of each visual robot geom
robot metallic / gloss    5–25 % / 0–100 %            ``mat_specular`` / ``mat_shininess`` (robot)
object hue/sat/value      ±1 % / ±15 % / ±15 %        multiplicative tint on the textured material
object metallic, gloss    5–15 %                      ``mat_specular`` / ``mat_shininess`` (object)
lights                    4–6 on the upper hemisphere ``light_active``, ``light_pos``, ``light_dir``
light intensity           relative 1–5, total 0–15    ``light_diffuse`` = 0.1 · total · r_i / Σr
image contrast            50–150 %                    :meth:`AppearanceRandomizer.randomize_image`
per-pixel noise           ±10 %                       Gaussian, σ ~ U[0, 10 %] of 255 per episode
========================  ==========================  ==============================================

Limitations (stated plainly): "metallic" has no exact MuJoCo counterpart and is mapped to specular; the
object's texture is tinted, not re-coloured in HSV, so the ±1 % hue shift is approximated by the tint's
hue and a tint can only lower saturation; total intensity 15 maps to a summed diffuse of 1.5.

Every range is a *deviation magnitude* ``(lo, hi)`` sampled uniformly with a random sign, so the
held-out appearance (:data:`HELD_OUT`) is exactly "outside the training ranges": it samples
deviations in ``[hi_train, hi_heldout]`` and adds coloured lights, which training never sees.

Example:
    >>> import numpy as np, gymnasium as gym, gym_dactyl
    >>> env = gym.make("Dactyl-v0")
    >>> _ = env.reset(seed=0)
    >>> app = AppearanceRandomizer(env.unwrapped.model)
    >>> app.sample(np.random.default_rng(0))          # randomizes the model's visual fields in place
    >>> app.restore()                                  # back to the nominal appearance
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from gym_dactyl import constants as C
from wrappers.distributions import episode_generator

__all__ = [
    "AppearanceRandomization",
    "AppearanceRanges",
    "AppearanceRandomizer",
    "HELD_OUT",
    "NOMINAL",
    "TABLE9",
    "adjust_image",
]

Range = tuple[float, float]


@dataclass(frozen=True)
class AppearanceRanges:
    """Deviation magnitudes ``(lo, hi)`` of each appearance parameter; the sign of a deviation is random."""

    cam_pos: Range = (0.0, 0.0015)
    """Camera position offset per axis (m). Table 9: ±1.5 mm."""
    cam_rot_deg: Range = (0.0, 3.0)
    """Camera rotation angle about a random axis (degrees). Table 9: 0–3°."""
    cam_fovy_deg: Range = (0.0, 1.0)
    """Field-of-view offset (degrees). Table 9: ±1°."""
    robot_rgb: bool = True
    """Random RGB colour per robot geom. Table 9: random."""
    robot_specular: Range = (0.05, 0.25)
    """Robot specular (absolute value, not a deviation). Table 9 metallic: 5–25 %."""
    robot_shininess: Range = (0.0, 1.0)
    """Robot shininess (absolute). Table 9 gloss: 0–100 %."""
    object_saturation: Range = (0.0, 0.15)
    """Saturation of the object's tint. Table 9: ±15 %."""
    object_value: Range = (0.0, 0.15)
    """Brightness deviation of the object's tint. Table 9: ±15 %."""
    object_specular: Range = (0.05, 0.15)
    """Object specular and shininess (absolute). Table 9: 5–15 %."""
    n_lights: tuple[int, int] = (4, 6)
    """Number of active lights (inclusive). Table 9: 4–6."""
    light_relative: Range = (1.0, 5.0)
    """Relative light intensity (absolute). Table 9: 1–5."""
    light_total: Range = (0.0, 15.0)
    """Total light intensity (absolute). Table 9: 0–15."""
    light_tint_saturation: Range = (0.0, 0.0)
    """Saturation of each light's colour (absolute); 0 = white, as in training."""
    contrast: Range = (0.0, 0.5)
    """Contrast deviation from 100 %. Table 9: 50–150 %."""
    noise: Range = (0.0, 0.10)
    """Per-pixel Gaussian noise σ as a fraction of 255 (absolute). Table 9: ±10 %."""


#: Dactyl Table 9, the training distribution.
TABLE9 = AppearanceRanges()

#: Appearance outside every training range: larger camera errors, stronger object tints, brighter and
#: coloured lights, fewer lights (the vision analogue of the sim-to-real gap).
HELD_OUT = AppearanceRanges(
    cam_pos=(0.0015, 0.004),
    cam_rot_deg=(3.0, 5.0),
    cam_fovy_deg=(1.0, 3.0),
    robot_specular=(0.3, 0.6),
    robot_shininess=(0.0, 1.0),
    object_saturation=(0.25, 0.5),
    object_value=(0.2, 0.4),
    object_specular=(0.2, 0.5),
    n_lights=(2, 3),
    light_relative=(1.0, 5.0),
    light_total=(15.0, 25.0),
    light_tint_saturation=(0.4, 0.8),
    # Image contrast and noise stay at Table 9, so the held-out set isolates colours, lighting and cameras.
)

#: No randomization at all: the nominal scene and clean images.
NOMINAL = None


def adjust_image(images: np.ndarray, contrast: float, noise_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Scale contrast about each image's mean and add per-pixel Gaussian noise.

    Args:
        images: ``uint8`` array ``(..., H, W, 3)``; each ``(H, W, 3)`` image uses its own mean.
        contrast: contrast factor (1 = unchanged).
        noise_sigma: noise standard deviation as a fraction of 255.
        rng: generator for the noise.

    Returns:
        A new ``uint8`` array of the same shape.
    """
    x = images.astype(np.float32)
    mean = x.mean(axis=(-3, -2, -1), keepdims=True)
    x = mean + contrast * (x - mean)
    if noise_sigma > 0:
        x += rng.normal(0.0, 255.0 * noise_sigma, size=x.shape).astype(np.float32)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


class AppearanceRandomizer:
    """Samples an appearance into a model's visual fields and restores the nominal one.

    Only visual fields are written (camera pose and fov, geom colours, material specular/shininess/rgba,
    light activity/pose/colour), never anything the physics reads, so physics is unchanged. Nominal
    values are remembered at construction and every sample perturbs them, so nothing compounds.
    """

    def __init__(self, model: mujoco.MjModel, camera_names: tuple[str, ...] = C.CAMERA_NAMES) -> None:
        """Remember the nominal visual fields of ``model``.

        Args:
            model: the model to randomize in place.
            camera_names: cameras whose pose and fov are randomized.
        """
        self.model = model
        m = model
        self._cams = np.array([m.camera(n).id for n in camera_names])
        self._robot_geoms = np.array(
            [
                g
                for g in range(m.ngeom)
                if m.body(m.geom_bodyid[g]).name.startswith("robot0:") and m.geom_group[g] in (0, 1)
            ]
        )
        robot_mats = {int(m.geom_matid[g]) for g in self._robot_geoms if m.geom_matid[g] >= 0}
        self._robot_mats = np.array(sorted(robot_mats), dtype=int)
        self._object_mat = int(m.geom_matid[m.geom(C.OBJECT_GEOM).id])
        self._target = m.stat.center.copy()
        self._nominal = {name: getattr(m, name).copy() for name in self._FIELDS}
        self.contrast = 1.0
        self.noise_sigma = 0.0

    _FIELDS = (
        "cam_pos",
        "cam_quat",
        "cam_fovy",
        "geom_rgba",
        "mat_rgba",
        "mat_specular",
        "mat_shininess",
        "light_active",
        "light_pos",
        "light_dir",
        "light_diffuse",
    )

    def restore(self) -> None:
        """Write the nominal appearance back and switch image adjustment off."""
        for name, value in self._nominal.items():
            getattr(self.model, name)[...] = value
        self.contrast, self.noise_sigma = 1.0, 0.0

    @staticmethod
    def _dev(rng: np.random.Generator, r: tuple[float, float], size: int | tuple[int, ...] | None = None) -> np.ndarray:
        """Deviation with magnitude ~ U[lo, hi] and a random sign."""
        mag = rng.uniform(r[0], r[1], size=size)
        sign = np.where(rng.random(size=size) < 0.5, -1.0, 1.0)
        return mag * sign

    def sample(
        self,
        rng: np.random.Generator,
        ranges: AppearanceRanges | None = TABLE9,
        data: mujoco.MjData | None = None,
    ) -> None:
        """Randomize the model's appearance in place (``ranges=None`` restores the nominal one).

        Args:
            rng: the generator to draw from.
            ranges: the distribution, e.g. :data:`TABLE9` or :data:`HELD_OUT`.
            data: if given, its camera and light poses are recomputed (``mj_camlight``, which touches
                nothing the physics reads) so the new appearance shows without an ``mj_forward``.
        """
        self._sample(rng, ranges)
        if data is not None:
            mujoco.mj_camlight(self.model, data)

    def _sample(self, rng: np.random.Generator, ranges: AppearanceRanges | None) -> None:
        self.restore()
        if ranges is None:
            return
        m, nom = self.model, self._nominal
        # Cameras.
        for c in self._cams:
            m.cam_pos[c] = nom["cam_pos"][c] + self._dev(rng, ranges.cam_pos, 3)
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            angle = np.deg2rad(rng.uniform(*ranges.cam_rot_deg))
            dq = np.empty(4)
            mujoco.mju_axisAngle2Quat(dq, axis, angle)
            q = np.empty(4)
            mujoco.mju_mulQuat(q, nom["cam_quat"][c], dq)
            m.cam_quat[c] = q
            m.cam_fovy[c] = nom["cam_fovy"][c] + self._dev(rng, ranges.cam_fovy_deg)
        # Robot.
        if ranges.robot_rgb:
            m.geom_rgba[self._robot_geoms, :3] = rng.uniform(0.0, 1.0, size=(len(self._robot_geoms), 3))
        if len(self._robot_mats):
            m.mat_specular[self._robot_mats] = rng.uniform(*ranges.robot_specular)
            m.mat_shininess[self._robot_mats] = rng.uniform(*ranges.robot_shininess)
        # Object: tint the texture.
        hue = rng.uniform()
        sat = rng.uniform(*ranges.object_saturation)
        val = float(np.clip(1.0 + self._dev(rng, ranges.object_value), 0.0, 1.5))
        tint = np.array(colorsys.hsv_to_rgb(hue, sat, 1.0)) * val
        m.mat_rgba[self._object_mat, :3] = nom["mat_rgba"][self._object_mat, :3] * tint
        m.mat_specular[self._object_mat] = rng.uniform(*ranges.object_specular)
        m.mat_shininess[self._object_mat] = rng.uniform(*ranges.object_specular)
        # Lights on the upper hemisphere around the scene centre.
        n_lights = min(int(rng.integers(ranges.n_lights[0], ranges.n_lights[1] + 1)), m.nlight)
        on = np.zeros(m.nlight, dtype=bool)
        on[rng.choice(m.nlight, size=n_lights, replace=False)] = True
        rel = rng.uniform(*ranges.light_relative, size=m.nlight) * on
        total = rng.uniform(*ranges.light_total)
        for i in range(m.nlight):
            azimuth = rng.uniform(0.0, 2.0 * np.pi)
            elevation = np.arcsin(rng.uniform(0.2, 1.0))
            direction = np.array(
                [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)]
            )
            m.light_pos[i] = self._target + 1.0 * direction
            m.light_dir[i] = -direction
            colour = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*ranges.light_tint_saturation), 1.0))
            m.light_diffuse[i] = 0.1 * total * rel[i] / max(rel.sum(), 1e-9) * colour
        m.light_active[:] = on
        # Image-level parameters, held for the episode.
        self.contrast = float(1.0 + self._dev(rng, ranges.contrast))
        self.noise_sigma = float(rng.uniform(*ranges.noise))

    def randomize_image(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply this episode's contrast and fresh per-pixel noise (see :func:`adjust_image`)."""
        if self.contrast == 1.0 and self.noise_sigma == 0.0:
            return images
        return adjust_image(images, self.contrast, self.noise_sigma, rng)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The model fields this randomizer writes (all of them visual)."""
        return cls._FIELDS


class AppearanceRandomization(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Per-episode appearance randomization with the interface of ``VisualRandomization``.

    A stand-in used by the vision package (datasets, robustness tests, :func:`make_vision_env` when
    ``wrappers.visual_randomization`` is not installed) that also offers the held-out ranges. It samples
    an appearance at every ``reset`` from a private generator derived from the reset seed
    (``wrappers.distributions.episode_generator``), so it never consumes the env's own random draws and
    never changes the physics; :meth:`randomize_image` applies the episode's contrast and fresh noise.

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> env = AppearanceRandomization(gym.make("Dactyl-v0"), ranges=HELD_OUT)
        >>> _ = env.reset(seed=0)
    """

    def __init__(self, env: gym.Env, ranges: AppearanceRanges | None = TABLE9) -> None:
        """Wrap ``env``.

        Args:
            env: a Dactyl env (anything whose ``unwrapped`` has ``model`` and ``data``).
            ranges: :data:`TABLE9` (default), :data:`HELD_OUT`, or None for the nominal appearance.

        Raises:
            ValueError: if ``ranges`` is not an :class:`AppearanceRanges` or None.
        """
        if ranges is not None and not isinstance(ranges, AppearanceRanges):
            raise ValueError(f"ranges must be an AppearanceRanges or None, got {ranges!r}")
        gym.utils.RecordConstructorArgs.__init__(self, ranges=ranges)
        gym.Wrapper.__init__(self, env)
        self.ranges = ranges
        self.randomizer = AppearanceRandomizer(env.unwrapped.model)
        self._rng: np.random.Generator | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Reset the env, then sample this episode's appearance."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._rng = episode_generator(self.env, seed, "AppearanceRandomization", self._rng)
        self.randomizer.sample(self._rng, self.ranges, self.env.unwrapped.data)
        return obs, info

    def randomize_image(self, images: np.ndarray) -> np.ndarray:
        """This episode's contrast and fresh per-pixel noise on ``uint8`` images ``(..., H, W, 3)``."""
        if self._rng is None:
            return images
        return self.randomizer.randomize_image(images, self._rng)

    def close(self) -> None:
        """Restore the nominal appearance and close the env."""
        self.randomizer.restore()
        super().close()
