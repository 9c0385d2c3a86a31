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

import copy
import math
from collections.abc import Sequence

import mujoco
import numpy as np

from gym_dactyl import constants as C
from gym_dactyl.scene import MAX_RENDER_SIZE

__all__ = ["MIN_IMAGE_SIZE", "MAX_IMAGE_SIZE", "MultiCameraRenderer", "check_image_size", "static_faces_in_view"]

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


#: Safety margins of the static-geometry cull: half field of view widened by this angle, triangle bounding
#: spheres and the back-face test by this distance (m). The cull is recomputed whenever a camera moves, so
#: these only absorb rounding between numpy (float64) and the GL pipeline (float32).
CULL_MARGIN_DEG = 1.0
CULL_MARGIN_M = 0.002


def static_faces_in_view(
    vert: np.ndarray,
    face: np.ndarray,
    cam_pos: np.ndarray,
    cam_mat: np.ndarray,
    tan_half: np.ndarray,
    margin_m: float = CULL_MARGIN_M,
) -> np.ndarray:
    """Which triangles of a static mesh any of the cameras can draw (a conservative test).

    A triangle is kept if, for at least one camera, it faces the camera (back faces are culled by the
    renderer, with ``mjRND_CULL_FACE``) and its bounding sphere meets the camera's view pyramid, both up to
    ``margin_m``. Every triangle that could put a pixel on screen is kept, so images are unchanged.

    Args:
        vert: ``(nv, 3)`` vertex positions in the world frame.
        face: ``(nf, 3)`` vertex indices, counter-clockwise seen from the front (MuJoCo's convention).
        cam_pos: ``(nc, 3)`` camera positions (world).
        cam_mat: ``(nc, 3, 3)`` camera orientations (world from camera; the camera looks along its -z).
        tan_half: ``(nc, 2)`` tangents of the (widened) half fields of view along camera x and y.
        margin_m: distance margin (m).

    Returns:
        Boolean mask ``(nf,)``.
    """
    v0, v1, v2 = vert[face[:, 0]], vert[face[:, 1]], vert[face[:, 2]]
    normal = np.cross(v1 - v0, v2 - v0)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    center = (v0 + v1 + v2) / 3.0
    radius = np.sqrt(np.max([((v - center) ** 2).sum(1) for v in (v0, v1, v2)], axis=0)) + margin_m
    keep = np.zeros(len(face), dtype=bool)
    for c, r_mat, (tx, ty) in zip(cam_pos, cam_mat, tan_half, strict=True):
        front = ((c - v0) * normal).sum(1) > -margin_m
        local = (center - c) @ r_mat  # camera frame: x right, y up, looking along -z
        depth = -local[:, 2]
        inside = depth > -radius
        for t, coord in ((tx, local[:, 0]), (ty, local[:, 1])):
            norm = math.sqrt(1.0 + t * t)
            inside &= (t * depth - coord) / norm > -radius  # right / top plane
            inside &= (t * depth + coord) / norm > -radius  # left / bottom plane
        keep |= front & inside
    return keep


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
        cull_static: bool = True,
    ) -> None:
        """Create the renderer (one offscreen GL context).

        Args:
            model: the compiled model; its camera, light and material fields are read at every frame, so
                randomizing them in place is seen by the next :meth:`render`.
            camera_names: cameras to render, default :data:`~gym_dactyl.constants.CAMERA_NAMES` (the whole hand);
                :data:`~gym_dactyl.constants.CLOSE_CAMERA_NAMES` are the same cameras with a 34° view of the block.
            width: image width in pixels.
            height: image height in pixels.
            cull_static: upload the meshes of static geoms (welded to the world, e.g. the forearm) to the
                GL context without the triangles that none of the cameras can draw (outside every view or
                facing away from every camera), recomputed whenever a camera or a static geom moves.
                Same pixels, about half the vertex work for Dactyl's scene. Only when every camera is a
                fixed camera on a static body and face culling is on; otherwise nothing is culled.

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
        # The GL context's meshes come from a copy whose static meshes lose their invisible triangles; the
        # scene itself is always built from ``model`` (live: randomized cameras, lights and materials).
        self._gl_model = copy.copy(model) if cull_static else model
        self._renderer = mujoco.Renderer(self._gl_model, height=self.height, width=n * self.width)
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
        self._cam_ids = np.array([c.fixedcamid for c in self._cams])
        self._static = self._static_mesh_geoms() if cull_static else {}
        self._cull_key: bytes | None = None
        self.culled_faces = 0
        """Triangles of static meshes left out of the GL context at the last cull (0: none)."""

    def _static_mesh_geoms(self) -> dict[int, int]:
        """``{mesh id: geom id}`` for meshes drawn by exactly one visible geom on a body welded to the world."""
        m = self._model
        for c in self._cam_ids:
            if m.cam_mode[c] != mujoco.mjtCamLight.mjCAMLIGHT_FIXED or m.body_weldid[m.cam_bodyid[c]] != 0:
                return {}  # a camera that moves: no static view to cull for
        if not self._renderer._scene.flags[mujoco.mjtRndFlag.mjRND_CULL_FACE]:
            return {}
        out = {}
        for k in range(m.nmesh):
            geoms = np.flatnonzero((m.geom_type == mujoco.mjtGeom.mjGEOM_MESH) & (m.geom_dataid == k))
            if len(geoms) != 1:
                continue
            g, b = int(geoms[0]), int(m.geom_bodyid[geoms[0]])
            group = int(m.geom_group[g])
            visible = group >= len(self._option.geomgroup) or self._option.geomgroup[group]
            if m.body_weldid[b] == 0 and m.body_mocapid[b] < 0 and visible:
                out[k] = g
        return out

    def _update_cull(self, data: mujoco.MjData) -> None:
        """Re-cull the static meshes when a camera (pose, field of view) or a static geom has moved."""
        m, ids = self._model, self._cam_ids
        geoms = list(self._static.values())
        key = b"".join(
            a.tobytes()
            for a in (
                data.cam_xpos[ids],
                data.cam_xmat[ids],
                m.cam_fovy[ids],
                data.geom_xpos[geoms],
                data.geom_xmat[geoms],
            )
        )
        if key == self._cull_key:
            return
        half = np.deg2rad(m.cam_fovy[ids] / 2.0 + CULL_MARGIN_DEG)
        tan_y = np.tan(np.minimum(half, np.deg2rad(89.0)))
        tan_half = np.stack([tan_y * self.width / self.height, tan_y], axis=1)
        cam_mat = data.cam_xmat[ids].reshape(-1, 3, 3)
        gm, ctx = self._gl_model, self._renderer._mjr_context
        culled = 0
        for k, g in self._static.items():
            va, vn = m.mesh_vertadr[k], m.mesh_vertnum[k]
            fa, fn = m.mesh_faceadr[k], m.mesh_facenum[k]
            vert = data.geom_xpos[g] + m.mesh_vert[va : va + vn].astype(np.float64) @ data.geom_xmat[g].reshape(3, 3).T
            keep = static_faces_in_view(vert, m.mesh_face[fa : fa + fn], data.cam_xpos[ids], cam_mat, tan_half)
            keep[0] |= not keep.any()  # an empty mesh is not uploaded; one stray triangle is harmless
            order = np.concatenate([np.flatnonzero(keep), np.flatnonzero(~keep)])
            for field in ("mesh_face", "mesh_facenormal", "mesh_facetexcoord"):
                getattr(gm, field)[fa : fa + fn] = getattr(m, field)[fa : fa + fn][order]
            gm.mesh_facenum[k] = int(keep.sum())
            mujoco.mjr_uploadMesh(gm, ctx, k)
            culled += fn - int(keep.sum())
        self._cull_key = key
        self.culled_faces = culled

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
        if self._static:
            self._update_cull(data)
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
