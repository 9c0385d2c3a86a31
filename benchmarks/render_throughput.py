"""Rendering throughput of the vision cameras: 1 vs 3 cameras, 64 vs 128 px, with and without Table 9.

    python benchmarks/render_throughput.py [--seconds 1] [--rounds 3] [--clock wall|cpu] [--json out.json]
    python benchmarks/render_throughput.py --cameras 3 --sizes 64 --clock cpu   # the issue-16 row only
    python benchmarks/render_throughput.py --cameras 3 --sizes 64 --camera-sets wide,close   # both camera sets

Three render paths are timed:

* ``per-camera``: ``DactylEnv.render_cameras`` (per camera: ``mjv_updateScene``, ``mjr_render``,
  ``mjr_readPixels``);
* ``one-pass``: :class:`dactyl_vision.rendering.MultiCameraRenderer` (one ``mjv_updateScene``, then
  ``mjv_updateCamera`` + ``mjv_makeLights`` per extra camera, each camera in its own viewport of one
  framebuffer, a single ``mjr_readPixels``; static meshes uploaded without the triangles no camera can draw)
  — what ``CameraObservation`` uses;
* ``one-pass-nocull``: the same with ``cull_static=False`` (every triangle of every mesh), the path before
  session 12.

Randomizations: ``none``; ``VisualRandomization`` (Table 9: appearance drawn at reset with directional
lights, contrast and per-pixel noise on every frame, included in the time); ``VisualRandomization-s11``, the
wrapper as it was before session 12, in the same run: spotlights (``directional_lights=False``) and the
earlier image noise (float32 ``standard_normal`` + ``rint``; :func:`old_randomize_image` below), the
baseline of the speed-up. The state changes between frames (one random 80 ms step, not timed). Frames/s counts
camera *sets* (one frame = all cameras of the row); ``ratio`` is relative to the one-camera 64 px per-camera
row without randomization. ``--clock cpu`` times this process's CPU time (all its threads: llvmpipe renders
with helper threads), which other processes on a shared machine do not inflate.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from evidence import now, set_clock, write_json

import gym_dactyl  # noqa: F401  (headless GL)
from dactyl_vision.rendering import MultiCameraRenderer
from gym_dactyl import constants as C
from wrappers.visual_randomization import VisualRandomization

RANDOMIZATIONS = ("none", "VisualRandomization", "VisualRandomization-s11")
METHODS = ("per-camera", "one-pass", "one-pass-nocull")


def old_randomize_image(env: VisualRandomization, img: np.ndarray) -> np.ndarray:
    """``VisualRandomization.randomize_image`` as it was before session 12 (the baseline of the speed-up)."""
    rng = env._image_rng
    batch = img.shape[:-3]
    x = img.astype(np.float32)
    mean = x.mean(axis=(-3, -2, -1), keepdims=True)
    c = np.asarray(env._contrast.sample(rng, batch if batch else None), dtype=np.float32)
    x = mean + c.reshape(batch + (1, 1, 1)) * (x - mean)
    if env.pixel_noise > 0:
        x += np.float32(env.pixel_noise * 255.0) * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def make_env(randomization: str) -> tuple[gym.Env, Callable[[np.ndarray], np.ndarray] | None]:
    env = gym.make("Dactyl-v0", action_type="continuous")
    if randomization == "none":
        return env, None
    if randomization == "VisualRandomization":
        wrapped = VisualRandomization(env)
        return wrapped, wrapped.randomize_image
    wrapped = VisualRandomization(env, directional_lights=False)
    return wrapped, lambda img: old_randomize_image(wrapped, img)


def measure(camera_set: str, n_cams: int, size: int, randomization: str, method: str, seconds: float) -> dict:
    env, noise = make_env(randomization)
    env.reset(seed=0)
    u = env.unwrapped
    names = C.CAMERA_SETS[camera_set][:n_cams]
    if method.startswith("one-pass"):
        r = MultiCameraRenderer(u.model, names, width=size, height=size, cull_static=method == "one-pass")
        buf = np.empty((n_cams, size, size, 3), np.uint8)

        def render() -> np.ndarray:
            return r.render(u.data, out=buf)
    else:
        r = None

        def render() -> np.ndarray:
            return u.render_cameras(names, width=size, height=size)

    rng = np.random.default_rng(0)
    for _ in range(5):  # warm-up (GL context, shaders, the static-mesh cull)
        render()
    frames, busy, t_end = 0, 0.0, now() + seconds
    while now() < t_end:
        env.step(rng.uniform(-1, 1, 20))
        t = now()
        img = render()
        if noise is not None:
            img = noise(img)
        busy += now() - t
        frames += 1
    if r is not None:
        r.close()
    env.close()
    return {
        "camera_set": camera_set,
        "cameras": n_cams,
        "size": size,
        "randomization": randomization,
        "method": method,
        "frames": frames,
        "fps": frames / busy,
        "images_per_s": n_cams * frames / busy,
    }


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(","))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=1.0, help="seconds of rendering per row and round")
    p.add_argument("--rounds", type=int, default=3, help="rounds over all rows; the median round is reported")
    p.add_argument("--clock", default="wall", choices=("wall", "cpu"), help="wall time or this process's CPU time")
    p.add_argument("--cameras", type=_ints, default=(1, 3), help="comma-separated camera counts (1-3)")
    p.add_argument(
        "--camera-sets", type=_names, default=("wide",),
        help="comma-separated vision camera sets: wide (gym_dactyl.constants.CAMERA_NAMES), close (CLOSE_CAMERA_NAMES)",
    )  # fmt: skip
    p.add_argument("--sizes", type=_ints, default=(64, 128), help="comma-separated image sizes (px)")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = p.parse_args()
    if not args.seconds > 0:
        raise ValueError(f"seconds must be > 0, got {args.seconds!r}")
    if args.rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {args.rounds!r}")
    if not set(args.cameras) <= {1, 2, 3}:
        raise ValueError(f"cameras must be among 1, 2, 3, got {args.cameras!r}")
    if not args.camera_sets or not set(args.camera_sets) <= set(C.CAMERA_SETS):
        raise ValueError(f"camera_sets must be among {tuple(C.CAMERA_SETS)}, got {args.camera_sets!r}")
    if not all(1 <= s <= 200 for s in args.sizes):
        raise ValueError(f"sizes must be in [1, 200] pixels, got {args.sizes!r}")
    set_clock(args.clock)
    configs = [
        (camera_set, n_cams, size, randomization, method)
        for camera_set in args.camera_sets
        for randomization in RANDOMIZATIONS
        for n_cams in args.cameras
        for size in args.sizes
        for method in METHODS
    ]
    # Rounds interleave the rows, so load from other processes on a shared machine hits all rows alike.
    runs: list[list[dict]] = [[] for _ in configs]
    for _ in range(args.rounds):
        for i, cfg in enumerate(configs):
            runs[i].append(measure(*cfg, args.seconds))
    rows = []
    for results in runs:
        fps = sorted(r["fps"] for r in results)
        row = dict(results[0])
        row["fps"] = float(np.median(fps))
        row["images_per_s"] = row["cameras"] * row["fps"]
        row["frames"] = sum(r["frames"] for r in results)
        row["fps_min_max"] = (fps[0], fps[-1])
        rows.append(row)
    first = rows[0]
    base = next(
        (
            r["fps"]
            for r in rows
            if r["camera_set"] == first["camera_set"]
            and r["cameras"] == 1
            and r["size"] == 64
            and r["method"] == "per-camera"
        ),
        first["fps"],
    )
    before = {
        (r["camera_set"], r["cameras"], r["size"], r["method"]): r["fps"]
        for r in rows
        if r["randomization"] == "VisualRandomization-s11"
    }
    for r in rows:
        r["ratio"] = r["fps"] / base
        if r["randomization"] == "VisualRandomization":
            key = (r["camera_set"], r["cameras"], r["size"])
            r["speedup_vs_s11"] = r["fps"] / before[(*key, r["method"])]
            r["speedup_vs_s11_nocull"] = r["fps"] / before[(*key, "one-pass-nocull")]

    gl = os.environ.get("MUJOCO_GL", "default")
    print(
        f"Render throughput ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, MUJOCO_GL={gl}, "
        f"{args.clock} clock)"
    )
    header = (
        f"{'set':<6}{'cams':>4} {'px':>4} {'randomization':<25}{'method':<17}{'frames/s':>10}{'images/s':>10}"
        f"{'ratio':>8}{'vs s11':>8}{'vs s11 nocull':>15}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        extra = ""
        if "speedup_vs_s11" in r:
            extra = f"{r['speedup_vs_s11']:>8.2f}{r['speedup_vs_s11_nocull']:>15.2f}"
        print(
            f"{r['camera_set']:<6}{r['cameras']:>4} {r['size']:>4} {r['randomization']:<25}{r['method']:<17}"
            f"{r['fps']:>10.1f}{r['images_per_s']:>10.1f}{r['ratio']:>8.2f}{extra}"
        )
    if args.json:
        write_json(
            args.json,
            {"mujoco_gl": gl, "clock": args.clock, "seconds": args.seconds, "rounds": args.rounds, "rows": rows},
        )


if __name__ == "__main__":
    main()
