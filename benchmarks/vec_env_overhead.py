"""CPU cost of ``MultiEnvSubprocVecEnv``'s vector step with and without shared-memory actions, in one run.

Two vector envs of the same ``train_ppo.py`` envs (``--preset cpu``'s: goal z, continuous actions; ``--randomized``:
the full randomization stack) run side by side, one sending the actions through shared memory (today's default),
one pickling them into the step message (``shared_actions=False``, the code before); blocks of ``--block`` vector
steps alternate between them (the order reversed every block), under the untrained policy's action noise
(N(0, e^-1), clipped). Printed: CPU microseconds of the training process per vector step and of the worker
processes per env step (``/proc``), for each, and the ratios (new / old). CPU time, not wall time: other jobs on
the machine inflate it much less.

    python benchmarks/vec_env_overhead.py [--n-envs 2] [--workers 1] [--blocks 8] [--block 500] [--randomized]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT), str(ROOT / "benchmarks")]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from evidence import write_json  # noqa: E402
from ppo.envs import make_train_env_fn  # noqa: E402
from ppo.vec_env import MultiEnvSubprocVecEnv  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-envs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each vector env")
    parser.add_argument("--blocks", type=int, default=8, help="blocks per vector env (alternating)")
    parser.add_argument("--block", type=int, default=500, help="vector steps per block")
    parser.add_argument("--randomized", action="store_true", help="the full randomization stack")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.n_envs < 1 or not 1 <= args.workers <= args.n_envs or args.blocks < 1 or args.block < 1:
        raise ValueError(f"need --n-envs >= 1, 1 <= --workers <= n_envs, --blocks >= 1, --block >= 1; got {args}")
    torch.set_num_threads(1)
    groups = dict.fromkeys(("observation", "physics", "unmodeled"), args.randomized)
    fns = [make_train_env_fn(r, args.seed, goal="z", action_type="continuous", goal_timeout_s=8.0, groups=groups,
                             scale=1.0) for r in range(args.n_envs)]  # fmt: skip
    venvs = {"shared": MultiEnvSubprocVecEnv(fns, n_workers=args.workers),
             "pickled": MultiEnvSubprocVecEnv(fns, n_workers=args.workers, shared_actions=False)}  # fmt: skip
    rng = np.random.default_rng(args.seed)
    cpu: dict[str, dict[str, float]] = {k: {"main_s": 0.0, "worker_s": 0.0} for k in venvs}
    try:
        for venv in venvs.values():
            venv.seed(args.seed)
            venv.reset()
        shape = (args.block, args.n_envs, *venvs["shared"].action_space.shape)
        for b in range(args.blocks):
            for name in (("shared", "pickled") if b % 2 == 0 else ("pickled", "shared")):
                venv = venvs[name]
                actions = np.clip(rng.normal(0.0, np.exp(-1.0), shape), -1.0, 1.0).astype(np.float32)
                w0 = sum(_proc_cpu_s(p.pid) for p in venv.processes)
                m0 = time.process_time()
                for a in actions:
                    venv.step_async(a)
                    venv.step_wait()
                cpu[name]["main_s"] += time.process_time() - m0
                cpu[name]["worker_s"] += sum(_proc_cpu_s(p.pid) for p in venv.processes) - w0
    finally:
        for venv in venvs.values():
            venv.close()
    steps = args.blocks * args.block
    record: dict[str, Any] = {"n_envs": args.n_envs, "workers": args.workers, "blocks": args.blocks,
                              "block": args.block, "randomized": args.randomized, "seed": args.seed,
                              "load_average_1min": os.getloadavg()[0], "nice": os.nice(0)}  # fmt: skip
    for name, c in cpu.items():
        record[name] = {**c, "main_us_per_vector_step": c["main_s"] / steps * 1e6,
                        "worker_us_per_env_step": c["worker_s"] / (steps * args.n_envs) * 1e6}  # fmt: skip
        print(f"{name:8s} main {record[name]['main_us_per_vector_step']:7.1f} us / vector step, workers "
              f"{record[name]['worker_us_per_env_step']:7.1f} us / env step")  # fmt: skip
    record["ratio_main"] = cpu["shared"]["main_s"] / cpu["pickled"]["main_s"]
    record["ratio_worker"] = cpu["shared"]["worker_s"] / cpu["pickled"]["worker_s"]
    print(f"shared / pickled CPU: main {record['ratio_main']:.3f}, workers {record['ratio_worker']:.3f}")
    if args.json:
        write_json(args.json, record)


if __name__ == "__main__":
    main()
