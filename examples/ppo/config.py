"""Training arguments, presets, and a small bridge from a documented ``@dataclass`` to ``argparse``.

Each dataclass field carries a one-line attribute docstring (CleanRL style); :func:`parse_dataclass`
turns the fields into command-line flags whose help is that docstring. Fields left ``None`` are
filled from the chosen preset by :func:`apply_preset`; an explicit flag always wins.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "GROUP_FLAGS",
    "PRESETS",
    "RANDOMIZATION_CHOICES",
    "TrainArgs",
    "adr_config",
    "apply_preset",
    "build_parser",
    "field_docs",
    "parse_dataclass",
    "randomization_groups",
]

T = TypeVar("T")

#: Randomization groups of Dactyl Table 4, as named by ``wrappers.dactyl_randomization``.
GROUP_FLAGS: tuple[str, ...] = ("observation", "physics", "unmodeled")
#: ``--randomization`` values: all groups, none, or all but one (Table 4's ablations).
RANDOMIZATION_CHOICES: tuple[str, ...] = ("all", "none", "no-observation-noise", "no-physics", "no-unmodeled")


@dataclass
class TrainArgs:
    """RecurrentPPO with an asymmetric LSTM actor-critic on Dactyl-v0 (Dactyl §1, Table 2)."""

    preset: str | None = None
    """preset: quick (minutes; default), cpu (an hour, 2 cores, goal z, no randomization), cpu-adr (cpu + ADR), paper"""
    seed: int = 0
    """random seed; env of rank r is seeded seed + r"""
    logdir: Path | None = None
    """run directory: tb/, metrics.csv/jsonl, checkpoints/, final/, video (default runs/ppo; --resume: the run's)"""
    total_timesteps: int | None = None
    """total environment steps of the run, counting steps done before --resume (default: preset)"""
    max_minutes: float | None = None
    """wall-clock budget: stop cleanly (final save, curve, video) after this many minutes of training"""
    resume: Path | None = None
    """checkpoint dir (or its model.zip) to continue: model + hyperparameters, normalisation stats, step count"""
    randomization: str | None = None
    """randomization groups: all (quick, paper default), none (cpu default), or all but one (no-physics, ...)"""
    no_observation_noise: bool = False
    """switch off the observation-noise group (Table 7; Table 4 ablation)"""
    no_physics: bool = False
    """switch off the physics-randomization group (Table 1; Table 4 ablation)"""
    no_unmodeled: bool = False
    """switch off the unmodeled-effects group (App. C.2; Table 4 ablation)"""
    randomization_scale: float | None = None
    """scale of every randomization range (default 1 = the paper's)"""
    goal: str | None = None
    """goal distribution: parallel (paper), z (yaw only, easy), xyz"""
    action_type: str | None = None
    """discrete (paper, 11 bins) or continuous actions"""
    wrist: str | None = None
    """free (20 actions) or locked (18 actions, the wrist held still; Dactyl Table 3 "locked wrist")"""
    goal_timeout_s: float | None = None
    """simulated seconds without a success before an episode is truncated (paper: 8 in training)"""
    n_envs: int | None = None
    """parallel environments"""
    env_workers: int | None = None
    """worker processes stepping the envs, each several in a loop (default one per core, at most n_envs, one fewer
    when the training process steps some, which it does by default; 0: all in the training process)"""
    env_in_process: int | None = None
    """envs stepped by the training process while the workers step the rest (default: a worker's share,
    n_envs // cores, e.g. 2 of 4 envs on 2 cores and one worker steps the other 2; 0: all in workers)"""
    n_steps: int | None = None
    """rollout length per environment per PPO update"""
    batch_size: int | None = None
    """minibatch size in environment steps (whole sequences of n_steps are kept together)"""
    n_epochs: int | None = None
    """PPO epochs per update"""
    learning_rate: float | None = None
    """Adam learning rate (paper 3e-4)"""
    gamma: float | None = None
    """discount (paper 0.998)"""
    gae_lambda: float | None = None
    """GAE lambda (paper 0.95)"""
    ent_coef: float | None = None
    """entropy coefficient (paper 0.01)"""
    clip_range: float | None = None
    """PPO clip range (paper 0.2)"""
    dense_units: int | None = None
    """units of the ReLU dense layer before each LSTM (paper 1024)"""
    lstm_units: int | None = None
    """LSTM hidden units of actor and critic (paper 512)"""
    log_std_init: float | None = None
    """initial log std of the Gaussian policy (continuous actions only)"""
    norm_reward: bool | None = None
    """normalise rewards by a running estimate of the return's std (VecNormalize)"""
    checkpoint_every: int | None = None
    """environment steps between atomic checkpoints (0: only the final save)"""
    adr: bool | None = None
    """Automatic Domain Randomization: the randomization ranges start at nominal and grow with performance"""
    adr_boundary_probability: float | None = None
    """ADR p_b: share of boundary episodes (paper 0.5)"""
    adr_delta: float | None = None
    """ADR step of a bound, as a fraction of the parameter's cap width (paper 0.02)"""
    adr_upper_threshold: float | None = None
    """ADR t_H: mean consecutive successes at a bound that widens it (paper 20)"""
    adr_lower_threshold: float | None = None
    """ADR t_L: mean consecutive successes at a bound that narrows it (paper 10)"""
    adr_buffer_size: int | None = None
    """ADR m: boundary-episode results a bound collects before it is judged (paper 240)"""
    video: bool = True
    """record a video of one episode with the final policy"""
    progress_bar: bool = True
    """show a progress bar (tqdm/rich)"""
    device: str = "cpu"
    """torch device"""
    torch_threads: int = 1
    """torch threads in the training process (1 is fastest with subprocess envs on few cores)"""
    update_threads: int | None = None
    """torch threads during the PPO update, while the env workers wait (default: --torch-threads)"""


#: ADR hyperparameters of the presets: the paper's (Rubik's Cube paper, Table 15; ``wrappers.PAPER_ADR``) and the
#: CPU scale that moves within an hour on 2 cores (``wrappers.CPU_ADR``, docs/adr.md).
_PAPER_ADR = dict(adr_boundary_probability=0.5, adr_delta=0.02, adr_upper_threshold=20.0, adr_lower_threshold=10.0,
                  adr_buffer_size=240)  # fmt: skip
_CPU_ADR = dict(adr_boundary_probability=0.5, adr_delta=0.05, adr_upper_threshold=1.0, adr_lower_threshold=0.25,
                adr_buffer_size=10)  # fmt: skip

#: Preset values for every ``None`` field of :class:`TrainArgs`; ``randomization`` is the preset's default for
#: ``--randomization`` (a resumed run keeps its own unless the flag is given).
PRESETS: dict[str, dict[str, Any]] = {
    # A few minutes on a laptop CPU: proves the pipeline end to end, learns little.
    "quick": dict(
        total_timesteps=20_000, goal="z", action_type="continuous", goal_timeout_s=8.0, wrist="free",
        n_envs=2, n_steps=128, batch_size=256, n_epochs=4, learning_rate=3e-4,
        gamma=0.99, gae_lambda=0.95, ent_coef=0.0, clip_range=0.2, dense_units=64, lstm_units=64,
        log_std_init=-1.0, norm_reward=True, checkpoint_every=10_000, randomization="all", adr=False, **_CPU_ADR,
    ),
    # An hour on 2 CPU cores, tuned for learning speed on goal "z" (see docs/ppo.md for the measurements): the
    # small-compute variant, trained without randomization (~950 steps/s on 2 idle cores: 3M steps ~ 53 min).
    "cpu": dict(
        total_timesteps=3_000_000, goal="z", action_type="continuous", goal_timeout_s=8.0, wrist="free",
        n_envs=4, n_steps=256, batch_size=512, n_epochs=4, learning_rate=3e-4,
        gamma=0.99, gae_lambda=0.95, ent_coef=0.0, clip_range=0.2, dense_units=128, lstm_units=128,
        log_std_init=-1.0, norm_reward=True, checkpoint_every=250_000, randomization="none", adr=False, **_CPU_ADR,
    ),
    # The cpu preset under Automatic Domain Randomization: the full stack, its ranges starting at nominal and
    # growing with the policy's consecutive successes (CPU-scale ADR settings, docs/adr.md).
    "cpu-adr": dict(
        total_timesteps=3_000_000, goal="z", action_type="continuous", goal_timeout_s=8.0, wrist="free",
        n_envs=4, n_steps=256, batch_size=512, n_epochs=4, learning_rate=3e-4,
        gamma=0.99, gae_lambda=0.95, ent_coef=0.0, clip_range=0.2, dense_units=128, lstm_units=128,
        log_std_init=-1.0, norm_reward=True, checkpoint_every=250_000, randomization="all", adr=True, **_CPU_ADR,
    ),
    # Dactyl §1: gamma 0.998, lambda 0.95, entropy 0.01, clip 0.2, Adam 3e-4, 1024 dense + 512 LSTM.
    "paper": dict(
        total_timesteps=1_000_000_000, goal="parallel", action_type="discrete", goal_timeout_s=8.0, wrist="free",
        n_envs=64, n_steps=512, batch_size=8192, n_epochs=4, learning_rate=3e-4,
        gamma=0.998, gae_lambda=0.95, ent_coef=0.01, clip_range=0.2, dense_units=1024, lstm_units=512,
        log_std_init=0.0, norm_reward=True, checkpoint_every=5_000_000, randomization="all", adr=False, **_PAPER_ADR,
    ),
}  # fmt: skip


def field_docs(cls: type) -> dict[str, str]:
    """Return the attribute docstrings of a dataclass (the string literal after each field)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = nxt.value.value.strip()
    return docs


def _base_type(annotation: Any) -> type:
    """``int | None`` -> ``int``; ``Path`` -> ``Path``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def build_parser(cls: type, description: str | None = None, choices: dict[str, tuple[str, ...]] | None = None):
    """Build an ``argparse.ArgumentParser`` with one ``--flag`` per dataclass field.

    Booleans become ``--flag/--no-flag`` pairs (``no_*`` fields plain switches); ``None`` defaults stay
    ``None`` so presets can fill them.

    Args:
        cls: the dataclass.
        description: parser description (default: the class docstring).
        choices: allowed values per field name.

    Returns:
        The parser.
    """
    choices = choices or {}
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    parser = argparse.ArgumentParser(
        description=description or cls.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind = _base_type(hints[f.name])
        help_ = docs.get(f.name, "")
        if f.default is not None and f.default is not False:
            help_ += f" (default: {f.default})"
        if kind is bool and f.name.startswith("no_"):
            parser.add_argument(flag, default=f.default, action="store_true", help=help_)
        elif kind is bool:
            parser.add_argument(flag, default=f.default, action=argparse.BooleanOptionalAction, help=help_)
        else:
            parser.add_argument(flag, type=kind, default=f.default, choices=choices.get(f.name), help=help_)
    return parser


def parse_dataclass(
    cls: type[T], argv: list[str] | None = None, choices: dict[str, tuple[str, ...]] | None = None
) -> T:
    """Parse ``argv`` into an instance of the dataclass ``cls`` (see :func:`build_parser`)."""
    ns = build_parser(cls, choices=choices).parse_args(argv)
    return cls(**vars(ns))


def apply_preset(args: TrainArgs, base: dict[str, Any] | None = None) -> TrainArgs:
    """Fill every ``None`` field of ``args`` and validate the result.

    Args:
        args: parsed arguments; explicit values win.
        base: resolved arguments of the run being resumed (its ``meta.json``); they come before the preset,
            so ``--resume`` continues with the checkpoint's settings unless a flag says otherwise.

    Raises:
        ValueError: unknown preset or an out-of-range value.
    """
    base = base or {}
    preset = args.preset or base.get("preset") or "quick"
    if preset not in PRESETS:
        raise ValueError(f"--preset must be one of {tuple(PRESETS)}, got {preset!r}")
    values = {}
    for key, default in PRESETS[preset].items():
        if key == "randomization":
            continue
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
        elif base.get(key) is not None and args.preset is None:
            values[key] = base[key]
        else:
            values[key] = default
    # Not preset-dependent: the randomization switches (a resumed run keeps its own unless given again).
    values["logdir"] = Path(args.logdir or base.get("logdir") or "runs/ppo")
    values["randomization"] = args.randomization or base.get("randomization") or PRESETS[preset]["randomization"]
    if values["adr"] and args.randomization is None and base.get("randomization") is None:
        values["randomization"] = "all"  # --adr on a preset without randomization: ADR grows the whole stack
    scale = args.randomization_scale if args.randomization_scale is not None else base.get("randomization_scale")
    values["randomization_scale"] = 1.0 if scale is None else float(scale)
    for flag in ("no_observation_noise", "no_physics", "no_unmodeled"):
        values[flag] = getattr(args, flag) or bool(base.get(flag, False))
    out = dataclasses.replace(args, preset=preset, **values)
    if out.randomization not in RANDOMIZATION_CHOICES:
        raise ValueError(f"--randomization must be one of {RANDOMIZATION_CHOICES}, got {out.randomization!r}")
    for name in ("total_timesteps", "n_envs", "n_steps", "batch_size", "n_epochs", "dense_units", "lstm_units"):
        if getattr(out, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(out, name)}")
    if out.update_threads is None:
        out.update_threads = out.torch_threads
    for name in ("torch_threads", "update_threads"):
        if getattr(out, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(out, name)}")
    if out.env_workers is not None and not 0 <= out.env_workers <= out.n_envs:
        raise ValueError(f"--env-workers must be in [0, n_envs={out.n_envs}], got {out.env_workers}")
    if out.env_in_process is not None and not 0 <= out.env_in_process <= out.n_envs:
        raise ValueError(f"--env-in-process must be in [0, n_envs={out.n_envs}], got {out.env_in_process}")
    if out.randomization_scale < 0:
        raise ValueError(f"--randomization-scale must be >= 0, got {out.randomization_scale}")
    if out.checkpoint_every < 0:
        raise ValueError(f"--checkpoint-every must be >= 0, got {out.checkpoint_every}")
    if out.adr:
        if not any(randomization_groups(out).values()):
            raise ValueError(f"--adr needs randomization groups to drive, got --randomization {out.randomization}")
        if out.randomization_scale != 1.0:
            raise ValueError(
                f"--adr sets the ranges itself (capped at the paper's): --randomization-scale must be 1, "
                f"got {out.randomization_scale}"
            )
        if not 0.0 <= out.adr_boundary_probability <= 1.0:
            raise ValueError(f"--adr-boundary-probability must be in [0, 1], got {out.adr_boundary_probability}")
        if not out.adr_delta > 0:
            raise ValueError(f"--adr-delta must be > 0, got {out.adr_delta}")
        if not out.adr_lower_threshold < out.adr_upper_threshold:
            raise ValueError(
                f"--adr-lower-threshold must be < --adr-upper-threshold, got {out.adr_lower_threshold} >= "
                f"{out.adr_upper_threshold}"
            )
        if out.adr_buffer_size < 1:
            raise ValueError(f"--adr-buffer-size must be >= 1, got {out.adr_buffer_size}")
    if out.goal not in ("parallel", "z", "xyz"):
        raise ValueError(f"--goal must be parallel, z or xyz, got {out.goal!r}")
    if out.wrist not in ("free", "locked"):
        raise ValueError(f"--wrist must be free or locked, got {out.wrist!r}")
    if out.action_type not in ("discrete", "continuous"):
        raise ValueError(f"--action-type must be discrete or continuous, got {out.action_type!r}")
    return out


def randomization_groups(args: TrainArgs) -> dict[str, bool]:
    """The randomization groups switched on by ``--randomization`` and the ``--no-*`` flags."""
    groups = {g: args.randomization != "none" for g in GROUP_FLAGS}
    if args.randomization == "no-observation-noise" or args.no_observation_noise:
        groups["observation"] = False
    if args.randomization == "no-physics" or args.no_physics:
        groups["physics"] = False
    if args.randomization == "no-unmodeled" or args.no_unmodeled:
        groups["unmodeled"] = False
    return groups


def adr_config(args: TrainArgs) -> dict[str, Any]:
    """The ``wrappers.ADRConfig`` fields of ``args`` (the ``--adr-*`` flags), as a dict."""
    return {
        "boundary_probability": args.adr_boundary_probability,
        "delta": args.adr_delta,
        "upper_threshold": args.adr_upper_threshold,
        "lower_threshold": args.adr_lower_threshold,
        "buffer_size": args.adr_buffer_size,
    }
