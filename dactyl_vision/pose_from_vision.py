"""Run a state-trained policy from pixels: replace the block's pose in the observation by a CNN's estimate.

Dactyl §2 ("block, vision", Table 3): the policy trained on state is run with the block position and
orientation estimated by the vision model from three cameras, and fingertip positions still from the
motion-capture markers. :class:`PoseFromVision` does exactly that to a ``Dactyl-v0`` observation.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dactyl_vision.camera_observation import IMAGES_KEY, CameraObservation, find_image_randomizer
from dactyl_vision.pose_net import PoseNet, load_pose_net
from dactyl_vision.presets import APPEARANCES, with_appearance
from dactyl_vision.rendering import MultiCameraRenderer
from gym_dactyl import rotations as R

__all__ = ["APPEARANCES", "PoseFromVision", "make_vision_env", "rollout_pose_errors", "with_appearance"]

ObsDict = dict[str, np.ndarray]


class PoseFromVision(gym.ObservationWrapper[ObsDict, Any, ObsDict], gym.utils.RecordConstructorArgs):
    """Replaces ``object_pos`` and ``object_quat`` by the pose estimator's prediction from the cameras.

    ``relative_goal_quat`` is recomputed from the prediction as the env does it, ``goal ⊗ conj(q̂)`` with
    ``w >= 0`` (the goal read from ``env.unwrapped.goal_quat``), so the policy's inputs stay consistent.
    Fingertip positions and the critic's clean ``state`` are left untouched (only the policy should run
    from pixels; the critic is not used at evaluation time).

    Images come from the observation's ``"images"`` key when an inner
    :class:`~dactyl_vision.camera_observation.CameraObservation` provides them (their size must match
    the estimator's); otherwise this wrapper renders them itself, applying the stack's ``randomize_image``
    (``VisualRandomization``) when there is one. The observation space is unchanged, except that
    ``strip_images=True`` drops an inner ``"images"`` key so the space equals the state env's.

    Limitations: one forward pass per step on CPU (about 2-5 ms at 64 px); wrappers stacked *outside*
    (e.g. ``ObservationNoise``) would add their noise on top of the estimate.

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> from dactyl_vision.pose_net import PoseNet, PoseNetConfig
        >>> env = PoseFromVision(gym.make("Dactyl-v0"), PoseNet(PoseNetConfig(image_size=64)))
        >>> obs, info = env.reset(seed=0)
        >>> env.observation_space == env.env.observation_space
        True
    """

    def __init__(
        self,
        env: gym.Env[ObsDict, Any],
        estimator: PoseNet | str | os.PathLike,
        strip_images: bool = False,
    ) -> None:
        """Wrap ``env``.

        Args:
            env: a Dactyl env (optionally wrapped in ``CameraObservation`` and visual randomization).
            estimator: a :class:`~dactyl_vision.pose_net.PoseNet` or the path of a saved one.
            strip_images: drop an inner ``"images"`` key from the observation and its space.

        Raises:
            ValueError: if ``estimator`` is neither a PoseNet nor a path, the observation space lacks the
                policy keys, or inner images do not match the estimator's size or camera count.
        """
        if isinstance(estimator, (str, os.PathLike)):
            estimator = load_pose_net(estimator)
        if not isinstance(estimator, PoseNet):
            raise ValueError(f"estimator must be a PoseNet or the path of a saved one, got {estimator!r}")
        space = env.observation_space
        if not isinstance(space, spaces.Dict):
            raise ValueError(f"env: observation space must be a spaces.Dict, got {space!r}")
        missing = {"object_pos", "object_quat", "relative_goal_quat"} - set(space.spaces)
        if missing:
            raise ValueError(f"env: observation space lacks the keys {sorted(missing)}")
        cfg = estimator.config
        gym.utils.RecordConstructorArgs.__init__(self, strip_images=strip_images)
        gym.ObservationWrapper.__init__(self, env)
        self.estimator = estimator.eval()
        self.strip_images = bool(strip_images)
        self._uses_inner_images = IMAGES_KEY in space.spaces
        self._renderer: MultiCameraRenderer | None = None
        self._randomize_image = None
        if self._uses_inner_images:
            shape = space.spaces[IMAGES_KEY].shape
            expected = (cfg.n_cameras, cfg.image_size, cfg.image_size, 3)
            if tuple(shape) != expected:
                raise ValueError(f"env: inner images have shape {tuple(shape)}, the estimator expects {expected}")
            inner = _camera_names_of(env)
            if inner is not None and tuple(inner) != tuple(cfg.camera_names):
                raise ValueError(
                    f"env: inner images come from cameras {tuple(inner)}, the estimator was trained on "
                    f"{tuple(cfg.camera_names)}"
                )
            if self.strip_images:
                self.observation_space = spaces.Dict({k: v for k, v in space.spaces.items() if k != IMAGES_KEY})
        else:
            self._renderer = MultiCameraRenderer(
                env.unwrapped.model, cfg.camera_names, width=cfg.image_size, height=cfg.image_size
            )
            self._randomize_image = find_image_randomizer(env)
        self.last_images: np.ndarray | None = None

    def _images(self, observation: ObsDict) -> np.ndarray:
        if self._renderer is None:
            return observation[IMAGES_KEY]
        images = self._renderer.render(self.env.unwrapped.data)
        if self._randomize_image is not None:
            images = np.asarray(self._randomize_image(images), dtype=np.uint8)
        return images

    def observation(self, observation: ObsDict) -> ObsDict:
        """Return a copy of ``observation`` with the block pose estimated from the images."""
        images = self._images(observation)
        self.last_images = images
        pos, quat = self.estimator.predict(images)
        goal = self.env.unwrapped.goal_quat
        rel = R.canonical(R.quat_mul(goal, R.quat_conj(quat)))
        out = {k: v for k, v in observation.items() if not (self.strip_images and k == IMAGES_KEY)}
        out["object_pos"] = pos.astype(np.float32)
        out["object_quat"] = quat.astype(np.float32)
        out["relative_goal_quat"] = rel.astype(np.float32)
        return out

    def close(self) -> None:
        """Release the renderer (if any) and close the env."""
        if self._renderer is not None:
            self._renderer.close()
        super().close()


def make_vision_env(
    model_path: str | os.PathLike,
    appearance: str = "table9",
    **env_kwargs: Any,
) -> gym.Env:
    """``Dactyl-v0`` whose policy observation comes from the cameras: the "block, vision" condition.

    Builds ``gym.make("Dactyl-v0", **env_kwargs)``, randomizes its appearance per episode, and wraps it in
    :class:`PoseFromVision`. The observation space equals the plain env's, so a state-trained policy runs
    unchanged. The appearance is :func:`with_appearance`'s: ``wrappers.VisualRandomization`` (Table 9, the
    estimator's training distribution) or its held-out preset.

    Args:
        model_path: a checkpoint saved by ``examples/train_pose_estimator.py``.
        appearance: ``"table9"`` (Dactyl Table 9), ``"held_out"`` (outside the training ranges) or
            ``"nominal"`` (no randomization).
        **env_kwargs: arguments for ``gym.make("Dactyl-v0", ...)``.

    Returns:
        The wrapped env.

    Raises:
        ValueError: for an unknown ``appearance``.
    """
    if appearance not in APPEARANCES:
        raise ValueError(f"appearance must be one of {APPEARANCES}, got {appearance!r}")
    estimator = load_pose_net(model_path)
    return PoseFromVision(with_appearance(gym.make("Dactyl-v0", **env_kwargs), appearance), estimator)


def rollout_pose_errors(env: gym.Env, episodes: int = 5, steps: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    """Estimator error along random-action rollouts of a :class:`PoseFromVision` env (or a stack containing one).

    Compares the observation's estimated ``object_pos`` / ``object_quat`` with the clean values in
    ``obs["state"]`` at every step, stopping an episode early when it ends (e.g. the block drops).

    Args:
        env: the env, e.g. from :func:`make_vision_env`.
        episodes: number of episodes; episode ``i`` resets with seed ``seed + i``.
        steps: random-action steps per episode.
        seed: base seed (also seeds the random actions).

    Returns:
        ``{"position_mm": (n,), "rotation_deg": (n,), "seconds_per_step": (n,)}`` over all observed steps.
    """
    import time

    from gym_dactyl.constants import STATE_LAYOUT as L

    rng = np.random.default_rng(seed)
    pos_err, rot_err, seconds = [], [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        for _ in range(steps):
            state = obs["state"].astype(np.float64)
            pos_err.append(1000.0 * np.linalg.norm(obs["object_pos"] - state[L["object_pos"]]))
            rot_err.append(np.rad2deg(R.rotation_angle(obs["object_quat"].astype(np.float64), state[L["object_quat"]])))
            t = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(_random_action(env, rng))
            seconds.append(time.perf_counter() - t)
            if terminated or truncated:
                break
    return {"position_mm": np.array(pos_err), "rotation_deg": np.array(rot_err), "seconds_per_step": np.array(seconds)}


def _random_action(env: gym.Env, rng: np.random.Generator) -> np.ndarray:
    space = env.action_space
    if isinstance(space, spaces.MultiDiscrete):
        return rng.integers(0, space.nvec)
    return rng.uniform(space.low, space.high).astype(space.dtype)


def _camera_names_of(env: gym.Env) -> tuple[str, ...] | None:
    """The ``camera_names`` of the outermost :class:`CameraObservation` in ``env``'s wrapper chain, if any."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, CameraObservation):
            return tuple(env.camera_names)
        env = env.env
    return None
