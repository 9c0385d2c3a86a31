"""Train the Dactyl LSTM policy with RecurrentPPO and an asymmetric actor-critic (Dactyl §1, Table 2).

The actor's LSTM sees only the (noisy) policy keys; the critic's LSTM sees the clean ``state``.
Observations are normalised with running statistics and clipped at ±5 σ (VecNormalize).

    python examples/train_ppo.py                                  # --preset quick: a few minutes on a CPU
    python examples/train_ppo.py --preset cpu --logdir runs/ppo_cpu   # an hour on 2 cores, goal "z", no randomization
    python examples/train_ppo.py --preset paper                   # Dactyl's hyperparameters, big machines
    python examples/train_ppo.py --randomization no-physics       # one Table 4 ablation per flag
    python examples/train_ppo.py --preset cpu-adr --logdir runs/ppo_cpu_adr   # cpu under Automatic Domain Randomization
    python examples/train_ppo.py --resume runs/ppo/checkpoints/step_0000010240

Writes to --logdir: tb/ (TensorBoard), metrics.csv + metrics.jsonl, checkpoints/step_*/ and final/
(each model.zip + model.json + vecnormalize.npz/.json + meta.json, written atomically; loading never
unpickles), learning_curve.png, video.mp4; with --adr
also adr.csv (entropy and every range per rollout), adr.png and adr_state.json (the final ADR state; each
checkpoint's meta.json holds the state it was saved with, which --resume restores).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"  # headless rendering; must be set before MuJoCo is first imported
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `ppo` helper package next to this script
# The checkout's own packages (gym_dactyl, wrappers) first, so a stale editable install cannot shadow them.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import imageio.v2 as imageio  # noqa: E402
import torch  # noqa: E402
from ppo.callbacks import ADRCallback, AtomicCheckpointCallback, DactylMetricsCallback, WallClockLimit  # noqa: E402
from ppo.checkpoint import load_checkpoint, load_vecnormalize, resolve_checkpoint, save_checkpoint  # noqa: E402
from ppo.config import (  # noqa: E402
    PRESETS,
    RANDOMIZATION_CHOICES,
    TrainArgs,
    adr_config,
    apply_preset,
    parse_dataclass,
    randomization_groups,  # noqa: E402
)
from ppo.envs import effective_groups, make_dactyl_env, make_train_env_fn  # noqa: E402
from ppo.normalize import FusedVecNormalize  # noqa: E402
from ppo.pipeline import OverlappedRecurrentPPO, UpdateThreads, make_model, make_vec_env, make_vecnormalize  # noqa: E402
from ppo.plots import plot_adr, plot_learning_curve  # noqa: E402
from ppo.rollout import ModelPolicy, run_episode  # noqa: E402
from sb3_contrib import RecurrentPPO  # noqa: E402
from stable_baselines3.common.callbacks import CallbackList  # noqa: E402
from stable_baselines3.common.utils import set_random_seed  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv, VecNormalize  # noqa: E402

CHOICES = {
    "preset": tuple(PRESETS),
    "randomization": RANDOMIZATION_CHOICES,
    "goal": ("parallel", "z", "xyz"),
    "action_type": ("discrete", "continuous"),
    "wrist": ("free", "locked"),
}


def record_video(
    model: RecurrentPPO, vecnorm: VecNormalize, args: TrainArgs, groups: dict[str, bool], out: Path,
    adr: Any = None,
) -> Path:  # fmt: skip
    """Roll out one episode of the training condition (with ``adr``, an ADRState: its final ranges) with the
    deterministic policy and write an mp4."""
    env = make_dactyl_env(
        goal=args.goal, action_type=args.action_type, goal_timeout_s=args.goal_timeout_s,
        groups=groups, scale=args.randomization_scale, render_mode="rgb_array", size=320, wrist=args.wrist,
        adr=None if adr is None else adr.settings(),
    )  # fmt: skip
    if adr is not None:
        env.get_wrapper_attr("set_adr_ranges")(adr.ranges)
    try:
        stats, frames = run_episode(env, ModelPolicy(model, vecnorm), seed=args.seed + 10_000, record=True)
        imageio.mimwrite(out, frames, fps=env.metadata["render_fps"], macro_block_size=1)
    finally:
        env.close()
    print(f"video: {out} ({len(frames)} frames; {stats['consecutive_successes']} successes, end: {stats['end']})")
    return out


def make_adr_state(args: TrainArgs, groups: dict[str, bool], saved: dict | None) -> Any:
    """The training process's ADR state: restored from a checkpoint's ``meta.json`` data, or new at nominal over
    every ADR parameter whose wrapper the randomization groups put in the stack."""
    from wrappers import ADRConfig, ADRState, AutomaticDomainRandomization

    if saved is not None:
        return ADRState.from_dict(saved)
    probe = make_dactyl_env(goal=args.goal, action_type=args.action_type, goal_timeout_s=args.goal_timeout_s,
                            groups=groups, wrist=args.wrist)  # fmt: skip
    try:
        names = list(AutomaticDomainRandomization(probe).adr.parameters)
    finally:
        probe.close()
    return ADRState(names, config=ADRConfig(**adr_config(args)))


def main(argv: list[str] | None = None) -> Path:
    """Train; return the final checkpoint directory."""
    # --- arguments (a resumed run inherits the checkpoint's settings for flags not given) ---
    args = parse_dataclass(TrainArgs, argv, choices=CHOICES)
    resume_meta: dict = {}
    resume_adr: dict | None = None
    if args.resume is not None:
        ckpt = resolve_checkpoint(args.resume)
        meta_path = ckpt / "meta.json"
        full_meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        resume_meta = full_meta.get("args", {})
        resume_adr = full_meta.get("adr")
    args = apply_preset(args, base=resume_meta)
    groups = randomization_groups(args)
    applied = effective_groups(groups)
    args.logdir.mkdir(parents=True, exist_ok=True)
    print(f"preset {args.preset}: goal={args.goal} actions={args.action_type} wrist={args.wrist} n_envs={args.n_envs} "
          f"total={args.total_timesteps:,} steps; randomization requested {groups}, applied {applied}")  # fmt: skip

    # --- seeding and threads ---
    torch.set_num_threads(args.torch_threads)
    set_random_seed(args.seed)

    # --- Automatic Domain Randomization: one state here, a reporting copy in every sub-env ---
    adr = make_adr_state(args, groups, resume_adr) if args.adr else None
    if adr is not None:
        print(f"ADR: {len(adr.parameters)} parameters, {adr.config}; entropy {adr.entropy_relative():.2f} nats "
              "relative to the paper's ranges" + (" (restored from the checkpoint)" if resume_adr else ""))  # fmt: skip

    # --- environments: --env-workers processes (default one per core), env of rank r seeded seed + r ---
    env_fns = [
        make_train_env_fn(
            rank, args.seed, goal=args.goal, action_type=args.action_type, goal_timeout_s=args.goal_timeout_s,
            groups=groups, scale=args.randomization_scale, wrist=args.wrist,
            adr=None if adr is None else adr.settings(),
        )
        for rank in range(args.n_envs)
    ]  # fmt: skip
    raw: VecEnv = make_vec_env(env_fns, workers=args.env_workers, in_process=args.env_in_process)

    def meta() -> dict:
        out = {"args": dataclasses.asdict(args), "randomization": groups, "randomization_applied": applied}
        if adr is not None:
            out["adr"] = adr.to_dict()
        return out

    try:
        # --- model: new, or resumed with its normalisation statistics and timestep count ---
        if args.resume is not None:
            venv = load_vecnormalize(args.resume, raw, cls=FusedVecNormalize)
            venv.training = True
            venv.norm_reward = args.norm_reward
            model, _, ckpt = load_checkpoint(
                args.resume, device=args.device, env=venv, algorithm=OverlappedRecurrentPPO
            )  # fmt: skip
            # fresh episodes for the new segment (not a replay of the first run's seeds), reproducibly
            model.set_random_seed(args.seed + model.num_timesteps)
            print(f"resumed {ckpt} at {model.num_timesteps:,} steps (model hyperparameters are the checkpoint's)")
        else:
            venv = make_vecnormalize(raw, args)
            model = make_model(args, venv, tensorboard_log=str(args.logdir / "tb"))
        model.tensorboard_log = str(args.logdir / "tb")

        # --- callbacks: metrics to TensorBoard + CSV/JSONL, periodic atomic checkpoints ---
        if args.resume is None:
            for name in ("metrics.csv", "metrics.jsonl", "adr.csv"):
                if (args.logdir / name).exists():
                    print(f"fresh run: replacing {args.logdir / name}")
                    (args.logdir / name).unlink()
        metrics = DactylMetricsCallback(args.logdir / "metrics.csv", args.logdir / "metrics.jsonl", print_every=10)
        callbacks: list = [metrics]
        if adr is not None:  # before the checkpoints: a checkpoint holds the state after this step's results
            callbacks.append(ADRCallback(adr, args.logdir / "adr.csv"))
        if args.checkpoint_every:
            callbacks.append(AtomicCheckpointCallback(args.logdir / "checkpoints", args.checkpoint_every, meta=meta))
        if args.max_minutes:
            callbacks.append(WallClockLimit(args.max_minutes))
        if args.update_threads != args.torch_threads:
            callbacks.append(UpdateThreads(args.update_threads, rollout_threads=args.torch_threads))

        # --- train ---
        remaining = args.total_timesteps - model.num_timesteps
        t0 = time.time()
        if remaining > 0:
            model.learn(
                remaining, callback=CallbackList(callbacks), progress_bar=args.progress_bar,
                reset_num_timesteps=args.resume is None, tb_log_name="RecurrentPPO",
            )  # fmt: skip
        else:
            print(f"nothing to do: the checkpoint has {model.num_timesteps:,} >= {args.total_timesteps:,} steps")
        elapsed = time.time() - t0
        print(f"trained to {model.num_timesteps:,} steps in {elapsed / 60:.1f} min")

        # --- final save, learning curve, video ---
        final = save_checkpoint(args.logdir / "final", model, meta())
        print(f"final checkpoint: {final}")
        if (args.logdir / "metrics.csv").exists():
            curve = plot_learning_curve(args.logdir / "metrics.csv", args.logdir / "learning_curve.png")
            print(f"learning curve: {curve}")
        if adr is not None:
            adr.save(args.logdir / "adr_state.json")
            print(f"ADR: entropy {adr.entropy_relative():.2f} nats relative to the paper's ranges "
                  f"({adr.entropy():.2f} absolute); {adr.counts}; state: {args.logdir / 'adr_state.json'}")  # fmt: skip
            if (args.logdir / "adr.csv").exists():
                print(f"ADR plot: {plot_adr(args.logdir / 'adr.csv', args.logdir / 'adr.png', caps=adr.caps)}")
        if args.video:
            venv.training = False
            try:
                record_video(model, venv, args, groups, args.logdir / "video.mp4", adr=adr)
            except Exception as err:  # the model is saved; a renderer problem must not hide that
                print(f"video failed ({type(err).__name__}: {err}); the checkpoint is saved at {final}")
    finally:
        raw.close()
    return final


if __name__ == "__main__":
    main()
