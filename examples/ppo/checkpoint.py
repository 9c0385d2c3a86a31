"""Atomic, code-free checkpoints: ``model.zip``, ``model.json``, ``vecnormalize.npz`` / ``.json``, ``meta.json``.

Trust rule: **loading a checkpoint never executes code from it.** Nothing in it is unpickled:

* ``model.zip`` is SB3's archive, read here without SB3's loader: the tensors (``policy.pth``,
  ``policy.optimizer.pth``, ``pytorch_variables.pth``) with ``torch.load(weights_only=True)``, the ``data``
  entry as JSON. Every cloudpickled (``":serialized:"``) entry of ``data`` is *replaced*, never decoded: the
  spaces, the clip range and the policy class come from ``model.json`` (plain JSON; the policy class must be
  one of :data:`POLICY_CLASSES`), and anything else pickled is dropped (SB3 rebuilds it). As a diagnostic the
  pickled entries are also scanned (``pickletools``, no execution): one that references anything outside
  :data:`ALLOWED_PICKLE_MODULES` (``os.system``, ``builtins.eval`` ...) makes loading fail with an error.
* Normalisation statistics are arrays in ``vecnormalize.npz`` (``allow_pickle=False``) plus their settings in
  ``vecnormalize.json``.

Old checkpoints (``vecnormalize.pkl`` and no ``model.json``) are refused with a message: convert one you
trust once with ``python examples/convert_checkpoint.py DIR`` (which does unpickle it, explicitly).

:func:`export_policy` writes a policy-only copy (no ``policy.optimizer.pth``, a third of the size) for
publishing and evaluation; it loads like any checkpoint.

A checkpoint is written into a temporary sibling directory and moved into place with ``os.replace``, so a
reader (or a crash) never sees half a checkpoint. ``meta.json`` records the timesteps so far, the training
arguments and the observation/action spaces, which :func:`load_checkpoint` checks.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import pickletools
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.utils import check_for_correct_spaces
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

__all__ = [
    "ALLOWED_PICKLE_MODULES",
    "LEGACY_VECNORM_FILE",
    "META_FILE",
    "MODEL_CONFIG_FILE",
    "MODEL_FILE",
    "POLICY_CLASSES",
    "VECNORM_CONFIG_FILE",
    "VECNORM_FILE",
    "LegacyCheckpointError",
    "UnsafeCheckpointError",
    "check_spaces",
    "describe_space",
    "export_policy",
    "load_checkpoint",
    "load_vecnormalize",
    "resolve_checkpoint",
    "save_checkpoint",
    "save_vecnormalize",
    "space_from_json",
    "space_to_json",
]

MODEL_FILE = "model.zip"
MODEL_CONFIG_FILE = "model.json"
VECNORM_FILE = "vecnormalize.npz"
VECNORM_CONFIG_FILE = "vecnormalize.json"
LEGACY_VECNORM_FILE = "vecnormalize.pkl"
META_FILE = "meta.json"
FORMAT_VERSION = 2
#: The ``model.zip`` entry (without ``.pth``) holding Adam's state; :func:`export_policy` leaves it out.
OPTIMIZER_ENTRY = "policy.optimizer"

#: Policy classes a checkpoint may name (``module.qualname`` -> importable module, class name).
POLICY_CLASSES: dict[str, tuple[str, str]] = {
    "ppo.policy.AsymmetricRecurrentPolicy": ("ppo.policy", "AsymmetricRecurrentPolicy"),
    "examples.ppo.policy.AsymmetricRecurrentPolicy": ("ppo.policy", "AsymmetricRecurrentPolicy"),
    "sb3_contrib.common.recurrent.policies.RecurrentActorCriticPolicy": (
        "sb3_contrib.common.recurrent.policies", "RecurrentActorCriticPolicy",
    ),
    "sb3_contrib.common.recurrent.policies.RecurrentMultiInputActorCriticPolicy": (
        "sb3_contrib.common.recurrent.policies", "RecurrentMultiInputActorCriticPolicy",
    ),
}  # fmt: skip

#: Top-level modules the pickled entries of an SB3 ``data`` file may reference (diagnostic scan only: they
#: are never unpickled whatever they reference).
ALLOWED_PICKLE_MODULES = ("gymnasium", "numpy", "stable_baselines3", "sb3_contrib", "ppo", "examples", "collections",
                          "copyreg", "torch")  # fmt: skip

#: SB3 attributes that are run state, not the model: left out of the archive (SB3 rebuilds them on learn).
_VOLATILE = ["ep_info_buffer", "ep_success_buffer", "_last_obs", "_last_original_obs", "_last_episode_starts",
             "_last_lstm_states"]  # fmt: skip


class LegacyCheckpointError(ValueError):
    """A checkpoint in the old pickled format: refused, with how to convert it."""


class UnsafeCheckpointError(ValueError):
    """A checkpoint whose pickled entries reference code outside the allowed modules: refused, nothing run."""


# ---------------------------------------------------------------------- spaces as JSON
def space_to_json(space: gym.Space) -> dict[str, Any]:
    """A plain-JSON description of a Dict / Box / MultiDiscrete / Discrete space (exact, for :func:`space_from_json`).

    Raises:
        ValueError: for other space types.
    """
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_to_json(v) for k, v in space.spaces.items()}}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "low": space.low.tolist(), "high": space.high.tolist(), "shape": list(space.shape),
                "dtype": np.dtype(space.dtype).str}  # fmt: skip
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist(), "start": space.start.tolist(),
                "dtype": np.dtype(space.dtype).str}  # fmt: skip
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    raise ValueError(f"space must be a Dict, Box, MultiDiscrete or Discrete space to be saved, got {space}")


def space_from_json(desc: Any) -> gym.Space:
    """The space described by :func:`space_to_json` output.

    Raises:
        ValueError: on a malformed description.
    """
    try:
        kind = desc["type"]
        if kind == "Dict":
            return spaces.Dict({k: space_from_json(v) for k, v in desc["spaces"].items()})
        if kind == "Box":
            dtype = np.dtype(desc["dtype"])
            shape = tuple(int(n) for n in desc["shape"])
            low = np.asarray(desc["low"], dtype=dtype).reshape(shape)
            high = np.asarray(desc["high"], dtype=dtype).reshape(shape)
            return spaces.Box(low, high, shape, dtype)
        if kind == "MultiDiscrete":
            dtype = np.dtype(desc["dtype"])
            return spaces.MultiDiscrete(np.asarray(desc["nvec"], dtype), dtype=dtype, start=np.asarray(desc["start"]))
        if kind == "Discrete":
            return spaces.Discrete(int(desc["n"]), start=int(desc["start"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"malformed space description {desc!r}: {type(err).__name__}: {err}") from None
    raise ValueError(f"malformed space description: unknown type in {desc!r}")


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


def _policy_class_name(model: RecurrentPPO) -> str:
    cls = model.policy_class
    name = f"{cls.__module__}.{cls.__qualname__}"
    if name not in POLICY_CLASSES:
        raise ValueError(
            f"save_checkpoint: policy class {name} is not one of the loadable POLICY_CLASSES {list(POLICY_CLASSES)}"
        )
    return name


def _constant(schedule: Any, name: str) -> float:
    """The value of a constant SB3 schedule (or a float), for JSON."""
    value = schedule(1.0) if callable(schedule) else schedule
    if callable(schedule) and schedule(0.0) != value:
        raise ValueError(f"save_checkpoint: {name} must be constant to be saved as JSON, got a varying schedule")
    return float(value)


def save_vecnormalize(vecnorm: VecNormalize, directory: str | os.PathLike) -> None:
    """Write ``vecnorm``'s statistics to ``vecnormalize.npz`` (arrays) and ``vecnormalize.json`` (settings)."""
    directory = Path(directory)
    arrays: dict[str, np.ndarray] = {}

    def put(prefix: str, rms: Any) -> None:
        arrays[f"{prefix}/mean"] = np.asarray(rms.mean, dtype=np.float64)
        arrays[f"{prefix}/var"] = np.asarray(rms.var, dtype=np.float64)
        arrays[f"{prefix}/count"] = np.asarray(rms.count, dtype=np.float64)

    if isinstance(vecnorm.obs_rms, dict):
        for key, rms in vecnorm.obs_rms.items():
            put(f"obs_rms/{key}", rms)
    elif vecnorm.obs_rms is not None:
        put("obs_rms", vecnorm.obs_rms)
    put("ret_rms", vecnorm.ret_rms)
    np.savez(directory / VECNORM_FILE, **arrays)
    config = {
        "format": FORMAT_VERSION,
        "training": bool(vecnorm.training),
        "norm_obs": bool(vecnorm.norm_obs),
        "norm_reward": bool(vecnorm.norm_reward),
        "clip_obs": float(vecnorm.clip_obs),
        "clip_reward": float(vecnorm.clip_reward),
        "gamma": float(vecnorm.gamma),
        "epsilon": float(vecnorm.epsilon),
        "norm_obs_keys": None if vecnorm.norm_obs_keys is None else list(vecnorm.norm_obs_keys),
        "observation_space": space_to_json(vecnorm.observation_space),
        "action_space": space_to_json(vecnorm.action_space),
    }
    (directory / VECNORM_CONFIG_FILE).write_text(json.dumps(config, indent=2))


