"""The ``vision`` evaluation condition's pose estimator: load and check a ``pose_estimator.pt``.

Dactyl §2 ("block, vision", Table 3) runs the state-trained policy with the block's position and orientation
estimated from three camera images; ``dactyl_vision.PoseFromVision`` does the replacement, this module
only loads the estimator written by ``examples/train_pose_estimator.py`` and turns every way a path can be
wrong into an error that names it.
"""

from __future__ import annotations

import os
from pathlib import Path

from dactyl_vision.pose_net import PoseNet, load_pose_net
from gym_dactyl import constants as C

__all__ = ["POSE_MODEL_FILE", "load_pose_estimator", "resolve_pose_model"]

#: File name written by ``examples/train_pose_estimator.py`` in its ``--out`` directory.
POSE_MODEL_FILE = "pose_estimator.pt"


def resolve_pose_model(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/pose_estimator.pt`` when ``path`` is a directory.

    Raises:
        FileNotFoundError: the path (or the file inside the directory) does not exist.
    """
    path = Path(path)
    if path.is_dir():
        path = path / POSE_MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"--pose-model: no pose estimator at {path} (expected a {POSE_MODEL_FILE} "
                                "written by examples/train_pose_estimator.py)")  # fmt: skip
    return path


def load_pose_estimator(path: str | os.PathLike) -> PoseNet:
    """Load a pose estimator saved by ``examples/train_pose_estimator.py`` for ``Dactyl-v0``'s cameras.

    Args:
        path: the ``pose_estimator.pt`` file or the directory holding it.

    Returns:
        The network in eval mode.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is not a pose estimator (unreadable, no config, weights that do not fit the
            config), or it expects cameras ``Dactyl-v0`` does not have.
    """
    path = resolve_pose_model(path)
    try:
        net = load_pose_net(path)
    except Exception as exc:  # torch.load / unpickling / load_state_dict: all mean "not a pose estimator"
        raise ValueError(
            f"--pose-model: {path} is not a pose estimator saved by examples/train_pose_estimator.py "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    cfg = net.config
    cameras = tuple(cfg.camera_names)
    known = (*C.CAMERA_NAMES, *C.CLOSE_CAMERA_NAMES)
    unknown = [c for c in cameras if c not in known]
    if unknown or len(cameras) != cfg.n_cameras:
        raise ValueError(
            f"--pose-model: {path} expects cameras {cameras} (n_cameras={cfg.n_cameras}); Dactyl-v0's vision "
            f"cameras are {known}"
        )
    return net
