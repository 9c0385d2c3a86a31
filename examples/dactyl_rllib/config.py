"""Arguments and presets of ``examples/train_rllib.py`` and the RLlib ``PPOConfig`` built from them.

The presets mirror ``train_ppo.py``'s (``ppo.config.PRESETS``): the same env, network sizes and PPO
hyperparameters; SB3's ``n_envs`` become ``num_env_runners x num_envs_per_env_runner`` and its ``n_steps`` the
rollout fragment length, so one RLlib iteration trains on the same ``n_envs * n_steps`` steps as one SB3 rollout.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ppo.config import GROUP_FLAGS, PRESETS, RANDOMIZATION_CHOICES

__all__ = [
    "RANDOMIZATION_CHOICES",
    "RLLIB_PRESETS",
    "RLlibArgs",
    "apply_preset",
    "build_config",
    "env_config",
    "groups_of",
    "model_config",
]


@dataclass
class RLlibArgs:
    """RLlib PPO (new API stack) with the asymmetric LSTM actor-critic on Dactyl-v0, locally or on a Ray cluster."""

    preset: str | None = None
    """preset: quick (minutes; default) or cpu (train_ppo.py's cpu preset: goal z, no randomization)"""
    seed: int = 0
    """random seed (RLlib seeds env i of runner r from it)"""
    logdir: Path | None = None
    """run directory: tb/, metrics.csv/jsonl, checkpoints/, final/ (default runs/rllib; --resume: the run's)"""
    address: str | None = None
    """Ray cluster to join (auto, or HEAD_IP:6379 after `ray start --head`); default: a local Ray on this machine"""
    num_cpus: int | None = None
    """CPUs of the local Ray started when --address is not given (default: all)"""
    num_env_runners: int | None = None
    """env-runner actors sampling in parallel (0: sample in the driver)"""
    num_envs_per_env_runner: int | None = None
    """envs stepped together (a gymnasium vector env) in each env runner"""
    num_learners: int = 0
    """learner actors (0: learn in the driver; >1: data-parallel training, e.g. one per GPU)"""
    num_gpus_per_learner: float = 0.0
    """GPUs per learner (with --num-learners 0: the driver's learner uses this many)"""
    total_timesteps: int | None = None
    """total environment steps of the run, counting steps done before --resume (default: preset)"""
    max_minutes: float | None = None
    """wall-clock budget: stop cleanly (final checkpoint) after this many minutes"""
    resume: Path | None = None
    """checkpoint dir written by this script to continue from (weights, optimizer, normalisation, step count)"""
    randomization: str | None = None
    """randomization groups: all (DactylRandomized-v0's stack), none, or all but one (no-physics, ...)"""
    adr: bool | None = None
    """Automatic Domain Randomization: the driver holds the ADR state, env runners report, ranges pushed back"""
    goal: str | None = None
    """goal distribution: parallel (paper), z (yaw only, easy), xyz"""
    action_type: str | None = None
    """discrete (paper, 11 bins) or continuous actions"""
    wrist: str | None = None
    """free (20 actions) or locked (18 actions)"""
    goal_timeout_s: float | None = None
    """simulated seconds without a success before truncation (training)"""
    n_steps: int | None = None
    """steps per env per iteration (RLlib's rollout_fragment_length; SB3's n_steps)"""
    batch_size: int | None = None
    """minibatch size of the PPO epochs"""
    n_epochs: int | None = None
    """PPO epochs per iteration"""
    learning_rate: float | None = None
    """Adam learning rate"""
    gamma: float | None = None
    """discount"""
    gae_lambda: float | None = None
    """GAE lambda"""
    ent_coef: float | None = None
    """entropy bonus coefficient"""
    clip_range: float | None = None
    """PPO clip range"""
    dense_units: int | None = None
    """units of the ReLU dense layer before each LSTM (paper 1024)"""
    lstm_units: int | None = None
    """LSTM units of the actor and of the critic (paper 512)"""
    log_std_init: float | None = None
    """initial log standard deviation of continuous actions"""
    max_seq_len: int = 32
    """truncated back-propagation through time: LSTM training sequence length"""
    checkpoint_every: int | None = None
    """environment steps between checkpoints (0: only the final one)"""
    print_every: int = 1
    """print a one-line summary every this many iterations"""


#: RLlib layout of the train_ppo.py presets: how SB3's n_envs are spread over env runners on this scale.
RLLIB_PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(num_env_runners=1, num_envs_per_env_runner=2),
    "cpu": dict(num_env_runners=2, num_envs_per_env_runner=2),
}
_FROM_PPO = ("total_timesteps", "goal", "action_type", "wrist", "goal_timeout_s", "n_steps", "batch_size", "n_epochs",
             "learning_rate", "gamma", "gae_lambda", "ent_coef", "clip_range", "dense_units", "lstm_units",
             "log_std_init", "checkpoint_every", "randomization", "adr")  # fmt: skip


