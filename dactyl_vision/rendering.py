"""Render the three vision cameras in one pass: one framebuffer, three viewports, one pixel read.

``DactylEnv.render_cameras`` calls ``Renderer.update_scene`` + ``Renderer.render`` once per camera, i.e. three
``mjv_updateScene``, three ``mjr_render`` and three ``mjr_readPixels`` (each read stalls the GL pipeline).
:class:`MultiCameraRenderer` instead

* builds the abstract scene once per frame (``mjv_updateScene`` for the first camera), then only moves the
  camera for the others (``mjv_updateCamera``) and rebuilds the lights (``mjv_makeLights``: the headlight
  follows the camera, so it must be recomputed or the second and third images come out lit wrongly);
* renders each camera into its own viewport of a single ``(H, n*W)`` offscreen buffer and reads the pixels
  back once into a preallocated buffer.

The output equals ``render_cameras`` up to one grey level on a few pixels (rasterisation rounding at the
viewport offset); ``benchmarks/render_throughput.py`` measures the speed-up.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from gym_dactyl import constants as C
from gym_dactyl.scene import MAX_RENDER_SIZE

__all__ = ["MIN_IMAGE_SIZE", "MAX_IMAGE_SIZE", "MultiCameraRenderer", "check_image_size"]

MIN_IMAGE_SIZE = 64  # pixels per side accepted by the vision wrappers (issue 6)
MAX_IMAGE_SIZE = 200  # Dactyl's vision model sees 200 x 200 images (Dactyl §2, Table 9 context)


def check_image_size(name: str, value: object) -> int:
    """Validate an image side length for the vision wrappers.

    Args:
        name: argument name, used in the error message.
        value: the value received.

    Returns:
        ``value`` as an ``int``.

    Raises:
        ValueError: unless ``value`` is an integer in [64, 200].
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}] pixels, got {value!r}")
    if not MIN_IMAGE_SIZE <= int(value) <= MAX_IMAGE_SIZE:
        raise ValueError(f"{name} must be an integer in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}] pixels, got {value!r}")
    return int(value)


class MultiCameraRenderer:
    """Renders several fixed cameras of a model with one scene update and one pixel read per frame.

    The goal marker (geom group 2) and all sites are hidden, as in ``DactylEnv.render_cameras``.

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> env = gym.make("Dactyl-v0")
        >>> _ = env.reset(seed=0)
        >>> r = MultiCameraRenderer(env.unwrapped.model, width=64, height=64)
        >>> r.render(env.unwrapped.data).shape
        (3, 64, 64, 3)
        >>> r.close()
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        camera_names: Sequence[str] | None = None,
        width: int = 64,
        height: int = 64,
    ) -> None:
        """Create the renderer (one offscreen GL context).

        Args:
            model: the compiled model; its camera, light and material fields are read at every frame, so
                randomizing them in place is seen by the next :meth:`render`.
            camera_names: cameras to render, default :data:`~gym_dactyl.constants.CAMERA_NAMES`.
            width: image width in pixels.
            height: image height in pixels.

        Raises:
            ValueError: for an unknown camera name or a size that does not fit the offscreen buffer.
        """
        names = tuple(C.CAMERA_NAMES if camera_names is None else camera_names)
        if not names:
            raise ValueError("camera_names must name at least one camera, got an empty sequence")
        for n in names:
            if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, n) < 0:
                raise ValueError(f"camera_names: unknown camera {n!r}")
        for name, value in (("width", width), ("height", height)):
            if int(value) != value or not 1 <= value <= MAX_RENDER_SIZE:
                raise ValueError(f"{name} must be an integer in [1, {MAX_RENDER_SIZE}] pixels, got {value!r}")
        self.width, self.height = int(width), int(height)
        n = len(names)
        if n * self.width > model.vis.global_.offwidth:
            raise ValueError(
                f"width * len(camera_names) = {n * self.width} exceeds the offscreen buffer width "
                f"{model.vis.global_.offwidth}"
            )
        self.camera_names = names
        self._model = model
        self._renderer = mujoco.Renderer(model, height=self.height, width=n * self.width)
        self._cams = []
        for cam_name in names:
            cam = mujoco.MjvCamera()
            cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
            cam.fixedcamid = model.camera(cam_name).id
            self._cams.append(cam)
        self._option = mujoco.MjvOption()
        self._option.geomgroup[2] = 0  # goal marker
        self._option.sitegroup[:] = 0  # fingertip markers and other sites
        self._rects = [mujoco.MjrRect(i * self.width, 0, self.width, self.height) for i in range(n)]
        self._full = mujoco.MjrRect(0, 0, n * self.width, self.height)
        self._buffer = np.empty((self.height, n * self.width, 3), dtype=np.uint8)

    @property
    def n_cameras(self) -> int:
        """Number of cameras rendered per frame."""
        return len(self._cams)

    def render(self, data: mujoco.MjData, out: np.ndarray | None = None) -> np.ndarray:
        """Render all cameras for the current state.

        Args:
            data: the simulation state (``mj_forward`` or ``mj_step`` must have run since it changed).
            out: optional ``uint8`` array of shape ``(n_cameras, height, width, 3)`` to write into.

        Returns:
            ``uint8`` array ``(n_cameras, height, width, 3)``, top row first (like ``mujoco.Renderer``).
        """
        r = self._renderer
        if r._mjr_context is None:
            raise RuntimeError("render cannot be called after close")
        m, scn, ctx = self._model, r._scene, r._mjr_context
        if r._gl_context:
            r._gl_context.make_current()
        mujoco.mjv_updateScene(m, data, self._option, None, self._cams[0], mujoco.mjtCatBit.mjCAT_ALL, scn)
        mujoco.mjr_render(self._rects[0], scn, ctx)
        for cam, rect in zip(self._cams[1:], self._rects[1:], strict=True):
            mujoco.mjv_updateCamera(m, data, cam, scn)
            mujoco.mjv_makeLights(m, data, scn)
            mujoco.mjr_render(rect, scn, ctx)
        mujoco.mjr_readPixels(self._buffer, None, self._full, ctx)
        n, h, w = self.n_cameras, self.height, self.width
        if out is None:
            out = np.empty((n, h, w, 3), dtype=np.uint8)
        elif out.shape != (n, h, w, 3) or out.dtype != np.uint8:
            raise ValueError(f"out must be a uint8 array of shape {(n, h, w, 3)}, got {out.dtype} {out.shape}")
        # OpenGL's origin is the bottom-left corner: flip rows, then split the strip into cameras.
        out[...] = self._buffer[::-1].reshape(h, n, w, 3).transpose(1, 0, 2, 3)
        return out

    def close(self) -> None:
        """Release the GL context."""
        self._renderer.close()

    def __enter__(self) -> MultiCameraRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
