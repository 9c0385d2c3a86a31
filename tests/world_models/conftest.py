"""Toy environments and helpers shared by the world_models tests."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

torch.set_num_threads(1)


class ToyEnv(gym.Env):
    """Tiny env with a configurable observation/action space; reward = -|obs| style, episodes of 20 steps.

    Terminates (not truncates) at step ``terminate_at`` when given, otherwise truncates at 20.
    """

    metadata = {"render_modes": []}

    def __init__(self, obs: str = "vector", action: str = "box", terminate_at: int | None = None) -> None:
        vec = spaces.Box(-1.0, 1.0, (3,), np.float32)
        img = spaces.Box(0, 255, (16, 16, 3), np.uint8)
        self.observation_space = {
            "vector": vec,
            "image": img,
            "dict": spaces.Dict({"pos": vec, "camera": img}),
        }[obs]
        self.action_space = {
            "box": spaces.Box(-2.0, 2.0, (2,), np.float32),
            "discrete": spaces.Discrete(3),
            "multidiscrete": spaces.MultiDiscrete([3, 5]),
        }[action]
        self.kind, self.terminate_at, self.t = obs, terminate_at, 0

    def _obs(self) -> object:
        v = self.np_random.uniform(-1, 1, 3).astype(np.float32)
        im = self.np_random.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        return {"vector": v, "image": im, "dict": {"pos": v, "camera": im}}[self.kind]

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[object, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: object) -> tuple[object, float, bool, bool, dict]:
        self.t += 1
        reward = float(-np.abs(np.asarray(action, dtype=np.float32)).sum())
        terminated = self.terminate_at is not None and self.t >= self.terminate_at
        truncated = not terminated and self.t >= 20
        return self._obs(), reward, terminated, truncated, {}


@pytest.fixture
def toy_env():
    return ToyEnv
