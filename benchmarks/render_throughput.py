"""Rendering throughput of the vision cameras: 1 vs 3 cameras, 64 vs 128 px, with and without Table 9.

    python benchmarks/render_throughput.py [--seconds 1] [--rounds 3] [--json out.json]

Two render paths are timed:

* ``per-camera``: ``DactylEnv.render_cameras`` (per camera: ``mjv_updateScene``, ``mjr_render``,
  ``mjr_readPixels``);
* ``one-pass``: :class:`dactyl_vision.rendering.MultiCameraRenderer` (one ``mjv_updateScene``, then
  ``mjv_updateCamera`` + ``mjv_makeLights`` per extra camera, each camera in its own viewport of one
  framebuffer, a single ``mjr_readPixels``) — what ``CameraObservation`` uses.

"With randomization" wraps the env in ``wrappers.visual_randomization.VisualRandomization`` (Table 9:
appearance drawn at reset, contrast and per-pixel noise on every frame, included in the time). The state
changes between frames (one random 80 ms step, not timed). Frames/s counts camera *sets* (one frame = all
cameras of the row); the ratio is relative to the one-camera 64 px per-camera baseline without randomization.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import gymnasium as gym
import numpy as np
from evidence import write_json

import gym_dactyl  # noqa: F401  (headless GL)
from dactyl_vision.rendering import MultiCameraRenderer
from gym_dactyl import constants as C
from wrappers.visual_randomization import VisualRandomization


def make_env(randomize: bool) -> tuple[gym.Env, str]:
    env = gym.make("Dactyl-v0", action_type="continuous")
    if not randomize:
        return env, "none"
    return VisualRandomization(env), "VisualRandomization"


def measure(n_cams: int, size: int, randomize: bool, method: str, seconds: float) -> dict:
    env, randomizer = make_env(randomize)
    env.reset(seed=0)
    u = env.unwrapped
    names = C.CAMERA_NAMES[:n_cams]
    noise = getattr(env, "randomize_image", None)
    if method == "one-pass":
        r = MultiCameraRenderer(u.model, names, width=size, height=size)
        buf = np.empty((n_cams, size, size, 3), np.uint8)

        def render() -> np.ndarray:
            return r.render(u.data, out=buf)
    else:
        r = None

        def render() -> np.ndarray:
            return u.render_cameras(names, width=size, height=size)

    rng = np.random.default_rng(0)
    for _ in range(5):  # warm-up (GL context, shaders)
        render()
    frames, busy, t_end = 0, 0.0, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        env.step(rng.uniform(-1, 1, 20))
        t = time.perf_counter()
        img = render()
        if noise is not None:
            img = noise(img)
        busy += time.perf_counter() - t
        frames += 1
    if r is not None:
        r.close()
    env.close()
    return {
        "cameras": n_cams,
        "size": size,
        "randomization": randomizer,
        "method": method,
        "frames": frames,
        "fps": frames / busy,
        "images_per_s": n_cams * frames / busy,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=1.0, help="seconds of rendering per row and round")
    p.add_argument("--rounds", type=int, default=3, help="rounds over all rows; the median round is reported")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = p.parse_args()
    if not args.seconds > 0:
        raise ValueError(f"seconds must be > 0, got {args.seconds!r}")

    if args.rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {args.rounds!r}")
    configs = [
        (n_cams, size, randomize, method)
        for randomize in (False, True)
        for n_cams in (1, 3)
        for size in (64, 128)
        for method in ("per-camera", "one-pass")
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
    base = next(r["fps"] for r in rows if r["cameras"] == 1 and r["size"] == 64 and r["method"] == "per-camera")
    for r in rows:
        r["ratio"] = r["fps"] / base

    gl = os.environ.get("MUJOCO_GL", "default")
    print(f"Render throughput ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, MUJOCO_GL={gl})")
    header = f"{'cams':>4} {'px':>4} {'randomization':<24}{'method':<12}{'frames/s':>10}{'images/s':>10}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['cameras']:>4} {r['size']:>4} {r['randomization']:<24}{r['method']:<12}"
            f"{r['fps']:>10.1f}{r['images_per_s']:>10.1f}{r['ratio']:>8.2f}"
        )
    if args.json:
        write_json(args.json, {"mujoco_gl": gl, "seconds": args.seconds, "rounds": args.rounds, "rows": rows})


if __name__ == "__main__":
    main()
