"""Installs: the core needs only numpy, mujoco, gymnasium and gymnasium-robotics, and its declared floors work."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import venv
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HEAVY = ("torch", "stable_baselines3", "sb3_contrib", "tensorboard", "matplotlib", "rich", "tqdm", "imageio")
CORE_CHECK = f"""
import sys
import gymnasium as gym
import gym_dactyl, wrappers
env = gym.make("DactylRandomized-v0")
env.reset(seed=0)
env.step(env.action_space.sample())
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
assert not heavy, f"the core imported {{heavy}}"
print("core ok")
"""


def _floors() -> list[str]:
    """The core dependencies pinned to their declared floors (``name>=x`` -> ``name==x``)."""
    pins = []
    for dep in PYPROJECT["project"]["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)", dep.split(";")[0].strip())
        assert match, f"core dependency {dep!r} must be declared as name>=floor"
        pins.append(f"{match[1]}=={match[2]}")
    return pins


def test_core_dependencies_are_only_the_env_stack():
    names = sorted(re.split(r"[<>=!~ \[;]", d)[0].lower() for d in PYPROJECT["project"]["dependencies"])
    assert names == ["gymnasium", "gymnasium-robotics", "mujoco", "numpy"]
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"train", "dreamer", "vision", "all", "test"} <= set(extras)
    assert any(d.startswith("torch") for d in extras["train"]) and any(d.startswith("torch") for d in extras["dreamer"])
    assert PYPROJECT["project"]["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    (build,) = PYPROJECT["build-system"]["requires"]
    assert re.fullmatch(r"setuptools>=\d+,<\d+", build)  # bounded


def test_env_and_wrappers_import_no_training_stack():
    """``import gym_dactyl, wrappers`` and ``gym.make("DactylRandomized-v0")`` load none of the extras."""
    out = subprocess.run([sys.executable, "-c", CORE_CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def _index_reachable() -> bool:
    """Whether pip's index can be reached (PIP_INDEX_URL's host, else pypi.org)."""
    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple")
    if url.startswith("file:"):
        return True
    host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", url)
    try:
        socket.create_connection((host, 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_lowest_declared_versions_install_and_pass_the_env_tests(tmp_path):
    """A fresh venv with every core dependency at its declared floor: the package installs and the env tests pass.

    The venv is cached under ``~/.cache/gym-dactyl`` (keyed by the pins), so reruns skip the install; needs
    network access to the package index (skipped without).
    """
    pins = _floors()
    if not _index_reachable():
        pytest.skip("no network access to the package index: cannot build the floor-version venv")
    test_deps = [d for d in PYPROJECT["project"]["optional-dependencies"]["test"] if not d.startswith("ruff")]
    key = hashlib.sha256("\n".join([sys.version, *pins, *test_deps]).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gym-dactyl" / f"floor-venv-{key}"
    python = cache / "bin" / "python"
    if not (cache / ".complete").is_file():
        venv.create(cache, with_pip=True, clear=True)
        cmd = [str(python), "-m", "pip", "install", "-q", *pins, *test_deps]  # the core + the [test] extra
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
        assert out.returncode == 0, out.stdout + out.stderr
        (cache / ".complete").write_text("\n".join(pins))
    # The project itself, built from its pyproject (bounded setuptools, SPDX licence); its core dependencies are
    # already there at their floors, and ``pip check`` confirms the declared requirements accept them.
    out = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)], capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    code = "import mujoco, gymnasium, numpy; print(mujoco.__version__, gymnasium.__version__, numpy.__version__)"
    versions = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    floors = dict(p.split("==") for p in pins)

    def release(v: str) -> tuple[int, ...]:
        parts = [int(x) for x in v.split(".")]
        while parts and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    got = [release(v) for v in versions.stdout.split()]
    assert got == [release(floors[k]) for k in ("mujoco", "gymnasium", "numpy")], versions.stdout + versions.stderr
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    env.pop("PYTHONPATH", None)
    run = subprocess.run([str(python), "-c", CORE_CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=env)  # the installed package, not the checkout  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                            "tests/gym_dactyl/test_dactyl_env.py", "tests/wrappers/test_action_validation.py",
                            "tests/wrappers/test_scale.py"], cwd=ROOT,
                           capture_output=True, text=True, timeout=1200, env=env)  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-4000:]