def apply_preset(args: RLlibArgs, base: dict[str, Any] | None = None) -> RLlibArgs:
    """Fill every ``None`` field from ``base`` (a resumed run's arguments), then the preset; validate.

    Raises:
        ValueError: unknown preset or choice, or an out-of-range value (naming the flag).
    """
    base = base or {}
    preset = args.preset or base.get("preset") or "quick"
    if preset not in RLLIB_PRESETS:
        raise ValueError(f"--preset must be one of {tuple(RLLIB_PRESETS)}, got {preset!r}")
    defaults = {**{k: PRESETS[preset][k] for k in _FROM_PPO}, **RLLIB_PRESETS[preset]}
    values: dict[str, Any] = {}
    for key, default in defaults.items():
        given = getattr(args, key)
        values[key] = given if given is not None else base.get(key, default) if args.preset is None else default
    values["logdir"] = Path(args.logdir or base.get("logdir") or "runs/rllib")
    out = dataclasses.replace(args, preset=preset, **values)
    choices = {"randomization": RANDOMIZATION_CHOICES, "goal": ("parallel", "z", "xyz"),
               "action_type": ("discrete", "continuous"), "wrist": ("free", "locked")}  # fmt: skip
    for name, allowed in choices.items():
        if getattr(out, name) not in allowed:
            raise ValueError(f"--{name.replace('_', '-')} must be one of {allowed}, got {getattr(out, name)!r}")
    for name in ("total_timesteps", "num_envs_per_env_runner", "n_steps", "batch_size", "n_epochs", "dense_units",
                 "lstm_units", "max_seq_len"):  # fmt: skip
        if getattr(out, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(out, name)}")
    for name in ("num_env_runners", "num_learners", "checkpoint_every", "num_gpus_per_learner"):
        if getattr(out, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(out, name)}")
    if out.adr and not any(groups_of(out).values()):
        raise ValueError(f"--adr needs randomization groups to drive, got --randomization {out.randomization}")
    return out


def groups_of(args: RLlibArgs) -> dict[str, bool]:
    """The randomization groups of ``--randomization`` (``all`` but one for the ablation names)."""
    off = {"no-observation-noise": "observation", "no-physics": "physics", "no-unmodeled": "unmodeled"}
    return {g: args.randomization != "none" and off.get(args.randomization) != g for g in GROUP_FLAGS}


def env_config(args: RLlibArgs, adr_settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``env_config`` of ``dactyl_rllib.envs.make_env`` for these arguments."""
    return {
        "goal": args.goal, "action_type": args.action_type, "goal_timeout_s": args.goal_timeout_s,
        "wrist": args.wrist, "groups": groups_of(args), "scale": 1.0, "adr": adr_settings,
    }  # fmt: skip


def model_config(args: RLlibArgs) -> dict[str, Any]:
    """The module's ``model_config`` sizes (``obs_layout`` is added from the env's space)."""
    return {"dense_units": args.dense_units, "lstm_units": args.lstm_units, "log_std_init": args.log_std_init,
            "max_seq_len": args.max_seq_len}  # fmt: skip


def build_config(args: RLlibArgs, adr_settings: dict[str, Any] | None = None) -> Any:
    """The RLlib ``PPOConfig``: our env creator, the asymmetric LSTM module, per-key mean/std normalisation (±5 σ),
    the callbacks, and PPO's hyperparameters mapped from SB3's (no KL penalty, value loss 0.5, grad-norm 0.5)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import MeanStdFilter
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from dactyl_rllib.callbacks import DactylEpisodeCallback
    from dactyl_rllib.envs import ENV_NAME, make_env
    from dactyl_rllib.module import AsymmetricLSTMModule, obs_layout

    probe = make_env(env_config(args), flatten=False)
    try:
        layout = obs_layout(probe.observation_space)
    finally:
        probe.close()
    n_envs = max(1, args.num_env_runners) * args.num_envs_per_env_runner
    return (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_config(args, adr_settings))
        .env_runners(
            num_env_runners=args.num_env_runners,
            num_envs_per_env_runner=args.num_envs_per_env_runner,
            rollout_fragment_length=args.n_steps,
            env_to_module_connector=lambda env, spaces=None, device=None: MeanStdFilter(clip_by_value=5.0),
            num_cpus_per_env_runner=1,
        )
        .learners(num_learners=args.num_learners, num_gpus_per_learner=args.num_gpus_per_learner)
        .rl_module(
            rl_module_spec=RLModuleSpec(
                module_class=AsymmetricLSTMModule,
                model_config={"obs_layout": layout, **model_config(args)},
            )
        )  # fmt: skip
        .training(
            train_batch_size_per_learner=n_envs * args.n_steps // max(1, args.num_learners),
            minibatch_size=args.batch_size,
            num_epochs=args.n_epochs,
            lr=args.learning_rate,
            gamma=args.gamma,
            lambda_=args.gae_lambda,
            entropy_coeff=args.ent_coef,
            clip_param=args.clip_range,
            use_kl_loss=False,
            vf_loss_coeff=0.5,
            vf_clip_param=float("inf"),
            grad_clip=0.5,
            grad_clip_by="global_norm",
        )
        .callbacks(DactylEpisodeCallback)
        .debugging(seed=args.seed)
    )
