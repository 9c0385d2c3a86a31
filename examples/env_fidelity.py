"""Measure what the Dactyl-v0 physics does to a policy that does nothing: holds, drops, resets, observation sync.

Four measurements, each over seeded episodes (seed i = ``--seed`` + i), written as one JSON:

- ``hold``: zero actions (continuous) for one goal timeout (8 s = 100 steps): drop rate and the largest
  deviation of any hand joint from its angle right after reset;
- ``random``: uniform random actions for 8 s: drop rate (the pace at which an untrained policy loses the block);
- ``reset``: the state right after ``reset``: block speed, deepest penetration of any block contact,
  whether the block is on the palm, and whether the very first (zero-action) step is already a drop;
- ``sync``: over random-action steps, the distance between the observed fingertip positions and the ones
  MuJoCo computes from the current ``qpos`` (``mj_kinematics`` on a copy) — a lagging observation shows up here.

    python examples/env_fidelity.py --json docs/env_fidelity.json                 # the figures in README/docs
    python examples/env_fidelity.py --episodes 20 --resets 100 --randomized       # under the full stack
    python examples/env_fidelity.py --table docs/env_fidelity_before.json docs/env_fidelity.json   # markdown table

Works with any env whose ``unwrapped`` is a ``DactylEnv``; ``--env-kwargs`` are passed to ``gym.make``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402

import gym_dactyl  # noqa: E402, F401
from gym_dactyl import constants as C  # noqa: E402

ON_PALM_RADIUS = 0.06  # m: horizontal distance from the palm centre within which the block counts as on the palm


def make_env(goal: str, randomized: bool, env_kwargs: dict[str, Any]) -> gym.Env:
    env = gym.make("Dactyl-v0", action_type="continuous", goal=goal, **env_kwargs)
    if randomized:
        from wrappers import dactyl_randomization

        env = dactyl_randomization(env)
    return env


def block_contacts_min_dist(model: mujoco.MjModel, data: mujoco.MjData, obj_body: int) -> float:
    """Smallest contact distance (negative = penetration, metres) over contacts involving the block; +inf if none."""
    best = np.inf
    for i in range(data.ncon):
        c = data.contact[i]
        if obj_body in (model.geom_bodyid[c.geom1], model.geom_bodyid[c.geom2]):
            best = min(best, float(c.dist))
    return best


def measure_hold(goal: str, episodes: int, seed: int, randomized: bool, kw: dict[str, Any]) -> dict[str, Any]:
    env = make_env(goal, randomized, kw)
    u = env.unwrapped
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    hand = u._hand_qpos
    drops, max_dev, devs = 0, 0.0, []
    for i in range(episodes):
        env.reset(seed=seed + i)
        q0 = u.data.qpos[hand].copy()
        dev = 0.0
        dropped = False
        for _ in range(int(round(C.GOAL_TIMEOUT_S / u.dt))):
            _, _, terminated, truncated, info = env.step(zero)
            if info["dropped"]:
                dropped = True
                break
            dev = max(dev, float(np.abs(u.data.qpos[hand] - q0).max()))
            if terminated or truncated:
                break
        drops += dropped
        if not dropped:
            devs.append(dev)
            max_dev = max(max_dev, dev)
    env.close()
    return {
        "episodes": episodes,
        "drop_rate": drops / episodes,
        "max_joint_deviation_rad": max_dev,
        "median_joint_deviation_rad": float(np.median(devs)) if devs else None,
    }


def measure_random(goal: str, episodes: int, seed: int, randomized: bool, kw: dict[str, Any]) -> dict[str, Any]:
    env = make_env(goal, randomized, kw)
    u = env.unwrapped
    drops = 0
    lag = []
    scratch = mujoco.MjData(u.model)
    for i in range(episodes):
        env.reset(seed=seed + i)
        env.action_space.seed(seed + i)
        for _ in range(int(round(C.GOAL_TIMEOUT_S / u.dt))):
            obs, _, terminated, truncated, info = env.step(env.action_space.sample())
            scratch.qpos[:] = u.data.qpos
            mujoco.mj_kinematics(u.model, scratch)
            tips = obs["state"][C.STATE_LAYOUT["fingertip_pos"]].astype(np.float64).reshape(5, 3)
            lag.append(float(np.linalg.norm(tips - scratch.site_xpos[u._tip_sites], axis=1).max()))
            if info["dropped"]:
                drops += 1
                break
            if terminated or truncated:
                break
    env.close()
    lag_mm = 1000 * np.array(lag)
    return {
        "episodes": episodes,
        "drop_rate": drops / episodes,
        "fingertip_obs_lag_mm_median": float(np.median(lag_mm)),
        "fingertip_obs_lag_mm_max": float(lag_mm.max()),
    }


def measure_resets(goal: str, resets: int, seed: int, randomized: bool, kw: dict[str, Any]) -> dict[str, Any]:
    env = make_env(goal, randomized, kw)
    u = env.unwrapped
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    o, v = u._obj_qpos, u._obj_qvel
    from gym_dactyl.scene import PALM_CENTER

    speeds, pens, off_palm, first_drops, bad_seeds = [], [], 0, 0, []
    for i in range(resets):
        env.reset(seed=seed + i)
        mujoco.mj_forward(u.model, u.data)  # contacts of the state the episode starts from
        speed = float(np.linalg.norm(u.data.qvel[v : v + 3]))
        pen = max(0.0, -block_contacts_min_dist(u.model, u.data, u._obj_body))
        pos = u.data.qpos[o : o + 3]
        off = bool(np.linalg.norm(pos[:2] - PALM_CENTER[:2]) > ON_PALM_RADIUS or pos[2] < u.drop_height + 0.02)
        _, _, _, _, info = env.step(zero)
        speeds.append(speed)
        pens.append(pen)
        off_palm += off
        first_drops += bool(info["dropped"])
        if off or info["dropped"] or speed >= 0.05 or pen > 1e-3:
            bad_seeds.append(seed + i)
    env.close()
    speeds_a, pens_a = np.array(speeds), 1000 * np.array(pens)
    return {
        "resets": resets,
        "speed_m_s_max": float(speeds_a.max()),
        "speed_m_s_median": float(np.median(speeds_a)),
        "moving_faster_than_5cm_s": int((speeds_a >= 0.05).sum()),
        "penetration_mm_max": float(pens_a.max()),
        "penetration_over_1mm": int((pens_a > 1.0).sum()),
        "off_palm": off_palm,
        "first_step_drops": first_drops,
        "bad_seeds": bad_seeds[:20],
    }


def table(paths: list[Path]) -> str:
    """A markdown table of measurement files written by ``--json`` (one row per file and goal)."""
    rows = [
        "| measurement | goal | hold-still drops | worst joint drift (rad) | random-action drops | fingertip obs. lag "
        "median / max (mm) | resets: off palm / first-step drops / > 5 cm/s / > 1 mm penetration (of n) |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        data = json.loads(Path(path).read_text())
        for goal, r in data["goals"].items():
            h, rnd, rs = r["hold"], r["random"], r["reset"]
            rows.append(
                f"| `{Path(path).name}` | {goal} | {h['drop_rate'] * h['episodes']:.0f} / {h['episodes']} | "
                f"{h['max_joint_deviation_rad']:.3f} | {rnd['drop_rate'] * rnd['episodes']:.0f} / {rnd['episodes']} | "
                f"{rnd['fingertip_obs_lag_mm_median']:.2g} / {rnd['fingertip_obs_lag_mm_max']:.2g} | "
                f"{rs['off_palm']} / {rs['first_step_drops']} / {rs['moving_faster_than_5cm_s']} / "
                f"{rs['penetration_over_1mm']} (n = {rs['resets']}) |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--goals", default="z,parallel", help="comma-separated goal types")
    p.add_argument("--episodes", type=int, default=100, help="hold-still and random-action episodes per goal")
    p.add_argument("--resets", type=int, default=1000, help="resets checked per goal")
    p.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    p.add_argument("--randomized", action="store_true", help="wrap with the full dactyl_randomization stack")
    p.add_argument("--env-kwargs", default="{}", help="JSON dict passed to gym.make('Dactyl-v0', ...)")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument("--table", type=Path, nargs="+", default=None, help="print a markdown table of these files, only")
    args = p.parse_args(argv)
    if args.table:
        print(table(args.table))
        return {}
    if args.episodes < 1 or args.resets < 1:
        p.error("--episodes and --resets must be >= 1")
    kw = json.loads(args.env_kwargs)
    if not isinstance(kw, dict):
        p.error(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r}")
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "goals": {}}
    for goal in [g.strip() for g in args.goals.split(",") if g.strip()]:
        r = {
            "hold": measure_hold(goal, args.episodes, args.seed, args.randomized, kw),
            "random": measure_random(goal, args.episodes, args.seed, args.randomized, kw),
            "reset": measure_resets(goal, args.resets, args.seed, args.randomized, kw),
        }
        results["goals"][goal] = r
        print(f"goal={goal}: {json.dumps(r)}", flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
