"""Train the Dactyl LSTM policy with Ray RLlib's PPO (new API stack), on this machine or on a Ray cluster.

The asymmetric actor-critic of the paper as an RLlib RLModule (``dactyl_rllib.module.AsymmetricLSTMModule``): the
actor's LSTM sees only the policy keys, the critic's own LSTM the clean ``state``. Envs are built in each env
runner by a registered creator with ``train_ppo.py``'s env factory; observations are normalised per key with
running statistics, clipped at ±5 σ (RLlib's ``MeanStdFilter`` connector, synchronised across env runners).

    python examples/train_rllib.py                                   # --preset quick: a few minutes on a CPU
    python examples/train_rllib.py --preset cpu --logdir runs/rllib_cpu   # train_ppo.py's cpu preset (goal z)
    python examples/train_rllib.py --randomization all --adr         # the full stack under ADR
    python examples/train_rllib.py --address auto --num-env-runners 64 --num-envs-per-env-runner 4   # a cluster
    python examples/train_rllib.py --resume runs/rllib/checkpoints/step_0000010240

Writes to --logdir: tb/ (TensorBoard: dactyl/*, learner losses, env steps/s), metrics.csv + metrics.jsonl (the
columns of train_ppo.py's), checkpoints/step_*/ and final/ (each ``algorithm/``: RLlib's checkpoint, and
``meta.json``: arguments, step count, ADR state), and with --adr adr.csv and adr_state.json.
Evaluate a checkpoint under evaluate.py's conditions with ``examples/evaluate_rllib.py``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `ppo` and `dactyl_rllib` packages next to this script
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout's gym_dactyl and wrappers

import torch  # noqa: E402
from dactyl_rllib.config import (  # noqa: E402
    RANDOMIZATION_CHOICES,
    RLLIB_PRESETS,
    RLlibArgs,
    apply_preset,
    build_config,
    env_config,
    model_config,
)
from dactyl_rllib.export import export_policy  # noqa: E402
from ppo.callbacks import METRIC_FIELDS  # noqa: E402
from ppo.config import parse_dataclass  # noqa: E402

CHOICES = {"preset": tuple(RLLIB_PRESETS), "randomization": RANDOMIZATION_CHOICES, "goal": ("parallel", "z", "xyz"),
           "action_type": ("discrete", "continuous"), "wrist": ("free", "locked")}  # fmt: skip
#: Learner statistics copied to TensorBoard / metrics.jsonl (RLlib's names under learners/default_policy/).
LEARNER_KEYS = ("policy_loss", "vf_loss", "entropy", "mean_kl_loss", "vf_explained_var", "curr_entropy_coeff")


def make_adr_state(args: RLlibArgs, saved: dict | None) -> Any:
    """The driver's ADR state: restored from a checkpoint's meta.json, or new (nominal) over the stack's parameters,
    with the CPU-scale settings of train_ppo.py's cpu-adr preset (``wrappers.CPU_ADR``)."""
    from dactyl_rllib.envs import make_env

    from wrappers import CPU_ADR, ADRState, AutomaticDomainRandomization

    if saved is not None:
        return ADRState.from_dict(saved)
    probe = make_env(env_config(args), flatten=False)
    try:
        names = list(AutomaticDomainRandomization(probe).adr.parameters)
    finally:
        probe.close()
    return ADRState(names, config=CPU_ADR)


def push_adr(algo: Any, ranges: dict[str, tuple[float, float]]) -> int:
    """Send the ADR ranges to the envs of every env runner (effective at each env's next reset); returns envs set."""

    def _set(runner: Any) -> int:
        env = getattr(runner, "env", None)
        if env is None:
            return 0
        env.unwrapped.call("set_adr_ranges", ranges)  # the gymnasium vector env under RLlib's DictInfoToList
        return int(env.unwrapped.num_envs)

    return int(sum(algo.env_runner_group.foreach_env_runner(_set, local_env_runner=True)))


