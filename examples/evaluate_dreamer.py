"""Evaluate a Dreamer checkpoint (or uniform random actions) on a Gymnasium env, episode by episode.

    python examples/evaluate_dreamer.py --checkpoint runs/dreamer_dactyl_z/checkpoint.pt --env Dactyl-v0 \
        --env-kwargs '{"goal": "z", "action_type": "continuous", "goal_timeout_s": 8.0}' --episodes 50 --seed 1000
    python examples/evaluate_dreamer.py --policy random --env PixelReach-v0 --episodes 20 --seed 20000
    python examples/evaluate_dreamer.py --checkpoint runs/pixel_reach/checkpoint.pt --env PixelReach-v0 \
        --episodes 50 --seed 20000 --baselines random,oracle --out runs/pixel_reach_eval.json
    python examples/evaluate_dreamer.py --policy hold --env Dactyl-v0 \
        --env-kwargs '{"goal": "z", "action_type": "continuous", "goal_timeout_s": 8.0}' --episodes 50 --seed 1000

Episode i is reset with seed ``seed + i``; the random policy's action space is seeded with ``seed`` (as in
examples/evaluate.py, so the random baselines there are reproduced exactly). ``hold`` is the do-nothing
baseline of examples/evaluate.py: action 0 for a Box (on Dactyl-v0, with the default ``relative_to="target"``,
the hand keeps its joint targets), the middle value of each MultiDiscrete dimension. Reports the return (mean ± std /
median) and, on Dactyl-v0 (``info["consecutive_successes"]`` present), the Dactyl Table-3 metrics:
consecutive successes, success rate, drop rate and rotation progress (the return without the +5 success
bonuses and the −20 drop penalty: radians turned towards the goals). Writes ``--out`` (JSON) when given.

``--baselines random,oracle`` evaluates those policies too, in the same run, on the same reset seeds (each
exactly as its own ``--policy`` run would), and reports the policy's mean return minus each baseline's with
its standard error (``sqrt(s1²/n1 + s2²/n2)``, sample standard deviations) and the ratio of the two (``z``).
The JSON then has ``baselines`` (per baseline ``summary`` and ``episodes``) and ``comparison``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from train_dreamer import build_parser, parse_env_kwargs  # also registers Dactyl-v0 and PixelReach-v0

from world_models import Dreamer
from world_models.evaluation import compare, evaluate_policy, summarize

POLICIES = ("model", "random", "hold", "oracle")
SUCCESS_BONUS, DROP_PENALTY = 5.0, -20.0  # Dactyl-v0's reward terms (gym_dactyl.constants)


@dataclass
class Args:
    checkpoint: str = ""
    """Dreamer checkpoint written by train_dreamer.py (needed with --policy model)."""
    policy: str = "model"
    """model (the checkpoint), random (uniform random actions), hold (the zero / middle action: keep still) or
    oracle (env.unwrapped.oracle_action(), e.g. PixelReach-v0's greedy move towards the target, which reads the
    true state: a reference ceiling)."""
    env: str = "Dactyl-v0"
    """Gymnasium environment id."""
    env_kwargs: str = "{}"
    """JSON object of keyword arguments for gym.make."""
    episodes: int = 20
    """Number of episodes."""
    seed: int = 1000
    """Episode i is reset with seed + i."""
    deterministic: bool = True
    """Act with the actor's mode (model only)."""
    out: str = ""
    """Write the per-episode results and the summary to this JSON file."""
    baselines: str = ""
    """Comma-separated policies (random, oracle) evaluated in the same run on the same seeds, for comparison."""


def parse_args(argv: list[str] | None = None) -> Args:
    args = Args(**vars(build_parser(Args, __doc__).parse_args(argv)))
    if args.policy not in POLICIES:
        raise ValueError(f"--policy must be one of {POLICIES}, got {args.policy!r}")
    if args.policy == "model" and not args.checkpoint:
        raise ValueError("--checkpoint is required with --policy model (or pass --policy random / hold)")
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    baselines = baseline_names(args.baselines)
    if args.policy in baselines:
        raise ValueError(f"--baselines {args.baselines!r} repeats --policy {args.policy!r}")
    return args


def baseline_names(text: str) -> list[str]:
    """``--baselines`` → list of policy names (each one of random/hold/oracle, no repeats)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    allowed = tuple(p for p in POLICIES if p != "model")
    for name in names:
        if name not in allowed:
            raise ValueError(f"--baselines must be a comma-separated subset of {allowed}, got {text!r} ({name!r})")
    if len(set(names)) != len(names):
        raise ValueError(f"--baselines must not repeat a policy, got {text!r}")
    return names


def _print_summary(who: str, summary: dict[str, float]) -> None:
    print(
        f"  {who}: return {summary['return_mean']:.2f} ± {summary['return_std']:.2f} / median "
        f"{summary['return_median']:.2f}, length {summary['length_mean']:.1f}"
    )
    if "consecutive_successes_mean" in summary:
        print(
            f"    consecutive successes {summary['consecutive_successes_mean']:.2f} ± "
            f"{summary['consecutive_successes_std']:.2f} / median {summary['consecutive_successes_median']:g}, "
            f"success rate {summary['success_rate']:.2f}, drop rate {summary['drop_rate']:.2f}, "
            f"rotation progress {summary['rotation_progress_mean']:+.2f} rad"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(1)
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    env = gym.make(args.env, **env_kwargs)
    agent: Dreamer | str = args.policy
    if args.policy == "model":
        agent = Dreamer.load(args.checkpoint, env=env)
    for name in (args.policy, *baseline_names(args.baselines)):
        if name == "oracle" and not hasattr(env.unwrapped, "oracle_action"):
            raise ValueError(
                f"--policy/--baselines oracle needs an env with an oracle_action() method; {args.env} has none"
            )
    episodes = evaluate_policy(env, agent, args.episodes, args.seed, args.deterministic)
    summary = summarize(episodes)
    if isinstance(agent, Dreamer):
        who = f"{args.checkpoint} ({agent.num_timesteps} env steps)"
        mode = ", deterministic" if args.deterministic else ", stochastic"
    else:
        who, mode = f"{agent} actions", ""
    print(f"{args.env} {env_kwargs}, seeds {args.seed}..{args.seed + args.episodes - 1}")
    _print_summary(f"{who}{mode}", summary)
    report: dict[str, Any] = {"args": dataclasses.asdict(args), "summary": summary, "episodes": episodes}
    if isinstance(agent, Dreamer):
        report["num_timesteps"] = agent.num_timesteps
        report["num_updates"] = agent.num_updates
    if args.baselines:
        report["baselines"], report["comparison"] = {}, {}
        for name in baseline_names(args.baselines):
            base_episodes = evaluate_policy(env, name, args.episodes, args.seed, deterministic=True)
            base = summarize(base_episodes)
            report["baselines"][name] = {"summary": base, "episodes": base_episodes}
            c = compare(episodes, base_episodes, "return")
            cmp = {"return_difference": c["difference"], "standard_error": c["difference_se"], "z": c["z"]}
            report["comparison"][name] = cmp
            _print_summary(f"{name} actions", base)
            print(
                f"    {args.policy} − {name}: {cmp['return_difference']:+.2f} ± {cmp['standard_error']:.2f} "
                f"(z = {cmp['z']:.1f})"
            )
    env.close()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"results: {args.out}")
    return report


if __name__ == "__main__":
    main()
