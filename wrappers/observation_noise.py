"""Gaussian observation noise, correlated per episode + uncorrelated per step (Dactyl Table 7)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from gym_dactyl.constants import QUAT_KEYS
from gym_dactyl.rotations import canonical as canonical_quat
from gym_dactyl.rotations import quat_conj, quat_mul
from wrappers._validation import (
    check_bool,
    check_dict_observation_space,
    check_keys,
    check_mapping,
    check_scale,
    check_sigma,
)

__all__ = ["DACTYL_OBSERVATION_NOISE", "ObservationNoise"]

#: Dactyl Table 7, Gaussian σ as (correlated, uncorrelated): metres for positions, radians for orientation.
DACTYL_OBSERVATION_NOISE: dict[str, tuple[float, float]] = {
    "fingertip_pos": (0.001, 0.002),  # 1 mm / 2 mm
    "object_pos": (0.005, 0.001),  # 5 mm / 1 mm
    "object_quat": (0.1, 0.1),  # 0.1 rad / 0.1 rad
}

#: Observation keys a noise wrapper must never touch: the critic's clean state (asymmetric actor-critic).
PROTECTED_KEYS: tuple[str, ...] = ("state",)

ObsDict = dict[str, np.ndarray]


def random_rotation(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """``n`` rotations about uniform random axes by angles ~ N(0, sigma), as (n, 4) unit quaternions.

    Vectorised ``mju_axisAngle2Quat``: q = (cos(θ/2), sin(θ/2)·axis).
    """
    axis = rng.standard_normal((n, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    half = 0.5 * sigma * rng.standard_normal(n)
    return np.concatenate((np.cos(half)[:, None], np.sin(half)[:, None] * axis), axis=-1)


class ObservationNoise(gym.ObservationWrapper[ObsDict, Any, ObsDict], gym.utils.RecordConstructorArgs):
    """Adds Gaussian noise to policy observations: correlated per episode plus uncorrelated per step.

    Dactyl Table 7 (defaults, ``DACTYL_OBSERVATION_NOISE``), σ as (correlated, uncorrelated):
    fingertip positions 1 mm / 2 mm, object position 5 mm / 1 mm, object orientation 0.1 rad / 0.1 rad.

    * Position-like keys get ``x + c + σ_u·ε_t`` with ``c ~ N(0, σ_c²)`` drawn at ``reset`` (one value per
      coordinate, held for the episode) and ``ε_t ~ N(0, 1)`` drawn every step.
    * Quaternion keys (``quat_keys``, MuJoCo (w, x, y, z)) are rotated, not added to:
      ``q_noisy = R_u ⊗ R_c ⊗ q`` where each ``R`` turns about a uniform random axis by an angle ~ N(0, σ)
      (``R_c`` per episode, ``R_u`` per step), renormalised with w >= 0.
    * Linked quaternions keep derived observations consistent: with ``linked_quats={"relative_goal_quat":
      "object_quat"}`` (the default when both keys exist), ``relative = goal ⊗ conj(object)`` becomes
      ``relative ⊗ conj(R)``, i.e. exactly ``goal ⊗ conj(object_noisy)``.

    Only the keys given are touched; the critic's clean ``"state"`` is never noised. All draws use
    ``self.np_random`` (the env's generator), so ``reset(seed=s)`` reproduces the noise; the per-step noise is
    drawn ``block_steps`` (128) steps at a time, one vectorised draw instead of several tiny ones per step.
    With ``scale=0`` or ``enabled=False`` the wrapper returns the env's observation object unchanged and draws nothing.

    Limitations: noise is unbounded Gaussian, positions are only clipped to the (usually infinite) space
    bounds; each quaternion key gets its own independent rotation except linked keys.

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> env = ObservationNoise(gym.make("Dactyl-v0", action_type="continuous"))
        >>> obs, info = env.reset(seed=0)
        >>> sorted(env.sigmas)
        ['fingertip_pos', 'object_pos', 'object_quat']
        >>> ablated = ObservationNoise(gym.make("Dactyl-v0", action_type="continuous"), scale=0.0)  # identity

    """

    #: Actions reach the inner env unchanged (see :mod:`wrappers.action_check`).
    passes_actions = True

    def __init__(
        self,
        env: gym.Env[ObsDict, Any],
        sigmas: Mapping[str, tuple[float, float]] | None = None,
        *,
        quat_keys: Iterable[str] = QUAT_KEYS,
        linked_quats: Mapping[str, str] | None = None,
        scale: float = 1.0,
        enabled: bool = True,
    ):
        """Wrap ``env``.

        Args:
            env: env with a ``spaces.Dict`` observation space.
            sigmas: observation key -> (correlated σ, uncorrelated σ), in the key's units (radians for
                quaternion keys). ``None`` uses ``DACTYL_OBSERVATION_NOISE`` (Dactyl Table 7).
            quat_keys: which keys are quaternions (rotation noise); their last dimension must be 4.
            linked_quats: derived quaternion key -> source quaternion key; the derived key is right-multiplied
                by the conjugate of the source's noise rotation. ``None``: ``{"relative_goal_quat":
                "object_quat"}`` when both keys exist and ``object_quat`` is noised, else none.
            scale: multiplies every σ (ablations); 0 is exactly the identity.
            enabled: ``False`` makes the wrapper exactly the identity.

        Raises:
            ValueError: on a non-Dict observation space, an unknown or protected key, a negative σ, a
                quaternion key whose last dimension is not 4, or an inconsistent link.

        """
        gym.utils.RecordConstructorArgs.__init__(
            self, sigmas=sigmas, quat_keys=quat_keys, linked_quats=linked_quats, scale=scale, enabled=enabled
        )
        gym.ObservationWrapper.__init__(self, env)

        space = check_dict_observation_space(env, type(self).__name__)
        self.scale = check_scale("scale", scale)
        self.enabled = check_bool("enabled", enabled)

        raw = DACTYL_OBSERVATION_NOISE if sigmas is None else check_mapping("sigmas", sigmas)
        check_keys("sigmas", raw, space.spaces)
        _check_not_protected("sigmas", raw)
        quat_keys = tuple(quat_keys)

        self.sigmas: dict[str, tuple[float, float]] = {}
        for key, pair in raw.items():
            name = f"sigmas[{key!r}]"
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable) or len(tuple(pair)) != 2:
                raise ValueError(f"{name} must be a (correlated σ, uncorrelated σ) pair, got {pair!r}")
            corr, uncorr = tuple(pair)
            box = space[key]
            if not isinstance(box, spaces.Box):
                raise ValueError(f"observation_space[{key!r}] must be a Box for {name}, got {box!r}")
            if key in quat_keys and box.shape[-1:] != (4,):
                raise ValueError(f"{name}: quaternion key must have last dimension 4, got shape {box.shape}")
            self.sigmas[key] = (check_sigma(f"{name}[0]", corr), check_sigma(f"{name}[1]", uncorr))
        self.quat_keys: tuple[str, ...] = tuple(k for k in self.sigmas if k in quat_keys)

        if linked_quats is None:
            linked_quats = (
                {"relative_goal_quat": "object_quat"}
                if "relative_goal_quat" in space.spaces
                and "object_quat" in self.quat_keys
                and "relative_goal_quat" not in self.sigmas
                else {}
            )
        else:
            linked_quats = dict(check_mapping("linked_quats", linked_quats))
            check_keys("linked_quats", linked_quats, space.spaces)
            _check_not_protected("linked_quats", linked_quats)
        for derived, source in linked_quats.items():
            name = f"linked_quats[{derived!r}]"
            if source not in self.quat_keys:
                raise ValueError(f"{name} must name a noised quaternion key {list(self.quat_keys)}, got {source!r}")
            if derived in self.sigmas:
                raise ValueError(f"{name}: {derived!r} must not also have its own noise in sigmas")
            if space[derived].shape != space[source].shape:
                raise ValueError(
                    f"{name}: shape {space[derived].shape} must equal the shape of {source!r}, {space[source].shape}"
                )
        self.linked_quats: dict[str, str] = dict(linked_quats)

        # Per-key state: correlated offsets (positions) or rotations (quaternions), drawn at reset.
        self._shapes = {k: space[k].shape for k in self.sigmas}
        self._out_shapes = {k: space[k].shape for k in (*self.sigmas, *self.linked_quats)}
        self._dtypes = {k: space[k].dtype for k in self.sigmas}
        self._dtypes.update({k: space[k].dtype for k in self.linked_quats})
        self._bounds = {
            k: None
            if not (np.isfinite(space[k].low).any() or np.isfinite(space[k].high).any())
            else (space[k].low, space[k].high)
            for k in self.sigmas
            if k not in self.quat_keys
        }
        self._n_quats = {k: int(np.prod(self._shapes[k][:-1], dtype=int)) for k in self.quat_keys}
        self.correlated_offset: dict[str, np.ndarray] = {
            k: np.zeros(self._shapes[k]) for k in self.sigmas if k not in self.quat_keys
        }
        self.correlated_rotation: dict[str, np.ndarray] = {
            k: np.tile([1.0, 0.0, 0.0, 0.0], (self._n_quats[k], 1)) for k in self.quat_keys
        }
        # Per-step noise is drawn ``block_steps`` steps at a time (one generator call and a few vectorised ops
        # per block instead of several small ones per step): ``_position_noise[key][t]`` is the total offset
        # (correlated + uncorrelated) of step t, ``_rotation_noise[key][t]`` the total rotation R_u ⊗ R_c.
        self.block_steps = 128
        self._position_noise: dict[str, np.ndarray] = {}
        self._rotation_noise: dict[str, np.ndarray] = {}
        self._row = self.block_steps  # no block yet: the first observation draws one
        self._links = {k: tuple(d for d, s in self.linked_quats.items() if s == k) for k in self.quat_keys}
        self._q_tmp, self._q_out = np.empty(4), np.empty(4)
        self._active = self.active
        self._episode_sigmas = self._scaled_sigmas()

    def _scaled_sigmas(self) -> dict[str, tuple[float, float]]:
        """Per key (correlated σ, uncorrelated σ) times ``scale``: the values one episode uses."""
        return {k: (c * self.scale, u * self.scale) for k, (c, u) in self.sigmas.items()}

    def set_parameters(self, *, sigmas: Mapping[str, tuple[float, float]]) -> None:
        """Change the σ pair of some noised keys (the others keep theirs); they take effect at the next :meth:`reset`.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through. Only keys noised
        since construction can be changed (their noise state is allocated then); a pair of zeros switches a
        key's noise off until it is set again.

        Raises:
            ValueError: on a key not noised by this wrapper or an invalid σ (nothing is changed then).
        """
        new = {}
        for key, pair in check_mapping("sigmas", sigmas).items():
            if key not in self.sigmas:
                raise ValueError(
                    f"sigmas: key {key!r} is not noised by this wrapper; expected one of {list(self.sigmas)}"
                )
            name = f"sigmas[{key!r}]"
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable) or len(tuple(pair)) != 2:
                raise ValueError(f"{name} must be a (correlated σ, uncorrelated σ) pair, got {pair!r}")
            corr, uncorr = tuple(pair)
            new[key] = (check_sigma(f"{name}[0]", corr), check_sigma(f"{name}[1]", uncorr))
        self.sigmas.update(new)

    @property
    def active(self) -> bool:
        """Whether the wrapper changes anything (enabled, non-zero scale and some non-zero σ)."""
        return self.enabled and self.scale > 0.0 and any(c > 0.0 or u > 0.0 for c, u in self.sigmas.values())

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[ObsDict, dict]:
        """Reset the env, then draw this episode's correlated noise from the (re)seeded generator.

        ``enabled``, ``scale`` and ``sigmas`` (new σ values for its keys) are read here and only here:
        changing them mid-episode takes effect at the next reset, never in the middle of an episode.
        """
        obs, info = self.env.reset(seed=seed, options=options)
        self._row = self.block_steps
        self._active = self.active
        self._episode_sigmas = self._scaled_sigmas()
        if self._active:
            rng = self.np_random
            for key, (sigma, _) in self._episode_sigmas.items():
                if key in self.quat_keys:
                    self.correlated_rotation[key] = (
                        random_rotation(rng, self._n_quats[key], sigma)
                        if sigma > 0.0
                        else np.tile([1.0, 0.0, 0.0, 0.0], (self._n_quats[key], 1))
                    )
                elif sigma > 0.0:
                    rng.standard_normal(out=self.correlated_offset[key])
                    self.correlated_offset[key] *= sigma
                else:
                    self.correlated_offset[key][...] = 0.0
        return self.observation(obs), info

    def _draw_block(self) -> None:
        """Draw the next ``block_steps`` steps of noise for every key (vectorised, from ``np_random``)."""
        rng, n = self.np_random, self.block_steps
        self._position_noise, self._rotation_noise = {}, {}
        for key, (corr, sigma_u) in self._episode_sigmas.items():
            if corr <= 0.0 and sigma_u <= 0.0:
                continue  # this key passes through untouched
            if key in self.quat_keys:
                rotation = self.correlated_rotation[key]  # (n_quats, 4)
                m = self._n_quats[key]
                if sigma_u > 0.0:
                    step = random_rotation(rng, n * m, sigma_u).reshape(n, m, 4)
                    self._rotation_noise[key] = quat_mul(step, np.broadcast_to(rotation, (n, m, 4)))
                else:
                    self._rotation_noise[key] = np.broadcast_to(rotation, (n, m, 4))
            else:
                offset = self.correlated_offset[key]
                if sigma_u > 0.0:
                    noise = rng.standard_normal((n, *self._shapes[key]))
                    noise *= sigma_u
                    noise += offset
                    self._position_noise[key] = noise
                else:
                    self._position_noise[key] = np.broadcast_to(offset, (n, *self._shapes[key]))
        self._row = 0

    def observation(self, observation: ObsDict) -> ObsDict:
        """Return a new dict with noisy copies of the noised keys (the env's arrays are not modified)."""
        if not self._active:
            return observation
        if self._row >= self.block_steps:
            self._draw_block()
        t = self._row
        self._row = t + 1
        out = dict(observation)
        for key, noise in self._position_noise.items():
            noisy = observation[key] + noise[t]
            bounds = self._bounds[key]
            if bounds is not None:  # skip the clip for unbounded keys (the usual case): it is ~3 us a call
                noisy = np.clip(noisy, *bounds)
            out[key] = noisy.astype(self._dtypes[key], copy=False)
        for key, rotations in self._rotation_noise.items():
            rotation = rotations[t]
            if self._n_quats[key] == 1:
                self._single_quat_noise(observation, out, key, rotation[0])
                continue
            q = np.asarray(observation[key], dtype=np.float64).reshape(-1, 4)
            out[key] = self._as_quat_obs(key, quat_mul(rotation, q))
            for derived in self._links[key]:
                rel = np.asarray(observation[derived], dtype=np.float64).reshape(-1, 4)
                out[derived] = self._as_quat_obs(derived, quat_mul(rel, quat_conj(rotation)))
        return out

    def _single_quat_noise(self, observation: ObsDict, out: ObsDict, key: str, rotation: np.ndarray) -> None:
        """Fast path for one quaternion: MuJoCo's ``mju_*`` quaternion routines instead of batched numpy."""
        q_tmp, q_out = self._q_tmp, self._q_out
        mujoco.mju_mulQuat(q_out, rotation, np.asarray(observation[key], dtype=np.float64).reshape(4))
        out[key] = self._as_single_quat_obs(key, q_out)
        for derived in self._links[key]:
            mujoco.mju_negQuat(q_tmp, rotation)
            mujoco.mju_mulQuat(q_out, np.asarray(observation[derived], dtype=np.float64).reshape(4), q_tmp)
            out[derived] = self._as_single_quat_obs(derived, q_out)

    def _as_single_quat_obs(self, key: str, q: np.ndarray) -> np.ndarray:
        mujoco.mju_normalize4(q)
        if q[0] < 0.0:
            q = -q
        return q.reshape(self._out_shapes[key]).astype(self._dtypes[key])

    def _as_quat_obs(self, key: str, q: np.ndarray) -> np.ndarray:
        return canonical_quat(q).reshape(self._out_shapes[key]).astype(self._dtypes[key], copy=False)


def _check_not_protected(name: str, keys: Iterable[str]) -> None:
    bad = [k for k in keys if k in PROTECTED_KEYS]
    if bad:
        raise ValueError(f"{name} must not contain the clean critic keys {list(PROTECTED_KEYS)}, got {bad}")
