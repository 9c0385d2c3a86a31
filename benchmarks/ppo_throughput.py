"""RecurrentPPO training throughput: the project's pipeline vs plain sb3-contrib vs the physics floor, in one run.

For each ``--n-envs`` value, on the preset's env and sizes (``cpu``: goal z, continuous actions, no randomization,
128-unit dense + LSTM, n_steps 256, batch 512, 4 epochs), every variant trains for ``--steps`` env steps
(whole rollouts) and is timed from building its envs to the end of ``learn`` (start-up included):

* ``pipeline``: ``examples/train_ppo.py``'s pipeline (``ppo.pipeline``: ``--env-in-process`` envs stepped by the
  training process, default a worker's share ``n_envs // cores`` since session 12 (before: none), the rest by one
  worker process per other core, several envs per worker, observations and actions through shared memory; lean
  rollout inference, ``ppo.lean.LeanRollout``; the critic overlapped with env stepping;
  ``AsymmetricRecurrentPolicy`` with the fused LSTM update; ``FusedVecNormalize``); ``lean`` below is the
  all-in-workers layout that was the default until then;
* ``before``: the same model on SB3's ``SubprocVecEnv``, one process per env (the pipeline before issue 13);
* ``sb3``: plain sb3-contrib, ``RecurrentPPO("MultiInputLstmPolicy")`` on ``SubprocVecEnv`` + ``VecNormalize``,
  LSTM and layer sizes of the preset (what a user would write first);
* ``randomized``: the pipeline under the full randomization stack (``--randomization all``);
* ``update-threads`` (not run by default): the pipeline with ``--update-threads`` torch threads during the PPO update
  (``ppo.pipeline.UpdateThreads``);
* ``hybrid-update-threads`` (not run by default): both opt-in flags at once, ``hybrid-lean``'s layout
  (``--env-in-process`` envs, default ``n_envs // cores``, stepped by the training process) and ``--update-threads``
  torch threads in the update;
* the pieces of the pipeline alone (not run by default), each against ``previous``, the pipeline as it was before the
  lean inference and the in-process envs (every env in worker processes, sb3-contrib's inference calls):
  ``lean`` (``previous`` + ``ppo.lean.LeanRollout``), ``hybrid`` (``previous`` with ``--env-in-process`` envs,
  default ``n_envs // cores``, stepped by the training process and the rest by one worker per remaining core),
  ``hybrid-lean`` (both), ``in-process``
  (``previous`` with every env in the training process, no worker);
* ``floor``: bare ``mujoco.mj_step(nstep=10)`` in N processes at once, replaying trajectories recorded from
  ``Dactyl-v0`` under the untrained policy's action distribution (N(0, e^log_std_init), clipped); resets excluded.

Printed: env steps/s of each and the ratios (wall clock; the machine may be shared, so read the ratios), the
same per CPU-second of all processes of the variant (``cpu``: main process + env workers, from /proc; robust
to other jobs on the machine), and where the wall time of the training variants goes: env stepping (the
slowest worker's time inside ``env.step``/``reset`` per vector step), IPC and VecNormalize (the rest of the
vector step), policy inference during rollouts, the PPO update, other (rollout buffer, callbacks, GAE) and
start-up (processes, model).

    python benchmarks/ppo_throughput.py [--preset cpu] [--n-envs 4] [--steps 32768] [--variants ...] [--json out.json]
    python benchmarks/ppo_throughput.py --variants previous lean --repeats 4 ...   # A/B, order reversed every repeat

With ``--repeats R`` every variant runs R times, in the given order on even repeats and reversed on odd ones (so
neither variant always runs first on a machine whose load drifts); each figure is the median over the repeats and
the JSON keeps every run.
    python benchmarks/ppo_throughput.py --from-json out.json   # the Markdown tables of docs/ppo.md
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT), str(ROOT / "benchmarks")]
os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from evidence import write_json  # noqa: E402
from ppo.config import PRESETS, TrainArgs, apply_preset  # noqa: E402
from ppo.envs import make_train_env_fn  # noqa: E402
from ppo.pipeline import UpdateThreads, make_model, make_vec_env, make_vecnormalize  # noqa: E402
from ppo.vec_env import default_workers  # noqa: E402
from sb3_contrib import RecurrentPPO  # noqa: E402
from stable_baselines3.common.vec_env import SubprocVecEnv, VecEnv  # noqa: E402

import gym_dactyl  # noqa: E402,F401  (registers Dactyl-v0)

VARIANTS = ("pipeline", "before", "sb3", "randomized", "update-threads", "floor", "previous", "lean", "hybrid",
            "hybrid-lean", "in-process", "hybrid-update-threads")  # fmt: skip
#: variants with some envs stepped by the training process (``--env-in-process``, default ``n_envs // cores``)
HYBRID = ("hybrid", "hybrid-lean", "hybrid-update-threads")
#: variants with ``--update-threads`` torch threads in the PPO update
UPDATE_THREADS = ("update-threads", "hybrid-update-threads")
#: variants on MultiEnvSubprocVecEnv with sb3-contrib's inference calls
SB3_INFERENCE = ("previous", "hybrid", "in-process")
DEFAULT_VARIANTS = ("pipeline", "before", "sb3", "randomized", "floor")
PHASES = ("env_stepping", "ipc_and_vecnormalize", "inference", "update", "other", "startup")
_TICK = os.sysconf("SC_CLK_TCK")


class BusyTime(gym.Wrapper):
    """Adds ``info["busy_s"]``: seconds this env has spent in ``step`` and ``reset`` since it was built."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.busy = 0.0

    def reset(self, **kwargs: Any):
        t0 = time.perf_counter()
        out = self.env.reset(**kwargs)
        self.busy += time.perf_counter() - t0
        return out

    def step(self, action: Any):
        t0 = time.perf_counter()
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.busy += time.perf_counter() - t0
        info["busy_s"] = self.busy
        return obs, reward, terminated, truncated, info


