"""Discrete action interface: MultiDiscrete bins mapped onto a continuous Box (Dactyl §1)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gym_dactyl.constants import ACTION_BINS
from wrappers._validation import check_box_action_space, check_int
from wrappers.action_check import ActionCheck

__all__ = ["DiscretizeActions"]


class DiscretizeActions(gym.ActionWrapper[Any, np.ndarray, np.ndarray], gym.utils.RecordConstructorArgs, ActionCheck):
    """Exposes ``MultiDiscrete([bins] * d)`` actions and maps bin ``b`` to ``low + b·(high − low)/(bins − 1)``.

    Dactyl §1: each of the 20 action coordinates is discretised into 11 bins mapped to [-1, 1] (bin ``b`` ->
    ``b/5 − 1``). Per coordinate ``i`` the bins are evenly spaced from ``low_i`` (bin 0) to ``high_i`` (bin
    ``bins − 1``), both ends exact. The inner env must have a ``Box`` action space with finite bounds, so the
    continuous randomization wrappers (noise, delay, backlash) go inside and this wrapper outermost.

    Incoming actions are checked every step: an array (or sequence) of the Box's shape holding integer
    values in ``[0, bins − 1]``; anything else raises ``ValueError`` naming this wrapper and the bad entries
    rather than being silently rounded (see :mod:`wrappers.action_check`).

    Example:
        >>> import gymnasium as gym
        >>> env = DiscretizeActions(gym.make("Pendulum-v1"), bins=5)  # Box(-2, 2, (1,))
        >>> env.action_space
        MultiDiscrete([5])
        >>> env.action(np.array([0])), env.action(np.array([3])), env.action(np.array([4]))
        (array([-2.], dtype=float32), array([1.], dtype=float32), array([2.], dtype=float32))
    """

    def __init__(self, env: gym.Env[Any, np.ndarray], bins: int = ACTION_BINS):
        """Wrap ``env``.

        Args:
            env: env with a ``spaces.Box`` action space with finite bounds.
            bins: bins per coordinate, >= 2 (Dactyl §1: 11).

        Raises:
            ValueError: on a non-Box (or unbounded) inner action space or ``bins < 2``.
        """
        gym.utils.RecordConstructorArgs.__init__(self, bins=bins)
        gym.ActionWrapper.__init__(self, env)
        box = check_box_action_space(env, type(self).__name__)
        self.bins = check_int("bins", bins, min_value=2)
        self.action_space = spaces.MultiDiscrete(np.full(box.shape, self.bins, dtype=np.int64))
        self._box = box
        low = box.low.astype(np.float64)
        high = box.high.astype(np.float64)
        fractions = np.arange(self.bins, dtype=np.float64) / (self.bins - 1)
        # (bins, *shape) table of continuous values; the last row is set to ``high`` exactly.
        table = low + fractions.reshape(-1, *([1] * len(box.shape))) * (high - low)
        table[-1] = high
        #: ``bin_values[b]`` is the continuous action for bin ``b`` in every coordinate.
        self.bin_values = np.clip(table, low, high).astype(box.dtype)
        self._index = np.indices(box.shape)
        self.init_action_check()

    def action(self, action: Any) -> np.ndarray:
        """Map a bin index per coordinate to the inner Box; raise ``ValueError`` on an invalid action."""
        arr = self.checked_action(action)
        if arr.dtype.kind not in "iu":
            arr = arr.astype(np.int64)
        return self.trust_downstream(self.bin_values[(arr, *self._index)])
