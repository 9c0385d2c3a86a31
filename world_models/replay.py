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

    Example:
        >>> from gymnasium import spaces
        >>> spec = ObsSpec.from_space(spaces.Box(-1, 1, (3,)))
        >>> rb = ReplayBuffer(spec, action_dim=1, capacity=100)
        >>> for t in range(10):
        ...     rb.add({"obs": np.zeros((3,), np.float32)}, np.zeros(1), 0.0, t == 0, False)
        >>> rb.sample(2, 4, np.random.default_rng(0))["obs"].shape
        (2, 4, 3)
    """

    def __init__(self, obs_spec: ObsSpec, action_dim: int, capacity: int) -> None:
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
        self.pos = 0
        self.size = 0
        self.total = 0

    def __len__(self) -> int:
        return self.size

    def add(
        self, obs: dict[str, np.ndarray], action: np.ndarray, reward: float, is_first: bool, is_terminal: bool
    ) -> None:
        """Append one step (``obs`` values without batch dim, or with a batch dim of 1)."""
        i = self.pos
        for key in self.obs_spec.keys:
            self.data[key][i] = np.asarray(obs[key]).reshape(self.data[key].shape[1:])
        self.data["action"][i] = action
        self.data["reward"][i] = reward
        self.data["is_first"][i] = is_first
        self.data["is_terminal"][i] = is_terminal
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        self.total += 1

    def sample(self, batch: int, seq_len: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Uniformly sample ``batch`` windows of ``seq_len`` consecutive stored steps.

        Returns:
            Dict of ``(batch, seq_len, ...)`` arrays; ``is_first[:, 0]`` is set True (the RSSM starts fresh).
        """
        if self.size < seq_len:
            raise ValueError(f"ReplayBuffer holds {self.size} steps, fewer than seq_len={seq_len}")
        oldest = self.pos if self.size == self.capacity else 0
        starts = rng.integers(0, self.size - seq_len + 1, size=batch)
        idx = (oldest + starts[:, None] + np.arange(seq_len)[None]) % self.capacity
        out = {k: v[idx] for k, v in self.data.items()}
        out["is_first"][:, 0] = True
        return out

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
            arrays = {k: f[k] for k in self.data}
        # chronological order of the saved ring
        order = np.arange(size) if size < capacity else (pos + np.arange(size)) % capacity
        keep = order[-self.capacity :]
        n = len(keep)
        for k, v in arrays.items():
            self.data[k][:n] = v[keep]
        self.size = n
        self.pos = n % self.capacity
        self.total = total
