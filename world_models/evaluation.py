"""Evaluating a Dreamer agent (or a baseline policy) episode by episode, and comparing two sets of episodes.

One episode loop for everything that evaluates a Dreamer: ``examples/evaluate_dreamer.py`` (checkpoints and the
``random`` / ``hold`` / ``oracle`` baselines), ``examples/train_dreamer.py``'s periodic evaluation and
``examples/dreamer_dactyl_report.py``'s criterion. On Dactyl-v0 (``info["consecutive_successes"]`` present) an
episode also records the Dactyl Table-3 metrics: consecutive successes, whether the block was dropped, and the
rotation progress (the return without the +5 success bonuses and the −20 drop penalty: radians turned towards
the goals).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from gym_dactyl.constants import DROP_PENALTY, SUCCESS_BONUS

from .agent import Dreamer

__all__ = ["BASELINE_POLICIES", "compare", "evaluate_policy", "hold_action", "mean_se", "run_episode", "summarize"]

#: Policies given by name instead of an agent: uniform random actions, keep still, the env's ``oracle_action()``.
BASELINE_POLICIES: tuple[str, ...] = ("random", "hold", "oracle")


def hold_action(space: gym.Space) -> np.ndarray:
    """The keep-still action: 0 for a Box (which must contain it), the middle value of a MultiDiscrete.

    Raises:
        ValueError: a Box without 0, or another kind of space.
    """
    if isinstance(space, gym.spaces.MultiDiscrete):
        return (space.nvec // 2).astype(space.dtype)
    if isinstance(space, gym.spaces.Box):
        zero = np.zeros(space.shape, dtype=space.dtype)
        if not space.contains(zero):
            raise ValueError(f"--policy hold needs 0 inside the Box action space, got {space}")
        return zero
    raise ValueError(f"--policy hold supports Box and MultiDiscrete action spaces, got {space}")


def run_episode(env: gym.Env, agent: Dreamer | str, seed: int, deterministic: bool) -> dict[str, Any]:
    """One episode, reset with ``seed``, with a Dreamer agent or a policy of :data:`BASELINE_POLICIES`.

    Returns:
        ``return`` and ``length``; on Dactyl-v0 also ``consecutive_successes``, ``dropped`` and
        ``rotation_progress``.

    Raises:
        ValueError: ``agent`` is a string outside :data:`BASELINE_POLICIES`.
    """
    if isinstance(agent, str) and agent not in BASELINE_POLICIES:
        raise ValueError(f"agent must be a Dreamer or one of {BASELINE_POLICIES}, got {agent!r}")
    obs, info = env.reset(seed=seed)
    state, done, ret, length = None, False, 0.0, 0
    hold = hold_action(env.action_space) if agent == "hold" else None
    while not done:
        if agent == "random":
            action = env.action_space.sample()
        elif hold is not None:
            action = hold.copy()
        elif agent == "oracle":
            action = env.unwrapped.oracle_action()  # type: ignore[attr-defined]
        else:
            action, state = agent.predict(obs, state=state, deterministic=deterministic)  # type: ignore[union-attr]
        obs, reward, terminated, truncated, info = env.step(action)
        ret += float(reward)
        length += 1
        done = terminated or truncated
    stats: dict[str, Any] = {"return": ret, "length": length}
    if "consecutive_successes" in info:  # Dactyl-v0
        successes, dropped = int(info["consecutive_successes"]), bool(info.get("dropped", False))
        stats.update(
            consecutive_successes=successes,
            dropped=dropped,
            rotation_progress=ret - SUCCESS_BONUS * successes - DROP_PENALTY * float(dropped),
        )
    return stats


def evaluate_policy(
    env: gym.Env, agent: Dreamer | str, episodes: int, seed: int, deterministic: bool
) -> list[dict[str, Any]]:
    """Run ``episodes`` episodes (:func:`run_episode`), episode i reset with ``seed + i``.

    Random actions come from the action space seeded with ``seed``, so a baseline measured next to a model is
    the one its own run measures (and examples/evaluate.py's random baseline is reproduced exactly).

    Raises:
        ValueError: ``episodes`` below 1, or an unknown policy name.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if isinstance(agent, str):
        env.action_space.seed(seed)
    return [run_episode(env, agent, seed + i, deterministic) for i in range(episodes)]


def summarize(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """Summarize episodes: return mean / std (population) / median and mean length.

    On Dactyl-v0 also the consecutive successes' mean / std / median, the success rate (share of episodes with at
    least one), the drop rate and the rotation progress.
    """
    returns = np.array([e["return"] for e in episodes])
    summary = {
        "episodes": len(episodes),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "return_median": float(np.median(returns)),
        "length_mean": float(np.mean([e["length"] for e in episodes])),
    }
    if "consecutive_successes" in episodes[0]:
        cs = np.array([e["consecutive_successes"] for e in episodes], dtype=float)
        summary.update(
            consecutive_successes_mean=float(cs.mean()),
            consecutive_successes_std=float(cs.std()),
            consecutive_successes_median=float(np.median(cs)),
            success_rate=float(np.mean(cs > 0)),
            drop_rate=float(np.mean([e["dropped"] for e in episodes])),
            rotation_progress_mean=float(np.mean([e["rotation_progress"] for e in episodes])),
        )
    return summary


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (``std(ddof=1) / sqrt(n)``; 0 for one value).

    Raises:
        ValueError: no values.
    """
    x = np.asarray(values, float)
    if x.size == 0:
        raise ValueError("no values")
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    return float(x.mean()), se


def compare(agent: list[dict[str, Any]], baseline: list[dict[str, Any]], metric: str) -> dict[str, float | bool]:
    """Agent minus baseline in ``metric`` over their episodes.

    Returns:
        Both means and standard errors, the difference, its standard error (``sqrt(s1²/n1 + s2²/n2)``, sample
        standard deviations), ``z`` (their ratio) and ``beats_by_3_se`` (``z >= 3``).
    """
    a_mean, a_se = mean_se([e[metric] for e in agent])
    b_mean, b_se = mean_se([e[metric] for e in baseline])
    diff, se = a_mean - b_mean, float(np.hypot(a_se, b_se))
    z = diff / se if se > 0 else (float("inf") if diff > 0 else (0.0 if diff == 0 else float("-inf")))
    return {
        "agent_mean": a_mean,
        "agent_se": a_se,
        "baseline_mean": b_mean,
        "baseline_se": b_se,
        "difference": diff,
        "difference_se": se,
        "z": z,
        "beats_by_3_se": bool(z >= 3.0),
    }
