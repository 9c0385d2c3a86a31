"""Evaluate a train_rllib.py checkpoint under evaluate.py's conditions (nominal, randomized, shifted), Table 3 style.

The same env factory (``ppo.envs.make_condition_env``), episode runner (``ppo.rollout.run_episode``), seeds and
summary as ``evaluate.py``; the policy is ``dactyl_rllib.export.RLlibPolicy``, rebuilt from the checkpoint's
pickle-free export (``policy.pt`` + ``normalization.json``): no Ray runtime is started and no pickle is read (the
``[rllib]`` extra must be installed: the module is an RLlib class).

    python examples/evaluate_rllib.py --checkpoint runs/rllib/final                  # 100 episodes, 80 s timeout
    python examples/evaluate_rllib.py --checkpoint runs/rllib/final --episodes 20 --goal-timeout-s 8

Prints the table and writes <out>/eval.json (default <checkpoint>/eval).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from dactyl_rllib.config import groups_of  # noqa: E402
from dactyl_rllib.export import RLlibPolicy  # noqa: E402
from evaluate import format_table  # noqa: E402
from ppo.config import GROUP_FLAGS, parse_dataclass  # noqa: E402
from ppo.envs import make_condition_env  # noqa: E402
from ppo.rollout import run_episode, summarize  # noqa: E402

CONDITIONS = ("nominal", "randomized", "shifted")


@dataclass
class EvalArgs:
    """Evaluate an RLlib Dactyl policy: consecutive successes per episode, as in Dactyl Table 3."""

    checkpoint: Path | None = None
    """checkpoint directory written by train_rllib.py (final/ or checkpoints/step_*/)"""
    conditions: str = "nominal,randomized,shifted"
    """comma-separated conditions: nominal, randomized (training distribution), shifted (held-out world)"""
    episodes: int = 100
    """episodes per condition"""
    goal_timeout_s: float = 80.0
    """simulated seconds without a success before an episode ends (the paper's evaluation: 80; training: 8)"""
    randomization: str | None = None
    """groups of the randomized condition: all or none (default: the training run's)"""
    deterministic: bool = True
    """use the mode of the policy's action distribution"""
    seed: int = 1000
    """seed of episode i is seed + i (the same goals as evaluate.py)"""
    out: Path | None = None
    """output directory (default <checkpoint>/eval)"""


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Evaluate; return the results written to eval.json."""
    args = parse_dataclass(EvalArgs, argv, choices={"randomization": ("all", "none")})
    if args.checkpoint is None:
        raise ValueError("--checkpoint is required (a directory written by examples/train_rllib.py), got None")
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    for c in conditions:
        if c not in CONDITIONS:
            raise ValueError(f"--conditions: unknown condition {c!r}; expected some of {CONDITIONS}")
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    if not args.goal_timeout_s > 0:
        raise ValueError(f"--goal-timeout-s must be > 0 seconds, got {args.goal_timeout_s}")
    torch.set_num_threads(1)
    meta_path = Path(args.checkpoint) / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: missing (--checkpoint must be a directory written by train_rllib.py)")
    meta = json.loads(meta_path.read_text())
    from dactyl_rllib.config import RLlibArgs

    train = RLlibArgs(**{k: v for k, v in meta["args"].items() if k in RLlibArgs.__dataclass_fields__})
    groups = groups_of(train)
    if args.randomization is not None:
        groups = {g: args.randomization == "all" for g in GROUP_FLAGS}
    out = args.out or Path(args.checkpoint) / "eval"
    out.mkdir(parents=True, exist_ok=True)
    results, episodes = {}, {}
    for condition in conditions:
        env = make_condition_env(
            condition, goal=train.goal, action_type=train.action_type, goal_timeout_s=args.goal_timeout_s,
            train_groups=groups, wrist=train.wrist,
        )  # fmt: skip
        try:
            policy = RLlibPolicy(args.checkpoint, env.observation_space, env.action_space, args.deterministic)
            episodes[condition] = [run_episode(env, policy, seed=args.seed + i)[0] for i in range(args.episodes)]
        finally:
            env.close()
        results[condition] = summarize(episodes[condition])
    title = (f"{args.checkpoint} ({meta.get('timesteps', '?'):,} steps, RLlib): goal={train.goal}, "
             f"actions={train.action_type}, wrist {train.wrist}, goal timeout {args.goal_timeout_s:g} s")  # fmt: skip
    print(format_table(results, title))
    report = {"checkpoint": str(args.checkpoint), "num_timesteps": meta.get("timesteps"), "goal": train.goal,
              "action_type": train.action_type, "wrist": train.wrist, "goal_timeout_s": args.goal_timeout_s,
              "randomized_condition_groups": groups, "results": results, "episodes": episodes}  # fmt: skip
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    print(f"results: {out / 'eval.json'}")
    return report


if __name__ == "__main__":
    main()
