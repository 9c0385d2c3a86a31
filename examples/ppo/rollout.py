"""Run single-env episodes with a trained policy (or a random one) and collect Dactyl statistics."""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.vec_env import VecNormalize

from gym_dactyl import constants as C
from gym_dactyl import rotations as R

__all__ = ["HoldPolicy", "ModelPolicy", "RandomPolicy", "observed_pose_error", "run_episode", "summarize"]


class Policy(Protocol):
    def reset(self) -> None: ...

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...


class ModelPolicy:
    """A RecurrentPPO model with its (frozen) VecNormalize statistics, stepped one observation at a time.

    Args:
        model: the trained model.
        vecnorm: the VecNormalize holding the training statistics (only ``normalize_obs`` is used).
        deterministic: take the mode of the action distribution instead of sampling.
    """

    def __init__(self, model: RecurrentPPO, vecnorm: VecNormalize, deterministic: bool = True) -> None:
        self.model = model
        self.vecnorm = vecnorm
        self.deterministic = deterministic
        self.reset()

    def reset(self) -> None:
        """Start a new episode: zero LSTM state."""
        self.state: tuple[np.ndarray, ...] | None = None
        self.episode_start = np.ones((1,), dtype=bool)

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Normalise ``obs`` with the training statistics and return the policy's action."""
        batch = self.vecnorm.normalize_obs({k: np.asarray(v)[None] for k, v in obs.items()})
        action, self.state = self.model.predict(
            batch, state=self.state, episode_start=self.episode_start, deterministic=self.deterministic
        )
        self.episode_start = np.zeros((1,), dtype=bool)
        return action[0]


class RandomPolicy:
    """Uniformly random actions from ``action_space`` (seeded)."""

    def __init__(self, action_space: gym.Space, seed: int | None = None) -> None:
        self.action_space = action_space
        self.action_space.seed(seed)

    def reset(self) -> None:
        """Nothing to reset."""

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """A random action."""
        return self.action_space.sample()


class HoldPolicy:
    """The do-nothing baseline: relative action 0 (the middle bin for discrete actions) holds the hand still."""

    def __init__(self, action_space: gym.Space) -> None:
        if isinstance(action_space, gym.spaces.MultiDiscrete):
            self.action = (action_space.nvec // 2).astype(action_space.dtype)
        elif isinstance(action_space, gym.spaces.Box):
            self.action = np.zeros(action_space.shape, dtype=action_space.dtype)
        else:
            raise ValueError(f"HoldPolicy supports Box and MultiDiscrete action spaces, got {action_space}")

    def reset(self) -> None:
        """Nothing to reset."""

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The zero action."""
        return self.action.copy()


def run_episode(
    env: gym.Env, policy: Policy, seed: int | None = None, record: bool = False, max_steps: int = 1_000_000
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Run one episode.

    Args:
        env: a Dactyl env (``render_mode="rgb_array"`` when ``record``).
        policy: object with ``reset()`` and ``act(obs)``.
        seed: reset seed.
        record: collect rendered frames.
        max_steps: safety bound on the episode length.

    Returns:
        ``(stats, frames)`` with stats ``consecutive_successes``, ``dropped``, ``length``, ``return``,
        ``rotation_progress`` (the return without success bonuses and drop penalty: radians turned towards
        the goals), ``rotation_error_mean``, ``final_rotation_error``, ``end`` (dropped / timeout / max_successes /
        physics_error), and ``pose_error_mm`` / ``pose_error_deg``: the mean distance between the block pose
        the policy was given (``object_pos`` / ``object_quat``: noisy, or a vision estimate) and the true one
        (the clean ``state``), over the observations it acted on.
    """
    obs, info = env.reset(seed=seed)
    policy.reset()
    frames: list[np.ndarray] = [env.render()] if record else []
    ret, length, errors, pos_err, rot_err = 0.0, 0, [], [], []
    terminated = truncated = False
    while not (terminated or truncated) and length < max_steps:
        mm, deg = observed_pose_error(obs)
        pos_err.append(mm)
        rot_err.append(deg)
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        ret += float(reward)
        length += 1
        errors.append(float(info["rotation_error"]))
        if record:
            frames.append(env.render())
    if info.get("dropped"):
        end = "dropped"
    elif "physics_error" in info:
        end = "physics_error"
    elif terminated:
        end = "max_successes"
    else:
        end = "timeout"
    stats = {
        "consecutive_successes": int(info["consecutive_successes"]),
        "dropped": bool(info.get("dropped", False)),
        "length": length,
        "return": ret,
        "rotation_progress": ret - C.SUCCESS_BONUS * int(info["consecutive_successes"])
        - C.DROP_PENALTY * float(bool(info.get("dropped", False))),
        "rotation_error_mean": float(np.mean(errors)) if errors else float("nan"),
        "final_rotation_error": float(info["rotation_error"]),
        "end": end,
        "pose_error_mm": float(np.mean(pos_err)) if pos_err else float("nan"),
        "pose_error_deg": float(np.mean(rot_err)) if rot_err else float("nan"),
    }
    return stats, frames


def observed_pose_error(obs: dict[str, np.ndarray]) -> tuple[float, float]:
    """Distance (mm) and angle (degrees) between the observed block pose and the true one in ``obs["state"]``."""
    state = np.asarray(obs["state"], dtype=np.float64)
    true_pos, true_quat = state[C.STATE_LAYOUT["object_pos"]], state[C.STATE_LAYOUT["object_quat"]]
    mm = 1000.0 * float(np.linalg.norm(np.asarray(obs["object_pos"], dtype=np.float64) - true_pos))
    deg = float(np.rad2deg(R.rotation_angle(np.asarray(obs["object_quat"], dtype=np.float64), true_quat)))
    return mm, deg


def summarize(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """Table-3-style summary: consecutive successes mean, std, median; drop rate; mean rotation error.

    ``consecutive_successes_std`` is the population standard deviation (ddof=0) of the per-episode counts;
    ``consecutive_successes_sem`` the standard error of the mean, sample std (ddof=1) / sqrt(n) (0 for n = 1).
    """
    cs = np.array([e["consecutive_successes"] for e in episodes], dtype=float)
    sem = float(cs.std(ddof=1) / np.sqrt(len(cs))) if len(cs) > 1 else 0.0
    return {
        "episodes": len(episodes),
        "consecutive_successes_mean": float(cs.mean()),
        "consecutive_successes_std": float(cs.std()),
        "consecutive_successes_sem": sem,
        "consecutive_successes_median": float(np.median(cs)),
        "success_rate": float(np.mean(cs > 0)),
        "drop_rate": float(np.mean([e["dropped"] for e in episodes])),
        "rotation_error_mean": float(np.mean([e["rotation_error_mean"] for e in episodes])),
        "episode_length_mean": float(np.mean([e["length"] for e in episodes])),
        "return_mean": float(np.mean([e["return"] for e in episodes])),
        "rotation_progress_mean": float(np.mean([e["rotation_progress"] for e in episodes])),
        "pose_error_mm_mean": float(np.mean([e["pose_error_mm"] for e in episodes])),
        "pose_error_deg_mean": float(np.mean([e["pose_error_deg"] for e in episodes])),
    }
