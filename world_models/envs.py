"""Cheap environments for checking the agent; importing this module registers ``PixelReach-v0``.

``PixelReach`` is a pixel-only control task that renders in microseconds with numpy, so that learning from
images (the CNN encoder/decoder path) can be checked on a CPU in minutes.

    >>> import gymnasium as gym
    >>> import world_models.envs  # noqa: F401  (registers PixelReach-v0)
    >>> env = gym.make("PixelReach-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, obs.dtype
    ((16, 16, 3), dtype('uint8'))
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import register, registry

__all__ = ["PixelReach"]


class PixelReach(gym.Env[np.ndarray, np.ndarray]):
    """Move a point to a target, seeing only a small RGB image.

    The world is the square ``[-1, 1]²``. Each episode places the point and the target uniformly in
    ``[-spawn, spawn]²``. An action ``a ∈ [-1, 1]²`` moves the point by ``step_size · a`` (clipped to the
    square; no inertia, so one frame is a Markov state). Reward ``-‖point − target‖`` every step; episodes
    are truncated after ``max_steps`` steps and never terminate.

    Observation: ``(size, size, 3)`` uint8 image, black background, the point as a Gaussian blob in the red
    channel and the target as one in the green channel (σ = ``size / 16`` pixels, so sub-pixel positions
    are visible). Positions are not in the observation: the agent must read them from the pixels.
    ``info["distance"]`` is the distance after the step.

    Args:
        size: image height and width in pixels (8–128).
        max_steps: episode length.
        step_size: largest move per step (world units; the square is 2 wide).
        spawn: half-width of the square in which point and target start, in (0, 1].
        render_mode: None or ``"rgb_array"`` (renders the observation image).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        size: int = 16,
        max_steps: int = 50,
        step_size: float = 0.15,
        spawn: float = 0.75,
        render_mode: str | None = None,
    ) -> None:
        if int(size) != size or not 8 <= size <= 128:
            raise ValueError(f"size must be an integer in [8, 128] pixels, got {size!r}")
        if int(max_steps) != max_steps or max_steps < 1:
            raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
        if not 0.0 < step_size <= 2.0:
            raise ValueError(f"step_size must be in (0, 2] world units, got {step_size!r}")
        if not 0.0 < spawn <= 1.0:
            raise ValueError(f"spawn must be in (0, 1], got {spawn!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.size, self.max_steps = int(size), int(max_steps)
        self.step_size, self.spawn = float(step_size), float(spawn)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0, 255, (self.size, self.size, 3), np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        centers = (np.arange(self.size) + 0.5) / self.size * 2.0 - 1.0  # pixel centres in world units
        self._ys, self._xs = np.meshgrid(centers, centers, indexing="ij")
        self._sigma = 2.0 / 16.0  # world units: size / 16 pixels
        self.point = np.zeros(2)
        self.target = np.zeros(2)
        self.t = 0

    def _blob(self, pos: np.ndarray) -> np.ndarray:
        d2 = (self._xs - pos[0]) ** 2 + (self._ys - pos[1]) ** 2
        return np.exp(-d2 / (2.0 * self._sigma**2))

    def _obs(self) -> np.ndarray:
        img = np.zeros((self.size, self.size, 3), np.float64)
        img[..., 0] = self._blob(self.point)
        img[..., 1] = self._blob(self.target)
        return np.clip(np.rint(255.0 * img), 0, 255).astype(np.uint8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.point = self.np_random.uniform(-self.spawn, self.spawn, 2)
        self.target = self.np_random.uniform(-self.spawn, self.spawn, 2)
        self.t = 0
        return self._obs(), {"distance": float(np.linalg.norm(self.point - self.target))}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = np.asarray(action, dtype=np.float64)
        if a.shape not in ((2,), (1, 2)) or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be 2 finite numbers in [-1, 1] (an action_space sample), got {action!r}")
        a = np.clip(a.reshape(2), -1.0, 1.0)
        self.point = np.clip(self.point + self.step_size * a, -1.0, 1.0)
        self.t += 1
        distance = float(np.linalg.norm(self.point - self.target))
        return self._obs(), -distance, False, self.t >= self.max_steps, {"distance": distance}

    def render(self) -> np.ndarray | None:
        return self._obs() if self.render_mode == "rgb_array" else None

    def oracle_action(self) -> np.ndarray:
        """The greedy action straight towards the target (a reference ceiling; it reads the true state)."""
        delta = (self.target - self.point) / self.step_size
        return np.clip(delta, -1.0, 1.0).astype(np.float32)


if "PixelReach-v0" not in registry:
    register(id="PixelReach-v0", entry_point="world_models.envs:PixelReach")
