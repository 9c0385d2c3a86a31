"""Throughput of ``Dactyl-v0`` against the bare MuJoCo physics floor, measured in one run.

The env is stepped with seeded random actions; every control it wrote and every post-reset state is
recorded, then the same trajectory is replayed with nothing but ``mujoco.mj_step(model, data,
nstep=frame_skip)``. Both timings cover the same physics work (resets excluded from both), so the
ratio is the share of time the env spends in MuJoCo — the rest is Python overhead.

    python benchmarks/env_throughput.py [--steps 5000] [--action-type discrete] [--repeats 3] [--clock cpu]
        [--json out.json]
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import mujoco
import numpy as np
from evidence import CLOCKS, now, set_clock, write_json

import gym_dactyl  # noqa: F401  (registers Dactyl-v0)


def run_env(env: gym.Env, steps: int, seed: int) -> tuple[float, list[tuple[np.ndarray, list[np.ndarray]]]]:
    """Step the env with random actions; return seconds spent in ``step`` and the episodes' controls."""
    u = env.unwrapped
    kind = mujoco.mjtState.mjSTATE_FULLPHYSICS
    size = mujoco.mj_stateSize(u.model, kind)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    episodes: list[tuple[np.ndarray, list[np.ndarray]]] = []
    elapsed = 0.0
    done, first = True, True
    for action in actions:
        if done:
            env.reset(seed=seed if first else None)
            first = False
            state = np.empty(size)
            mujoco.mj_getState(u.model, u.data, state, kind)
            episodes.append((state, []))
        t0 = now()
        _, _, terminated, truncated, _ = env.step(action)
        elapsed += now() - t0
        episodes[-1][1].append(u.data.ctrl.copy())
        done = terminated or truncated
    return elapsed, episodes


def run_floor(env: gym.Env, episodes: list[tuple[np.ndarray, list[np.ndarray]]]) -> float:
    """Replay the recorded controls with bare ``mj_step``; return seconds spent in ``mj_step``."""
    u = env.unwrapped
    m, d, n = u.model, u.data, u.frame_skip
    kind = mujoco.mjtState.mjSTATE_FULLPHYSICS
    elapsed = 0.0
    for state, ctrls in episodes:
        mujoco.mj_setState(m, d, state, kind)
        for ctrl in ctrls:
            d.ctrl[:] = ctrl
            t0 = now()
            mujoco.mj_step(m, d, nstep=n)
            elapsed += now() - t0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000, help="control steps per repeat")
    parser.add_argument("--action-type", choices=("discrete", "continuous"), default="discrete")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the best of each is reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (robust to other jobs on the machine)")  # fmt: skip
    args = parser.parse_args()
    set_clock(args.clock)
    print(f"clock: {args.clock}")

    env = gym.make("Dactyl-v0", action_type=args.action_type)
    env_best, floor_best = float("inf"), float("inf")
    for r in range(args.repeats):
        env_s, episodes = run_env(env, args.steps, args.seed + r)
        floor_s = run_floor(env, episodes)
        env_best, floor_best = min(env_best, env_s), min(floor_best, floor_s)
    env_sps, floor_sps = args.steps / env_best, args.steps / floor_best
    print(f"Dactyl-v0 ({args.action_type}), random actions: {env_sps:8.0f} steps/s")
    print(f"physics floor mj_step(nstep={env.unwrapped.frame_skip}), same trajectory: {floor_sps:8.0f} steps/s")
    print(f"ratio env / floor: {env_sps / floor_sps:.3f}  (target >= 0.85)")
    if args.json:
        write_json(args.json, {
            "clock": args.clock, "action_type": args.action_type, "steps": args.steps, "repeats": args.repeats,
            "seed": args.seed,
            "env_steps_per_s": env_sps, "floor_steps_per_s": floor_sps, "ratio_env_to_floor": env_sps / floor_sps,
        })  # fmt: skip
    env.close()


if __name__ == "__main__":
    main()
