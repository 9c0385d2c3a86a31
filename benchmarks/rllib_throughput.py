"""Env steps/s of RLlib PPO (asymmetric LSTM module) vs the number of env runners, next to train_ppo.py's RecurrentPPO.

Both train the same network on the same env (goal z, continuous actions, no randomization) with the sizes of a
``train_ppo.py`` preset (``--preset quick``: 64-unit dense and LSTMs, n_steps 128, minibatch 256; ``cpu``: 128 / 128,
n_steps 256, minibatch 512; 4 epochs) and the same total number of envs: RLlib ``R`` env runners x ``E`` envs each
against SB3 with ``R * E`` envs, in two forms (``--sb3``): ``pipeline`` is what ``train_ppo.py`` runs today
(``MultiEnvSubprocVecEnv``, ``FusedVecNormalize``, ``OverlappedRecurrentPPO``), ``before`` is sb3-contrib's
``RecurrentPPO`` on SB3's ``SubprocVecEnv`` + ``VecNormalize`` with the same policy. The figure is end-to-end training
throughput (sampling + learning) over ``--iterations`` iterations after one warm-up iteration, all in one run
(ratios are what to read: the machine may be shared); with ``--repeats`` every row is measured that many times in
alternating order and the median is reported.

    python benchmarks/rllib_throughput.py --runners 1 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT), str(ROOT / "benchmarks")]
os.environ.setdefault("MUJOCO_GL", "egl")


def rllib_rate(
    runners: int, envs_per_runner: int, iterations: int, n_steps: int | None, address: str | None,
    preset: str = "quick",
) -> dict:  # fmt: skip
    """End-to-end env steps/s of RLlib PPO with ``runners`` env runners of ``envs_per_runner`` envs."""
    import ray
    from dactyl_rllib.config import RLlibArgs, apply_preset, build_config
    from dactyl_rllib.envs import register
    from dactyl_rllib.runtime import connect

    args = apply_preset(RLlibArgs(preset=preset, randomization="none", num_env_runners=runners,
                                  num_envs_per_env_runner=envs_per_runner, n_steps=n_steps))  # fmt: skip
    connect(address, None if address else max(2, runners))
    register()
    algo = build_config(args).build_algo()
    try:
        algo.train()  # warm-up: actors started, first batch, first update
        steps, t0 = 0, time.perf_counter()
        for _ in range(iterations):
            steps += int(algo.train()["env_runners"]["num_env_steps_sampled"])
        dt = time.perf_counter() - t0
    finally:
        algo.stop()
        ray.shutdown()
    return {"engine": "rllib", "preset": preset, "env_runners": runners, "envs_per_env_runner": envs_per_runner,
            "envs": max(1, runners) * envs_per_runner, "steps": steps, "seconds": dt,
            "steps_per_s": steps / dt}  # fmt: skip


def sb3_rate(n_envs: int, iterations: int, n_steps: int | None, path: str = "pipeline", preset: str = "quick") -> dict:
    """End-to-end env steps/s of SB3 RecurrentPPO with ``n_envs`` envs: ``train_ppo.py``'s pipeline or ``before``."""
    import torch
    from ppo.config import TrainArgs, apply_preset
    from ppo.envs import make_train_env_fn
    from ppo.pipeline import make_model, make_vec_env, make_vecnormalize

    torch.set_num_threads(1)
    args = apply_preset(TrainArgs(preset=preset, randomization="none", n_envs=n_envs, n_steps=n_steps, seed=0,
                                  goal="z", action_type="continuous"))  # fmt: skip
    fns = [make_train_env_fn(r, args.seed, goal=args.goal, action_type=args.action_type,
                             goal_timeout_s=args.goal_timeout_s, groups={}, scale=1.0, wrist=args.wrist)
           for r in range(n_envs)]  # fmt: skip
    if path == "pipeline":
        raw = make_vec_env(fns)
    else:
        raw = make_vec_env(fns, kind="subproc" if n_envs > 1 else "dummy")
    venv = make_vecnormalize(raw, args, fused=path == "pipeline")
    model = make_model(args, venv, overlapped=path == "pipeline")
    per_iteration = n_envs * args.n_steps
    try:
        model.learn(per_iteration)  # warm-up
        t0 = time.perf_counter()
        model.learn(iterations * per_iteration, reset_num_timesteps=False)
        dt = time.perf_counter() - t0
    finally:
        venv.close()
    steps = iterations * per_iteration
    return {"engine": f"sb3-{path}", "preset": preset, "envs": n_envs, "steps": steps, "seconds": dt,
            "steps_per_s": steps / dt}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runners", type=int, nargs="+", default=[1, 2], help="numbers of env runners to measure")
    p.add_argument("--envs-per-runner", type=int, default=2)
    p.add_argument("--preset", choices=("quick", "cpu"), default="quick", help="train_ppo.py preset of the sizes")
    p.add_argument("--iterations", type=int, default=3, help="timed iterations (after one warm-up)")
    p.add_argument("--n-steps", type=int, default=None, help="steps per env per iteration (default: the preset's)")
    p.add_argument("--repeats", type=int, default=1, help="measure every row this many times (order alternating)")
    p.add_argument("--address", default=None, help="an existing Ray cluster (default: a local Ray per measurement)")
    p.add_argument("--sb3", nargs="*", choices=("pipeline", "before"), default=["pipeline", "before"],
                   help="SB3 baselines at the same envs (none: --sb3 with no value)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = p.parse_args()
    for name in ("iterations", "repeats", "envs_per_runner"):
        if getattr(a, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    jobs = []
    for r in a.runners:
        jobs.append(("rllib", r))
        jobs += [(path, r) for path in a.sb3]
    runs: dict[tuple[str, int], list[dict]] = {job: [] for job in jobs}
    for rep in range(a.repeats):
        for engine, r in jobs if rep % 2 == 0 else jobs[::-1]:
            if engine == "rllib":
                row = rllib_rate(r, a.envs_per_runner, a.iterations, a.n_steps, a.address, a.preset)
            else:
                row = sb3_rate(max(1, r) * a.envs_per_runner, a.iterations, a.n_steps, engine, a.preset)
            runs[(engine, r)].append(row)
            print(json.dumps(row), flush=True)
    rows = []
    for job in jobs:
        rates = sorted(row["steps_per_s"] for row in runs[job])
        rows.append({**runs[job][0], "steps_per_s": float(np.median(rates)), "repeats": rates})
    out = {"address": a.address, "load_average_end": os.getloadavg(), "rows": rows}
    print(f"{'engine':<13} {'runners':>7} {'envs':>5} {'steps/s':>9}  ratio to the sb3 rows at the same envs")
    base = {(row["engine"], row["envs"]): row["steps_per_s"] for row in rows if row["engine"] != "rllib"}
    for row in rows:
        ratios = [row["steps_per_s"] / base[(f"sb3-{path}", row["envs"])] for path in a.sb3]
        print(f"{row['engine']:<13} {row.get('env_runners', '-')!s:>7} {row['envs']:>5} {row['steps_per_s']:>9.1f}  "
              + " / ".join(f"{x:.2f}" for x in ratios))  # fmt: skip
    if a.json:
        from evidence import write_json

        write_json(a.json, out)


if __name__ == "__main__":
    main()
