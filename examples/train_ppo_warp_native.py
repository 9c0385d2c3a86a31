"""GPU-native PPO on DactylWarp-v0: thousands of worlds, rollouts and updates as device tensors (``warp_ppo``).

The asymmetric LSTM actor-critic (actor: policy keys; critic: clean ``state``), observation and reward
normalisation, GAE and PPO's clipped loss all run in torch on the env's device; nothing crosses to numpy per step
(unlike ``train_ppo_warp.py``, which goes through SB3). Why not rsl-rl / skrl: see ``examples/warp_ppo/__init__.py``.

    python examples/train_ppo_warp_native.py --device cuda:0 --n-envs 8192 --goal z --total-timesteps 200000000
    python examples/train_ppo_warp_native.py --device cuda:0 --n-envs 4096 --randomize all --adr   # under ADR
    python examples/train_ppo_warp_native.py --device cpu --n-envs 2 --n-steps 4 --total-timesteps 16 \\
        --minibatches 1 --dense 64 --hidden 32 --logdir /tmp/native   # smoke run
    python examples/train_ppo_warp_native.py --resume /tmp/native/checkpoint --total-timesteps 32 --logdir /tmp/native

Writes ``--logdir``: ``metrics.csv`` (one row per update: timesteps, env steps/s, episode return / consecutive
successes / drops of the episodes that ended, losses), TensorBoard events under ``tb/``, ``checkpoint/`` every
``--checkpoint-every`` updates and at the end (atomic directory: ``state.pt`` loaded ``weights_only=True`` +
``meta.json`` with the config, env settings, counters and ADR state). ``--resume DIR`` restores the model,
optimizer, normalisers, counters and ADR state and uses the checkpoint's env settings and PPO config (their flags
are ignored); the worlds restart with fresh episodes.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `warp_ppo` helper package next to this script
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from warp_ppo.algo import NativePPO, PPOConfig  # noqa: E402
from warp_ppo.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402

from dactyl_warp import SUPPORTED_RANDOMIZATIONS, DactylWarpVectorEnv  # noqa: E402
from wrappers import CPU_ADR, PAPER_ADR, ADRState  # noqa: E402

FIELDS = ("timesteps", "updates", "env_steps_per_s", "steps_per_s", "episodes", "episode_return",
          "episode_successes", "episode_drops", "loss", "policy_loss", "value_loss", "entropy", "approx_kl",
          "clip_fraction")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line arguments (validated)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda:0", help="Warp device of the worlds; the policy runs there too")
    p.add_argument("--n-envs", type=int, default=4096)
    p.add_argument("--goal", default="z", choices=("parallel", "z", "xyz"))
    p.add_argument("--wrist", default="locked", choices=("free", "locked"))
    p.add_argument("--action-type", default="discrete", choices=("discrete", "continuous"))
    p.add_argument("--randomize", nargs="*", default=[], choices=(*SUPPORTED_RANDOMIZATIONS, "all"),
                   help="per-world randomizations (wrapper names; 'all': every supported one)")  # fmt: skip
    p.add_argument("--adr", action="store_true", help="Automatic Domain Randomization over the --randomize wrappers")
    p.add_argument("--adr-preset", default="paper", choices=("paper", "cpu"))
    p.add_argument("--total-timesteps", type=int, default=100_000_000)
    p.add_argument("--n-steps", type=int, default=32, help="rollout length per world")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--minibatches", type=int, default=4, help="groups of worlds per epoch")
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--ent-coef", type=float, default=0.0)
    p.add_argument("--dense", type=int, default=1024)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--checkpoint-every", type=int, default=50, help="updates between checkpoints")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", type=Path, default=Path("runs/ppo_warp_native"))
    p.add_argument("--resume", type=Path, default=None, help="checkpoint directory to continue from")
    args = p.parse_args(argv)
    for name in ("n_envs", "total_timesteps", "checkpoint_every"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def env_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The env's settings as saved in a checkpoint (JSON-safe)."""
    names = list(SUPPORTED_RANDOMIZATIONS) if "all" in args.randomize else list(args.randomize)
    return {"n_envs": args.n_envs, "goal": args.goal, "wrist": args.wrist, "action_type": args.action_type,
            "randomize": names, "adr": bool(args.adr), "adr_preset": args.adr_preset}  # fmt: skip


