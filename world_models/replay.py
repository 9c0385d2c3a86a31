"""FIFO sequence replay with episode boundaries, bounded in steps, savable as ``.npz``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from world_models.spaces import ObsSpec

__all__ = ["ReplayBuffer"]

_META = ("pos", "size", "total")


class ReplayBuffer:
    """Flat ring buffer of steps; samples contiguous windows that may cross episode boundaries.

    Each row holds the observation, the action taken at it (model units; zeros at the last step of an
    episode), the reward received on arriving at it, ``is_first`` and ``is_terminal``. Truncated episodes
    end with ``is_terminal=False``; the next row then has ``is_first=True``, which resets the RSSM.

    With ``latent=(deter, stoch_dim)`` each row also keeps the model's posterior latent at that step
    (float16; written when acting, overwritten by :meth:`update_latents` after training), the replay
    context of the official ``agent.py::Agent._apply_replay_context`` (``replay_context: 1``).

    Example:
        >>> from gymnasium import spaces
        >>> spec = ObsSpec.from_space(spaces.Box(-1, 1, (3,)))
        >>> rb = ReplayBuffer(spec, action_dim=1, capacity=100)
        >>> for t in range(10):
        ...     rb.add({"obs": np.zeros((3,), np.float32)}, np.zeros(1), 0.0, t == 0, False)
        >>> rb.sample(2, 4, np.random.default_rng(0))["obs"].shape
        (2, 4, 3)
    """

    def __init__(
        self, obs_spec: ObsSpec, action_dim: int, capacity: int, latent: tuple[int, int] | None = None
    ) -> None:
        if capacity < 1:
            raise ValueError(f"ReplayBuffer capacity={capacity!r} is invalid: expected a positive int")
        self.capacity = capacity
        self.obs_spec = obs_spec
        self.data: dict[str, np.ndarray] = {}
        for key, size in obs_spec.vectors.items():
            self.data[key] = np.zeros((capacity, size), np.float32)
        for key, shape in obs_spec.images.items():
            self.data[key] = np.zeros((capacity, *shape), np.uint8)
        self.data["action"] = np.zeros((capacity, action_dim), np.float32)
        self.data["reward"] = np.zeros((capacity,), np.float32)
        self.data["is_first"] = np.zeros((capacity,), bool)
        self.data["is_terminal"] = np.zeros((capacity,), bool)
        self.latent = latent
        if latent is not None:
            self.data["deter"] = np.zeros((capacity, latent[0]), np.float16)
            self.data["stoch"] = np.zeros((capacity, latent[1]), np.float16)
        self.pos = 0
        self.size = 0
        self.total = 0

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: float,
        is_first: bool,
        is_terminal: bool,
        latent: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Append one step (``obs`` values without batch dim, or with a batch dim of 1).

        ``latent``: ``(deter, stoch)`` posterior at this step, stored when the buffer keeps latents
        (zeros when omitted).
        """
        i = self.pos
        if self.latent is not None:
            if latent is None:
                self.data["deter"][i] = 0
                self.data["stoch"][i] = 0
            else:
                self.data["deter"][i] = np.asarray(latent[0]).reshape(-1)
                self.data["stoch"][i] = np.asarray(latent[1]).reshape(-1)
        for key in self.obs_spec.keys:
            self.data[key][i] = np.asarray(obs[key]).reshape(self.data[key].shape[1:])
        self.data["action"][i] = action
        self.data["reward"][i] = reward
        self.data["is_first"][i] = is_first
        self.data["is_terminal"][i] = is_terminal
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        self.total += 1

    def sample(self, batch: int, seq_len: int, rng: np.random.Generator, context: int = 0) -> dict[str, np.ndarray]:
        """Uniformly sample ``batch`` windows of ``context + seq_len`` consecutive stored steps.

        Args:
            batch: Windows.
            seq_len: Steps to train on per window.
            rng: Sampler.
            context: Leading steps whose stored latent starts the window (0: none, and ``is_first[:, 0]``
                is set True so that the RSSM starts fresh).

        Returns:
            Dict of ``(batch, context + seq_len, ...)`` arrays, plus ``index`` (their rows, for
            :meth:`update_latents`).
        """
        seq_len = seq_len + context
        if self.size < seq_len:
            raise ValueError(f"ReplayBuffer holds {self.size} steps, fewer than seq_len={seq_len}")
        oldest = self.pos if self.size == self.capacity else 0
        starts = rng.integers(0, self.size - seq_len + 1, size=batch)
        idx = (oldest + starts[:, None] + np.arange(seq_len)[None]) % self.capacity
        out = {k: v[idx] for k, v in self.data.items()}
        if not context:
            out["is_first"][:, 0] = True
        out["index"] = idx
        return out

    def update_latents(self, index: np.ndarray, deter: np.ndarray, stoch: np.ndarray) -> None:
        """Overwrite the stored latents of rows ``index`` (refreshed posteriors after a training step)."""
        if self.latent is None:
            raise ValueError("update_latents: this ReplayBuffer was built without latent=(deter, stoch_dim)")
        self.data["deter"][index] = deter
        self.data["stoch"][index] = stoch

    def save(self, path: str | os.PathLike) -> None:
        """Write the stored steps to ``path`` (npz) atomically."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        arrays = {k: v[: self.size] for k, v in self.data.items()}
        meta = np.array([self.pos, self.size, self.total, self.capacity], np.int64)
        with open(tmp, "wb") as f:
            np.savez(f, _meta=meta, **arrays)
        os.replace(tmp, path)

    def load(self, path: str | os.PathLike) -> None:
        """Restore steps from :meth:`save` output; keeps the newest ones if this buffer is smaller."""
        with np.load(path) as f:
            pos, size, total, capacity = (int(x) for x in f["_meta"])
            arrays = {k: f[k] for k in self.data if k in f}  # files without latents load with zero latents
        # chronological order of the saved ring
        order = np.arange(size) if size < capacity else (pos + np.arange(size)) % capacity
        keep = order[-self.capacity :]
        n = len(keep)
        for k, v in arrays.items():
            self.data[k][:n] = v[keep]
        self.size = n
        self.pos = n % self.capacity
        self.total = total
