"""Env steps/s of RLlib PPO (asymmetric LSTM module) vs the number of env runners, next to train_ppo.py's RecurrentPPO.

Both train the same network (the quick preset's sizes: 64-unit dense, 64-unit LSTMs, actor and critic) on the same
env (goal z, continuous actions, no randomization), n_steps 128 per env, minibatch 256, 4 epochs, with the same
total number of envs: RLlib ``R`` env runners x ``E`` envs each against SB3 ``SubprocVecEnv`` with ``R * E`` envs.
The figure is end-to-end training throughput (sampling + learning) over ``--iterations`` iterations after one
warm-up iteration, all in one run (ratios are what to read: the machine may be shared).

    python benchmarks/rllib_throughput.py --runners 1 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT), str(ROOT / "benchmarks")]
os.environ.setdefault("MUJOCO_GL", "egl")


def rllib_rate(runners: int, envs_per_runner: int, iterations: int, n_steps: int, address: str | None) -> dict:
    import ray
    from dactyl_rllib.config import RLlibArgs, apply_preset, build_config
    from dactyl_rllib.envs import register
    from dactyl_rllib.runtime import connect

    args = apply_preset(RLlibArgs(preset="quick", randomization="none", num_env_runners=runners,
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
    return {"engine": "rllib", "env_runners": runners, "envs_per_env_runner": envs_per_runner,
            "envs": max(1, runners) * envs_per_runner, "steps": steps, "seconds": dt,
            "steps_per_s": steps / dt}  # fmt: skip


def sb3_rate(n_envs: int, iterations: int, n_steps: int) -> dict:
    import torch
    from ppo.envs import make_train_env_fn
    from ppo.policy import AsymmetricRecurrentPolicy
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    torch.set_num_threads(1)
    fns = [make_train_env_fn(r, 0, goal="z", action_type="continuous", goal_timeout_s=8.0,
                             groups={}, scale=1.0) for r in range(n_envs)]  # fmt: skip
    raw = SubprocVecEnv(fns) if n_envs > 1 else DummyVecEnv(fns)
    venv = VecNormalize(raw, norm_obs_keys=list(raw.observation_space.spaces), clip_obs=5.0)
    kwargs = dict(dense_units=64, lstm_hidden_size=64, log_std_init=-1.0)
    model = RecurrentPPO(AsymmetricRecurrentPolicy, venv, n_steps=n_steps, batch_size=256, n_epochs=4, seed=0,
                         policy_kwargs=kwargs, device="cpu")  # fmt: skip
    try:
        model.learn(n_envs * n_steps)  # warm-up
        t0 = time.perf_counter()
        model.learn(iterations * n_envs * n_steps, reset_num_timesteps=False)
        dt = time.perf_counter() - t0
    finally:
        raw.close()
    steps = iterations * n_envs * n_steps
    return {"engine": "sb3", "envs": n_envs, "steps": steps, "seconds": dt, "steps_per_s": steps / dt}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runners", type=int, nargs="+", default=[1, 2], help="numbers of env runners to measure")
    p.add_argument("--envs-per-runner", type=int, default=2)
    p.add_argument("--iterations", type=int, default=3, help="timed iterations (after one warm-up)")
    p.add_argument("--n-steps", type=int, default=128)
    p.add_argument("--address", default=None, help="an existing Ray cluster (default: a local Ray per measurement)")
    p.add_argument("--no-sb3", action="store_true", help="skip the SB3 baseline")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = p.parse_args()
    rows = []
    for r in a.runners:
        rows.append(rllib_rate(r, a.envs_per_runner, a.iterations, a.n_steps, a.address))
        print(json.dumps(rows[-1]), flush=True)
        if not a.no_sb3:
            rows.append(sb3_rate(max(1, r) * a.envs_per_runner, a.iterations, a.n_steps))
            print(json.dumps(rows[-1]), flush=True)
    out = {"address": a.address, "load_average_end": os.getloadavg(), "rows": rows}
    print(f"{'engine':<6} {'runners':>7} {'envs':>5} {'steps/s':>9}  ratio to sb3 at the same envs")
    sb3 = {row["envs"]: row["steps_per_s"] for row in rows if row["engine"] == "sb3"}
    for row in rows:
        ratio = row["steps_per_s"] / sb3[row["envs"]] if row["envs"] in sb3 else float("nan")
        print(f"{row['engine']:<6} {row.get('env_runners', '-')!s:>7} {row['envs']:>5} {row['steps_per_s']:>9.1f}  "
              f"{ratio:.2f}")  # fmt: skip
    if a.json:
        from evidence import write_json

        write_json(a.json, out)


if __name__ == "__main__":
    main()
