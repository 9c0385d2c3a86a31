"""Session-wide test setup: headless MuJoCo rendering, one torch thread and the hypothesis profiles.

Hypothesis profiles (every module's ``settings(...)`` inherits the loaded one):

* ``ci`` - ``derandomize=True``: the examples are a fixed function of each test, so CI draws the same
  examples on every run (no example database, no flaky reruns). Loaded when the ``CI`` environment
  variable is set, and by ``make test``.
* ``dev`` - hypothesis' defaults: fresh random examples on every run, for local exploration.

``HYPOTHESIS_PROFILE=ci|dev`` picks one explicitly.
"""

import os

from hypothesis import HealthCheck, settings

# MuJoCo chooses its GL backend when first imported, so this must run before any test module imports it.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Both derive from hypothesis' own defaults (not from whatever profile is loaded, e.g. its built-in "ci").
_DEFAULT = settings.get_profile("default")
settings.register_profile(
    "ci",
    parent=_DEFAULT,
    derandomize=True,
    database=None,
    deadline=None,  # shared CI machines: timing is not a property under test
    suppress_health_check=(HealthCheck.too_slow,),
    print_blob=True,
)
settings.register_profile("dev", parent=_DEFAULT, derandomize=False)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(HYPOTHESIS_PROFILE)
