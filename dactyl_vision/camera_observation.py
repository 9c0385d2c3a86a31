"""Add the three vision cameras' images to the observation (Dactyl §2, Table 9)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dactyl_vision.rendering import MultiCameraRenderer, check_image_size
from gym_dactyl import constants as C

__all__ = ["IMAGES_KEY", "CameraObservation", "find_image_randomizer"]

IMAGES_KEY = "images"

ObsDict = dict[str, np.ndarray]


def find_image_randomizer(env: gym.Env) -> Callable[[np.ndarray], np.ndarray] | None:
    """Return the ``randomize_image`` method of the outermost wrapper in ``env``'s stack that has one.

    ``wrappers.visual_randomization.VisualRandomization`` provides it (any wrapper with the same method works).

    Args:
        env: the env to search (itself and every ``.env`` below it).

    Returns:
        The bound method, or None when no wrapper in the stack randomizes images.
    """
    e: Any = env
    while e is not None:
        fn = getattr(type(e), "randomize_image", None)
        if callable(fn):
            return e.randomize_image
        e = getattr(e, "env", None)
    return None


class CameraObservation(gym.ObservationWrapper[ObsDict, Any, ObsDict], gym.utils.RecordConstructorArgs):
    """Adds ``"images"``: ``uint8`` ``(3, H, W, 3)`` renders of the three vision cameras, every step.

    Renders headless (EGL/OSMesa offscreen, chosen by ``import gym_dactyl``) with the goal marker and the
    fingertip marker sites hidden, through :class:`~dactyl_vision.rendering.MultiCameraRenderer`
    (one scene update and one pixel read for all cameras). When a visual-randomization wrapper sits
    *inside* this one (``wrappers.VisualRandomization``, Table 9 or its held-out preset), its per-episode changes to
    cameras, lights and materials show in the renders, and its ``randomize_image`` (contrast and fresh
    per-pixel noise) is applied to every frame. Without one the images are clean and deterministic.

    Limitations: rendering costs far more than physics (see ``benchmarks/render_throughput.py``); the
    images are those of the state after the step, with no motion blur or latency.

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> env = CameraObservation(gym.make("Dactyl-v0"), width=64, height=64)
        >>> obs, info = env.reset(seed=0)
        >>> obs["images"].shape, obs["images"].dtype
        ((3, 64, 64, 3), dtype('uint8'))
    """

    def __init__(
        self,
        env: gym.Env[ObsDict, Any],
        width: int = 64,
        height: int = 64,
        camera_names: Sequence[str] | None = None,
    ) -> None:
        """Wrap ``env``.

        Args:
            env: a Dactyl env with a ``spaces.Dict`` observation space.
            width: image width in pixels, 64–200.
            height: image height in pixels, 64–200.
            camera_names: cameras to render, default :data:`~gym_dactyl.constants.CAMERA_NAMES` (the whole hand);
                :data:`~gym_dactyl.constants.CLOSE_CAMERA_NAMES` are the same cameras with a 34° view of the block.

        Raises:
            ValueError: for a size outside [64, 200], an unknown or empty ``camera_names``, or an
                observation space that is not a ``spaces.Dict`` or already has an ``"images"`` key.
        """
        width = check_image_size("width", width)
        height = check_image_size("height", height)
        names = tuple(C.CAMERA_NAMES if camera_names is None else camera_names)
        if not isinstance(env.observation_space, spaces.Dict):
            raise ValueError(f"env: observation space must be a spaces.Dict, got {env.observation_space!r}")
        if IMAGES_KEY in env.observation_space.spaces:
            raise ValueError(f"env: observation space already has an {IMAGES_KEY!r} key")
        gym.utils.RecordConstructorArgs.__init__(self, width=width, height=height, camera_names=camera_names)
        gym.ObservationWrapper.__init__(self, env)
        self.width, self.height, self.camera_names = width, height, names
        self._renderer = MultiCameraRenderer(env.unwrapped.model, names, width=width, height=height)
        self._randomize_image = find_image_randomizer(env)
        self.observation_space = spaces.Dict(
            {
                **env.observation_space.spaces,
                IMAGES_KEY: spaces.Box(0, 255, (len(names), height, width, 3), dtype=np.uint8),
            }
        )

    def render_images(self) -> np.ndarray:
        """Render the cameras for the current state, with the stack's image randomization if any."""
        images = self._renderer.render(self.env.unwrapped.data)
        if self._randomize_image is not None:
            images = np.asarray(self._randomize_image(images), dtype=np.uint8)
        return images

    def observation(self, observation: ObsDict) -> ObsDict:
        """Return a copy of ``observation`` with the current images added."""
        return {**observation, IMAGES_KEY: self.render_images()}

    def close(self) -> None:
        """Release the renderer and close the env."""
        self._renderer.close()
        super().close()