def save(algo: Any, directory: Path, meta: dict[str, Any]) -> Path:
    """Write ``directory/algorithm`` (RLlib) + ``directory/meta.json`` into a temporary sibling, then move it in."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    algo.save_to_path(str((tmp / "algorithm").resolve()))
    export_policy(algo, tmp)  # policy.pt + normalization.json: what evaluate_rllib.py loads (no pickle)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)
    return directory


def resolve(path: Path) -> Path:
    """A checkpoint directory of this script (``meta.json`` + ``algorithm/``), or ``ValueError`` naming the path."""
    path = Path(path)
    if path.name == "algorithm":
        path = path.parent
    if not (path / "meta.json").is_file() or not (path / "algorithm").is_dir():
        raise ValueError(f"--resume {path}: not a checkpoint of train_rllib.py (expected meta.json and algorithm/)")
    return path


def main(argv: list[str] | None = None) -> Path:
    """Train; return the final checkpoint directory."""
    args = parse_dataclass(RLlibArgs, argv, choices=CHOICES)
    # Ray is imported only now, so --help and argument errors work without the [rllib] extra.
    from dactyl_rllib.callbacks import ADR_KEY, EPISODES_KEY, EpisodeWindow, results_list
    meta_in: dict[str, Any] = {}
    if args.resume is not None:
        args.resume = resolve(args.resume)
        meta_in = json.loads((args.resume / "meta.json").read_text())
    args = apply_preset(args, base=meta_in.get("args"))
    torch.set_num_threads(1)
    args.logdir.mkdir(parents=True, exist_ok=True)
    adr = make_adr_state(args, meta_in.get("adr")) if args.adr else None

    from dactyl_rllib.envs import register
    from dactyl_rllib.runtime import connect

    ctx = connect(args.address, args.num_cpus)
    import ray

    print(f"ray {ctx.address_info.get('address', '?')}: {len(ray.nodes())} node(s), "
          f"resources {ray.cluster_resources()}")  # fmt: skip
    register()
    config = build_config(args, adr.settings() if adr is not None else None)
    algo = config.build_algo()
    nodes = algo.env_runner_group.foreach_env_runner(lambda _: _node_id(), local_env_runner=False)
    print(f"env runners on nodes {nodes} (driver on {_node_id()})")
    steps = 0
    if args.resume is not None:
        algo.restore_from_path(str((args.resume / "algorithm").resolve()))
        steps = int(meta_in.get("timesteps", 0))
        print(f"resumed {args.resume} at {steps:,} steps")
    if adr is not None:
        push_adr(algo, adr.ranges)

    def meta() -> dict[str, Any]:
        out = {"timesteps": steps, "model_config": model_config(args), "args": {k: str(v) if isinstance(v, Path) else v
                                            for k, v in dataclasses.asdict(args).items()}}  # fmt: skip
        if adr is not None:
            out["adr"] = adr.to_dict()
        return out

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(args.logdir / "tb"))
    if args.resume is None:
        for name in ("metrics.csv", "metrics.jsonl", "adr.csv"):
            (args.logdir / name).unlink(missing_ok=True)
    window = EpisodeWindow(100)
    t0 = time.time()
    start_steps, last_ckpt, it = steps, steps - steps % max(1, args.checkpoint_every or 1), 0
    try:
        while steps < args.total_timesteps:
            if args.max_minutes and time.time() - t0 >= 60 * args.max_minutes:
                print(f"wall-clock limit of {args.max_minutes} min reached")
                break
            t_it = time.time()
            result = algo.train()
            it += 1
            sampled = float(result.get("env_runners", {}).get("num_env_steps_sampled", 0) or 0)
            if not math.isfinite(sampled) or sampled <= 0:  # env runners starting or restarting: no data
                continue
            sampled = int(sampled)
            steps += sampled
            window.add(results_list(result, EPISODES_KEY))
            row = {"timesteps": steps, "wall_s": round(time.time() - t0, 2), **window.row()}
            learner = result.get("learners", {}).get("default_policy", {})
            extra = {k: float(learner[k]) for k in LEARNER_KEYS if k in learner}
            extra["env_steps_per_s"] = sampled / max(time.time() - t_it, 1e-9)
            for key in METRIC_FIELDS[4:]:
                if math.isfinite(row[key]):
                    writer.add_scalar(f"dactyl/{key}", row[key], steps)
            for key, value in extra.items():
                writer.add_scalar(f"train/{key}", value, steps)
            _append_csv(args.logdir / "metrics.csv", METRIC_FIELDS, row)
            with (args.logdir / "metrics.jsonl").open("a") as f:
                clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
                f.write(json.dumps({**clean, **extra}) + "\n")
            if adr is not None:
                moved = False
                for res in results_list(result, ADR_KEY):
                    moved |= adr.record_result(res)
                if moved:
                    push_adr(algo, adr.ranges)
                adr_row = adr.row()
                writer.add_scalar("adr/entropy_relative", adr_row["entropy_relative"], steps)
                _append_csv(args.logdir / "adr.csv", ["timesteps", *adr_row], {"timesteps": steps, **adr_row})
            if args.print_every and it % args.print_every == 0:
                print(f"[{row['wall_s']:7.0f}s] {steps:>10,} steps ({extra['env_steps_per_s']:6.0f}/s) | "
                      f"return {row['return_mean']:7.2f} | rot. progress {row['rotation_progress_mean']:6.3f} | "
                      f"consec. successes {row['consecutive_successes_mean']:5.2f} | "
                      f"drops {row['drop_rate']:.2f} | episodes {row['episodes']}", flush=True)  # fmt: skip
            if args.checkpoint_every and steps - last_ckpt >= args.checkpoint_every:
                last_ckpt = steps - steps % args.checkpoint_every
                print(f"checkpoint: {save(algo, args.logdir / 'checkpoints' / f'step_{steps:010d}', meta())}")
        elapsed = time.time() - t0
        print(f"trained to {steps:,} steps in {elapsed / 60:.1f} min "
              f"({(steps - start_steps) / max(elapsed, 1e-9):.0f} env steps/s incl. learning)")  # fmt: skip
        final = save(algo, args.logdir / "final", meta())
        print(f"final checkpoint: {final}")
        if adr is not None:
            adr.save(args.logdir / "adr_state.json")
    finally:
        writer.close()
        algo.stop()
    return final


def _node_id() -> str:
    """The first 8 hex digits of the Ray node this process runs on."""
    import ray

    return ray.get_runtime_context().get_node_id()[:8]


def _append_csv(path: Path, fields: Any, row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(fields))
        if new:
            w.writeheader()
        w.writerow(row)


if __name__ == "__main__":
    main()
