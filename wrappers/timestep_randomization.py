"""Per-episode randomization of the MuJoCo timestep (Dactyl App. C.2, timing)."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from wrappers._validation import check_positive, check_scale
from wrappers.distributions import Distribution, Uniform, check_distribution, episode_generator
from wrappers.physics_randomization import _mujoco_model

__all__ = ["TIMESTEP_RATE", "TimestepRandomization"]

# Dactyl App. C.2: rate of the exponential extra time per MuJoCo step, lambda ~ U[1250, 10000] (1/s).
TIMESTEP_RATE = Uniform(1250.0, 10000.0)


class TimestepRandomization(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Draw the MuJoCo timestep once per episode: ``base + Exp(lambda)`` (Dactyl App. C.2).

    ==========================  ==========  ================================================
    quantity                    argument    default (App. C.2)
    ==========================  ==========  ================================================
    base timestep               base        the env's timestep at construction (8 ms in Dactyl-v0)
    rate of the extra time      rate        lambda ~ U[1250, 10000] per episode (1/lambda in s)
    ==========================  ==========  ================================================

    At every episode start ``lambda`` is drawn from ``rate`` and ``model.opt.timestep`` is set to
    ``base + scale * e`` with ``e ~ Exp(lambda)`` (mean ``1/lambda``: 0.1 to 0.8 ms), *before*
    ``env.reset``, so the reset already runs with it. The sampled values are reported in
    ``info["timestep"]`` and ``info["timestep_rate"]`` on reset. ``scale=0`` gives exactly ``base``.

    The env's control period changes with it: Gymnasium's ``MujocoEnv`` and Dactyl-v0 compute
    ``env.dt = model.opt.timestep * frame_skip``, so ``env.dt`` (and anything derived from it: reward
    rates, time limits in seconds, ``render_fps``-based video timing) varies per episode. Time limits
    counted in steps (``TimeLimit``) are unaffected.

    :meth:`close` and :meth:`restore_nominal` write back the timestep the env had at construction.

    Args:
        env: a MuJoCo env (``env.unwrapped.model``).
        base: the base timestep in seconds, ``> 0``; None uses the env's timestep at construction.
        rate: distribution of ``lambda`` (1/s), support in (0, inf).
        scale: multiplier of the exponential extra time, ``>= 0`` (0: the timestep is ``base``).

    Raises:
        ValueError: on an invalid argument or a non-MuJoCo env.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers.timestep_randomization import TimestepRandomization
        >>> env = TimestepRandomization(gym.make("Ant-v5"))  # Ant-v5: base 10 ms
        >>> _, info = env.reset(seed=0)
        >>> bool(info["timestep"] >= 0.01) and env.unwrapped.dt == info["timestep"] * 5
        True
        >>> env.close()
    """

    #: Actions reach the inner env unchanged (see :mod:`wrappers.action_check`).
    passes_actions = True

    def __init__(
        self,
        env: gym.Env,
        *,
        base: float | None = None,
        rate: Distribution = TIMESTEP_RATE,
        scale: float = 1.0,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, base=base, rate=rate, scale=scale)
        gym.Wrapper.__init__(self, env)
        self._model, _ = _mujoco_model(env, "TimestepRandomization")
        self.nominal_timestep = float(self._model.opt.timestep)
        self.base = self.nominal_timestep if base is None else check_positive("base", base)
        self.rate: Distribution | None = check_distribution("rate", rate, allow_none=False, positive=True)
        self.scale = check_scale("scale", scale)
        self._rng: np.random.Generator | None = None
        self.timestep = self.nominal_timestep

    def set_parameters(self, *, rate: Distribution | None) -> None:
        """Replace the distribution of ``lambda``; it takes effect at the next :meth:`reset`.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through. ``rate`` is
        validated as in the constructor; ``None`` means no extra time at all (the timestep is ``base``,
        ``info["timestep_rate"]`` is ``inf``).

        Raises:
            ValueError: on a distribution whose support is not in (0, inf).
        """
        self.rate = check_distribution("rate", rate, allow_none=True, positive=True)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Draw and write the episode's timestep, then reset the env with it."""
        self._rng = episode_generator(self.env, seed, type(self).__name__, self._rng)
        if self.rate is None:
            rate, extra = math.inf, 0.0
        else:
            rate = float(self.rate.sample(self._rng))
            extra = float(self._rng.exponential(1.0 / rate))
        self.timestep = self.base + self.scale * extra
        self._model.opt.timestep = self.timestep
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info)
        info["timestep"] = self.timestep
        info["timestep_rate"] = rate
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env unchanged (the timestep is held for the episode)."""
        return self.env.step(action)

    def restore_nominal(self) -> None:
        """Write back the timestep the env had at construction."""
        self._model.opt.timestep = self.nominal_timestep
        self.timestep = self.nominal_timestep

    def close(self) -> None:
        """Restore the nominal timestep and close the env."""
        self.restore_nominal()
        super().close()
