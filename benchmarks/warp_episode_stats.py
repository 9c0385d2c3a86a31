"""Episode statistics of ``DactylWarp-v0`` against ``Dactyl-v0`` over many episodes, with standard errors.

Both envs run the same task settings and the same *random policy* (each step, every joint gets a bin drawn
uniformly from ``5 ± --max-offset``, default 5: uniform over the 11 bins), with a
short goal timeout so episodes are short. Each batched world runs exactly ``--episodes-per-world`` episodes (its
first ones: no bias towards short episodes), Dactyl-v0 runs the same number of episodes in total with seeds
``seed + k``. Per episode: return, length (control steps), successes, dropped. The JSON holds the means, their
standard errors, the difference Warp − CPU with its standard error and z, and the raw per-episode values.

    python benchmarks/warp_episode_stats.py --device cpu --num-envs 32 --episodes-per-world 4 \
        --json docs/benchmarks/warp_episode_stats_cpu.json

Agreement means |z| small for every statistic (|z| < 2 for each of the four at the 5 % level if the distributions
were equal; with four statistics one |z| ≈ 2 by chance is not unusual). The two envs share the task and starts'
distribution, not the random numbers: Warp steps in float32 with its own contact / solver code (docs/warp.md).
"""

from __future__ import annotations

import argparse
import math

import gymnasium as gym
import numpy as np
import torch
from evidence import CLOCKS, now, set_clock, write_json

import dactyl_warp  # noqa: F401  (registers DactylWarp-v0)
import gym_dactyl  # noqa: F401  (registers Dactyl-v0)

STATS = ("return", "length", "successes", "dropped")


def warp_episodes(n: int, per_world: int, device: str, env_kwargs: dict, offset: int, seed: int) -> dict[str, list]:
    """The first ``per_world`` episodes of each of ``n`` worlds under the random policy."""
    envs = gym.make_vec("DactylWarp-v0", num_envs=n, vectorization_mode="vector_entry_point", device=device,
                        **env_kwargs)  # fmt: skip
    envs.reset(seed=seed)
    gen = torch.Generator().manual_seed(seed + 10_000)
    out: dict[str, list] = {k: [] for k in STATS}
    done_count = np.zeros(n, dtype=int)
    ret, length, succ = np.zeros(n), np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    n_act = envs.single_action_space.shape[0]
    while (done_count < per_world).any():
        a = 5 + torch.randint(-offset, offset + 1, (n, n_act), generator=gen)
        _, reward, terminated, truncated, info = envs.step(a.to(envs.unwrapped.device))
        reward = reward.cpu().numpy()
        ret += reward
        length += 1
        succ += info["is_success"].cpu().numpy()
        ended = (terminated | truncated).cpu().numpy()
        for i in np.flatnonzero(ended):
            if done_count[i] < per_world:
                out["return"].append(float(ret[i]))
                out["length"].append(int(length[i]))
                out["successes"].append(int(succ[i]))
                out["dropped"].append(int(info["final_info"]["dropped"][i]))
            done_count[i] += 1
            ret[i], length[i], succ[i] = 0.0, 0, 0
    envs.close()
    return out


def cpu_episodes(k: int, env_kwargs: dict, offset: int, seed: int) -> dict[str, list]:
    """``k`` episodes of one Dactyl-v0 under the random policy (seeds ``seed + j``)."""
    env = gym.make("Dactyl-v0", **env_kwargs)
    rng = np.random.default_rng(seed + 20_000)
    n_act = env.action_space.shape[0]
    out: dict[str, list] = {k: [] for k in STATS}
    for j in range(k):
        env.reset(seed=seed + j)
        ret, length, succ, ended = 0.0, 0, 0, False
        while not ended:
            _, reward, terminated, truncated, info = env.step(5 + rng.integers(-offset, offset + 1, n_act))
            ret, length, succ = ret + float(reward), length + 1, succ + int(info["is_success"])
            ended = terminated or truncated
        out["return"].append(ret)
        out["length"].append(length)
        out["successes"].append(succ)
        out["dropped"].append(int(info["dropped"]))
    env.close()
    return out


def summary(values: list) -> dict[str, float]:
    """Mean and its standard error."""
    x = np.asarray(values, dtype=float)
    se = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return {"mean": float(x.mean()), "se": se, "n": len(x)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="Warp device: cpu or cuda:0")
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--episodes-per-world", type=int, default=4)
    p.add_argument("--goal", default="z", choices=("parallel", "z", "xyz"))
    p.add_argument("--goal-timeout-s", type=float, default=2.4, help="short: 30 control steps without a success")
    p.add_argument("--max-offset", type=int, default=5, help="random bins in 5 ± this (0..5; 5: uniform over all 11)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, metavar="PATH")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="for the seconds reported")
    args = p.parse_args()
    set_clock(args.clock)
    torch.set_num_threads(1)
    for name in ("num_envs", "episodes_per_world"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not 0 <= args.max_offset <= 5:
        raise SystemExit(f"--max-offset must be in [0, 5], got {args.max_offset}")
    env_kwargs = {"goal": args.goal, "goal_timeout_s": args.goal_timeout_s}
    k = args.num_envs * args.episodes_per_world
    t0 = now()
    warp = warp_episodes(args.num_envs, args.episodes_per_world, args.device, env_kwargs, args.max_offset, args.seed)
    t1 = now()
    cpu = cpu_episodes(k, env_kwargs, args.max_offset, args.seed)
    t2 = now()
    comparison = {}
    for stat in STATS:
        a, b = summary(warp[stat]), summary(cpu[stat])
        diff = a["mean"] - b["mean"]
        se = math.sqrt(a["se"] ** 2 + b["se"] ** 2)
        comparison[stat] = {"warp": a, "cpu": b, "diff": diff, "diff_se": se, "z": diff / se if se > 0 else math.nan}
        print(f"{stat:>10}: Warp {a['mean']:8.3f} ± {a['se']:.3f} | Dactyl-v0 {b['mean']:8.3f} ± {b['se']:.3f} | "
              f"diff {diff:+.3f} ± {se:.3f} (z {comparison[stat]['z']:+.2f})")  # fmt: skip
    result = {
        "device": args.device, "clock": args.clock, "seed": args.seed, "episodes": k, "num_envs": args.num_envs,
        "episodes_per_world": args.episodes_per_world, "env_kwargs": env_kwargs, "max_offset": args.max_offset,
        "warp_seconds": t1 - t0, "cpu_seconds": t2 - t1, "comparison": comparison,
        "raw": {"warp": warp, "cpu": cpu},
    }  # fmt: skip
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
