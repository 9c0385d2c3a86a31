"""Atomic checkpoints of the native PPO loop: tensors in ``state.pt`` (loaded ``weights_only=True``), the rest JSON.

A checkpoint is a directory ``<dir>/`` holding ``state.pt`` (model, optimizer and normaliser state dicts: tensors,
numbers and lists only) and ``meta.json`` (config, counters, ADR state). It is written into a temporary sibling
directory and moved into place with ``os.replace``, so a crash never leaves a half-written checkpoint under the
final name. Loading never unpickles arbitrary objects: ``torch.load(..., weights_only=True)`` refuses anything but
tensors and plain containers, and the metadata is JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["FORMAT", "load_checkpoint", "save_checkpoint"]

#: ``meta.json``'s ``format`` field.
FORMAT = "gym-dactyl warp native PPO checkpoint"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write ``state`` (tensors / state dicts) and ``meta`` (JSON-safe) to the directory ``path``, atomically.

    Returns:
        The checkpoint directory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would outlive the move
        torch.save(state, tmp / "state.pt")
        (tmp / "meta.json").write_text(json.dumps({"format": FORMAT, **meta}, indent=1))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, device: torch.device | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read ``(state, meta)`` of a checkpoint directory (tensors ``weights_only``; metadata JSON).

    Raises:
        ValueError: if ``path`` is not such a checkpoint, or ``state.pt`` holds anything but tensors and plain
            containers (``torch.load(weights_only=True)`` refuses it).
    """
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{str(path)!r} is not a native PPO checkpoint directory (meta.json: {err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r}: meta.json is not a native PPO checkpoint's (format {FORMAT!r})")
    try:
        state = torch.load(path / "state.pt", map_location=device, weights_only=True)
    except Exception as err:  # UnpicklingError for a pickled object, OSError for a missing file
        raise ValueError(f"{str(path / 'state.pt')!r} cannot be loaded weights-only: {err}") from err
    return state, meta