def main(argv: list[str] | None = None) -> Path:
    """Train; return the final checkpoint directory."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    state, meta = (None, None) if args.resume is None else load_checkpoint(args.resume, "cpu")
    if meta is not None:
        env = meta["env"]
        config = PPOConfig.from_dict(meta["config"])
        seed = int(meta["seed"])
        print(f"resuming {args.resume} at {meta['num_timesteps']} steps (env settings and PPO config from it)")
    else:
        env = env_settings(args)
        config = PPOConfig(
            n_steps=args.n_steps, epochs=args.epochs, minibatches=args.minibatches, learning_rate=args.learning_rate,
            ent_coef=args.ent_coef, dense=args.dense, hidden=args.hidden,
        )  # fmt: skip
        seed = args.seed
    if env["adr"] and not env["randomize"]:
        raise SystemExit("--adr needs some --randomize wrappers for ADR to drive")
    adr_config = CPU_ADR if env["adr_preset"] == "cpu" else PAPER_ADR
    envs = DactylWarpVectorEnv(
        env["n_envs"], device=args.device, goal=env["goal"], wrist=env["wrist"], action_type=env["action_type"],
        action_smoothing=0.3, randomizations={name: {} for name in env["randomize"]},
        adr={"parameters": None, "config": asdict(adr_config)} if env["adr"] else None,
    )  # fmt: skip
    adr = None
    if envs.adr is not None:
        saved = None if meta is None else meta.get("adr")
        adr = ADRState.from_dict(saved) if saved else ADRState(list(envs.adr.parameters), config=adr_config)
        adr.push(envs)
    agent = NativePPO(envs, config, seed=seed, adr=adr)
    if state is not None:
        agent.load_state_dict(state)
        agent.num_timesteps, agent.updates = int(meta["num_timesteps"]), int(meta["updates"])

    from torch.utils.tensorboard import SummaryWriter

    args.logdir.mkdir(parents=True, exist_ok=True)
    writer = SummaryWriter(str(args.logdir / "tb"))
    metrics = args.logdir / "metrics.csv"
    new_csv = not metrics.exists()
    ckpt = args.logdir / "checkpoint"

    def save() -> Path:
        return save_checkpoint(ckpt, agent.state_dict(), {**agent.meta(), "env": env})

    with metrics.open("a", newline="") as f:
        out = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        if new_csv:
            out.writeheader()

        def on_update(row: dict[str, float]) -> None:
            if not all(math.isfinite(row[k]) for k in ("loss", "policy_loss", "value_loss")):
                raise FloatingPointError(f"non-finite loss at update {int(row['updates'])}: {row}")
            out.writerow(row)
            f.flush()
            step = int(row["timesteps"])
            for key, value in row.items():
                if key not in ("timesteps", "updates") and math.isfinite(value):
                    writer.add_scalar(f"train/{key}", value, step)
            if adr is not None:
                for key, value in adr.row().items():
                    writer.add_scalar(f"adr/{key}", value, step)
            print(f"{step:>12d} steps | {row['env_steps_per_s']:9.0f} env steps/s | episodes {int(row['episodes']):5d}"
                  f" | return {row['episode_return']:8.2f} | consec. successes {row['episode_successes']:6.2f}"
                  f" | drops {row['episode_drops']:5.2f} | loss {row['loss']:8.4f} | kl {row['approx_kl']:.4f}",
                  flush=True)  # fmt: skip
            if int(row["updates"]) % args.checkpoint_every == 0:
                save()

        agent.learn(args.total_timesteps, on_update)
    writer.close()
    path = save()
    print(f"saved {path} after {agent.num_timesteps} steps ({agent.updates} updates)")
    envs.close()
    return path


if __name__ == "__main__":
    main()
