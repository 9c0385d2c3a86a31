"""gym-dactyl: OpenAI's Dactyl in-hand reorientation task on MuJoCo + Gymnasium.

Importing this package registers ``Dactyl-v0`` (see :class:`gym_dactyl.dactyl_env.DactylEnv`).
"""

from __future__ import annotations

import os

# Headless offscreen rendering: MuJoCo picks its GL backend when it is first imported.
if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"

from gymnasium.envs.registration import register  # noqa: E402

from gym_dactyl.constants import CRITIC_KEYS, POLICY_KEYS, QUAT_KEYS, STATE_DIM, STATE_LAYOUT  # noqa: E402
from gym_dactyl.dactyl_env import DactylEnv  # noqa: E402

__all__ = ["CRITIC_KEYS", "POLICY_KEYS", "QUAT_KEYS", "STATE_DIM", "STATE_LAYOUT", "DactylEnv", "__version__"]
__version__ = "0.1.0"

register(id="Dactyl-v0", entry_point="gym_dactyl.dactyl_env:DactylEnv")
register(id="DactylRandomized-v0", entry_point="wrappers.stack:make_dactyl_randomized")