def _timed_fn(fn: Callable[[], gym.Env]) -> Callable[[], gym.Env]:
    def _init() -> gym.Env:
        return BusyTime(fn())

    return _init


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _worker_pids(venv: VecEnv) -> list[int]:
    return [p.pid for p in getattr(venv, "processes", [])]


def _worker_groups(venv: VecEnv) -> tuple[list[int], list[list[int]]]:
    """Env indices stepped by the training process, and those stepped one after another by each worker process."""
    if hasattr(venv, "groups"):
        groups = [list(g) for g in venv.groups]
        local = getattr(venv, "in_process", 0)
        return (groups[0] if local else []), groups[1:] if local else groups
    if isinstance(venv, SubprocVecEnv):
        return [], [[i] for i in range(venv.num_envs)]
    return list(range(venv.num_envs)), []  # in this process


def train_variant(
    variant: str, args: TrainArgs, steps: int, workers: int | None, update_threads: int = 1,
    in_process: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Train one variant for ``steps`` env steps; throughput, CPU time and the wall-time split."""
    t_start, cpu_start = time.perf_counter(), time.process_time()
    groups = {g: variant == "randomized" for g in ("observation", "physics", "unmodeled")}
    fns = [
        _timed_fn(make_train_env_fn(rank, args.seed, goal=args.goal, action_type=args.action_type,
                                    goal_timeout_s=args.goal_timeout_s, groups=groups, scale=1.0, wrist=args.wrist))
        for rank in range(args.n_envs)
    ]  # fmt: skip
    if variant in ("pipeline", "randomized", "update-threads"):
        raw = make_vec_env(fns, workers=workers, in_process=in_process)
    elif variant in ("previous", "lean"):
        raw = make_vec_env(fns, workers=workers, in_process=0) if args.n_envs > 1 else make_vec_env(fns)
    elif variant in HYBRID:
        local = in_process if in_process is not None else args.n_envs // default_workers(args.n_envs)
        raw = make_vec_env(fns, workers=workers, in_process=local)
    elif variant == "in-process":
        raw = make_vec_env(fns, workers=0)
    elif variant == "before":
        raw = make_vec_env(fns, kind="subproc" if args.n_envs > 1 else "dummy")
    else:  # sb3: what the sb3-contrib docs show, SubprocVecEnv whatever the number of envs
        raw = SubprocVecEnv(fns)
    venv = make_vecnormalize(raw, args)
    if variant == "sb3":
        model = RecurrentPPO(
            "MultiInputLstmPolicy", venv, learning_rate=args.learning_rate, n_steps=args.n_steps,
            batch_size=args.batch_size, n_epochs=args.n_epochs, gamma=args.gamma, gae_lambda=args.gae_lambda,
            clip_range=args.clip_range, ent_coef=args.ent_coef, seed=args.seed, device="cpu", verbose=0,
            policy_kwargs=dict(lstm_hidden_size=args.lstm_units, net_arch=[args.dense_units],
                               log_std_init=args.log_std_init),
        )  # fmt: skip
    else:
        model = make_model(args, venv, overlapped=variant != "before", lean_inference=variant not in SB3_INFERENCE)
    callbacks = [UpdateThreads(update_threads)] if variant in UPDATE_THREADS else []

    t = dict.fromkeys(("vec_wait", "env_visible", "inference"), 0.0)
    t["update"] = 0.0
    local_envs, worker_groups = _worker_groups(raw)
    last_busy = np.zeros(args.n_envs)
    hidden = [0.0]  # inference time between step_async and step_wait (the overlapped critic)
    in_flight = [False]

    def timed(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            out = fn(*a, **k)
            dt = time.perf_counter() - t0
            t[key] += dt
            if in_flight[0]:
                hidden[0] += dt
            return out

        return wrapper

    step_async, step_wait = venv.step_async, venv.step_wait

    def timed_async(actions: np.ndarray) -> None:
        t0 = time.perf_counter()
        step_async(actions)
        t["vec_wait"] += time.perf_counter() - t0
        in_flight[0], hidden[0] = True, 0.0

    def timed_wait():
        in_flight[0] = False
        t0 = time.perf_counter()
        out = step_wait()
        wait = time.perf_counter() - t0
        t["vec_wait"] += wait
        busy = np.array([info["busy_s"] for info in out[3]])
        delta = busy - last_busy
        last_busy[:] = busy
        # the slowest worker's env time not hidden behind the overlapped critic, or this process's own env time
        remote = max((float(delta[g].sum()) for g in worker_groups), default=0.0) - hidden[0]
        t["env_visible"] += min(wait, max(float(delta[local_envs].sum()), remote, 0.0))
        return out

    venv.step_async, venv.step_wait = timed_async, timed_wait  # type: ignore[method-assign]
    policy = model.policy
    policy.forward = timed("inference", policy.forward)  # type: ignore[method-assign]
    policy.predict_values = timed("inference", policy.predict_values)  # type: ignore[method-assign]
    for name in ("_actor", "_critic"):
        if hasattr(model, name):
            setattr(model, name, timed("inference", getattr(model, name)))
    model.train = timed("update", model.train)  # type: ignore[method-assign]
    try:
        t_learn = time.perf_counter()
        cpu_learn = time.process_time() + sum(_proc_cpu_s(pid) for pid in _worker_pids(raw))
        model.learn(steps, callback=callbacks)
        t_end = time.perf_counter()
        worker_cpu = sum(_proc_cpu_s(pid) for pid in _worker_pids(raw))
        main_cpu = time.process_time() - cpu_start
        learn_cpu = time.process_time() + worker_cpu - cpu_learn
    finally:
        raw.close()
    done = model.num_timesteps
    wall = t_end - t_start
    learn = t_end - t_learn
    split = {
        "env_stepping": t["env_visible"],
        "ipc_and_vecnormalize": t["vec_wait"] - t["env_visible"],
        "inference": t["inference"],
        "update": t["update"],
        "other": learn - t["vec_wait"] - t["inference"] - t["update"],
        "startup": t_learn - t_start,
    }
    return {
        "steps": done, "wall_s": wall, "steps_per_s": done / wall, "steps_per_s_after_startup": done / learn,
        "cpu_s": main_cpu + worker_cpu, "main_cpu_s": main_cpu, "worker_cpu_s": worker_cpu,
        "steps_per_cpu_s": done / (main_cpu + worker_cpu), "steps_per_cpu_s_after_startup": done / learn_cpu,
        "processes": 1 + len(_worker_pids(raw)),
        "split_s": split, "split_share": {k: v / wall for k, v in split.items()},
    }  # fmt: skip


def _floor_process(args: TrainArgs, steps: int, seed: int, barrier: Any, queue: Any) -> None:
    """Record ``steps`` control steps of Dactyl-v0 under the policy's initial action noise, then time the replay."""
    torch.set_num_threads(1)
    env = gym.make("Dactyl-v0", goal=args.goal, action_type="continuous", wrist=args.wrist,
                   goal_timeout_s=args.goal_timeout_s)  # fmt: skip
    u = env.unwrapped
    kind = mujoco.mjtState.mjSTATE_FULLPHYSICS
    rng = np.random.default_rng(seed)
    std = float(np.exp(args.log_std_init))
    episodes: list[tuple[np.ndarray, list[np.ndarray]]] = []
    done = True
    for i in range(steps):
        if done:
            env.reset(seed=seed if i == 0 else None)
            state = np.empty(mujoco.mj_stateSize(u.model, kind))
            mujoco.mj_getState(u.model, u.data, state, kind)
            episodes.append((state, []))
        action = np.clip(rng.normal(0.0, std, env.action_space.shape), -1.0, 1.0).astype(np.float32)
        _, _, terminated, truncated, _ = env.step(action)
        episodes[-1][1].append(u.data.ctrl.copy())
        done = terminated or truncated
    m, d, n = u.model, u.data, u.frame_skip
    barrier.wait()
    t0, c0 = time.perf_counter(), time.process_time()
    for state, ctrls in episodes:
        mujoco.mj_setState(m, d, state, kind)
        for ctrl in ctrls:
            d.ctrl[:] = ctrl
            mujoco.mj_step(m, d, nstep=n)
    queue.put((time.perf_counter() - t0, time.process_time() - c0, t0))
    env.close()


def floor_variant(args: TrainArgs, steps: int) -> dict[str, Any]:
    """N processes replaying ``steps / N`` physics steps each at the same time: total steps / wall time."""
    ctx = mp.get_context("forkserver")
    per = max(1, steps // args.n_envs)
    barrier, queue = ctx.Barrier(args.n_envs), ctx.Queue()
    procs = [ctx.Process(target=_floor_process, args=(args, per, args.seed + r, barrier, queue))
             for r in range(args.n_envs)]  # fmt: skip
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    start = min(r[2] for r in results)
    wall = max(r[2] + r[0] for r in results) - start
    cpu = sum(r[1] for r in results)
    total = per * args.n_envs
    return {"steps": total, "wall_s": wall, "steps_per_s": total / wall, "cpu_s": cpu, "steps_per_cpu_s": total / cpu,
            "processes": args.n_envs}  # fmt: skip


def cpu_ceiling(r: dict[str, Any], cores: int = 2) -> dict[str, float]:
    """CPU milliseconds per env step (whole run, start-up included) of the training process, of each worker
    (their mean) and of all, and the rate no schedule on ``cores`` idle cores can beat: each process uses at most
    one core and all of them at most ``cores``, so steps/s <= 1 / max(main, worker, all / cores)."""
    runs = r.get("runs", [r])
    steps = float(np.median([x["steps"] for x in runs]))
    main = float(np.median([x["main_cpu_s"] for x in runs])) / steps * 1e3
    workers = max(1.0, float(np.median([x["processes"] for x in runs])) - 1)
    worker_all = float(np.median([x["worker_cpu_s"] for x in runs])) / steps * 1e3
    worker = worker_all / workers
    total = main + worker_all
    return {"main_ms": main, "worker_ms": worker, "all_ms": total,
            "ceiling": 1e3 / max(main, worker, total / cores)}  # fmt: skip


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's record, or the medians of every figure over several (with the runs under ``"runs"``)."""
    if len(runs) == 1:
        return runs[0]
    out: dict[str, Any] = {"runs": runs, "repeats": len(runs)}
    for key, value in runs[0].items():
        if isinstance(value, int | float) and key != "repeat":
            out[key] = float(np.median([r[key] for r in runs]))
        elif isinstance(value, dict):
            out[key] = {k: float(np.median([r[key][k] for r in runs])) for k in value}
    return out


def markdown(record: dict[str, Any]) -> str:
    """The docs' tables (throughput and ratios; wall-time split) from a ``--json`` record."""
    lines = ["| n_envs | variant | env steps/s | after start-up | per CPU-s after start-up | processes |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for n_envs, row in record["results"].items():
        for variant in record["variants"]:
            r = row[variant]
            after = r.get("steps_per_s_after_startup", r["steps_per_s"])
            cpu = r.get("steps_per_cpu_s_after_startup", r["steps_per_cpu_s"])
            lines.append(f"| {n_envs} | {variant} | {r['steps_per_s']:.0f} | {after:.0f} | {cpu:.0f} | "
                         f"{r['processes']:.0f} |")
    lines += ["", "| n_envs | ratio | wall | after start-up | per CPU-s after start-up |", "|---|---|---|---|---|"]
    for n_envs, row in record["results"].items():
        ratios = row["ratios"]
        for key in ratios:
            if "(" not in key:
                lines.append(f"| {n_envs} | {key} | {ratios[key]:.2f} | {ratios[key + ' (after start-up)']:.2f} | "
                             f"{ratios[key + ' (per CPU-s after start-up)']:.2f} |")  # fmt: skip
    lines += ["", "| n_envs | variant | main process CPU ms / env step | per worker | all processes | "
              "ceiling on idle cores (env steps/s) |", "|---|---|---|---|---|---|"]  # fmt: skip
    for n_envs, row in record["results"].items():
        for variant in record["variants"]:
            if "main_cpu_s" in row[variant]:
                c = cpu_ceiling(row[variant], cores=2)
                lines.append(f"| {n_envs} | {variant} | {c['main_ms']:.2f} | {c['worker_ms']:.2f} | "
                             f"{c['all_ms']:.2f} | {c['ceiling']:.0f} |")  # fmt: skip
    lines += ["", "| n_envs | variant | " + " | ".join(p.replace("_", " ") for p in PHASES) + " |",
              "|---|---|" + "---|" * len(PHASES)]  # fmt: skip
    for n_envs, row in record["results"].items():
        for variant in record["variants"]:
            if "split_share" in row[variant]:
                shares = row[variant]["split_share"]
                lines.append(f"| {n_envs} | {variant} | " + " | ".join(f"{shares[p]:.2f}" for p in PHASES) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=tuple(PRESETS), default="cpu", help="sizes and env of this preset")
    parser.add_argument("--n-envs", type=int, nargs="+", default=None, help="env counts to measure (default: preset)")
    parser.add_argument("--steps", type=int, default=32_768, help="env steps per variant (rounded up to rollouts)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(DEFAULT_VARIANTS))
    parser.add_argument("--env-workers", type=int, default=None,
                        help="pipeline worker processes (default one per core, at most n_envs)")  # fmt: skip
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads of the training process")
    parser.add_argument("--update-threads", type=int, default=2,
                        help="PPO-update torch threads of the update-threads and hybrid-update-threads variants "
                             "(ppo.pipeline.UpdateThreads)")  # fmt: skip
    parser.add_argument("--env-in-process", type=int, default=None,
                        help="envs stepped by the training process (default n_envs // cores, the pipeline's "
                             "default; previous and lean: always 0)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of every variant, order reversed every other repeat; figures are medians")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--from-json", default=None, metavar="PATH",
                        help="print the docs' Markdown tables of a --json file and exit (nothing is run)")  # fmt: skip
    args = parser.parse_args()
    if args.from_json:
        print(markdown(json.loads(Path(args.from_json).read_text())))
        return
    if args.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {args.steps}")
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    torch.set_num_threads(args.torch_threads)
    load_before = os.getloadavg()
    print(f"preset {args.preset}; load average before: {load_before[0]:.2f} (1 min), cores: {default_workers(64)}")

    results: dict[str, dict[str, Any]] = {}
    for n_envs in args.n_envs or [PRESETS[args.preset]["n_envs"]]:
        targs = apply_preset(TrainArgs(preset=args.preset, n_envs=n_envs, seed=args.seed, randomization="none"))
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
        for repeat in range(args.repeats):
            order = args.variants if repeat % 2 == 0 else args.variants[::-1]
            for variant in order:
                if variant == "floor":
                    r = floor_variant(targs, args.steps)
                else:
                    r = train_variant(variant, targs, args.steps, args.env_workers, args.update_threads,
                                      args.env_in_process)  # fmt: skip
                r["load_average_1min_after"] = os.getloadavg()[0]
                r["repeat"] = repeat
                runs[variant].append(r)
                after = r.get("steps_per_s_after_startup", r["steps_per_s"])
                after_cpu = r.get("steps_per_cpu_s_after_startup", r["steps_per_cpu_s"])
                print(f"n_envs {n_envs:2d} {variant:21s} {r['steps_per_s']:7.0f} env steps/s ({after:.0f} after "
                      f"start-up)  {r['steps_per_cpu_s']:6.0f} per CPU-s ({after_cpu:.0f})  ({r['steps']} steps, "
                      f"{r['wall_s']:.1f} s, {r['processes']} processes, load {os.getloadavg()[0]:.2f}, "
                      f"repeat {repeat})", flush=True)  # fmt: skip
        row: dict[str, Any] = {v: _median_run(runs[v]) for v in args.variants}
        ratios = {}
        for a, b in (("pipeline", "before"), ("pipeline", "sb3"), ("pipeline", "floor"), ("before", "floor"),
                     ("sb3", "floor"), ("randomized", "pipeline"), ("update-threads", "pipeline"),
                     ("pipeline", "previous"), ("lean", "previous"), ("hybrid", "previous"),
                     ("hybrid-lean", "previous"), ("in-process", "previous"), ("previous", "before"),
                     ("hybrid-lean", "before"), ("hybrid-lean", "sb3"), ("hybrid-update-threads", "pipeline"),
                     ("hybrid-update-threads", "hybrid-lean"), ("hybrid-update-threads", "update-threads"),
                     ("hybrid-update-threads", "before"), ("hybrid-update-threads", "sb3"),
                     ("hybrid-update-threads", "floor"), ("update-threads", "floor"),
                     ("hybrid-lean", "floor")):  # fmt: skip
            if a in row and b in row:
                ra, rb = row[a], row[b]
                ratios[f"{a}/{b}"] = ra["steps_per_s"] / rb["steps_per_s"]
                ratios[f"{a}/{b} (after start-up)"] = (ra.get("steps_per_s_after_startup", ra["steps_per_s"])
                                                       / rb.get("steps_per_s_after_startup", rb["steps_per_s"]))
                ratios[f"{a}/{b} (per CPU-s after start-up)"] = (
                    ra.get("steps_per_cpu_s_after_startup", ra["steps_per_cpu_s"])
                    / rb.get("steps_per_cpu_s_after_startup", rb["steps_per_cpu_s"]))  # fmt: skip
                if args.repeats > 1 and b != "floor":  # the same repeat's runs: one ran right before the other
                    paired = [x["steps_per_cpu_s_after_startup"] / y["steps_per_cpu_s_after_startup"]
                              for x, y in zip(runs[a], runs[b], strict=True)]  # fmt: skip
                    ratios[f"{a}/{b} (per CPU-s, median of paired repeats)"] = float(np.median(paired))
        row["ratios"] = ratios
        for key, value in ratios.items():
            print(f"   {key:48s} {value:6.2f}")
        print("   wall-time split (share of the variant's wall time):")
        print("   " + f"{'':21s}" + "".join(f"{p:>22s}" for p in PHASES))
        for variant in args.variants:
            if "split_share" in row[variant]:
                shares = row[variant]["split_share"]
                print("   " + f"{variant:21s}" + "".join(f"{shares[p]:22.3f}" for p in PHASES))
        results[str(n_envs)] = row
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} (1 min)")
    if args.json:
        write_json(args.json, {
            "preset": args.preset, "steps": args.steps, "variants": args.variants, "env_workers": args.env_workers,
            "update_threads": args.update_threads, "torch_threads": args.torch_threads, "seed": args.seed,
            "env_in_process": args.env_in_process, "repeats": args.repeats, "nice": os.nice(0),
            "load_average_before": list(load_before),
            "load_average_after": list(load_after), "results": results,
        })  # fmt: skip


if __name__ == "__main__":
    main()
