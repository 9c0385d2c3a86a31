"""Action checks at every stateful wrapper: a bad action is refused before anything changes.

Rule (for every wrapper of this package and for ``Dactyl-v0``): a non-finite, wrongly shaped or out-of-range
action raises :class:`ValueError` on the step where it is given, naming the wrapper and the bad entries,
*before* any internal state (delay line, slack, correlated noise, smoothing, random-number position) changes;
the next valid action then behaves exactly as if the bad call had never been made.

:class:`ActionCheck` is the mixin that does it. Each stateful wrapper calls :meth:`ActionCheck.checked_action`
first thing in ``action`` / ``step``. The check costs a couple of microseconds; in a stack, a wrapper that has
checked an action and derived a new one from it (always valid: bins, clipped noise, delayed copies) hands that
new array down as *trusted* to the next checking wrapper below it, which then skips its own check (an identity
test, used once). Wrappers that pass actions on unchanged (observation and model-editing wrappers) declare
``passes_actions = True`` so the hand-over reaches through them.

Example:
    >>> import gymnasium as gym
    >>> import numpy as np
    >>> from wrappers import ActionDelay
    >>> env = ActionDelay(gym.make("Pendulum-v1"), probability=1.0)
    >>> _ = env.reset(seed=0)
    >>> try:
    ...     env.step(np.array([np.nan], dtype=np.float32))
    ... except ValueError as err:
    ...     print(str(err).split(";")[-1])
     bad entries (index: value): 0: nan
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["ActionCheck", "check_action"]

#: Slack on Box bounds, as the env's own check (float32 round trips of values at the bounds).
BOUND_TOLERANCE = 1e-6
_MAX_LISTED = 8


def _bad_entries(bad: np.ndarray, values: np.ndarray) -> str:
    idx = np.argwhere(bad)
    shown = ", ".join(
        f"{tuple(int(j) for j in i) if len(i) > 1 else int(i[0])}: {values[tuple(i)].item()!r}"
        for i in idx[:_MAX_LISTED]
    )
    more = f", ... ({len(idx)} in all)" if len(idx) > _MAX_LISTED else ""
    return f"bad entries (index: value): {shown}{more}"


def check_action(owner: str, space: gym.Space, action: Any) -> np.ndarray | Any:
    """Return ``action`` (as an array for Box / MultiDiscrete spaces) or raise ``ValueError`` naming ``owner``.

    Box: numeric, the space's shape, every entry finite and within ``[low, high]`` (± 1e-6). MultiDiscrete:
    the space's shape, integer values (integer or integral float dtype) in ``[0, nvec - 1]``. Other spaces:
    ``space.contains(action)``.

    Args:
        owner: the wrapper's (or env's) name, quoted first in the error.
        space: the action space the action must belong to.
        action: the action given.
    """
    if isinstance(space, spaces.Box):
        a = np.asarray(action)
        if a.shape != space.shape:
            raise ValueError(f"{owner}: action must have shape {space.shape}, got shape {a.shape}: {action!r}")
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{owner}: action must be numeric for {space}, got dtype {a.dtype}: {action!r}")
        low, high = space.low - BOUND_TOLERANCE, space.high + BOUND_TOLERANCE
        ok = (a >= low) & (a <= high)  # False for NaN
        if not ok.all():
            raise ValueError(
                f"{owner}: action must be finite and within the action space {space}; " + _bad_entries(~ok, a)
            )
        return a
    if isinstance(space, spaces.MultiDiscrete):
        a = np.asarray(action)
        if a.shape != space.shape:
            raise ValueError(f"{owner}: action must have shape {space.shape}, got shape {a.shape}: {action!r}")
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{owner}: action must hold integer bin indices, got dtype {a.dtype}: {action!r}")
        ok = (a >= 0) & (a < space.nvec)  # False for NaN
        if a.dtype.kind == "f":
            ok &= np.mod(np.where(ok, a, 0), 1) == 0
        if not ok.all():
            raise ValueError(
                f"{owner}: action must hold integer bin indices in [0, nvec - 1] for {space}; " + _bad_entries(~ok, a)
            )
        return a
    if not space.contains(action):
        raise ValueError(f"{owner}: action must belong to the action space {space}, got {action!r}")
    return action


class ActionCheck:
    """Mixin for wrappers that change state in ``action`` / ``step``: check first, then hand trust down.

    Call :meth:`init_action_check` at the end of ``__init__`` (after ``self.env`` and spaces are set), then
    ``action = self.checked_action(action)`` before any state change, and :meth:`trust_downstream` with the
    array handed to the inner env.
    """

    #: This wrapper checks incoming actions (the hand-over target of the wrapper above it).
    checks_actions = True
    _trusted: Any = None
    _downstream: ActionCheck | None = None

    def init_action_check(self) -> None:
        """Find the next checking wrapper below (through wrappers that pass actions on unchanged)."""
        self._trusted = None
        self._check_name = type(self).__name__
        inner = self.env  # type: ignore[attr-defined]
        while isinstance(inner, gym.Wrapper) and not getattr(inner, "checks_actions", False):
            if not getattr(inner, "passes_actions", False):
                inner = None
                break
            inner = inner.env
        self._downstream = inner if getattr(inner, "checks_actions", False) else None

    def checked_action(self, action: Any) -> Any:
        """``action`` after :func:`check_action` against the wrapper's incoming action space."""
        if action is self._trusted and action is not None:
            self._trusted = None
            return action
        self._trusted = None
        return check_action(self._check_name, self.action_space, action)  # type: ignore[attr-defined]

    def trust_downstream(self, action: Any) -> Any:
        """Mark ``action`` (derived from a checked action, hence valid) as trusted by the next checker below."""
        if self._downstream is not None:
            self._downstream._trusted = action
        return action
