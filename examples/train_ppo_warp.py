"""RecurrentPPO on DactylWarp-v0 (MuJoCo Warp, N worlds in one batch) through the SB3 VecEnv adapter.

The moderate-N training path of ``docs/warp.md``: the same asymmetric LSTM actor-critic and VecNormalize as
``examples/train_ppo.py``, but the N envs are worlds of one :class:`dactyl_warp.DactylWarpVectorEnv` instead of
N subprocesses. Rollouts cross to numpy every step (SB3), so this suits hundreds of worlds, not tens of thousands.

    python examples/train_ppo_warp.py --device cuda:0 --n-envs 256 --total-timesteps 2000000 --goal z
    python examples/train_ppo_warp.py --device cpu --n-envs 2 --n-steps 4 --total-timesteps 8   # smoke run
    python examples/train_ppo_warp.py --device cuda:0 --n-envs 256 --randomize all --adr   # under ADR

Writes ``--logdir``/metrics.csv (per rollout, as train_ppo.py) and ``model.zip`` + ``vecnormalize.pkl``. With
``--adr``: Automatic Domain Randomization over every ADR parameter of the ``--randomize`` wrappers, as
``train_ppo.py --adr``: each world's reset draws its own boundary episode from the ranges
(``DactylWarpVectorEnv(adr=...)``), the training process's ``wrappers.ADRState`` records the worlds'
``adr_result`` and pushes moved ranges (``ppo.callbacks.ADRCallback``); ``adr.csv`` per rollout and
``adr_state.json`` at the end.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `ppo` helper package next to this script
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from ppo.callbacks import ADRCallback, DactylMetricsCallback  # noqa: E402
from ppo.policy import AsymmetricRecurrentPolicy  # noqa: E402
from sb3_contrib import RecurrentPPO  # noqa: E402
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize  # noqa: E402

from dactyl_warp import SUPPORTED_RANDOMIZATIONS, DactylWarpSB3VecEnv, DactylWarpVectorEnv  # noqa: E402
from wrappers import CPU_ADR, PAPER_ADR, ADRState  # noqa: E402

RANDOMIZATIONS = (*SUPPORTED_RANDOMIZATIONS, "all")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda:0", help="Warp device of the worlds (cuda:0 or cpu)")
    p.add_argument("--policy-device", default="auto", help="torch device of the policy")
    p.add_argument("--n-envs", type=int, default=256)
    p.add_argument("--goal", default="z", choices=("parallel", "z", "xyz"))
    p.add_argument("--wrist", default="locked", choices=("free", "locked"))
    p.add_argument("--randomize", nargs="*", default=[], choices=RANDOMIZATIONS,
                   help="per-world randomizations (wrapper names; 'all': every supported one)")  # fmt: skip
    p.add_argument("--adr", action="store_true", help="Automatic Domain Randomization over the --randomize wrappers")
    p.add_argument("--adr-preset", default="paper", choices=("paper", "cpu"),
                   help="ADR hyperparameters: wrappers.PAPER_ADR or wrappers.CPU_ADR")  # fmt: skip
    p.add_argument("--total-timesteps", type=int, default=2_000_000)
    p.add_argument("--n-steps", type=int, default=80, help="rollout length per world")
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", type=Path, default=Path("runs/ppo_warp"))
    args = p.parse_args(argv)
    for name in ("n_envs", "total_timesteps", "n_steps", "batch_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    names = SUPPORTED_RANDOMIZATIONS if "all" in args.randomize else tuple(args.randomize)
    if args.adr and not names:
        raise SystemExit("--adr needs some --randomize wrappers for ADR to drive")
    torch.set_num_threads(1)
    args.logdir.mkdir(parents=True, exist_ok=True)

    config = CPU_ADR if args.adr_preset == "cpu" else PAPER_ADR
    worlds = DactylWarpVectorEnv(
        args.n_envs, device=args.device, goal=args.goal, wrist=args.wrist, action_type="discrete",
        action_smoothing=0.3, randomizations={name: {} for name in names},
        adr={"parameters": None, "config": asdict(config)} if args.adr else None,
    )  # fmt: skip
    adr = ADRState(list(worlds.adr.parameters), config=config) if worlds.adr is not None else None
    raw = DactylWarpSB3VecEnv(worlds)
    raw.seed(args.seed)
    venv = VecNormalize(VecMonitor(raw), norm_obs=True, norm_reward=True, clip_obs=5.0, gamma=0.998,
                        norm_obs_keys=list(raw.observation_space.spaces))  # fmt: skip
    model = RecurrentPPO(
        AsymmetricRecurrentPolicy, venv, n_steps=args.n_steps,
        batch_size=min(args.batch_size, args.n_steps * args.n_envs),
        learning_rate=3e-4, gamma=0.998, gae_lambda=0.95, n_epochs=4, seed=args.seed, device=args.policy_device,
    )  # fmt: skip
    callbacks = [DactylMetricsCallback(args.logdir / "metrics.csv", args.logdir / "metrics.jsonl", print_every=1)]
    if adr is not None:
        callbacks.append(ADRCallback(adr, args.logdir / "adr.csv"))
    model.learn(args.total_timesteps, callback=callbacks)
    model.save(args.logdir / "model.zip")
    if adr is not None:
        adr.save(args.logdir / "adr_state.json")
        print(f"ADR: entropy {adr.entropy_relative():.2f} nats relative to the paper's ranges; {adr.counts}; "
              f"state: {args.logdir / 'adr_state.json'}")  # fmt: skip
    venv.save(str(args.logdir / "vecnormalize.pkl"))
    print(f"saved {args.logdir / 'model.zip'} after {model.num_timesteps} steps")
    venv.close()


if __name__ == "__main__":
    main()
