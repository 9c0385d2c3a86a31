"""Backlash (slack in the tendon drive) on relative joint actions (Dactyl App. C.2)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from wrappers._validation import (
    check_bool,
    check_box_action_space,
    check_control_dt,
    check_nonnegative,
    check_positive,
    check_scale,
)
from wrappers.action_check import ActionCheck

__all__ = ["DACTYL_BACKLASH_LOG_RATE_DOWN", "DACTYL_BACKLASH_LOG_RATE_UP", "MAX_RATE", "Backlash"]

#: Cap of the per-episode slack rates (1/s): a vanishing ``scale`` means no slack, never an overflow to inf/NaN.
MAX_RATE = 1e12

# Calibrated slack rates of the Shadow hand's 20 actuators, in the order of gym_dactyl.constants.ACTUATOR_NAMES,
# as natural logs of 1/s. Dactyl App. C.2 says the slack parameters are "calibrated" but does not list them;
# these are the calibration OpenAI published with its robogym code (BacklashWrapper, coef_up_log /
# coef_down_log). 4.25 (rate e^4.25 ≈ 70 /s) means "no noticeable backlash".
DACTYL_BACKLASH_LOG_RATE_UP: tuple[float, ...] = (
    4.25, 4.25,  # WRJ1, WRJ0
    4.25, 4.25, 1.86,  # FFJ3, FFJ2, FFJ1
    4.25, 4.25, 1.44,  # MFJ3, MFJ2, MFJ1
    4.25, 2.98, 2.07,  # RFJ3, RFJ2, RFJ1
    4.25, 4.25, 2.94, 1.41,  # LFJ4, LFJ3, LFJ2, LFJ1
    2.82, 1.53, 4.25, 2.86, 2.10,  # THJ4, THJ3, THJ2, THJ1, THJ0
)  # fmt: skip
DACTYL_BACKLASH_LOG_RATE_DOWN: tuple[float, ...] = (
    4.25, 4.25,  # WRJ1, WRJ0
    2.93, 4.25, 4.25,  # FFJ3, FFJ2, FFJ1
    4.25, 4.25, 1.92,  # MFJ3, MFJ2, MFJ1
    4.25, 3.35, 4.25,  # RFJ3, RFJ2, RFJ1
    4.25, 4.25, 3.87, 1.39,  # LFJ4, LFJ3, LFJ2, LFJ1
    4.25, 1.25, 4.25, 4.25, 4.25,  # THJ4, THJ3, THJ2, THJ1, THJ0
)  # fmt: skip


class Backlash(gym.ActionWrapper[Any, np.ndarray, np.ndarray], gym.utils.RecordConstructorArgs, ActionCheck):
    """Scales relative actions down while the slack of a joint's drive is taken up after a direction reversal.

    Dactyl App. C.2: per joint two slack parameters δ−, δ+ (randomised around calibrated values each episode,
    σ 0.1); a slack state ``s ∈ [-1, 1]`` moves by ``a·δ_sgn(a)·Δt``, and while the slack is being taken up
    the applied action is scaled down. What this wrapper implements, per actuator ``i`` (vectorised):

    * ``δ±`` are slack *rates* (1/s; a large rate = little backlash). Per episode
      ``log δ± = log δ±_cal · (1 + 0.1·ε)``, ``ε ~ N(0, 1)``, then
      ``δ± = min(max(exp(·), min_rate) / scale, MAX_RATE)`` (``min_rate`` keeps a finger usable; ``scale``
      multiplies the slack, i.e. divides the rate; ``MAX_RATE`` = 1e12 /s keeps a tiny scale finite).
    * Each step, with ``u = a · action_scale`` (the relative action in actuator control units) and ``Δt`` the
      control step: ``incr = u · δ_sgn(a) · Δt`` and ``gap = |sgn(a) − s|`` (slack left to take up in the
      direction of ``a``, in ``[0, 2]``).
    * The fraction ``α = clip(gap / |incr|, 0, 1)`` of the step is spent in the slack, so the env receives
      ``a' = (1 − α)·a``; then ``s ← clip(s + incr, −1, 1)``. ``s = 0`` at reset (the drive in mid-slack).

    So with the slack already taken up in the direction of ``a`` (``s = sgn(a)``) the action passes unchanged;
    after a reversal the first steps are attenuated until ``s`` reaches the other end. Defaults are the
    calibrated rates ``DACTYL_BACKLASH_LOG_RATE_UP`` / ``_DOWN`` (for 20 actuators) and σ 0.1 (App. C.2).

    Limitations (stated plainly): the slack is modelled on the *command*, not in the physics (no free play
    in the joint); ``s`` integrates commanded, not measured, motion, so external forces do not move it;
    it assumes relative actions (``u`` is the commanded change of the joint target), and the relative σ in
    log space follows OpenAI's published code rather than an absolute σ on δ. All draws use
    ``self.np_random``; ``scale=0`` or ``enabled=False`` is exactly the identity and draws nothing.

    Example:
        >>> import gymnasium as gym
        >>> env = Backlash(gym.make("Pendulum-v1"), log_rate_up=1.0, log_rate_down=1.0, std=0.0, dt=0.05)
        >>> _ = env.reset(seed=0)
        >>> a = np.array([1.0], dtype=np.float32)
        >>> [round(float(env.action(a)[0]), 3) for _ in range(3)]  # slow slack: still taking it up
        [0.0, 0.0, 0.0]
        >>> env.slack.round(3)  # 3 steps of e^1 /s · 0.05 s
        array([0.408])
        >>> env = Backlash(gym.make("Pendulum-v1"), log_rate_up=4.0, log_rate_down=4.0, std=0.0, dt=0.05)
        >>> _ = env.reset(seed=0)
        >>> [round(float(env.action(a)[0]), 3) for _ in range(3)]
        [0.634, 1.0, 1.0]
    """

    def __init__(
        self,
        env: gym.Env[Any, np.ndarray],
        log_rate_up: float | np.ndarray | None = None,
        log_rate_down: float | np.ndarray | None = None,
        std: float = 0.1,
        min_rate: float = 2.0,
        *,
        action_scale: float | np.ndarray | None = None,
        dt: float | None = None,
        scale: float = 1.0,
        enabled: bool = True,
    ):
        """Wrap ``env``.

        Args:
            env: env with a ``spaces.Box`` action space of relative actions.
            log_rate_up: calibrated ``log δ+`` (1/s), a number or one per action coordinate; ``None`` uses
                ``DACTYL_BACKLASH_LOG_RATE_UP`` (needs 20 action coordinates).
            log_rate_down: calibrated ``log δ−``, as ``log_rate_up``.
            std: relative σ of the per-episode randomisation of ``log δ`` (App. C.2: 0.1).
            min_rate: lower clip of the per-episode rates, > 0 (OpenAI's code: 2 /s).
            action_scale: control units per unit action (number or per coordinate, > 0). ``None``: half the
                width of ``env.unwrapped.model.actuator_ctrlrange`` when the env has a MuJoCo model with one
                actuator per action coordinate, else 1.
            dt: control step in seconds; ``None`` uses ``env.unwrapped.dt``.
            scale: multiplies the slack (divides the rates); 0 is exactly the identity.
            enabled: ``False`` makes the wrapper exactly the identity.

        Raises:
            ValueError: on a non-Box action space, non-finite or wrongly shaped rates, negative ``std``,
                non-positive ``min_rate`` / ``action_scale`` / ``dt``, or no ``dt`` available.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self,
            log_rate_up=log_rate_up,
            log_rate_down=log_rate_down,
            std=std,
            min_rate=min_rate,
            action_scale=action_scale,
            dt=dt,
            scale=scale,
            enabled=enabled,
        )
        gym.ActionWrapper.__init__(self, env)
        space = check_box_action_space(env, type(self).__name__)
        shape = space.shape
        actuators = _action_actuators(env, shape)
        up = None if actuators is None else tuple(DACTYL_BACKLASH_LOG_RATE_UP[i] for i in actuators)
        down = None if actuators is None else tuple(DACTYL_BACKLASH_LOG_RATE_DOWN[i] for i in actuators)
        self.log_rate_up = _per_actuator("log_rate_up", log_rate_up, up or DACTYL_BACKLASH_LOG_RATE_UP, shape)
        self.log_rate_down = _per_actuator("log_rate_down", log_rate_down, down or DACTYL_BACKLASH_LOG_RATE_DOWN, shape)
        self.std = check_nonnegative("std", std)
        self.min_rate = check_positive("min_rate", min_rate)
        self.scale = check_scale("scale", scale)
        self.enabled = check_bool("enabled", enabled)
        self.dt = check_control_dt(env, dt)
        if action_scale is None:
            action_scale = _ctrl_half_range(env, shape)
        self.action_scale = _per_actuator("action_scale", action_scale, None, shape, positive=True)

        #: Slack state ``s`` per actuator, in [-1, 1]; 0 at reset.
        self.slack = np.zeros(shape)
        #: This episode's rates δ+ and δ− (1/s, already divided by ``scale``).
        self.rate_up = np.full(shape, np.inf)
        self.rate_down = np.full(shape, np.inf)
        self._gain_up = np.zeros(shape)  # action_scale · δ+ · Δt
        self._gain_down = np.zeros(shape)
        self._dtype = space.dtype
        self._active = self.active  # fixed again at each reset
        self.init_action_check()

    def set_parameters(self, *, std: float | None = None, scale: float | None = None) -> None:
        """Change the σ of ``log δ`` and/or the slack ``scale`` (None keeps one); effective at the next reset.

        Validated as in the constructor.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through.

        Raises:
            ValueError: on a negative or non-finite value (nothing is changed then).
        """
        new_std = self.std if std is None else check_nonnegative("std", std)
        self.scale = self.scale if scale is None else check_scale("scale", scale)
        self.std = new_std

    @property
    def active(self) -> bool:
        """Whether the wrapper changes anything (enabled and non-zero scale)."""
        return self.enabled and self.scale > 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Reset the env, then draw this episode's slack rates and put every drive in mid-slack."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.slack[...] = 0.0
        self._active = self.active  # scale and std are read here: a change mid-episode waits for the next reset
        if self._active:
            up, down = self.log_rate_up, self.log_rate_down
            if self.std > 0.0:
                eps = self.np_random.standard_normal((2, *self.slack.shape))
                up = up * (1.0 + self.std * eps[0])
                down = down * (1.0 + self.std * eps[1])
            with np.errstate(over="ignore"):  # a tiny scale gives huge rates: capped, i.e. no slack at all
                self.rate_up = np.minimum(np.maximum(np.exp(up), self.min_rate) / self.scale, MAX_RATE)
                self.rate_down = np.minimum(np.maximum(np.exp(down), self.min_rate) / self.scale, MAX_RATE)
            self._gain_up = self.action_scale * self.rate_up * self.dt
            self._gain_down = self.action_scale * self.rate_down * self.dt
        return obs, info

    def action(self, action: np.ndarray) -> np.ndarray:
        """Return ``(1 − α)·a`` and advance the slack state.

        Raises:
            ValueError: on an action outside the action space, before the slack state changes.
        """
        action = self.checked_action(action)
        if not self._active:
            return self.trust_downstream(action)
        a = np.asarray(action, dtype=np.float64)
        incr = np.where(a > 0.0, self._gain_up, self._gain_down)
        incr *= a
        gap = np.sign(a)
        gap -= self.slack
        np.abs(gap, out=gap)
        # alpha = min(gap / |incr|, 1). |incr| = 0 only where a = 0, where the output is 0 whatever alpha is, so a
        # tiny floor on the divisor replaces a masked division (alpha there is huge, then clipped to 1).
        alpha = np.abs(incr)
        np.maximum(alpha, 1e-300, out=alpha)
        np.divide(gap, alpha, out=alpha)
        np.minimum(alpha, 1.0, out=alpha)
        self.slack += incr
        np.minimum(np.maximum(self.slack, -1.0, out=self.slack), 1.0, out=self.slack)
        np.subtract(1.0, alpha, out=alpha)
        alpha *= a
        return self.trust_downstream(alpha.astype(self._dtype, copy=False))


