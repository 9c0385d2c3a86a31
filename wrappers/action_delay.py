"""Per-actuator action delay, sampled per episode (Dactyl App. C.2)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from wrappers._validation import check_bool, check_box_action_space, check_int, check_probability, check_scale
from wrappers.action_check import ActionCheck

__all__ = ["ActionDelay"]


class ActionDelay(gym.ActionWrapper[Any, np.ndarray, np.ndarray], gym.utils.RecordConstructorArgs, ActionCheck):
    """Delays a random subset of actuators by ``delay_steps`` control steps.

    Dactyl App. C.2 (defaults): "per actuator and per episode, with probability 0.5, actions arrive one step
    (80 ms) late". At every ``reset`` each actuator is independently delayed with probability
    ``probability``; for a delayed actuator ``i`` the env receives ``a_i(t - k)`` at step ``t`` (``k =
    delay_steps``), exactly the input shifted by ``k``, and ``fill_i`` for the first ``k`` steps of the episode.
    Undelayed actuators receive their current action unchanged. The mask is ``self.delay_mask`` and
    ``info["action_delay_mask"]`` of ``reset``. The fill defaults to 0, i.e. "hold the current joint
    target" for the env's relative actions; use the Box's neutral value for absolute actions.

    ``scale`` multiplies the probability (capped at 1), as every wrapper's ``scale`` multiplies its magnitude:
    the effective probability is ``min(1, probability · scale)`` (``self.effective_probability``).

    Randomness: one ``np_random.random(d)`` draw per reset when ``0 < effective_probability < 1`` (the env's
    generator, so ``reset(seed=s)`` reproduces the mask); none otherwise. ``probability=0``, ``scale=0`` or
    ``enabled=False`` is exactly the identity.

    Limitations: the delay is a whole number of control steps (the paper's 80 ms is one step); sub-step
    timing jitter is a separate effect not modelled here.

    Example:
        >>> import gymnasium as gym
        >>> env = ActionDelay(gym.make("Pendulum-v1"), probability=1.0)
        >>> _, info = env.reset(seed=0)
        >>> info["action_delay_mask"]
        array([ True])
        >>> env.action(np.array([1.5], dtype=np.float32)), env.action(np.array([-1.0], dtype=np.float32))
        (array([0.], dtype=float32), array([1.5], dtype=float32))
    """

    def __init__(
        self,
        env: gym.Env[Any, np.ndarray],
        probability: float = 0.5,
        delay_steps: int = 1,
        fill: float | np.ndarray = 0.0,
        *,
        scale: float = 1.0,
        enabled: bool = True,
    ):
        """Wrap ``env``.

        Args:
            env: env with a ``spaces.Box`` action space.
            probability: chance that an actuator is delayed in an episode (App. C.2: 0.5).
            delay_steps: delay ``k`` in control steps, >= 1 (App. C.2: 1 step = 80 ms).
            fill: what a delayed actuator receives before ``k`` actions have been seen: a number or an array
                of the action's shape, inside the action Box (0 = hold, for relative actions).
            scale: multiplies ``probability`` (capped at 1); 0 is exactly the identity.
            enabled: ``False`` makes the wrapper exactly the identity.

        Raises:
            ValueError: on a non-Box action space, a probability outside [0, 1], a negative or non-finite
                ``scale``, ``delay_steps < 1`` or a
                fill of the wrong shape or outside the action Box.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self, probability=probability, delay_steps=delay_steps, fill=fill, scale=scale, enabled=enabled
        )
        gym.ActionWrapper.__init__(self, env)
        space = check_box_action_space(env, type(self).__name__)
        self.probability = check_probability("probability", probability)
        self.delay_steps = check_int("delay_steps", delay_steps, min_value=1)
        self.scale = check_scale("scale", scale)
        self.enabled = check_bool("enabled", enabled)
        try:
            fill_arr = np.broadcast_to(np.asarray(fill, dtype=np.float64), space.shape)
        except (TypeError, ValueError):
            raise ValueError(f"fill must be a number or an array of shape {space.shape}, got {fill!r}") from None
        if not (np.all(np.isfinite(fill_arr)) and np.all(fill_arr >= space.low) and np.all(fill_arr <= space.high)):
            raise ValueError(f"fill must lie inside the action space {space}, got {fill!r}")
        self.fill = fill_arr.astype(space.dtype)

        #: Which actuators are delayed this episode (all False until the first reset).
        self.delay_mask = np.zeros(space.shape, dtype=bool)
        # Ring buffer of the last k actions; slot ``_head`` holds a(t - k).
        self._buffer = np.empty((self.delay_steps, *space.shape), dtype=space.dtype)
        self._buffer[...] = self.fill
        self._head = 0
        self._any_delayed = False
        self._dtype = space.dtype
        self.init_action_check()

    @property
    def effective_probability(self) -> float:
        """The per-episode delay probability actually used: ``min(1, probability · scale)``."""
        return min(1.0, self.probability * self.scale)

    def set_parameters(self, *, probability: float) -> None:
        """Change the per-actuator delay probability; it takes effect at the next :meth:`reset`.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through.

        Raises:
            ValueError: on a probability outside [0, 1].
        """
        self.probability = check_probability("probability", probability)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Reset the env, draw this episode's delay mask and empty the delay line (reported in info)."""
        obs, info = self.env.reset(seed=seed, options=options)
        p = self.effective_probability
        if not self.enabled or p == 0.0:
            self.delay_mask[...] = False
        elif p == 1.0:
            self.delay_mask[...] = True
        else:
            self.delay_mask[...] = self.np_random.random(self.delay_mask.shape) < p
        self._buffer[...] = self.fill
        self._head = 0
        self._any_delayed = bool(self.delay_mask.any())
        return obs, {**info, "action_delay_mask": self.delay_mask.copy()}

    def action(self, action: np.ndarray) -> np.ndarray:
        """Return the action with delayed actuators replaced by their value ``delay_steps`` steps ago.

        Raises:
            ValueError: on an action outside the action space (NaN, inf, out of range, wrong shape), before
                the delay line changes.
        """
        action = self.checked_action(action)
        if not self._any_delayed:
            return self.trust_downstream(action)
        action = np.asarray(action, dtype=self._dtype)
        slot = self._buffer[self._head]
        out = np.where(self.delay_mask, slot, action)
        slot[...] = action
        self._head = (self._head + 1) % self.delay_steps
        return self.trust_downstream(out)
