"""Shared argument checks for the randomization wrappers.

Every wrapper validates its arguments in ``__init__`` (never later in ``step``) with these helpers, so
errors read the same everywhere: the argument's name, the value received and what was expected, e.g.
``ValueError: sigma must be a finite number >= 0, got -0.1``.

All errors are :class:`ValueError` subclasses; probability and bound errors also subclass Gymnasium's
:class:`gymnasium.error.InvalidProbability` / :class:`gymnasium.error.InvalidBound`, so code catching
either family works.

Example:
    >>> from wrappers._validation import check_probability, check_range
    >>> check_probability("p", 0.5)
    0.5
    >>> check_range("damping", (0.3, 3.0))
    (0.3, 3.0)
    >>> check_probability("p", 1.5)
    Traceback (most recent call last):
    ...
    wrappers._validation.InvalidProbabilityError: p must be a probability in [0, 1], got 1.5

"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import error, spaces

__all__ = [
    "InvalidArgumentError",
    "InvalidBoundError",
    "InvalidProbabilityError",
    "InvalidSpaceError",
    "check_bool",
    "check_box_action_space",
    "check_dict_observation_space",
    "check_int",
    "check_keys",
    "check_mapping",
    "check_nonnegative",
    "check_positive",
    "check_probability",
    "check_range",
    "check_scale",
    "check_sigma",
    "model_ids",
]


class InvalidArgumentError(ValueError):
    """A wrapper argument is out of its allowed domain."""


class InvalidProbabilityError(InvalidArgumentError, error.InvalidProbability):
    """A probability outside [0, 1]."""


class InvalidBoundError(InvalidArgumentError, error.InvalidBound):
    """A (low, high) pair with low > high or a non-finite end."""


class InvalidSpaceError(InvalidArgumentError):
    """The wrapped env's space has the wrong type or shape for this wrapper."""


def _fail(name: str, value: Any, expectation: str, cls: type[ValueError] = InvalidArgumentError) -> None:
    raise cls(f"{name} must be {expectation}, got {value!r}")


def _as_real(name: str, value: Any, expectation: str) -> float:
    """``value`` as a finite Python float; bools, strings, arrays and NaN/inf are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        _fail(name, value, expectation)
    out = float(value)
    if not math.isfinite(out):
        _fail(name, value, expectation)
    return out


def check_nonnegative(name: str, value: Any) -> float:
    """Return ``value`` as a float, checking it is a finite real number ``>= 0``."""
    expectation = "a finite number >= 0"
    out = _as_real(name, value, expectation)
    if out < 0:
        _fail(name, value, expectation)
    return out


def check_sigma(name: str, value: Any) -> float:
    """Return a standard deviation as a float, checking it is finite and ``>= 0``."""
    return check_nonnegative(name, value)


def check_scale(name: str, value: Any) -> float:
    """Return a magnitude multiplier as a float, checking it is finite and ``>= 0`` (0 = identity)."""
    return check_nonnegative(name, value)


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` as a float, checking it is a finite real number ``> 0``."""
    expectation = "a finite number > 0"
    out = _as_real(name, value, expectation)
    if out <= 0:
        _fail(name, value, expectation)
    return out


def check_control_dt(env: gym.Env, dt: Any) -> float:
    """``dt`` (the control step in seconds, > 0), or ``env.unwrapped.dt`` when ``dt`` is None."""
    if dt is None:
        dt = getattr(env.unwrapped, "dt", None)
        if dt is None:
            raise InvalidArgumentError(
                "dt must be given (a control step in seconds > 0) when env.unwrapped has no dt, got None"
            )
    return check_positive("dt", dt)


def check_probability(name: str, value: Any) -> float:
    """Return a probability as a float, checking it lies in ``[0, 1]``."""
    expectation = "a probability in [0, 1]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        _fail(name, value, expectation, InvalidProbabilityError)
    out = float(value)
    if not 0.0 <= out <= 1.0:  # also refuses NaN
        _fail(name, value, expectation, InvalidProbabilityError)
    return out


