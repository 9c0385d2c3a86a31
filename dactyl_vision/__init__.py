"""Vision for Dactyl: randomized camera observations and a CNN pose estimator (Dactyl §2, Table 9; §3, Table 6).

A package of its own, above the task and the randomizations: it imports ``gym_dactyl`` (the env, its
constants and rotations) and ``wrappers`` (``VisualRandomization``, the one Table 9), and neither of them
imports it (``tests/test_layering.py`` checks the direction).

Example:
    >>> import gymnasium as gym, gym_dactyl
    >>> from dactyl_vision import CameraObservation, PoseFromVision, PoseNet, PoseNetConfig
    >>> from wrappers import VisualRandomization
    >>> env = CameraObservation(VisualRandomization(gym.make("Dactyl-v0")))
    >>> env = PoseFromVision(env, PoseNet(PoseNetConfig(image_size=64)), strip_images=True)
    >>> obs, _ = env.reset(seed=0)
    >>> obs["object_quat"].shape
    (4,)
"""

# First: gym_dactyl sets the headless GL default (MUJOCO_GL=egl), which MuJoCo reads when it is first imported,
# and the submodules below import MuJoCo.
import gym_dactyl  # noqa: F401
from dactyl_vision.camera_observation import IMAGES_KEY, CameraObservation
from dactyl_vision.dataset import PoseSamples, generate_samples, load_shards, write_dataset
from dactyl_vision.pose_from_vision import PoseFromVision, make_vision_env, rollout_pose_errors
from dactyl_vision.pose_net import PoseNet, PoseNetConfig, load_pose_net, save_pose_net
from dactyl_vision.presets import APPEARANCES, FACTOR_APPEARANCES, with_appearance
from dactyl_vision.rendering import MultiCameraRenderer

__all__ = [
    "APPEARANCES",
    "FACTOR_APPEARANCES",
    "IMAGES_KEY",
    "CameraObservation",
    "MultiCameraRenderer",
    "PoseFromVision",
    "PoseNet",
    "PoseNetConfig",
    "PoseSamples",
    "generate_samples",
    "load_shards",
    "load_pose_net",
    "make_vision_env",
    "rollout_pose_errors",
    "save_pose_net",
    "with_appearance",
    "write_dataset",
]
