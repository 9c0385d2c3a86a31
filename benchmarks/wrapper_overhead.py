"""Cost of the randomization wrappers: bare ``Dactyl-v0`` vs each wrapper alone vs the full stack.

All variants are timed in the same run, interleaved over several rounds (best round kept), on the same
seeded random actions, so the printed ratios are comparable however loaded the machine is. Step time
only; resets (where the randomization is sampled) are excluded and reported separately.

    python benchmarks/wrapper_overhead.py [--steps 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import gym_dactyl  # noqa: F401  (registers Dactyl-v0)
from wrappers import stack


def make_variants() -> dict[str, Callable[[], gym.Env]]:
    def base() -> gym.Env:
        return gym.make("Dactyl-v0", action_type="continuous")

    variants: dict[str, Callable[[], gym.Env]] = {"bare Dactyl-v0": base}
    for name, cls, _ in stack._STACK:
        if name == "visual_randomization":
            continue  # acts on rendered images only; see benchmarks/render_throughput.py
        variants[name] = lambda cls=cls: cls(base())
    variants["full stack (dactyl_randomization)"] = lambda: stack.dactyl_randomization(base(), discrete_actions=True)
    return variants


def time_env(env: gym.Env, steps: int, seed: int) -> tuple[float, float]:
    """Seconds per step and per reset over ``steps`` random-action steps."""
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    t_step = t_reset = 0.0
    n_reset = 1
    t0 = time.perf_counter()
    env.reset(seed=seed)
    t_reset += time.perf_counter() - t0
    for a in actions:
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(a)
        t_step += time.perf_counter() - t0
        if terminated or truncated:
            t0 = time.perf_counter()
            env.reset()
            t_reset += time.perf_counter() - t0
            n_reset += 1
    return t_step / steps, t_reset / n_reset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    variants = make_variants()
    envs = {name: make() for name, make in variants.items()}
    best_step = dict.fromkeys(envs, np.inf)
    best_reset = dict.fromkeys(envs, np.inf)
    for r in range(args.rounds):
        for name, env in envs.items():
            s, rs = time_env(env, args.steps, args.seed + r)
            best_step[name] = min(best_step[name], s)
            best_reset[name] = min(best_reset[name], rs)
    bare = best_step["bare Dactyl-v0"]
    print(f"{'variant':40s} {'steps/s':>9} {'ratio to bare':>14} {'step cost (us)':>15} {'reset (ms)':>11}")
    for name in envs:
        s = best_step[name]
        print(f"{name:40s} {1 / s:9.0f} {bare / s:14.3f} {(s - bare) * 1e6:15.1f} {best_reset[name] * 1e3:11.2f}")
    full = best_step["full stack (dactyl_randomization)"]
    print(f"\nfull stack / bare throughput ratio: {bare / full:.3f}  (target >= 0.85)")
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    main()
