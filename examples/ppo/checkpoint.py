"""Atomic checkpoints: a directory holding ``model.zip``, ``vecnormalize.pkl`` and ``meta.json``.

A checkpoint is written into a temporary sibling directory and moved into place with ``os.replace``,
so a reader (or a crash) never sees half a checkpoint. ``meta.json`` records the timesteps so far, the
training arguments and the observation/action spaces, which :func:`load_checkpoint` checks.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

__all__ = [
    "META_FILE",
    "MODEL_FILE",
    "VECNORM_FILE",
    "check_spaces",
    "describe_space",
    "load_checkpoint",
    "load_vecnormalize",
    "resolve_checkpoint",
    "save_checkpoint",
]

MODEL_FILE = "model.zip"
VECNORM_FILE = "vecnormalize.pkl"
META_FILE = "meta.json"


def describe_space(space: gym.Space) -> Any:
    """A JSON-friendly description of a space (Dict -> {key: shape}; Box/MultiDiscrete -> str)."""
    if isinstance(space, spaces.Dict):
        return {k: list(s.shape) for k, s in space.spaces.items()}
    return str(space)


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save_checkpoint(path: str | os.PathLike, model: RecurrentPPO, meta: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and its VecNormalize statistics to the directory ``path``, atomically.

    Args:
        path: checkpoint directory to create (replaced if it exists).
        model: the model; ``model.get_vec_normalize_env()`` must be a VecNormalize.
        meta: extra metadata (e.g. training arguments) stored in ``meta.json``.

    Returns:
        The checkpoint directory.
    """
    path = Path(path)
    vecnorm = model.get_vec_normalize_env()
    if vecnorm is None:
        raise ValueError("save_checkpoint: the model's env is not wrapped in VecNormalize")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        model.save(tmp / MODEL_FILE)
        vecnorm.save(str(tmp / VECNORM_FILE))
        info = {
            "num_timesteps": int(model.num_timesteps),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "observation_space": describe_space(model.observation_space),
            "action_space": describe_space(model.action_space),
            **(meta or {}),
        }
        (tmp / META_FILE).write_text(json.dumps(info, indent=2, default=_json_default))
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """Return the checkpoint directory for ``path`` (the directory itself or its ``model.zip``).

    Raises:
        FileNotFoundError: ``path`` does not exist or lacks ``model.zip`` / ``vecnormalize.pkl``.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"checkpoint not found: {str(p)!r} does not exist")
    ckpt = p.parent if p.is_file() else p
    for name in (MODEL_FILE, VECNORM_FILE):
        if not (ckpt / name).is_file():
            raise FileNotFoundError(
                f"checkpoint {str(p)!r} is incomplete: missing {name} in {str(ckpt)!r} "
                f"(a checkpoint directory holds {MODEL_FILE}, {VECNORM_FILE} and {META_FILE})"
            )
    return ckpt


def check_spaces(
    source: str, obs_space: gym.Space, action_space: gym.Space, env_obs: gym.Space, env_action: gym.Space
) -> None:
    """Raise a ValueError naming ``source`` when a checkpoint's spaces differ from the env's."""
    problems = []
    if describe_space(obs_space) != describe_space(env_obs):
        problems.append(f"observation space {describe_space(obs_space)} != env's {describe_space(env_obs)}")
    if describe_space(action_space) != describe_space(env_action):
        problems.append(f"action space {describe_space(action_space)} != env's {describe_space(env_action)}")
    if problems:
        raise ValueError(f"incompatible checkpoint {source!r}: " + "; ".join(problems))


def load_checkpoint(
    path: str | os.PathLike,
    device: str = "cpu",
    env: VecEnv | None = None,
    expect: tuple[gym.Space, gym.Space] | None = None,
) -> tuple[RecurrentPPO, dict[str, Any], Path]:
    """Load the model and metadata of a checkpoint, checking its spaces first.

    Args:
        path: checkpoint directory or its ``model.zip``.
        device: torch device.
        env: optional VecEnv to attach (e.g. the VecNormalize of a resumed run); ``n_envs`` may differ.
        expect: ``(observation_space, action_space)`` the model must have (default: ``env``'s spaces).

    Returns:
        ``(model, meta, checkpoint_dir)``; ``meta`` is ``{}`` when ``meta.json`` is absent.

    Raises:
        FileNotFoundError: missing path or files.
        ValueError: unreadable model, or spaces that do not match.
    """
    ckpt = resolve_checkpoint(path)
    model_path = ckpt / MODEL_FILE
    meta_path = ckpt / META_FILE
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    try:
        data, _, _ = load_from_zip_file(model_path, device=device, load_data=True)
    except Exception as err:  # noqa: BLE001 - any failure to read the zip is reported with its path
        raise ValueError(f"cannot read {str(model_path)!r} as an SB3 model: {type(err).__name__}: {err}") from err
    if not data or "observation_space" not in data or "action_space" not in data:
        raise ValueError(f"cannot read {str(model_path)!r} as an SB3 model: no observation/action space in it")
    if expect is None and env is not None:
        expect = (env.observation_space, env.action_space)
    if expect is not None:
        check_spaces(str(ckpt), data["observation_space"], data["action_space"], *expect)
    if not isinstance(data["observation_space"], spaces.Dict):
        raise ValueError(
            f"incompatible checkpoint {str(ckpt)!r}: expected a Dict observation space with the Dactyl keys, "
            f"got {data['observation_space']}"
        )
    try:
        model = RecurrentPPO.load(model_path, env=env, device=device)
    except Exception as err:  # noqa: BLE001
        raise ValueError(
            f"cannot load {str(model_path)!r} as a RecurrentPPO model: {type(err).__name__}: {err}"
        ) from err
    return model, meta, ckpt


def load_vecnormalize(ckpt: str | os.PathLike, venv: VecEnv | None = None) -> VecNormalize:
    """Load the VecNormalize statistics of a checkpoint, optionally around ``venv``.

    Without ``venv`` the object is only good for ``normalize_obs`` (evaluation).

    Raises:
        ValueError: unreadable file, or statistics computed for another observation space.
    """
    path = resolve_checkpoint(ckpt) / VECNORM_FILE
    try:
        with path.open("rb") as f:
            vecnorm = pickle.load(f)
    except Exception as err:  # noqa: BLE001
        raise ValueError(f"cannot read normalisation statistics {str(path)!r}: {type(err).__name__}: {err}") from err
    if not isinstance(vecnorm, VecNormalize):
        raise ValueError(f"{str(path)!r} holds a {type(vecnorm).__name__}, not VecNormalize statistics")
    if venv is not None:
        if describe_space(vecnorm.observation_space) != describe_space(venv.observation_space):
            raise ValueError(
                f"incompatible normalisation statistics {str(path)!r}: observation space "
                f"{describe_space(vecnorm.observation_space)} != env's {describe_space(venv.observation_space)}"
            )
        vecnorm.set_venv(venv)
    return vecnorm
