"""Importing ``dactyl_vision`` before ``gym_dactyl`` still renders headless (MuJoCo picks its GL at import)."""

import os
import subprocess
import sys

import pytest

CODE = """
import dactyl_vision  # first: its submodules import MuJoCo before gym_dactyl
import gymnasium as gym
import gym_dactyl
env = gym.make("Dactyl-v0", render_mode="rgb_array")
env.reset(seed=0)
print(env.render().shape)
"""


@pytest.mark.parametrize("first", ["dactyl_vision", "wrappers"])
def test_vision_package_first_renders(first):
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY")}
    code = CODE.replace("import dactyl_vision", f"import {first}")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().endswith("(480, 480, 3)")