def _per_actuator(
    name: str, value: Any, default: tuple[float, ...] | None, shape: tuple[int, ...], *, positive: bool = False
) -> np.ndarray:
    """``value`` (or ``default`` when None) as a finite float array broadcast to ``shape``."""
    if value is None:
        if default is None or (len(default),) != tuple(shape):
            raise ValueError(
                f"{name} must be given for an action shape other than Dactyl's (20,), got None for shape {shape}"
            )
        value = default
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), shape).copy()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of shape {shape}, got {value!r}") from None
    if not np.all(np.isfinite(arr)) or (positive and not np.all(arr > 0.0)):
        raise ValueError(f"{name} must be finite{' and > 0' if positive else ''}, got {value!r}")
    return arr


def _action_actuators(env: gym.Env, shape: tuple[int, ...]) -> np.ndarray | None:
    """Actuator index of each action coordinate, when the env says (``DactylEnv.action_actuators``).

    E.g. 18 indices with the wrist locked; None when the env does not say or they do not fit the 20 calibrated rates.
    """
    ids = getattr(env.unwrapped, "action_actuators", None)
    if ids is None:
        return None
    ids = np.asarray(ids)
    if ids.shape != tuple(shape) or len(DACTYL_BACKLASH_LOG_RATE_UP) <= int(ids.max(initial=0)):
        return None
    return ids


def _ctrl_half_range(env: gym.Env, shape: tuple[int, ...]) -> float | np.ndarray:
    """Half the control range of each action coordinate's actuator, or 1 when the env has no such model.

    ``action_actuators`` picks the actuators when the env has fewer actions than actuators (locked wrist).
    """
    model = getattr(env.unwrapped, "model", None)
    ctrlrange = getattr(model, "actuator_ctrlrange", None)
    ids = getattr(env.unwrapped, "action_actuators", None)
    if ctrlrange is not None and ids is not None and np.shape(ids) == tuple(shape):
        ctrlrange = ctrlrange[np.asarray(ids)]
    if ctrlrange is not None and (len(ctrlrange),) == tuple(shape):
        half = 0.5 * (ctrlrange[:, 1] - ctrlrange[:, 0])
        if np.all(half > 0.0):
            return half
    return 1.0
