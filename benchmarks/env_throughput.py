"""Throughput of ``Dactyl-v0`` against the bare MuJoCo physics floor, measured in one run.

The env is stepped with seeded random actions; every control it wrote and every post-reset state is
recorded, then the same trajectory is replayed with nothing but ``mujoco.mj_step(model, data,
nstep=frame_skip)``. Both timings cover the same physics work (resets excluded from both), so the
ratio is the share of time the env spends in MuJoCo — the rest is Python overhead.

With ``--baseline-rev REV`` the ``DactylEnv`` of another git revision (``git show REV:gym_dactyl/dactyl_env.py``,
loaded as a separate module on today's scene and constants) is stepped in the same run on the same seeds and
actions, each repeat alternating which goes first, and the script prints the per-step time of each and their
ratio (the median of the per-repeat pairs): the cost of a change to the env's own Python, measured against the
code before it. ``--goal`` and ``--randomized`` (the full ``wrappers.dactyl_randomization`` stack) set the env;
``--goal z --action-type continuous`` is ``train_ppo.py --preset cpu``'s.

    python benchmarks/env_throughput.py [--steps 5000] [--action-type discrete] [--repeats 3] [--clock cpu]
        [--goal parallel] [--randomized] [--baseline-rev REV] [--json out.json]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from evidence import CLOCKS, now, set_clock, write_json

import gym_dactyl  # noqa: F401  (registers Dactyl-v0)
from gym_dactyl.dactyl_env import DactylEnv

ROOT = Path(__file__).resolve().parents[1]


def baseline_env_class(rev: str) -> type[gym.Env]:
    """``DactylEnv`` as git revision ``rev`` of this repository had it (its module loaded under another name)."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:gym_dactyl/dactyl_env.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ValueError(f"--baseline-rev: cannot read gym_dactyl/dactyl_env.py at {rev!r} ({exc})") from exc
    module = types.ModuleType(f"dactyl_env_at_{rev}")
    module.__file__ = f"{rev}:gym_dactyl/dactyl_env.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102  (this repository's own file)
    return module.DactylEnv


def make_env(cls: type[gym.Env], randomized: bool, **kwargs: Any) -> gym.Env:
    """``cls(**kwargs)`` wrapped as ``gym.make`` wraps ``Dactyl-v0`` (passive checker, order enforcing), and in
    the full randomization stack with ``randomized`` (continuous base actions; discrete ones on top)."""
    discrete = kwargs.get("action_type") == "discrete"
    if randomized:
        kwargs = {**kwargs, "action_type": "continuous"}
    env: gym.Env = gym.wrappers.OrderEnforcing(gym.wrappers.PassiveEnvChecker(cls(**kwargs)))
    if randomized:
        from wrappers import dactyl_randomization

        env = dactyl_randomization(env, discrete_actions=discrete)
    return env


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
    parser.add_argument("--goal", choices=("parallel", "z", "xyz"), default="parallel")
    parser.add_argument("--randomized", action="store_true", help="wrap the env in the full randomization stack")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the best of each is reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-rev", default=None, metavar="REV",
                        help="also time the DactylEnv of this git revision in the same run "
                             "(e.g. main, HEAD~1)")  # fmt: skip
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (robust to other jobs on the machine)")  # fmt: skip
    args = parser.parse_args()
    set_clock(args.clock)
    print(f"clock: {args.clock}")

    kwargs = {"action_type": args.action_type, "goal": args.goal}
    env = make_env(DactylEnv, args.randomized, **kwargs)
    base = make_env(baseline_env_class(args.baseline_rev), args.randomized, **kwargs) if args.baseline_rev else None
    env_runs, floor_runs, base_runs = [], [], []
    for r in range(args.repeats):
        if base is not None and r % 2 == 1:  # the baseline goes first on odd repeats
            base_runs.append(run_env(base, args.steps, args.seed + r)[0])
        env_s, episodes = run_env(env, args.steps, args.seed + r)
        env_runs.append(env_s)
        if base is not None and r % 2 == 0:
            base_runs.append(run_env(base, args.steps, args.seed + r)[0])
        floor_runs.append(run_floor(env, episodes))
    env_sps, floor_sps = args.steps / min(env_runs), args.steps / min(floor_runs)
    name = f"Dactyl-v0 ({args.action_type}, goal {args.goal}{', full randomization' if args.randomized else ''})"
    print(f"{name}, random actions: {env_sps:8.0f} steps/s")
    print(f"physics floor mj_step(nstep={env.unwrapped.frame_skip}), same trajectory: {floor_sps:8.0f} steps/s")
    print(f"ratio env / floor: {env_sps / floor_sps:.3f}  (target >= 0.85)")
    record: dict[str, Any] = {
        "clock": args.clock, "action_type": args.action_type, "goal": args.goal, "randomized": args.randomized,
        "steps": args.steps, "repeats": args.repeats, "seed": args.seed,
        "env_steps_per_s": env_sps, "floor_steps_per_s": floor_sps, "ratio_env_to_floor": env_sps / floor_sps,
        "env_s": env_runs, "floor_s": floor_runs,
    }  # fmt: skip
    if base is not None:
        base_sps = args.steps / min(base_runs)
        paired = float(np.median([b / e for b, e in zip(base_runs, env_runs, strict=True)]))
        print(f"baseline {args.baseline_rev}: {base_sps:8.0f} steps/s ({1e6 * min(base_runs) / args.steps:.1f} us "
              f"per step; this tree {1e6 * min(env_runs) / args.steps:.1f} us)")  # fmt: skip
        print(f"speed-up this tree / {args.baseline_rev}: {env_sps / base_sps:.3f} (best runs), "
              f"{paired:.3f} (median of paired repeats)")  # fmt: skip
        record.update({"baseline_rev": args.baseline_rev, "baseline_steps_per_s": base_sps, "baseline_s": base_runs,
                       "speedup_best": env_sps / base_sps, "speedup_paired_median": paired})  # fmt: skip
        base.close()
    if args.json:
        write_json(args.json, record)
    env.close()


if __name__ == "__main__":
    main()
