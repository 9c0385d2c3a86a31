"""Raw output of a benchmark run as JSON: the figures, the command that produced them and the machine.

Every benchmark script takes ``--json PATH`` and calls :func:`write_json`; the files committed under
``docs/benchmarks/`` are what the README's benchmark figures are read from.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Timers for ``--clock``: ``wall`` (``time.perf_counter``) or ``cpu`` (``time.process_time``: this process's
#: CPU time, which other processes competing for the cores do not inflate; the benchmarks are single-threaded).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock: list[Callable[[], float]] = [time.perf_counter]


def set_clock(name: str) -> None:
    """Make :func:`now` read the ``wall`` or the ``cpu`` clock (see :data:`CLOCKS`)."""
    if name not in CLOCKS:
        raise ValueError(f"clock must be one of {sorted(CLOCKS)}, got {name!r}")
    _clock[0] = CLOCKS[name]


def now() -> float:
    """The current reading of the clock chosen with :func:`set_clock` (seconds)."""
    return _clock[0]()


def machine() -> dict[str, Any]:
    """CPU count, 1-minute load average (a sign of contention from other processes) and versions."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
    }
    for name in ("numpy", "mujoco", "gymnasium", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", None)
    return info


def write_json(path: str | os.PathLike[str], results: dict[str, Any]) -> Path:
    """Write ``results`` with the command line, the UTC time and :func:`machine` to ``path``.

    Args:
        path: output file; its parent directory is created.
        results: the figures the script printed (JSON-serialisable).

    Returns:
        The path written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        **results,
    }
    out.write_text(json.dumps(record, indent=1) + "\n")
    return out
