"""Gaussian action noise: additive (correlated per episode and per step) and multiplicative (Dactyl Table 8)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from wrappers._validation import check_bool, check_box_action_space, check_scale, check_sigma
from wrappers.action_check import ActionCheck

__all__ = ["ActionNoise"]


class ActionNoise(gym.ActionWrapper[Any, np.ndarray, np.ndarray], gym.utils.RecordConstructorArgs, ActionCheck):
    """Perturbs continuous actions with Gaussian noise, then clips them to the action Box.

    Dactyl Table 8 (defaults), σ as a fraction of the action range width ``high - low`` (2 for [-1, 1]):
    uncorrelated additive 5 %, correlated additive 1.5 % (drawn once per episode), uncorrelated
    multiplicative 1.5 %. Per coordinate ``i`` and step ``t``::

        a'_i = clip(a_i · (1 + σ_m·η_t) + c + σ_u·ε_t, low_i, high_i),   c ~ N(0, σ_c²) drawn at reset,

    with every σ multiplied by ``(high_i - low_i) · scale`` (the multiplicative one only by ``scale``: it is
    already relative). All draws use ``self.np_random`` (the env's generator), so ``reset(seed=s)``
    reproduces them; the per-step terms are drawn ``block_steps`` (128) steps at a time.
    With ``scale=0`` or ``enabled=False`` actions pass through untouched (not even clipped) and nothing is drawn.

    Limitations: clipping piles probability mass on the bounds for actions near them; the noise is drawn
    independently per coordinate. Requires a ``Box`` action space with finite bounds; for a discrete interface
    put :class:`wrappers.DiscretizeActions` outside this wrapper.

    Example:
        >>> import gymnasium as gym
        >>> env = ActionNoise(gym.make("Pendulum-v1"))  # Dactyl Table 8 defaults
        >>> _ = env.reset(seed=0)
        >>> float(env.action(np.array([0.5], dtype=np.float32))[0]) != 0.5
        True
        >>> off = ActionNoise(gym.make("Pendulum-v1"), scale=0.0)  # ablation: exact identity
        >>> _ = off.reset(seed=0)
        >>> off.action(np.array([0.5], dtype=np.float32))
        array([0.5], dtype=float32)
    """

    def __init__(
        self,
        env: gym.Env[Any, np.ndarray],
        uncorrelated_additive: float = 0.05,
        correlated_additive: float = 0.015,
        uncorrelated_multiplicative: float = 0.015,
        *,
        scale: float = 1.0,
        enabled: bool = True,
    ):
        """Wrap ``env``.

        Args:
            env: env with a ``spaces.Box`` action space.
            uncorrelated_additive: σ of the per-step additive noise, fraction of the range width (Table 8: 0.05).
            correlated_additive: σ of the per-episode additive offset, fraction of the range width (0.015).
            uncorrelated_multiplicative: σ of the per-step factor ``1 + σ·η`` (Table 8: 0.015).
            scale: multiplies every σ (ablations); 0 is exactly the identity.
            enabled: ``False`` makes the wrapper exactly the identity.

        Raises:
            ValueError: on a non-Box action space or a negative / non-finite σ or scale.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self,
            uncorrelated_additive=uncorrelated_additive,
            correlated_additive=correlated_additive,
            uncorrelated_multiplicative=uncorrelated_multiplicative,
            scale=scale,
            enabled=enabled,
        )
        gym.ActionWrapper.__init__(self, env)
        space = check_box_action_space(env, type(self).__name__)
        self.uncorrelated_additive = check_sigma("uncorrelated_additive", uncorrelated_additive)
        self.correlated_additive = check_sigma("correlated_additive", correlated_additive)
        self.uncorrelated_multiplicative = check_sigma("uncorrelated_multiplicative", uncorrelated_multiplicative)
        self.scale = check_scale("scale", scale)
        self.enabled = check_bool("enabled", enabled)

        self._low = space.low.astype(np.float64)
        self._high = space.high.astype(np.float64)
        self._episode_sigmas()
        #: The per-episode additive offset ``c`` in action units (zeros until the first reset).
        self.correlated_noise = np.zeros(space.shape)
        self._dtype = space.dtype
        # Per-step noise is drawn ``block_steps`` steps at a time (one generator call per block, not two per
        # step): row t of ``_factor`` is 1 + σ_m·η_t and row t of ``_offset`` is c + σ_u·ε_t.
        self.block_steps = 128
        self._factor = np.ones((0, *space.shape))
        self._offset = np.zeros((0, *space.shape))
        self._row = 0
        self.init_action_check()

    def _episode_sigmas(self) -> None:
        """Fix the episode's σ (action units) and whether the wrapper acts, from the public attributes."""
        width = (self._high - self._low) * self.scale
        self._sigma_u = self.uncorrelated_additive * width
        self._sigma_c = self.correlated_additive * width
        self._sigma_m = self.uncorrelated_multiplicative * self.scale
        self._active = self.active

    def set_parameters(
        self,
        *,
        uncorrelated_additive: float | None = None,
        correlated_additive: float | None = None,
        uncorrelated_multiplicative: float | None = None,
    ) -> None:
        """Change some σ (as in the constructor; None keeps one); they take effect at the next :meth:`reset`.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through.

        Raises:
            ValueError: on a negative or non-finite σ (nothing is changed then).
        """
        new = {
            name: check_sigma(name, value)
            for name, value in (
                ("uncorrelated_additive", uncorrelated_additive),
                ("correlated_additive", correlated_additive),
                ("uncorrelated_multiplicative", uncorrelated_multiplicative),
            )
            if value is not None
        }
        for name, value in new.items():
            setattr(self, name, value)

    @property
    def active(self) -> bool:
        """Whether the wrapper changes anything (enabled, non-zero scale and some non-zero σ)."""
        return (
            self.enabled
            and self.scale > 0.0
            and (
                self.uncorrelated_additive > 0.0
                or self.correlated_additive > 0.0
                or self.uncorrelated_multiplicative > 0.0
            )
        )

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Reset the env, then draw this episode's correlated offset from the (re)seeded generator."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._row = len(self._factor)  # the block drawn in the last episode is discarded
        self._episode_sigmas()  # σ and scale are read here: a change mid-episode takes effect at the next reset
        if self._active and self.correlated_additive > 0.0:
            self.np_random.standard_normal(out=self.correlated_noise)
            self.correlated_noise *= self._sigma_c
        else:  # no offset this episode (σ_c may have been set to 0 since the last one, e.g. by ADR)
            self.correlated_noise[...] = 0.0
        return obs, info

    def _draw_block(self) -> None:
        """Draw the next ``block_steps`` steps of noise (both terms in one generator call)."""
        eps = self.np_random.standard_normal((2, self.block_steps, *self.correlated_noise.shape))
        self._factor = eps[0]
        self._factor *= self._sigma_m
        self._factor += 1.0
        self._offset = eps[1]
        self._offset *= self._sigma_u
        self._offset += self.correlated_noise
        self._row = 0

    def action(self, action: np.ndarray) -> np.ndarray:
        """Return the noisy, clipped action (a new array of the action space's dtype).

        Raises:
            ValueError: on an action outside the action space, before any noise is drawn.
        """
        action = self.checked_action(action)
        if not self._active:
            return self.trust_downstream(action)
        if self._row >= len(self._factor):
            self._draw_block()
        t = self._row
        self._row = t + 1
        out = action * self._factor[t]
        out += self._offset[t]
        np.maximum(out, self._low, out=out)
        np.minimum(out, self._high, out=out)
        return self.trust_downstream(out.astype(self._dtype, copy=False))
