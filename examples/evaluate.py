"""Evaluate a RecurrentPPO checkpoint (or a baseline policy) on Dactyl-v0 in sim-to-real conditions.

Conditions (see examples/ppo/envs.py):
    nominal     the calibrated simulator, no noise;
    randomized  the training distribution recorded in the checkpoint;
    shifted     a held-out "real" world: physics outside Dactyl Table 1's ranges (heavier block, less
                friction, stiffer joints, weaker servos, tilted gravity) plus observation noise and
                unmodeled effects.
    weak_actuators   held out, one change: position servos at 0.65 of nominal gain, clean observations;
    slippery_heavy   held out, one change: block 1.7x heavier, friction 0.55x, clean observations.
    vision      the nominal world, but the policy sees the block's position and orientation as estimated
                by a CNN (--pose-model) from three 64 px camera images rendered with the appearance
                randomization it was trained with (Table 9; Dactyl Table 3 "block, vision").

    python examples/evaluate.py --checkpoint runs/ppo/final       # the paper's evaluation: 100 episodes, 80 s timeout
    python examples/evaluate.py --checkpoint runs/ppo/final --goal-timeout-s 8 --episodes 20   # the training timeout
    python examples/evaluate.py --policy random --goal z           # baselines: random actions,
    python examples/evaluate.py --policy hold --goal z             # or keep the hand still
    python examples/evaluate.py --checkpoint policies/cpu_adr \
        --conditions nominal,randomized,shifted,weak_actuators,slippery_heavy                  # the ADR table
    python examples/evaluate.py --checkpoint runs/ppo/final --conditions nominal,vision \
        --pose-model runs/pose64/pose_estimator.pt                                  # the policy run from pixels

Prints a Table-3-style table (consecutive successes mean ± std / median and the standard error of the mean,
drop rate, rotation error) and writes <out>/eval.json, <out>/eval.png and <out>/eval_<condition>.mp4 (one
episode). The std is the population standard deviation of the per-episode counts (numpy's default, ddof=0: the
paper does not say which it reports; with 100 episodes the two differ by 0.5 %); the standard error is the
sample std (ddof=1) / sqrt(episodes).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"  # headless rendering; must be set before MuJoCo is first imported
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `ppo` helper package next to this script
# The checkout's own packages (gym_dactyl, wrappers) first, so a stale editable install cannot shadow them.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import imageio.v2 as imageio  # noqa: E402
import torch  # noqa: E402
from ppo.checkpoint import load_checkpoint, load_vecnormalize, resolve_checkpoint  # noqa: E402
from ppo.config import GROUP_FLAGS, parse_dataclass  # noqa: E402
from ppo.envs import CONDITIONS, VISION_APPEARANCES, effective_groups, make_condition_env  # noqa: E402
from ppo.plots import plot_evaluation  # noqa: E402
from ppo.rollout import HoldPolicy, ModelPolicy, RandomPolicy, run_episode, summarize  # noqa: E402
from ppo.vision import load_pose_estimator  # noqa: E402


@dataclass
class EvalArgs:
    """Evaluate a Dactyl policy: consecutive successes per episode, as in Dactyl Table 3."""

    checkpoint: Path | None = None
    """checkpoint directory (or its model.zip) written by train_ppo.py; needed with --policy model"""
    policy: str = "model"
    """model (the checkpoint), or a baseline: random (uniform random actions) or hold (action 0: keep still)"""
    conditions: str = "nominal,randomized,shifted"
    """comma-separated conditions: nominal, randomized (training distr.), held-out worlds shifted, weak_actuators and
    slippery_heavy (docs/adr.md), vision (CNN pose)"""
    episodes: int = 100
    """episodes per condition (the paper: 100 in sim, 10 on the robot)"""
    goal_timeout_s: float = 80.0
    """simulated seconds without a success before an episode ends (the paper's evaluation: 80; training: 8)"""
    goal: str | None = None
    """goal distribution (default: the checkpoint's; z for the baselines)"""
    action_type: str | None = None
    """action interface of the baselines (default continuous); a model uses its own"""
    wrist: str | None = None
    """free or locked wrist of the baselines (default free); a model uses its own"""
    randomization: str | None = None
    """groups of the randomized condition: all or none (default: a model's training groups; all for baselines)"""
    deterministic: bool = True
    """use the mode of the policy's action distribution"""
    seed: int = 1000
    """seed of episode i is seed + i (the same goals for every policy)"""
    out: Path | None = None
    """output directory (default: <checkpoint>/eval, or runs/eval_<policy>)"""
    video: bool = True
    """save a video of the first episode of the first condition"""
    plot: bool = True
    """save a bar chart of the results"""
    pose_model: Path | None = None
    """pose estimator (pose_estimator.pt or its directory) of the vision condition, from train_pose_estimator.py"""
    vision_appearance: str = "table9"
    """appearance of the vision condition: table9 (the estimator's training randomization), held_out, nominal"""


CHOICES = {
    "policy": ("model", "random", "hold"),
    "goal": ("parallel", "z", "xyz"),
    "action_type": ("discrete", "continuous"),
    "wrist": ("free", "locked"),
    "randomization": ("all", "none"),
    "vision_appearance": VISION_APPEARANCES,
}


def format_table(results: dict[str, dict[str, Any]], title: str) -> str:
    """A Table-3-style text table of the per-condition summaries."""
    lines = [
        title,
        f"{'condition':<12} {'episodes':>8} {'consecutive successes':>26} {'s.e.m.':>7} {'success':>8} {'drop':>6} "
        f"{'rot. err':>9} {'length':>7} {'obs. pose err':>14}",
        f"{'':<12} {'':>8} {'mean ± std / median':>26} {'':>7} {'rate':>8} {'rate':>6} {'(rad)':>9} {'steps':>7} "
        f"{'(mm / deg)':>14}",
    ]
    for name, r in results.items():
        cs = (
            f"{r['consecutive_successes_mean']:.2f} ± {r['consecutive_successes_std']:.2f} / "
            f"{r['consecutive_successes_median']:g}"
        )
        lines.append(
            f"{name:<12} {r['episodes']:>8} {cs:>26} {r['consecutive_successes_sem']:>7.2f} "
            f"{r['success_rate']:>8.2f} {r['drop_rate']:>6.2f} "
            f"{r['rotation_error_mean']:>9.3f} {r['episode_length_mean']:>7.0f} "
            f"{r['pose_error_mm_mean']:>6.1f} / {r['pose_error_deg_mean']:>5.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Evaluate; return the results written to eval.json."""
    args = parse_dataclass(EvalArgs, argv, choices=CHOICES)
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    for c in conditions:
        if c not in CONDITIONS:
            raise ValueError(f"--conditions: unknown condition {c!r}; expected some of {CONDITIONS}")
    if not args.goal_timeout_s > 0:
        raise ValueError(f"--goal-timeout-s must be > 0 seconds, got {args.goal_timeout_s}")
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    if "vision" in conditions and args.pose_model is None:
        raise ValueError("--pose-model is required by the vision condition (a pose_estimator.pt written by "
                         "examples/train_pose_estimator.py), got None")  # fmt: skip
    if args.pose_model is not None and "vision" not in conditions:
        raise ValueError(f"--pose-model {args.pose_model} is only used by the vision condition; add vision to "
                         f"--conditions (got {args.conditions!r})")  # fmt: skip
    torch.set_num_threads(1)
    # Load (and check) the estimator before any episode runs, so a wrong path fails at once.
    pose_estimator = load_pose_estimator(args.pose_model) if args.pose_model is not None else None

    # --- what is evaluated: a checkpoint (its settings) or a baseline ---
    train: dict[str, Any] = {}
    if args.policy == "model":
        if args.checkpoint is None:
            raise ValueError("--checkpoint is required with --policy model (or pass --policy random / hold)")
        ckpt = resolve_checkpoint(args.checkpoint)
        meta_path = ckpt / "meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        train = meta.get("args", {})
        groups = meta.get("randomization_applied", meta.get("randomization", {g: False for g in GROUP_FLAGS}))
        if args.randomization is not None:
            groups = {g: args.randomization != "none" for g in GROUP_FLAGS}
        out = args.out or ckpt / "eval"
    else:
        ckpt, meta = None, {}
        groups = {g: args.randomization != "none" for g in GROUP_FLAGS}
        out = args.out or Path(f"runs/eval_{args.policy}")
    goal = args.goal or train.get("goal", "z")
    action_type = train.get("action_type", args.action_type or "continuous")
    wrist = train.get("wrist") or args.wrist or "free"
    if args.policy == "model" and args.wrist is not None and args.wrist != wrist:
        raise ValueError(f"--wrist {args.wrist}: the checkpoint was trained with wrist={wrist!r}")
    timeout = args.goal_timeout_s
    scale = float(train.get("randomization_scale", 1.0))
    out.mkdir(parents=True, exist_ok=True)

    model = vecnorm = None
    results: dict[str, dict[str, Any]] = {}
    episodes: dict[str, list[dict[str, Any]]] = {}
    for ci, condition in enumerate(conditions):
        record = args.video and ci == 0
        env = make_condition_env(
            condition, goal=goal, action_type=action_type, goal_timeout_s=timeout, train_groups=groups, scale=scale,
            render_mode="rgb_array" if record else None, pose_estimator=pose_estimator,
            vision_appearance=args.vision_appearance, wrist=wrist,
        )  # fmt: skip
        try:
            if args.policy == "model":
                if model is None:  # load once, checking the spaces against this env
                    model, _, _ = load_checkpoint(ckpt, expect=(env.observation_space, env.action_space))
                    vecnorm = load_vecnormalize(ckpt)
                    vecnorm.training = False
                policy = ModelPolicy(model, vecnorm, deterministic=args.deterministic)
            elif args.policy == "random":
                policy = RandomPolicy(env.action_space, seed=args.seed)
            else:
                policy = HoldPolicy(env.action_space)
            eps = []
            for i in range(args.episodes):
                stats, frames = run_episode(env, policy, seed=args.seed + i, record=record and i == 0)
                eps.append(stats)
                if frames:
                    video = out / f"eval_{condition}.mp4"
                    imageio.mimwrite(video, frames, fps=env.metadata["render_fps"], macro_block_size=1)
                    print(f"video: {video} ({len(frames)} frames)")
        finally:
            env.close()
        episodes[condition] = eps
        results[condition] = summarize(eps)

    # --- report: table, JSON, plot ---
    who = f"{ckpt} ({meta.get('num_timesteps', '?'):,} steps)" if ckpt else f"{args.policy} policy"
    mode = "" if args.policy != "model" else ", deterministic" if args.deterministic else ", stochastic"
    title = f"{who}: goal={goal}, actions={action_type}, wrist {wrist}, goal timeout {timeout:g} s{mode}"
    print(format_table(results, title))
    report = {
        "policy": args.policy,
        "checkpoint": str(ckpt) if ckpt else None,
        "num_timesteps": meta.get("num_timesteps"),
        "goal": goal,
        "action_type": action_type,
        "wrist": wrist,
        "goal_timeout_s": timeout,
        "training_randomization": meta.get("randomization_applied"),
        "randomized_condition_groups": groups,
        "randomization_available_now": effective_groups({g: True for g in GROUP_FLAGS}),
        "pose_model": str(args.pose_model) if args.pose_model is not None else None,
        "vision_appearance": args.vision_appearance if "vision" in conditions else None,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(args).items()},
        "results": results,
        "episodes": episodes,
    }
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    print(f"results: {out / 'eval.json'}")
    if args.plot:
        print(f"plot: {plot_evaluation(results, out / 'eval.png', title=who)}")
    return report


if __name__ == "__main__":
    main()
