"""Imports point one way: gym_dactyl (task) <- wrappers (randomizations) <- dactyl_vision, world_models (agents)
<- examples and benchmarks.

Every ``import`` and ``from ... import`` in a library package's source (module level or inside a
function) is parsed with :mod:`ast`; relative imports are resolved against the importing module. String
references that Gymnasium resolves lazily (``register(entry_point="wrappers.stack:...")`` in
``gym_dactyl/__init__.py``) are not imports and are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = {"examples", "benchmarks", "tests", "docs", "ppo", "train_ppo", "evaluate"}
FORBIDDEN = {
    "gym_dactyl": {"wrappers", "dactyl_vision", "world_models", "dactyl_warp"} | SCRIPTS,
    "wrappers": {"dactyl_vision", "world_models", "dactyl_warp"} | SCRIPTS,
    "dactyl_vision": {"world_models", "dactyl_warp"} | SCRIPTS,
    "world_models": {"dactyl_vision", "dactyl_warp"} | SCRIPTS,
    "dactyl_warp": {"dactyl_vision", "world_models"} | SCRIPTS,
}


def imported_top_levels(path: Path, package: str) -> set[str]:
    """Top-level names of every module ``path`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = path.relative_to(ROOT).with_suffix("").parts
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside its own package
                base = parts[: len(parts) - node.level]
                out.add(base[0] if base else package)
            elif node.module:
                out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no sources"
    bad = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imported_top_levels(path, package) & FORBIDDEN[package]
    }
    assert not bad, sorted(bad)


def test_the_checker_sees_imports(tmp_path, monkeypatch):
    """A forbidden import, even inside a function or relative, is caught (the test can fail)."""
    pkg = tmp_path / "gym_dactyl"
    pkg.mkdir()
    (pkg / "bad.py").write_text("def f():\n    from wrappers.stack import GROUPS\n    import examples.x\n")
    (pkg / "rel.py").write_text("from . import scene\nfrom .constants import X\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert imported_top_levels(pkg / "bad.py", "gym_dactyl") == {"wrappers", "examples"}
    assert imported_top_levels(pkg / "rel.py", "gym_dactyl") == {"gym_dactyl"}


def test_vision_package_exports():
    import dactyl_vision
    from dactyl_vision import CameraObservation, PoseFromVision, PoseNet

    assert {"CameraObservation", "PoseFromVision", "PoseNet"} <= set(dactyl_vision.__all__)
    assert CameraObservation.__module__ == "dactyl_vision.camera_observation"
    assert PoseFromVision.__module__ == "dactyl_vision.pose_from_vision"
    assert PoseNet.__module__ == "dactyl_vision.pose_net"
