"""Dactyl on MuJoCo Warp: N Dactyl-v0 worlds stepped in one batch (the optional ``[warp]`` extra).

Importing this package registers ``DactylWarp-v0``, a vector-only id::

    envs = gym.make_vec("DactylWarp-v0", num_envs=4096, vectorization_mode="vector_entry_point", device="cuda:0")

See :class:`dactyl_warp.vector_env.DactylWarpVectorEnv` and ``docs/warp.md``. ``warp-lang`` and ``mujoco-warp``
are imported only when an env is built, so this package imports without them.
"""

from __future__ import annotations

from gymnasium.envs.registration import register

import gym_dactyl  # noqa: F401  (registers Dactyl-v0)
from dactyl_warp.sb3 import DactylWarpSB3VecEnv
from dactyl_warp.vector_env import PHYSICS_FIELDS, SUPPORTED_RANDOMIZATIONS, DactylWarpVectorEnv

__all__ = ["PHYSICS_FIELDS", "SUPPORTED_RANDOMIZATIONS", "DactylWarpSB3VecEnv", "DactylWarpVectorEnv", "warp_available"]


def warp_available() -> bool:
    """Whether ``warp-lang`` and ``mujoco-warp`` (the ``[warp]`` extra) are importable."""
    try:
        import mujoco_warp  # noqa: F401
        import warp  # noqa: F401
    except ImportError:
        return False
    return True


register(id="DactylWarp-v0", vector_entry_point="dactyl_warp.vector_env:DactylWarpVectorEnv")
