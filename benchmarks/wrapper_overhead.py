"""Cost of the randomization wrappers: bare ``Dactyl-v0`` vs each wrapper alone vs the full stack.

All variants are timed in the same run, interleaved over several rounds (best round kept), on the same
seeded random actions, so the printed ratios are comparable however loaded the machine is. Step time
only; resets (where the randomization is sampled) are excluded and reported separately.

Two ratios are printed. "ratio to bare" compares throughputs, but randomized physics (other masses,
frictions, timesteps, forces, delayed actions) also changes how much work MuJoCo does, so it mixes wrapper
cost with physics cost. "in env.step" is the share of each variant's step time spent inside the unwrapped
``DactylEnv.step`` (timed by instrumenting it), i.e. 1 - the wrappers' own Python overhead share.

    python benchmarks/wrapper_overhead.py [--steps 2000] [--rounds 3] [--clock cpu] [--json out.json]

``--clock cpu`` times with this process's CPU time instead of wall time: on a machine shared with other jobs the
wall-clock ratios swing with their load, the CPU-time ones much less.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from evidence import CLOCKS, now, set_clock, write_json

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


def time_env(env: gym.Env, steps: int, seed: int) -> tuple[float, float, float]:
    """Seconds per step, per reset, and share of step time inside the unwrapped env's ``step``."""
    inner = env.unwrapped
    inner_step = type(inner).step
    inner_time = [0.0]

    def timed_step(action):  # instance attribute shadows the class method for this env only
        t = now()
        out = inner_step(inner, action)
        inner_time[0] += now() - t
        return out

    inner.step = timed_step
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    t_step = t_reset = 0.0
    n_reset = 1
    t0 = now()
    env.reset(seed=seed)
    t_reset += now() - t0
    for a in actions:
        t0 = now()
        _, _, terminated, truncated, _ = env.step(a)
        t_step += now() - t0
        if terminated or truncated:
            t0 = now()
            env.reset()
            t_reset += now() - t0
            n_reset += 1
    del inner.step
    return t_step / steps, t_reset / n_reset, inner_time[0] / t_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (robust to other jobs on the machine)")  # fmt: skip
    args = parser.parse_args()
    set_clock(args.clock)
    print(f"clock: {args.clock}")

    variants = make_variants()
    envs = {name: make() for name, make in variants.items()}
    best_step = dict.fromkeys(envs, np.inf)
    best_reset = dict.fromkeys(envs, np.inf)
    share = dict.fromkeys(envs, 0.0)
    for r in range(args.rounds):
        for name, env in envs.items():
            s, rs, sh = time_env(env, args.steps, args.seed + r)
            if s < best_step[name]:
                best_step[name], share[name] = s, sh
            best_reset[name] = min(best_reset[name], rs)
    bare = best_step["bare Dactyl-v0"]
    header = ("variant", "steps/s", "ratio to bare", "in env.step", "overhead (us)", "reset (ms)")
    print("{:36s} {:>8} {:>14} {:>12} {:>14} {:>11}".format(*header))
    for name in envs:
        s = best_step[name]
        print(
            f"{name:36s} {1 / s:8.0f} {bare / s:14.3f} {share[name]:12.3f} {(1 - share[name]) * s * 1e6:14.1f} "
            f"{best_reset[name] * 1e3:11.2f}"
        )
    key = "full stack (dactyl_randomization)"
    print(f"\nfull stack / bare throughput ratio: {bare / best_step[key]:.3f}  (target >= 0.85)")
    print(
        f"full stack, share of step time inside DactylEnv.step: {share[key]:.3f} "
        f"(bare: {share['bare Dactyl-v0']:.3f}; target >= 0.85)"
    )
    if args.json:
        variants_out = {
            name: {
                "steps_per_s": 1 / best_step[name], "ratio_to_bare": bare / best_step[name],
                "share_in_env_step": share[name], "overhead_us": (1 - share[name]) * best_step[name] * 1e6,
                "reset_ms": best_reset[name] * 1e3,
            }
            for name in envs
        }  # fmt: skip
        write_json(args.json, {
            "clock": args.clock, "steps": args.steps, "rounds": args.rounds, "seed": args.seed,
            "variants": variants_out,
            "ratio_full_stack_to_bare": bare / best_step[key], "full_stack_share_in_env_step": share[key],
        })  # fmt: skip
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    main()
