"""Random perturbation forces on the object (Dactyl App. C.2, unmodeled effects)."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import mujoco
import numpy as np

from wrappers._validation import InvalidArgumentError, check_probability, check_scale, check_sigma
from wrappers.action_check import ActionCheck
from wrappers.distributions import Distribution, LogUniform, check_distribution, episode_generator
from wrappers.physics_randomization import _mujoco_model

__all__ = ["FORCE_PROBABILITY", "RandomForces"]

# Dactyl App. C.2: per-episode probability of a new force per step, p ~ logU[0.1 %, 10 %].
FORCE_PROBABILITY = LogUniform(0.001, 0.1)


class RandomForces(gym.Wrapper, gym.utils.RecordConstructorArgs, ActionCheck):
    """Hit a body with random, decaying forces, as in Dactyl App. C.2 (OpenAI, arXiv 1808.00177).

    ============================  ====================  ===================================
    quantity                      argument              default (App. C.2)
    ============================  ====================  ===================================
    probability of a hit per step probability           p ~ logU[0.001, 0.1], per episode
    force per axis                acceleration_sigma    N(0, (1 m/s^2 * object mass)^2)
    decay of the applied force    decay                 0.99 per control step (80 ms)
    ============================  ====================  ===================================

    At every episode start ``p`` is drawn; on each :meth:`step`, the force already applied is multiplied
    by ``decay`` and, with probability ``p``, a new force ``N(0, (acceleration_sigma * scale * mass)^2)``
    per axis is added to it. The force is written to ``data.xfrc_applied`` of ``body`` (world frame,
    at the body's centre of mass; torques stay zero) before the env steps, so it acts during the whole
    control step. ``mass`` is the current total mass of ``body``'s subtree, read after ``env.reset``,
    so a :class:`~wrappers.physics_randomization.PhysicsRandomization` placed inside *or* outside this
    wrapper is taken into account. The force is cleared on :meth:`reset`.

    ``info["random_force"]`` holds the force applied during the step (``(3,)`` newtons) and, on reset,
    ``info["random_force_probability"]`` the episode's ``p``. ``scale`` multiplies the force's standard
    deviation (0: no force at all, the env is unchanged).

    The decay is per wrapper step (one control step of the env, 80 ms in Dactyl-v0), as the paper states
    it; on an env with another control period the decay per second differs accordingly.

    Randomness comes from a child of the env's seed (:func:`wrappers.distributions.episode_generator`),
    so ``reset(seed=s)`` reproduces the forces and the env's own random stream is left untouched.

    Args:
        env: a MuJoCo env (``env.unwrapped.model`` / ``.data``) with a body named ``body``.
        body: the body the forces act on (Dactyl-v0: ``"object"``).
        probability: per-episode distribution of the per-step hit probability, support in [0, 1].
        acceleration_sigma: standard deviation of the force per axis divided by the mass (m/s^2), ``>= 0``.
        decay: factor applied to the existing force every step, in [0, 1].
        scale: multiplier of the force's standard deviation, ``>= 0``.

    Raises:
        ValueError: on an invalid argument, a non-MuJoCo env or an unknown body.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers.random_forces import RandomForces
        >>> env = RandomForces(gym.make("Ant-v5"), body="torso")
        >>> _, info = env.reset(seed=0)
        >>> bool(0.001 <= info["random_force_probability"] <= 0.1)
        True
        >>> info["random_force"].shape
        (3,)
        >>> env.close()
    """

    def __init__(
        self,
        env: gym.Env,
        *,
        body: str = "object",
        probability: Distribution = FORCE_PROBABILITY,
        acceleration_sigma: float = 1.0,
        decay: float = 0.99,
        scale: float = 1.0,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            body=body,
            probability=probability,
            acceleration_sigma=acceleration_sigma,
            decay=decay,
            scale=scale,
        )
        gym.Wrapper.__init__(self, env)
        self.probability = _check_probability_distribution(probability)
        self.acceleration_sigma = check_sigma("acceleration_sigma", acceleration_sigma)
        self.decay = check_probability("decay", decay)
        self.scale = check_scale("scale", scale)
        self._model, self._data = _mujoco_model(env, "RandomForces")
        if not isinstance(body, str):
            raise InvalidArgumentError(f"body must be a body name (str), got {body!r}")
        self._body = mujoco.mj_name2id(self._model, mujoco.mjtObj.mjOBJ_BODY, body)
        if self._body <= 0:
            raise InvalidArgumentError(
                f"body must name a (non-world) body of the model, got {body!r}"
                + (" which the model lacks" if self._body < 0 else "")
            )
        # The body and its descendants (bodies are stored parents first).
        subtree = [self._body]
        for i in range(self._body + 1, self._model.nbody):
            if self._model.body_parentid[i] in subtree:
                subtree.append(i)
        self._subtree = np.asarray(subtree)
        self.body = body
        self._rng: np.random.Generator | None = None
        self._p = 0.0
        self._sigma = 0.0
        self._force = np.zeros(3)
        self.init_action_check()

    def set_parameters(self, *, probability: Distribution) -> None:
        """Replace the per-episode distribution of the hit probability; it takes effect at the next :meth:`reset`.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through; validated as in
        the constructor (e.g. ``Constant(0.0)`` for no hits at all).

        Raises:
            ValueError: on a distribution whose support is not in [0, 1].
        """
        self.probability = _check_probability_distribution(probability)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Draw the episode's hit probability, clear the force and reset the env."""
        self._rng = episode_generator(self.env, seed, type(self).__name__, self._rng)
        self._p = float(self.probability.sample(self._rng))
        self._force = np.zeros(3)
        self._data.xfrc_applied[self._body, :3] = 0.0
        obs, info = self.env.reset(seed=seed, options=options)
        self._data.xfrc_applied[self._body, :3] = 0.0
        mass = float(self._model.body_mass[self._subtree].sum())
        self._sigma = self.acceleration_sigma * self.scale * mass
        info = dict(info)
        info["random_force"] = self._force.copy()
        info["random_force_probability"] = self._p
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Decay the force, maybe add a new hit, apply it during the env step.

        Raises:
            ValueError: on an action outside the action space, before the force or its generator changes.
        """
        if self._rng is None:
            raise gym.error.ResetNeeded("Cannot call RandomForces.step before reset")
        action = self.trust_downstream(self.checked_action(action))
        self._force *= self.decay
        if self._rng.random() < self._p:
            self._force += self._sigma * self._rng.standard_normal(3)
        self._data.xfrc_applied[self._body, :3] = self._force
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info["random_force"] = self._force.copy()
        return obs, reward, terminated, truncated, info


def _check_probability_distribution(probability: Any) -> Distribution:
    """``probability`` if it is a distribution with support in [0, 1], else a ValueError naming it."""
    dist = check_distribution("probability", probability, allow_none=False, min_value=0.0)
    assert dist is not None
    if not dist.support[1] <= 1.0:
        raise InvalidArgumentError(f"probability must be a distribution with support in [0, 1], got {probability!r}")
    return dist
