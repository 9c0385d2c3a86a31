"""Session-wide test setup: headless MuJoCo rendering and one torch thread."""

import os

# MuJoCo chooses its GL backend when first imported, so this must run before any test module imports it.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")
