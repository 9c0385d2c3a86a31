"""RLlib callbacks on the env runners: each finished Dactyl episode's statistics, sent to the driver.

Every env runner logs one dict per finished episode (consecutive successes, drop, return, length, rotation error)
under ``env_runners/dactyl_episodes`` and each ADR boundary-episode outcome (``info["adr_result"]``) under
``env_runners/adr_results``, both as RLlib ``item_series`` metrics: the driver receives, in each training
result, the lists of the episodes that ended since the previous iteration, and computes the same statistics
as the SB3 run (``ppo.callbacks.DactylMetricsCallback``) from them (:class:`EpisodeWindow`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback

from gym_dactyl.constants import DROP_PENALTY, SUCCESS_BONUS

__all__ = ["ADR_KEY", "EPISODES_KEY", "DactylEpisodeCallback", "EpisodeWindow", "episode_stats", "results_list"]

#: Keys of the per-iteration lists under ``result["env_runners"]``.
EPISODES_KEY = "dactyl_episodes"
ADR_KEY = "adr_results"


def episode_stats(chunks: Iterable[Any]) -> dict[str, Any]:
    """One episode's statistics from its RLlib episode chunks (the final chunk first, as the callback gets them).

    Returns:
        ``return``, ``length``, ``consecutive_successes``, ``dropped``, ``rotation_error_mean`` (over the
        episode's steps) and ``rotation_progress`` (the return without success bonuses and drop penalty, rad).
    """
    chunks = list(chunks)
    ret, length, errors = 0.0, 0, []
    for chunk in chunks:
        ret += float(chunk.get_return())
        length += len(chunk)
        # A chunk's infos are aligned with its observations: the first belongs to the observation before its
        # first step (the reset, or the previous chunk's last step), so [1:] is one info per step of the chunk.
        errors += [float(i["rotation_error"]) for i in chunk.get_infos()[1:] if "rotation_error" in i]
    last = chunks[0].get_infos(-1)
    successes = int(last.get("consecutive_successes", 0))
    dropped = bool(last.get("dropped", False))
    return {
        "return": ret,
        "length": length,
        "consecutive_successes": successes,
        "dropped": dropped,
        "rotation_error_mean": float(np.mean(errors)) if errors else float("nan"),
        "rotation_progress": ret - SUCCESS_BONUS * successes - DROP_PENALTY * float(dropped),
    }


class DactylEpisodeCallback(RLlibCallback):
    """Env-runner side: log each finished episode's :func:`episode_stats` and its ADR result, if any."""

    def on_episode_end(self, *, episode: Any, prev_episode_chunks: list | None = None, metrics_logger: Any = None,
                       **kwargs: Any) -> None:  # fmt: skip
        """Log the episode's statistics (and ``info["adr_result"]``) as ``item_series`` metrics."""
        if metrics_logger is None:
            return
        metrics_logger.log_value(EPISODES_KEY, episode_stats([episode, *(prev_episode_chunks or [])]),
                                 reduce="item_series")  # fmt: skip
        result = episode.get_infos(-1).get("adr_result")
        if result is not None:
            metrics_logger.log_value(ADR_KEY, dict(result), reduce="item_series")


def results_list(result: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The list logged under ``result["env_runners"][key]`` in a training result (empty if none ended)."""
    value = result.get("env_runners", {}).get(key, [])
    return [dict(v) for v in value] if isinstance(value, (list, tuple)) else []


class EpisodeWindow:
    """Driver side: the last ``window`` episodes and the SB3 run's ``metrics.csv`` row over them.

    Args:
        window: number of recent episodes the statistics cover (SB3 run: 100).
    """

    def __init__(self, window: int = 100) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 episodes, got {window}")
        self.episodes: deque[dict[str, Any]] = deque(maxlen=window)
        self.total = 0

    def add(self, episodes: Iterable[Mapping[str, Any]]) -> None:
        """Append finished episodes (dicts of :func:`episode_stats`)."""
        for e in episodes:
            self.episodes.append(dict(e))
            self.total += 1

    def row(self) -> dict[str, float]:
        """Statistics of the window: the columns of ``ppo.callbacks.METRIC_FIELDS`` after ``wall_s`` (NaN if empty).

        ``rotation_error_mean`` is the mean of the episodes' per-step means (SB3's is over the rollout's steps).
        """
        eps = list(self.episodes)
        nan = float("nan")

        def mean(key: str) -> float:
            vals = [float(e[key]) for e in eps if np.isfinite(float(e[key]))]
            return float(np.mean(vals)) if vals else nan

        cs = np.array([e["consecutive_successes"] for e in eps], dtype=float)
        return {
            "episodes": self.total,
            "window": len(eps),
            "return_mean": mean("return"),
            "rotation_progress_mean": mean("rotation_progress"),
            "consecutive_successes_mean": float(cs.mean()) if eps else nan,
            "consecutive_successes_std": float(cs.std()) if eps else nan,
            "consecutive_successes_median": float(np.median(cs)) if eps else nan,
            "success_rate": float(np.mean(cs > 0)) if eps else nan,
            "drop_rate": mean("dropped"),
            "episode_length_mean": mean("length"),
            "rotation_error_mean": mean("rotation_error_mean"),
        }
