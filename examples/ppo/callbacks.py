"""SB3 callbacks: Dactyl metrics (TensorBoard + CSV/JSON lines) and periodic atomic checkpoints."""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from gym_dactyl.constants import DROP_PENALTY, SUCCESS_BONUS
from ppo.checkpoint import save_checkpoint

__all__ = [
    "ADRCallback",
    "AtomicCheckpointCallback",
    "DactylMetricsCallback",
    "METRIC_FIELDS",
    "WallClockLimit",
    "rotation_progress",
]

#: Columns of ``metrics.csv`` (one row per rollout; episode statistics over the last ``window`` episodes).
METRIC_FIELDS: tuple[str, ...] = (
    "timesteps",
    "wall_s",
    "episodes",
    "window",
    "return_mean",
    "rotation_progress_mean",
    "consecutive_successes_mean",
    "consecutive_successes_std",
    "consecutive_successes_median",
    "success_rate",
    "drop_rate",
    "episode_length_mean",
    "rotation_error_mean",
)


def rotation_progress(episode: dict[str, float]) -> float:
    """Return minus the success bonuses and the drop penalty: the summed rotation-progress reward (rad)."""
    return (
        episode["return"]
        - SUCCESS_BONUS * episode["consecutive_successes"]
        - DROP_PENALTY * episode["dropped"]
    )


class DactylMetricsCallback(BaseCallback):
    """Log Dactyl's metrics from the env infos to TensorBoard and to ``metrics.csv`` / ``metrics.jsonl``.

    Per finished episode: consecutive successes (the paper's metric), whether it ended in a drop, its
    return and length, and its rotation progress: the return without the success bonuses and the drop
    penalty, i.e. the sum of r_t = d_t - d_{t+1} (radians turned towards the goals). Per step: the
    rotation error. At each rollout end the statistics over the last
    ``window`` episodes (and the rotation error over the rollout's steps) are recorded under
    ``dactyl/`` and appended as one row; ``success_rate`` is the share of episodes with >= 1 success.

    Args:
        csv_path: CSV file to append to (header written if new).
        jsonl_path: JSON-lines file to append to.
        window: number of recent episodes the statistics cover.
        print_every: print a one-line summary every this many rollouts (0: never).
    """

    def __init__(self, csv_path: Path, jsonl_path: Path, window: int = 100, print_every: int = 0) -> None:
        super().__init__()
        self.print_every = int(print_every)
        self._rollouts = 0
        self.csv_path = Path(csv_path)
        self.jsonl_path = Path(jsonl_path)
        self.episodes: deque[dict[str, float]] = deque(maxlen=window)
        self.n_episodes = 0
        self._rot_sum = 0.0
        self._rot_n = 0
        self._t0 = time.time()

    def _on_training_start(self) -> None:
        self._t0 = time.time()
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)

    def _on_step(self) -> bool:
        infos: list[dict[str, Any]] = self.locals["infos"]
        dones = self.locals["dones"]
        for info, done in zip(infos, dones, strict=True):
            err = info.get("rotation_error")
            if err is not None:
                self._rot_sum += float(err)
                self._rot_n += 1
            if done:
                ep = info.get("episode", {})
                self.episodes.append(
                    {
                        "consecutive_successes": float(info.get("consecutive_successes", 0)),
                        "dropped": float(bool(info.get("dropped", False))),
                        "return": float(ep.get("r", np.nan)),
                        "length": float(ep.get("l", np.nan)),
                    }
                )
                self.n_episodes += 1
        return True

    def row(self) -> dict[str, float]:
        """The current statistics as one ``metrics.csv`` row."""
        eps = list(self.episodes)
        cs = np.array([e["consecutive_successes"] for e in eps]) if eps else np.array([np.nan])
        row = {
            "timesteps": int(self.num_timesteps),
            "wall_s": round(time.time() - self._t0, 2),
            "episodes": self.n_episodes,
            "window": len(eps),
            "return_mean": float(np.mean([e["return"] for e in eps])) if eps else np.nan,
            "rotation_progress_mean": float(np.mean([rotation_progress(e) for e in eps])) if eps else np.nan,
            "consecutive_successes_mean": float(np.mean(cs)),
            "consecutive_successes_std": float(np.std(cs)),
            "consecutive_successes_median": float(np.median(cs)),
            "success_rate": float(np.mean(cs > 0)) if eps else np.nan,
            "drop_rate": float(np.mean([e["dropped"] for e in eps])) if eps else np.nan,
            "episode_length_mean": float(np.mean([e["length"] for e in eps])) if eps else np.nan,
            "rotation_error_mean": self._rot_sum / self._rot_n if self._rot_n else np.nan,
        }
        return row

    def _on_rollout_end(self) -> None:
        row = self.row()
        self._rot_sum, self._rot_n = 0.0, 0
        for key in METRIC_FIELDS[4:]:
            if np.isfinite(row[key]):
                self.logger.record(f"dactyl/{key}", row[key])
        new = not self.csv_path.exists()
        with self.csv_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=METRIC_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)
        with self.jsonl_path.open("a") as f:
            clean = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            f.write(json.dumps(clean))
            f.write("\n")
        self._rollouts += 1
        if self.print_every and self._rollouts % self.print_every == 0:
            print(
                f"[{row['wall_s']:7.0f}s] {row['timesteps']:>10,} steps | return {row['return_mean']:7.2f} | "
                f"rot. progress {row['rotation_progress_mean']:6.3f} | "
                f"consec. successes {row['consecutive_successes_mean']:5.2f} | "
                f"success rate {row['success_rate']:.2f} | "
                f"drops {row['drop_rate']:.2f} | rot. err {row['rotation_error_mean']:.3f}",
                flush=True,
            )