def check_range(
    name: str, value: Any, *, min_value: float | None = None, max_value: float | None = None
) -> tuple[float, float]:
    """Return a ``(low, high)`` pair of floats, checking both are finite and ``low <= high``.

    Args:
        name: argument name, quoted in the error.
        value: a 2-sequence ``(low, high)``.
        min_value: if given, ``low`` must be ``>= min_value`` (e.g. 0 for a scaling factor).
        max_value: if given, ``high`` must be ``<= max_value``.

    """
    expectation = "a (low, high) pair of finite numbers with low <= high"
    if min_value is not None:
        expectation += f" and low >= {min_value}"
    if max_value is not None:
        expectation += f" and high <= {max_value}"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        _fail(name, value, expectation, InvalidBoundError)
    items = list(value)
    if len(items) != 2:
        _fail(name, value, expectation, InvalidBoundError)
    ends = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            _fail(name, value, expectation, InvalidBoundError)
        ends.append(float(item))
    low, high = ends
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        _fail(name, value, expectation, InvalidBoundError)
    if (min_value is not None and low < min_value) or (max_value is not None and high > max_value):
        _fail(name, value, expectation, InvalidBoundError)
    return low, high


def check_int(name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """Return ``value`` as an int, checking it is an integer (not a bool) within the given bounds."""
    expectation = "an integer"
    if min_value is not None:
        expectation += f" >= {min_value}"
    if max_value is not None:
        expectation += f" {'and ' if min_value is not None else ''}<= {max_value}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        _fail(name, value, expectation)
    out = int(value)
    if (min_value is not None and out < min_value) or (max_value is not None and out > max_value):
        _fail(name, value, expectation)
    return out


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool, checking it is ``True`` or ``False`` (numpy bools allowed)."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, value, "True or False")
    return bool(value)


def check_keys(name: str, keys: Iterable[str], allowed: Iterable[str]) -> None:
    """Check every key in ``keys`` is one of ``allowed`` (e.g. an observation space's keys)."""
    allowed = list(allowed)
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        _fail(name, unknown, f"keys of the observation space {allowed}")


def check_box_action_space(env: gym.Env, wrapper: str) -> spaces.Box:
    """Return ``env.action_space``, checking it is a finite :class:`gymnasium.spaces.Box`."""
    space = env.action_space
    if not isinstance(space, spaces.Box):
        _fail(
            "env.action_space",
            space,
            f"a gymnasium.spaces.Box for {wrapper} (wrap DiscretizeActions outside it for discrete actions)",
            InvalidSpaceError,
        )
    if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        _fail("env.action_space", space, f"a Box with finite bounds for {wrapper}", InvalidSpaceError)
    return space


def check_dict_observation_space(env: gym.Env, wrapper: str) -> spaces.Dict:
    """Return ``env.observation_space``, checking it is a :class:`gymnasium.spaces.Dict`."""
    space = env.observation_space
    if not isinstance(space, spaces.Dict):
        _fail("env.observation_space", space, f"a gymnasium.spaces.Dict for {wrapper}", InvalidSpaceError)
    return space


def check_mapping(name: str, value: Any) -> Mapping:
    """Return ``value``, checking it is a mapping (dict-like)."""
    if not isinstance(value, Mapping):
        _fail(name, value, "a mapping (dict)")
    return value


def model_ids(model: Any, obj: Any, names: str | Iterable[str] | None, name: str, hint: str = "") -> np.ndarray:
    """Ids of named MuJoCo objects, with an error naming the argument when one is missing.

    Args:
        model: the ``mujoco.MjModel``.
        obj: the ``mujoco.mjtObj`` kind (geom, body, camera, ...).
        names: one name, several names, or None (no objects).
        name: the argument's name, for error messages.
        hint: appended to the error message for a missing object.

    Returns:
        An int array of object ids (empty for None).
    """
    import mujoco

    if names is None:
        return np.zeros(0, dtype=int)
    items = [names] if isinstance(names, str) else names
    if not isinstance(items, Iterable) or not all(isinstance(n, str) for n in items):
        raise InvalidArgumentError(f"{name} must be a name, a sequence of names or None, got {names!r}")
    ids = []
    for item in items:
        i = mujoco.mj_name2id(model, obj, item)
        if i < 0:
            kind = mujoco.mjtObj(obj).name.removeprefix("mjOBJ_").lower()
            raise InvalidArgumentError(
                f"{name} must name {kind}s of the model, got {item!r} which the model lacks {hint}".rstrip()
            )
        ids.append(i)
    return np.asarray(ids, dtype=int)