def save_checkpoint(path: str | os.PathLike, model: RecurrentPPO, meta: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and its VecNormalize statistics to the directory ``path``, atomically.

    Args:
        path: checkpoint directory to create (replaced if it exists).
        model: the model; ``model.get_vec_normalize_env()`` must be a VecNormalize.
        meta: extra metadata (e.g. training arguments) stored in ``meta.json``.

    Returns:
        The checkpoint directory.

    Raises:
        ValueError: no VecNormalize, a policy class outside :data:`POLICY_CLASSES`, non-JSON policy kwargs or
            a varying learning-rate / clip-range schedule (neither could be reloaded without unpickling).
    """
    path = Path(path)
    vecnorm = model.get_vec_normalize_env()
    if vecnorm is None:
        raise ValueError("save_checkpoint: the model's env is not wrapped in VecNormalize")
    config = {
        "format": FORMAT_VERSION,
        "algorithm": "RecurrentPPO",
        "policy_class": _policy_class_name(model),
        "observation_space": space_to_json(model.observation_space),
        "action_space": space_to_json(model.action_space),
        "policy_kwargs": model.policy_kwargs,
        "learning_rate": _constant(model.learning_rate, "learning_rate"),
        "clip_range": _constant(model.clip_range, "clip_range"),
        "clip_range_vf": None if model.clip_range_vf is None else _constant(model.clip_range_vf, "clip_range_vf"),
    }
    try:
        config_text = json.dumps(config, indent=2)
    except TypeError as err:
        raise ValueError(
            f"save_checkpoint: policy_kwargs must be plain JSON to be reloadable, got {model.policy_kwargs!r}"
        ) from err
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        model.save(tmp / MODEL_FILE, exclude=_VOLATILE)
        (tmp / MODEL_CONFIG_FILE).write_text(config_text)
        save_vecnormalize(vecnorm, tmp)
        info = {
            "num_timesteps": int(model.num_timesteps),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "observation_space": describe_space(model.observation_space),
            "action_space": describe_space(model.action_space),
            **(meta or {}),
        }
        (tmp / META_FILE).write_text(json.dumps(info, indent=2, default=_json_default))
        _move_into_place(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _move_into_place(tmp: Path, path: Path) -> None:
    """Replace the directory ``path`` (if any) by the finished directory ``tmp``; a reader never sees half."""
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_policy(src: str | os.PathLike, out: str | os.PathLike, note: dict[str, Any] | None = None) -> Path:
    """Write a policy-only copy of the checkpoint ``src`` to ``out``: everything but the optimizer state.

    Adam's two moment estimates are twice the size of the network, so the export is about a third of a training
    checkpoint (the published ``policies/`` are such exports). It loads with :func:`load_checkpoint` like any
    checkpoint (evaluation is identical); resuming training from it starts Adam afresh. ``src`` is read safely
    (nothing unpickled): the tensors are copied as stored, the other files verbatim. Written atomically.

    Args:
        src: a checkpoint directory (or its ``model.zip``) in the safe format.
        out: the directory to create (replaced if it exists); must differ from ``src``.
        note: extra keys for the export's ``meta.json`` (e.g. how the policy was trained and scored); they
            override ``policy_only`` / ``exported_from`` (the source's path) if they repeat them.

    Returns:
        The export's directory.

    Raises:
        ValueError: ``out`` is ``src``, or ``src`` is not a readable checkpoint.
    """
    ckpt = resolve_checkpoint(src)
    out = Path(out)
    if out.resolve() == ckpt.resolve():
        raise ValueError(f"out must differ from the source checkpoint, got {str(out)!r} for both")
    load_checkpoint(ckpt)  # refuse anything that would not load
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        with zipfile.ZipFile(ckpt / MODEL_FILE) as archive, zipfile.ZipFile(
            tmp / MODEL_FILE, "w", compression=zipfile.ZIP_DEFLATED
        ) as slim:
            for name in archive.namelist():
                if name != f"{OPTIMIZER_ENTRY}.pth":
                    slim.writestr(name, archive.read(name))
        for name in (MODEL_CONFIG_FILE, VECNORM_FILE, VECNORM_CONFIG_FILE):
            shutil.copy2(ckpt / name, tmp / name)
        meta_path = ckpt / META_FILE
        meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        meta.update(policy_only=True, exported_from=str(ckpt))
        meta.update(note or {})
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, default=_json_default))
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _legacy_message(ckpt: Path) -> str:
    return (
        f"checkpoint {str(ckpt)!r} is in the old pickled format ({LEGACY_VECNORM_FILE}, no {MODEL_CONFIG_FILE}); "
        "loading it would unpickle (run code from) its files, so it is refused. If you trust where it came from, "
        f"convert it once: python examples/convert_checkpoint.py {str(ckpt)!r}"
    )


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """Return the checkpoint directory for ``path`` (the directory itself or its ``model.zip``).

    Raises:
        FileNotFoundError: ``path`` does not exist or lacks one of the checkpoint's files.
        LegacyCheckpointError: an old pickled checkpoint (with how to convert it).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"checkpoint not found: {str(p)!r} does not exist")
    ckpt = p.parent if p.is_file() else p
    required = (MODEL_FILE, MODEL_CONFIG_FILE, VECNORM_FILE, VECNORM_CONFIG_FILE)
    missing = [name for name in required if not (ckpt / name).is_file()]
    if missing and (ckpt / LEGACY_VECNORM_FILE).is_file() and (ckpt / MODEL_FILE).is_file():
        raise LegacyCheckpointError(_legacy_message(ckpt))
    if missing:
        raise FileNotFoundError(
            f"checkpoint {str(p)!r} is incomplete: missing {', '.join(missing)} in {str(ckpt)!r} "
            f"(a checkpoint directory holds {', '.join(required)} and {META_FILE})"
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


def _pickle_globals(raw: bytes) -> list[str]:
    """``module.name`` of every global a pickle would import, read with ``pickletools`` (nothing is executed).

    Strings pushed on the stack (and memoised) are tracked so protocol-4+ ``STACK_GLOBAL`` is resolved; a
    global whose name cannot be determined is reported as ``"?"``.
    """
    found, recent, memo = [], [], {}
    for op, arg, _ in pickletools.genops(raw):
        name = op.name
        if name == "GLOBAL":
            found.append(str(arg).replace(" ", "."))
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "SHORT_BINSTRING",
                      "BINSTRING"):  # fmt: skip
            recent.append(arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = recent[-1] if recent else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(arg))
        elif name == "STACK_GLOBAL":
            module, attr = (recent[-2], recent[-1]) if len(recent) >= 2 else (None, None)
            found.append(f"{module}.{attr}" if isinstance(module, str) and isinstance(attr, str) else "?")
    return found


def _scan_pickled_entries(data: dict[str, Any], source: str) -> None:
    for key, item in data.items():
        if not (isinstance(item, dict) and ":serialized:" in item):
            continue
        try:
            names = _pickle_globals(base64.b64decode(item[":serialized:"]))
        except Exception as err:  # noqa: BLE001 - malformed: refuse, never try harder
            raise UnsafeCheckpointError(f"{source}: entry {key!r} is not a readable pickle ({err}); refused") from None
        bad = [n for n in names if n.split(".")[0] not in ALLOWED_PICKLE_MODULES]
        if bad:
            raise UnsafeCheckpointError(
                f"{source}: entry {key!r} references {sorted(set(bad))}, outside the allowed modules "
                f"{list(ALLOWED_PICKLE_MODULES)}; refused without unpickling anything (do not trust this file)"
            )


def _read_model_zip(model_path: Path, device: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(data, params, pytorch_variables)`` of an SB3 archive: JSON and ``weights_only`` tensors, no pickle."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            data = json.loads(archive.read("data").decode())
            params, variables = {}, {}
            for name in archive.namelist():
                if not name.endswith(".pth"):
                    continue
                tensors = th.load(io.BytesIO(archive.read(name)), map_location=device, weights_only=True)
                stem = name[: -len(".pth")]
                if stem == "pytorch_variables":
                    variables = tensors
                else:
                    params[stem] = tensors
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError, RuntimeError) as err:
        raise ValueError(f"cannot read {str(model_path)!r} as an SB3 model: {type(err).__name__}: {err}") from err
    except Exception as err:  # noqa: BLE001 - e.g. torch's UnpicklingError for a non-tensor .pth: refused
        raise UnsafeCheckpointError(
            f"cannot read {str(model_path)!r} without unpickling code: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(data, dict):
        raise ValueError(f"cannot read {str(model_path)!r} as an SB3 model: its data entry is not a JSON object")
    return data, params, variables


def load_checkpoint(
    path: str | os.PathLike,
    device: str = "cpu",
    env: VecEnv | None = None,
    expect: tuple[gym.Space, gym.Space] | None = None,
    algorithm: type[RecurrentPPO] = RecurrentPPO,
) -> tuple[RecurrentPPO, dict[str, Any], Path]:
    """Load the model and metadata of a checkpoint, checking its spaces first; nothing is unpickled.

    Args:
        path: checkpoint directory or its ``model.zip``.
        device: torch device.
        env: optional VecEnv to attach (e.g. the VecNormalize of a resumed run); ``n_envs`` may differ.
        expect: ``(observation_space, action_space)`` the model must have (default: ``env``'s spaces).
        algorithm: the class to build: RecurrentPPO or a subclass that adds no saved state (training resumes with
            ``ppo.pipeline.OverlappedRecurrentPPO``).

    Returns:
        ``(model, meta, checkpoint_dir)``; ``meta`` is ``{}`` when ``meta.json`` is absent.

    Raises:
        FileNotFoundError: missing path or files.
        LegacyCheckpointError: an old pickled checkpoint (the message says how to convert it).
        UnsafeCheckpointError: pickled entries referencing code outside the allowed modules.
        ValueError: unreadable model, or spaces that do not match.
    """
    ckpt = resolve_checkpoint(path)
    model_path = ckpt / MODEL_FILE
    meta_path = ckpt / META_FILE
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    try:
        config = json.loads((ckpt / MODEL_CONFIG_FILE).read_text())
        obs_space = space_from_json(config["observation_space"])
        action_space = space_from_json(config["action_space"])
        module, cls_name = POLICY_CLASSES[config["policy_class"]]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"cannot read {str(ckpt / MODEL_CONFIG_FILE)!r}: {type(err).__name__}: {err}") from err
    data, params, variables = _read_model_zip(model_path, device)
    _scan_pickled_entries(data, str(model_path))
    if expect is None and env is not None:
        expect = (env.observation_space, env.action_space)
    if expect is not None:
        check_spaces(str(ckpt), obs_space, action_space, *expect)
    if not isinstance(obs_space, spaces.Dict):
        raise ValueError(
            f"incompatible checkpoint {str(ckpt)!r}: expected a Dict observation space with the Dactyl keys, "
            f"got {obs_space}"
        )
    # Every pickled entry is replaced (JSON config) or dropped (SB3 rebuilds it): none is decoded.
    replacements = {
        "observation_space": obs_space,
        "action_space": action_space,
        "policy_kwargs": config.get("policy_kwargs") or {},
        "learning_rate": config.get("learning_rate"),
        "clip_range": config.get("clip_range"),
        "clip_range_vf": config.get("clip_range_vf"),
    }
    state = {}
    for key, item in data.items():
        if key in replacements:
            state[key] = replacements[key]
        elif isinstance(item, dict) and ":serialized:" in item:
            continue
        else:
            state[key] = item
    for key in ("observation_space", "action_space", "policy_kwargs"):
        state[key] = replacements[key]
    try:
        policy_class = getattr(importlib.import_module(module), cls_name)
        if env is not None:
            env = RecurrentPPO._wrap_env(env, verbose=0)
            check_for_correct_spaces(env, obs_space, action_space)
            state["n_envs"] = env.num_envs
        if not issubclass(algorithm, RecurrentPPO):
            raise ValueError(f"algorithm must be RecurrentPPO or a subclass, got {algorithm!r}")
        model = algorithm(policy=policy_class, env=env, device=device, _init_setup_model=False)
        state.pop("policy_class", None)
        model.__dict__.update(state)
        model._setup_model()
        if "policy" not in params:
            raise ValueError(f"{str(model_path)!r} holds no policy.pth (the network's weights)")
        # A policy-only export (export_policy) has no optimizer state: the policy loads exactly and Adam starts
        # fresh, which evaluation never uses and a resumed run rebuilds.
        model.set_parameters(params, exact_match=OPTIMIZER_ENTRY in params, device=device)
        for name, tensor in variables.items():
            target = model
            *parents, leaf = name.split(".")
            for part in parents:
                target = getattr(target, part)
            getattr(target, leaf).data = tensor.data
        if model.use_sde:
            model.policy.reset_noise()
    except Exception as err:  # noqa: BLE001
        raise ValueError(
            f"cannot load {str(model_path)!r} as a RecurrentPPO model: {type(err).__name__}: {err}"
        ) from err
    return model, meta, ckpt


class _SpacesOnlyVecEnv(VecEnv):
    """A VecEnv that only has spaces: what a VecNormalize needs to normalise observations for evaluation."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        super().__init__(1, observation_space, action_space)

    def _nope(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("these normalisation statistics were loaded without an env (evaluation only)")

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [None]

    def close(self) -> None:
        pass

    reset = step_async = step_wait = set_attr = env_method = env_is_wrapped = _nope


def load_vecnormalize(
    ckpt: str | os.PathLike, venv: VecEnv | None = None, cls: type[VecNormalize] = VecNormalize
) -> VecNormalize:
    """Load the VecNormalize statistics of a checkpoint (``.npz`` + ``.json``), optionally around ``venv``.

    Without ``venv`` the object is only good for ``normalize_obs`` (evaluation). ``cls``: VecNormalize or a subclass
    with the same state (training resumes with ``ppo.normalize.FusedVecNormalize``).

    Raises:
        LegacyCheckpointError: an old checkpoint with only ``vecnormalize.pkl`` (never unpickled).
        ValueError: unreadable files, or statistics computed for another observation space.
    """
    directory = resolve_checkpoint(ckpt)
    path = directory / VECNORM_FILE
    try:
        config = json.loads((directory / VECNORM_CONFIG_FILE).read_text())
        obs_space = space_from_json(config["observation_space"])
        action_space = space_from_json(config["action_space"])
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as err:  # noqa: BLE001
        raise ValueError(f"cannot read normalisation statistics {str(path)!r}: {type(err).__name__}: {err}") from err
    if venv is not None and describe_space(obs_space) != describe_space(venv.observation_space):
        raise ValueError(
            f"incompatible normalisation statistics {str(path)!r}: observation space "
            f"{describe_space(obs_space)} != env's {describe_space(venv.observation_space)}"
        )
    try:
        vecnorm = cls(
            venv if venv is not None else _SpacesOnlyVecEnv(obs_space, action_space),
            training=bool(config["training"]),
            norm_obs=bool(config["norm_obs"]),
            norm_reward=bool(config["norm_reward"]),
            clip_obs=float(config["clip_obs"]),
            clip_reward=float(config["clip_reward"]),
            gamma=float(config["gamma"]),
            epsilon=float(config["epsilon"]),
            norm_obs_keys=config["norm_obs_keys"],
        )

        def fill(prefix: str, rms: Any) -> None:
            rms.mean = arrays[f"{prefix}/mean"].reshape(np.shape(rms.mean))
            rms.var = arrays[f"{prefix}/var"].reshape(np.shape(rms.var))
            rms.count = float(arrays[f"{prefix}/count"])

        if isinstance(vecnorm.obs_rms, dict):
            for key, rms in vecnorm.obs_rms.items():
                fill(f"obs_rms/{key}", rms)
        elif vecnorm.norm_obs:
            fill("obs_rms", vecnorm.obs_rms)
        fill("ret_rms", vecnorm.ret_rms)
    except Exception as err:  # noqa: BLE001
        raise ValueError(f"cannot read normalisation statistics {str(path)!r}: {type(err).__name__}: {err}") from err
    return vecnorm