class AtomicCheckpointCallback(BaseCallback):
    """Every ``every`` environment steps, write an atomic checkpoint ``<directory>/step_<timesteps>``.

    The check runs at the start of each rollout, i.e. after the previous PPO update, so a checkpoint
    holds a model that has been trained on every step it counts. ``keep`` bounds the number kept.

    Args:
        directory: where checkpoints go.
        every: environment steps between checkpoints (> 0).
        meta: callable returning extra metadata for ``meta.json``.
        keep: number of most recent checkpoints to keep (0: all).
    """

    def __init__(
        self, directory: Path, every: int, meta: Callable[[], dict[str, Any]] | None = None, keep: int = 5
    ) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1 steps, got {every}")
        self.directory = Path(directory)
        self.every = int(every)
        self.meta = meta or dict
        self.keep = int(keep)
        self._last = 0
        self.saved: list[Path] = []

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps - self.num_timesteps % self.every

    def _on_rollout_start(self) -> None:
        if self.num_timesteps - self._last >= self.every:
            self._last = self.num_timesteps - self.num_timesteps % self.every
            path = save_checkpoint(self.directory / f"step_{self.num_timesteps:010d}", self.model, self.meta())
            self.saved.append(path)
            if self.verbose:
                print(f"checkpoint: {path}")
            if self.keep and len(self.saved) > self.keep:
                shutil.rmtree(self.saved.pop(0), ignore_errors=True)

    def _on_step(self) -> bool:
        return True


class WallClockLimit(BaseCallback):
    """Stop training (cleanly: ``learn`` returns) once ``minutes`` of wall-clock time have passed."""

    def __init__(self, minutes: float) -> None:
        super().__init__()
        if not minutes > 0:
            raise ValueError(f"minutes must be > 0, got {minutes}")
        self.seconds = 60.0 * minutes
        self._t0 = time.time()
        self.stopped = False

    def _on_training_start(self) -> None:
        self._t0 = time.time()

    def _on_step(self) -> bool:
        if time.time() - self._t0 >= self.seconds:
            self.stopped = True
            return False
        return True


class ADRCallback(BaseCallback):
    """The training process's side of Automatic Domain Randomization (``wrappers.AutomaticDomainRandomization``).

    The sub-envs (``update=False``) report each boundary episode's outcome in ``info["adr_result"]``; this
    callback feeds them, in sub-env order, to the one :class:`wrappers.ADRState` and pushes the ranges to every
    sub-env (``env_method("set_adr_ranges")``) whenever one moved, and once at the start (a resumed state).
    At each rollout end the entropy, counters and every range go to TensorBoard (``adr/``) and one row of
    ``csv_path``.

    Args:
        state: the ADR state (saved with the checkpoints by the caller's ``meta``).
        csv_path: CSV file to append to (header written if new).
    """

    def __init__(self, state: Any, csv_path: Path) -> None:
        super().__init__()
        self.state = state
        self.csv_path = Path(csv_path)
        self.fields = ["timesteps", "wall_s", *state.row()]
        self.pushes = 0
        self._t0 = time.time()

    def _on_training_start(self) -> None:
        self._t0 = time.time()
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        self.state.push(self.training_env)

    def _on_step(self) -> bool:
        if self.state.record_infos(self.locals["infos"]):
            self.state.push(self.training_env)
            self.pushes += 1
        return True

    def _on_rollout_end(self) -> None:
        row = self.state.row()
        for key in ("entropy", "entropy_relative", *self.state.counts):
            self.logger.record(f"adr/{key}", row[key])
        for name in self.state.ranges:
            self.logger.record(f"adr_range/{name}_low", row[f"{name}_low"])
            self.logger.record(f"adr_range/{name}_high", row[f"{name}_high"])
        new = not self.csv_path.exists()
        with self.csv_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields)
            if new:
                writer.writeheader()
            writer.writerow({"timesteps": int(self.num_timesteps), "wall_s": round(time.time() - self._t0, 2), **row})
