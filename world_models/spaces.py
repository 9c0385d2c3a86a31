"""Translate Gymnasium observation and action spaces to what the networks see, and back.

Observations become a dict of arrays (a plain Box becomes key ``"obs"``): uint8 Boxes of shape (H, W, C)
are images, every other float/int Box is a vector (flattened). Actions become float vectors: a Box is
rescaled to [-1, 1]; Discrete/MultiDiscrete become concatenated one-hots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["ActionSpec", "ObsSpec", "describe_spaces"]

PLAIN_KEY = "obs"


@dataclass(frozen=True)
class ObsSpec:
    """Observation layout: vector keys with flat sizes, image keys with (H, W, C) shapes."""

    vectors: dict[str, int]
    images: dict[str, tuple[int, int, int]]
    is_dict: bool
    ndims: dict[str, int]

    @classmethod
    def from_space(cls, space: spaces.Space) -> ObsSpec:
        """Classify the keys of a Box or Dict observation space.

        Raises:
            ValueError: For unsupported space types (Discrete, Tuple, Text, nested Dict, ...).
        """
        if isinstance(space, spaces.Dict):
            items, is_dict = list(space.spaces.items()), True
        elif isinstance(space, spaces.Box):
            items, is_dict = [(PLAIN_KEY, space)], False
        else:
            raise ValueError(
                f"Dreamer supports Box or Dict-of-Box observation spaces, got {type(space).__name__}: {space}"
            )
        vectors: dict[str, int] = {}
        images: dict[str, tuple[int, int, int]] = {}
        ndims: dict[str, int] = {}
        for key, sub in items:
            ndims[key] = len(sub.shape)
            if not isinstance(sub, spaces.Box):
                raise ValueError(f"Dreamer supports only Box entries in Dict observations; key {key!r} is {sub}")
            if sub.dtype == np.uint8 and len(sub.shape) == 3:
                images[key] = tuple(int(s) for s in sub.shape)  # type: ignore[assignment]
            else:
                vectors[key] = int(np.prod(sub.shape))
        return cls(vectors=vectors, images=images, is_dict=is_dict, ndims=ndims)

    def subset(self, keys: tuple[str, ...] | list[str] | None, name: str = "keys") -> ObsSpec:
        """The spec restricted to ``keys`` (``None``: all), in this spec's order.

        Raises:
            ValueError: A key that is not in the observation space (named by ``name``).
        """
        if keys is None:
            return self
        unknown = [k for k in keys if k not in self.ndims]
        if unknown:
            raise ValueError(f"{name}={tuple(keys)!r} is invalid: {unknown} not in the observation keys {self.keys}")
        return ObsSpec(
            vectors={k: v for k, v in self.vectors.items() if k in keys},
            images={k: v for k, v in self.images.items() if k in keys},
            is_dict=self.is_dict,
            ndims={k: v for k, v in self.ndims.items() if k in keys},
        )

    @property
    def keys(self) -> list[str]:
        """All keys, vectors first."""
        return list(self.vectors) + list(self.images)

    def to_dict(self, obs: Any, batched: bool) -> dict[str, np.ndarray]:
        """Env observation (single or batched) -> dict of arrays with a leading batch dim."""
        obs = obs if self.is_dict else {PLAIN_KEY: obs}
        out: dict[str, np.ndarray] = {}
        for key, size in self.vectors.items():
            x = np.asarray(obs[key], dtype=np.float32)
            out[key] = x.reshape(-1, size) if batched else x.reshape(1, size)
        for key, shape in self.images.items():
            x = np.asarray(obs[key], dtype=np.uint8)
            out[key] = x.reshape(-1, *shape) if batched else x.reshape(1, *shape)
        return out

    def is_batched(self, obs: Any) -> bool:
        """Whether ``obs`` carries a leading batch dimension."""
        first = self.keys[0]
        x = np.asarray(obs[first] if self.is_dict else obs)
        return x.ndim > self.ndims[first]


@dataclass(frozen=True)
class ActionSpec:
    """Action layout: Box (rescaled to [-1, 1]) or (Multi)Discrete (concatenated one-hots)."""

    kind: str
    shape: tuple[int, ...]
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    nvec: tuple[int, ...] = ()

    @classmethod
    def from_space(cls, space: spaces.Space) -> ActionSpec:
        """Build the spec of a Box, Discrete or MultiDiscrete action space.

        Raises:
            ValueError: For other space types, unbounded Boxes, Discrete with ``start != 0``.
        """
        if isinstance(space, spaces.Box):
            if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
                raise ValueError(f"Dreamer needs a bounded Box action space, got {space}")
            return cls(
                "box",
                tuple(space.shape),
                space.low.astype(np.float32).ravel(),
                space.high.astype(np.float32).ravel(),
            )
        if isinstance(space, spaces.Discrete):
            if int(space.start) != 0:
                raise ValueError(f"Dreamer needs Discrete actions starting at 0, got {space}")
            return cls("discrete", (), nvec=(int(space.n),))
        if isinstance(space, spaces.MultiDiscrete):
            if np.any(space.start != 0) or space.nvec.ndim != 1:
                raise ValueError(f"Dreamer needs a 1-D MultiDiscrete action space starting at 0, got {space}")
            return cls("multidiscrete", tuple(space.shape), nvec=tuple(int(n) for n in space.nvec))
        raise ValueError(
            f"Dreamer supports Box, Discrete or MultiDiscrete action spaces, got {type(space).__name__}: {space}"
        )

    @property
    def dim(self) -> int:
        """Width of the model-side action vector."""
        return int(np.prod(self.shape)) if self.kind == "box" else sum(self.nvec)

    @property
    def is_continuous(self) -> bool:
        """True for Box actions."""
        return self.kind == "box"

    def to_env(self, model_action: np.ndarray) -> np.ndarray | int:
        """Model action of one env ``(dim,)`` -> env action."""
        if self.kind == "box":
            a = np.clip(model_action, -1.0, 1.0)
            return (self.low + (a + 1.0) * 0.5 * (self.high - self.low)).reshape(self.shape).astype(np.float32)
        splits = np.split(model_action, np.cumsum(self.nvec)[:-1])
        idx = np.array([int(np.argmax(s)) for s in splits], dtype=np.int64)
        return int(idx[0]) if self.kind == "discrete" else idx

    def from_env(self, env_action: Any) -> np.ndarray:
        """Env action -> model action ``(dim,)`` (used for random exploration)."""
        if self.kind == "box":
            a = np.asarray(env_action, dtype=np.float32).ravel()
            return np.clip(2.0 * (a - self.low) / (self.high - self.low) - 1.0, -1.0, 1.0)
        idx = np.atleast_1d(np.asarray(env_action, dtype=np.int64))
        out = np.zeros(self.dim, dtype=np.float32)
        out[np.cumsum((0,) + self.nvec[:-1]) + idx] = 1.0
        return out


def describe_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> dict[str, Any]:
    """Primitive description of both spaces, stored in checkpoints and compared on load."""
    obs = ObsSpec.from_space(observation_space)
    act = ActionSpec.from_space(action_space)
    return {
        "obs_vectors": dict(obs.vectors),
        "obs_images": {k: list(v) for k, v in obs.images.items()},
        "obs_is_dict": obs.is_dict,
        "obs_ndims": dict(obs.ndims),
        "action_kind": act.kind,
        "action_shape": list(act.shape),
        "action_low": [] if act.low is None else [float(x) for x in act.low],
        "action_high": [] if act.high is None else [float(x) for x in act.high],
        "action_nvec": list(act.nvec),
    }
