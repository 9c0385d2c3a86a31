"""Connecting to Ray: a local instance or an existing cluster, with this checkout's code shipped to every worker.

The env runners and learners are separate processes, on other machines in a cluster. Ray's ``runtime_env``
``py_modules`` uploads the driver's ``gym_dactyl``, ``wrappers``, ``examples/ppo`` and ``examples/dactyl_rllib``
to the cluster and puts them first on every worker's path, so each node only needs the dependencies installed
(``pip install "gym-dactyl[rllib]"`` or the same pinned packages), not this checkout, and all run the driver's code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "connect", "runtime_env"]

ROOT = Path(__file__).resolve().parents[2]


def runtime_env() -> dict[str, Any]:
    """Ray ``runtime_env``: the four packages as ``py_modules``, one torch/OpenMP thread, headless MuJoCo (EGL)."""
    modules = [ROOT / "gym_dactyl", ROOT / "wrappers", ROOT / "examples" / "ppo", ROOT / "examples" / "dactyl_rllib"]
    return {
        "py_modules": [str(m) for m in modules],
        "excludes": ["__pycache__", "*.pyc"],
        "env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MUJOCO_GL": "egl"},
    }


def connect(address: str | None = None, num_cpus: int | None = None) -> Any:
    """``ray.init`` with :func:`runtime_env`: join ``address`` (``"auto"``, ``"HOST:6379"``, ``"ray://HOST:10001"``)
    or start a local Ray with ``num_cpus`` CPUs. Returns Ray's context.

    A local Ray's workers (the env runners) get the driver's own niceness: Ray's default raises theirs by 15, so on
    a machine shared with other jobs the env runners lose the cores to anything niced less while the driver
    learns at full priority. Set ``RAY_worker_niceness`` (an increment) to choose otherwise. The workers of a
    cluster's nodes keep Ray's setting of their ``ray start``.
    """
    import ray

    if address is not None and num_cpus is not None:
        raise ValueError(f"num_cpus={num_cpus}: the CPUs of an existing cluster (--address {address}) are its own")
    system_config = None
    if address is None and "RAY_worker_niceness" not in os.environ:
        system_config = {"worker_niceness": 0}  # the raylet inherits the driver's niceness; workers add this
    return ray.init(address=address, num_cpus=num_cpus, runtime_env=runtime_env(), ignore_reinit_error=True,
                    log_to_driver=True, _system_config=system_config)  # fmt: skip
