"""Fingertip-marker dropouts and occlusions: markers frozen at their last observed value (Dactyl App. C.2)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gym_dactyl.constants import STATE_DIM, STATE_LAYOUT
from wrappers._validation import (
    check_bool,
    check_control_dt,
    check_dict_observation_space,
    check_keys,
    check_nonnegative,
    check_scale,
)

__all__ = ["MarkerFreeze"]

ObsDict = dict[str, np.ndarray]


class MarkerFreeze(gym.ObservationWrapper[ObsDict, Any, ObsDict], gym.utils.RecordConstructorArgs):
    """Freezes motion-capture markers (3-D points of one observation key) at their last observed value.

    Dactyl App. C.2: "each fingertip marker is frozen at its last value with probability 0.2 per second, for
    about 1 s" and "a fingertip marker is frozen while it is close to another marker or the object". Per
    marker ``m`` (the key is reshaped to (n_markers, 3)) and step:

    * Dropout: a marker not already dropped out starts a dropout with probability
      ``1 − exp(−dropout_rate·Δt)`` (a Poisson process at ``dropout_rate`` per second); it then stays frozen
      for ``max(1, round(dropout_duration / Δt))`` steps (13 steps = 1.04 s at Dactyl's 80 ms).
    * Occlusion: frozen while its clean position is closer than ``marker_distance`` to another marker or
      closer than ``object_distance`` to the object centre. Clean positions come from ``obs["state"]``
      (``gym_dactyl.constants.STATE_LAYOUT``) when the env has it, else from the observed key and
      ``obs[object_key]`` (object test skipped if the key is absent).
    * A frozen marker outputs the wrapper's previous output for it, so placed OUTSIDE
      :class:`wrappers.ObservationNoise` it holds the last *noisy* observation, as on the robot.

    ``info["marker_frozen"]`` (bool, (n_markers,)) and ``self.frozen`` report the mask after every
    ``reset``/``step``. Nothing is frozen at ``reset`` (there is no previous value). Randomness: the per-step
    Bernoulli trials are drawn as their equivalent geometric waiting times (steps until the next dropout starts,
    one draw per marker at ``reset`` and one after each dropout), from ``np_random`` (the env's generator, so
    ``reset(seed=s)`` reproduces them); a step without a starting dropout draws nothing.
    ``scale`` multiplies the dropout rate and both occlusion distances (``self.dropout_rate`` etc. keep the
    values given; the product is taken at each reset); ``scale=0`` or ``enabled=False`` is exactly the identity
    and draws nothing.

    The paper gives no occlusion distances: the defaults (2 cm between markers, 3.5 cm to the centre of
    Dactyl's 5.5 cm block, i.e. on or just above a face) are this project's choice. Limitations: occlusion is a
    distance test, not a line-of-sight test from the cameras; dropouts have a fixed length.

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> from wrappers.observation_noise import ObservationNoise
        >>> env = MarkerFreeze(ObservationNoise(gym.make("Dactyl-v0", action_type="continuous")))
        >>> obs, info = env.reset(seed=0)
        >>> info["marker_frozen"].shape
        (5,)
    """

    #: Actions reach the inner env unchanged (see :mod:`wrappers.action_check`).
    passes_actions = True

    def __init__(
        self,
        env: gym.Env[ObsDict, Any],
        key: str = "fingertip_pos",
        dropout_rate: float = 0.2,
        dropout_duration: float = 1.0,
        marker_distance: float = 0.02,
        object_distance: float = 0.035,
        *,
        object_key: str = "object_pos",
        use_state: bool | None = None,
        dt: float | None = None,
        scale: float = 1.0,
        enabled: bool = True,
    ):
        """Wrap ``env``.

        Args:
            env: env with a ``spaces.Dict`` observation space.
            key: observation key of the markers, a Box of size ``3·n_markers`` (Dactyl: 5 fingertips × 3).
            dropout_rate: dropouts per second per marker (App. C.2: 0.2).
            dropout_duration: length of a dropout in seconds (App. C.2: "about 1 s").
            marker_distance: occlusion distance between two markers in metres (0 disables).
            object_distance: occlusion distance between a marker and the object centre in metres (0 disables).
            object_key: observation key of the object position, used when no clean state is available.
            use_state: take clean positions from ``obs["state"]`` (``True``), from the observation
                (``False``), or ``None``: the state when ``key``/``object_key`` are Dactyl's and the space has a
                ``"state"`` of ``STATE_DIM``.
            dt: control step in seconds; ``None`` uses ``env.unwrapped.dt``.
            scale: multiplies ``dropout_rate``, ``marker_distance`` and ``object_distance``; 0 is the identity.
            enabled: ``False`` makes the wrapper exactly the identity.

        Raises:
            ValueError: on a non-Dict observation space, an unknown key, a key whose size is not a multiple
                of 3, negative rates / durations / distances / scale, ``use_state=True`` without a usable state, or no
                ``dt`` available.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self,
            key=key,
            dropout_rate=dropout_rate,
            dropout_duration=dropout_duration,
            marker_distance=marker_distance,
            object_distance=object_distance,
            object_key=object_key,
            use_state=use_state,
            dt=dt,
            scale=scale,
            enabled=enabled,
        )
        gym.ObservationWrapper.__init__(self, env)
        space = check_dict_observation_space(env, type(self).__name__)
        check_keys("key", [key], space.spaces)
        box = space[key]
        if not isinstance(box, spaces.Box) or box.shape == () or int(np.prod(box.shape)) % 3:
            raise ValueError(f"key {key!r} must be a Box of 3-D points (size a multiple of 3), got {box!r}")
        self.key = key
        self.n_markers = int(np.prod(box.shape)) // 3
        self.scale = check_scale("scale", scale)
        self.dropout_rate = check_nonnegative("dropout_rate", dropout_rate)
        self.dropout_duration = check_nonnegative("dropout_duration", dropout_duration)
        self.marker_distance = check_nonnegative("marker_distance", marker_distance)
        self.object_distance = check_nonnegative("object_distance", object_distance)
        self.enabled = check_bool("enabled", enabled)
        self.dt = check_control_dt(env, dt)

        state_usable = (
            "state" in space.spaces
            and space["state"].shape == (STATE_DIM,)
            and key in STATE_LAYOUT
            and STATE_LAYOUT[key].stop - STATE_LAYOUT[key].start == 3 * self.n_markers
            and (object_key in STATE_LAYOUT or self.object_distance == 0.0)
        )
        if use_state is None:
            use_state = state_usable
        elif check_bool("use_state", use_state) and not state_usable:
            raise ValueError(
                f"use_state must be False or None for this env (no 'state' of shape ({STATE_DIM},) with "
                f"{key!r} and {object_key!r} in STATE_LAYOUT), got True"
            )
        self.use_state = bool(use_state)
        if not self.use_state and self.object_distance > 0.0 and object_key in space.spaces:
            if space[object_key].shape != (3,):
                raise ValueError(f"object_key {object_key!r} must be a (3,) position, got {space[object_key]!r}")
        self.object_key = object_key

        #: Which markers are frozen in the last observation returned.
        self.frozen = np.zeros(self.n_markers, dtype=bool)
        # Dropout schedule in steps since reset: marker m is dropped out while t < _freeze_until[m], and its next
        # dropout starts at step _next_start[m]; _NEVER when dropouts are off.
        self._t = 0
        self._freeze_until = np.zeros(self.n_markers, dtype=np.int64)
        self._next_start = np.full(self.n_markers, _NEVER, dtype=np.int64)
        self._freeze_max = 0
        self._next_start_min = _NEVER
        self._last = np.zeros((self.n_markers, 3), dtype=box.dtype)
        self._derive()
        self._key_shape = space[key].shape
        # With the clean state: the state indices of the markers, then of the object when it has some (one gather).
        self._state_points: np.ndarray | None = None
        if self.use_state:
            slices = [STATE_LAYOUT[key]] + ([STATE_LAYOUT[object_key]] if object_key in STATE_LAYOUT else [])
            self._state_points = np.concatenate([np.arange(s.start, s.stop) for s in slices])

    def _derive(self) -> None:
        """Per-step quantities from the public parameters times ``scale`` (at construction and at every reset)."""
        rate, marker, obj = (self.scale * v for v in (self.dropout_rate, self.marker_distance, self.object_distance))
        #: Per-step probability that a marker starts a dropout, and a dropout's length in steps.
        self.dropout_probability = float(-np.expm1(-rate * self.dt))
        self.dropout_steps = max(1, int(np.floor(self.dropout_duration / self.dt + 0.5)))
        # Squared distance thresholds: marker j (or the object, last column) occludes marker i when closer than
        # this; -1 on the diagonal so no marker occludes itself.
        thresholds = np.full((self.n_markers, self.n_markers + 1), marker**2)
        thresholds[:, -1] = obj**2
        thresholds[np.arange(self.n_markers), np.arange(self.n_markers)] = -1.0
        if marker <= 0.0:
            thresholds[:, :-1] = -1.0
        if obj <= 0.0:
            thresholds[:, -1] = -1.0
        self._thresholds = thresholds
        self._occlusion = marker > 0.0 or obj > 0.0

    def set_parameters(
        self,
        *,
        dropout_rate: float | None = None,
        dropout_duration: float | None = None,
        marker_distance: float | None = None,
        object_distance: float | None = None,
    ) -> None:
        """Change some of these constructor arguments (None keeps one); they take effect at the next :meth:`reset`.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through. An
        ``object_distance > 0`` needs the object's position, as in the constructor.

        Raises:
            ValueError: on a negative or non-finite value (nothing is changed then).
        """
        new = {
            name: check_nonnegative(name, value)
            for name, value in (
                ("dropout_rate", dropout_rate),
                ("dropout_duration", dropout_duration),
                ("marker_distance", marker_distance),
                ("object_distance", object_distance),
            )
            if value is not None
        }
        if new.get("object_distance", 0.0) > 0.0 and self.use_state and self.object_key not in STATE_LAYOUT:
            raise ValueError(
                f"object_distance must be 0 for this env (no {self.object_key!r} in STATE_LAYOUT), "
                f"got {new['object_distance']}"
            )
        for name, value in new.items():
            setattr(self, name, value)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[ObsDict, dict]:
        """Reset the env; nothing is frozen in the first observation.

        The dropout and occlusion parameters are read here: a change mid-episode takes effect at the next reset.
        """
        obs, info = self.env.reset(seed=seed, options=options)
        self._derive()
        self.frozen = np.zeros(self.n_markers, dtype=bool)
        self._t = 0
        self._freeze_until[...] = 0
        self._freeze_max = 0
        if self.enabled and self.dropout_probability > 0.0:
            self._next_start[...] = self.np_random.geometric(self.dropout_probability, self.n_markers)
        else:
            self._next_start[...] = _NEVER
        self._next_start_min = int(self._next_start.min())
        if self.enabled:
            self._last[...] = np.reshape(obs[self.key], (self.n_markers, 3))
        return obs, {**info, "marker_frozen": self.frozen.copy()}

    def step(self, action: Any) -> tuple[ObsDict, Any, bool, bool, dict]:
        """Step the env and freeze markers; ``info["marker_frozen"]`` is the mask used."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs = self.observation(obs)
        return obs, reward, terminated, truncated, {**info, "marker_frozen": self.frozen.copy()}

    def observation(self, observation: ObsDict) -> ObsDict:
        """Return a new dict whose marker key holds frozen markers at their previous output value."""
        if not self.enabled:
            return observation
        markers = observation[self.key].reshape(self.n_markers, 3)
        t = self._t = self._t + 1
        if t >= self._next_start_min:
            self._start_dropouts(t)
        frozen = self._freeze_until > t if t < self._freeze_max else None
        if self._occlusion:
            occluded = self._occluded(observation, markers)
            frozen = occluded if frozen is None else frozen | occluded
        if frozen is None:
            frozen = np.zeros(self.n_markers, dtype=bool)
        self.frozen = frozen
        out = dict(observation)
        if frozen.any():
            new = np.where(frozen[:, None], self._last, markers)
            self._last[...] = new
            out[self.key] = new.reshape(self._key_shape).astype(self._last.dtype, copy=False)
        else:  # the common case: nothing frozen, the observation passes through unchanged
            self._last[...] = markers
        return out

    def _start_dropouts(self, t: int) -> None:
        """Start the dropouts due at step ``t`` and draw each one's next start (after it ends)."""
        starts = self._next_start <= t
        self._freeze_until[starts] = t + self.dropout_steps
        # Trials resume on the step the dropout ends (back-to-back dropouts are possible, as per-step trials give).
        gaps = self.np_random.geometric(self.dropout_probability, int(starts.sum()))
        self._next_start[starts] = t + self.dropout_steps - 1 + gaps
        self._next_start_min = int(self._next_start.min())
        self._freeze_max = int(self._freeze_until.max())

    def _occluded(self, observation: ObsDict, markers: np.ndarray) -> np.ndarray:
        """Markers closer than the thresholds to another marker or to the object (one vectorised test)."""
        n = self.n_markers
        if self._state_points is not None:
            points = observation["state"][self._state_points].reshape(-1, 3)
        else:
            obj = observation.get(self.object_key)
            points = markers if obj is None else np.concatenate((markers, np.reshape(obj, (1, 3))))
        thresholds = self._thresholds if len(points) > n else self._thresholds[:, :n]
        diff = points[:n, None, :] - points[None, :, :]
        return np.logical_or.reduce(np.einsum("ijk,ijk->ij", diff, diff) < thresholds, axis=1)


#: "No dropout scheduled" (beyond any episode length).
_NEVER = np.iinfo(np.int64).max // 2
