"""Env steps/s of ``DactylWarp-v0`` (MuJoCo Warp, N worlds) against the CPU ``Dactyl-v0`` floor, in one run.

For each N the batched env is reset, warmed up (kernel loads, first steps), then stepped ``--steps`` control
steps with random actions; env steps/s = N * steps / seconds, resets of ended worlds included (they run on the
host: one CPU settle per reset world). Both modes are measured: nominal physics and per-world randomization
(``--randomize``: default physics Table 1 + timestep + random forces; ``all``: every randomization the batched env
supports). The floor is one CPU ``Dactyl-v0`` stepped with random actions in the same process (resets included).
``--json PATH`` also writes the figures (with the machine's load) to a file, rewritten after every run with
``"complete": false`` until the last, so a run cut short by a time limit keeps what it measured.

    python benchmarks/warp_throughput.py --device cuda:0 --json docs/benchmarks/warp_throughput_gpu.json
    python benchmarks/warp_throughput.py --device cuda:0 --randomize all --steps 10 --json /tmp/gpu.json  # all
    python benchmarks/warp_throughput.py --device cpu --num-envs 2 8 --steps 3 --clock cpu \
        --json docs/benchmarks/warp_throughput_cpu.json                            # CPU: small N only

On a CPU device Warp runs every world on the host: the figures are only a floor for tests, not what a GPU gives.
"""

from __future__ import annotations

import argparse
from typing import Any

import gymnasium as gym
import torch
from evidence import CLOCKS, now, set_clock, write_json

from dactyl_warp import SUPPORTED_RANDOMIZATIONS  # (importing dactyl_warp registers DactylWarp-v0)

#: The default randomized mode: the physics group and the unmodeled effects that change the simulation.
RANDOMIZATIONS = ("physics_randomization", "timestep_randomization", "random_forces")


def cpu_floor(steps: int, seed: int) -> float:
    """Env steps/s of one CPU Dactyl-v0 with random actions (resets included)."""
    env = gym.make("Dactyl-v0")
    env.reset(seed=seed)
    env.action_space.seed(seed)
    t0 = now()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    rate = steps / (now() - t0)
    env.close()
    return rate


def warp_rate(n: int, steps: int, device: str, randomized: tuple[str, ...], seed: int) -> dict[str, Any]:
    """Env steps/s of DactylWarp-v0 with ``n`` worlds (``randomized``: those randomizations, () nominal); also the
    build (first reset of every world included) and warm-up seconds."""
    t0 = now()
    envs = gym.make_vec(
        "DactylWarp-v0", num_envs=n, vectorization_mode="vector_entry_point", device=device,
        randomizations={name: {} for name in randomized} or None,
    )  # fmt: skip
    envs.reset(seed=seed)
    build = now() - t0
    gen = torch.Generator().manual_seed(seed)
    actions = [torch.randint(0, 11, (n, 20), generator=gen).to(envs.unwrapped.device) for _ in range(steps + 1)]
    t0 = now()
    envs.step(actions[0])  # warm-up: kernel loads
    warm = now() - t0
    resets = 0
    if envs.unwrapped.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = now()
    for a in actions[1:]:
        _, _, terminated, truncated, _ = envs.step(a)
        resets += int((terminated | truncated).sum())
    if envs.unwrapped.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = now() - t0
    envs.close()
    return {"num_envs": n, "randomized": bool(randomized), "randomizations": list(randomized),
            "env_steps_per_s": n * steps / seconds,
            "seconds": seconds, "steps": steps, "resets": resets, "build_s": build, "warmup_s": warm}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda:0", help="Warp device: cuda:0 or cpu")
    p.add_argument("--num-envs", type=int, nargs="+", default=None, help="default 1024 4096 16384 (GPU), 2 8 (CPU)")
    p.add_argument("--steps", type=int, default=None, help="timed control steps per N (default 50 GPU, 3 CPU)")
    p.add_argument("--floor-steps", type=int, default=200, help="control steps of the CPU Dactyl-v0 floor")
    p.add_argument("--randomize", nargs="+", default=list(RANDOMIZATIONS), choices=(*SUPPORTED_RANDOMIZATIONS, "all"),
                   help="randomizations of the randomized mode (default: physics, timestep, forces)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="wall time, or this process's CPU time (robust to other jobs on the machine)")  # fmt: skip
    args = p.parse_args()
    set_clock(args.clock)
    torch.set_num_threads(1)
    cpu = args.device == "cpu"
    sizes = args.num_envs or ([2, 8] if cpu else [1024, 4096, 16384])
    steps = args.steps or (3 if cpu else 50)
    for name, v in (("--steps", steps), ("--floor-steps", args.floor_steps), *(("--num-envs", n) for n in sizes)):
        if v < 1:
            raise SystemExit(f"{name} must be >= 1, got {v}")
    randomized = SUPPORTED_RANDOMIZATIONS if "all" in args.randomize else tuple(args.randomize)
    floor = cpu_floor(args.floor_steps, args.seed)
    result: dict[str, Any] = {
        "device": args.device,
        "clock": args.clock,
        "seed": args.seed,
        "cpu_dactyl_v0_env_steps_per_s": floor,
        "runs": [],
        "complete": False,
    }
    print(f"clock: {args.clock}, device: {args.device}", flush=True)
    print(f"CPU Dactyl-v0 floor: {floor:.1f} env steps/s (1 process)", flush=True)
    todo = [(n, r) for n in sizes for r in (randomized, ())]  # the randomized figure (the target's) first
    for k, (n, r) in enumerate(todo):
        run = warp_rate(n, steps, args.device, r, args.seed)
        run["ratio_to_cpu_floor"] = run["env_steps_per_s"] / floor
        result["runs"].append(run)
        result["complete"] = k == len(todo) - 1
        tag = "randomized" if run["randomized"] else "nominal   "
        print(f"N={n:6d} {tag} {run['env_steps_per_s']:10.1f} env steps/s ({run['ratio_to_cpu_floor']:.2f}x floor, "
              f"{run['resets']} resets, build {run['build_s']:.1f} s)", flush=True)  # fmt: skip
        if args.json:
            write_json(args.json, result)


if __name__ == "__main__":
    main()
