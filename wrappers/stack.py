"""The paper's full randomization stack, composed in one call.

``dactyl_randomization(env)`` wraps a continuous-action ``Dactyl-v0`` (or any MuJoCo env where the
wrappers apply) in every randomization of Dactyl §2 / App. C.2, grouped as in the paper's ablation
(Table 4): observation noise, physics randomization and unmodeled effects, plus the visual group
(Table 9) for vision work. Each group is one switch; each wrapper's arguments can be overridden,
or the wrapper switched off, by passing its snake_case name.

Order, innermost (next to the simulator) first::

    env -> PhysicsRandomization -> TimestepRandomization -> RandomForces -> [VisualRandomization]
        -> Backlash -> ActionNoise -> ActionDelay            (actions: delay, then noise, then slack)
        -> ObservationNoise -> MarkerFreeze                  (frozen markers hold the last noisy value)
        -> [DiscretizeActions]                               (the paper's 11-bin interface)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from wrappers._validation import check_scale
from wrappers.action_delay import ActionDelay
from wrappers.action_noise import ActionNoise
from wrappers.backlash import Backlash
from wrappers.discretize_actions import DiscretizeActions
from wrappers.marker_freeze import MarkerFreeze
from wrappers.observation_noise import ObservationNoise
from wrappers.physics_randomization import PhysicsRandomization
from wrappers.random_forces import RandomForces
from wrappers.timestep_randomization import TimestepRandomization
from wrappers.visual_randomization import VisualRandomization

__all__ = ["GROUPS", "dactyl_randomization", "make_dactyl_randomized"]

#: Wrapper name -> (class, group), innermost first. Groups follow Dactyl Table 4.
_STACK: tuple[tuple[str, Callable[..., gym.Env], str], ...] = (
    ("physics_randomization", PhysicsRandomization, "physics"),
    ("timestep_randomization", TimestepRandomization, "unmodeled"),
    ("random_forces", RandomForces, "unmodeled"),
    ("visual_randomization", VisualRandomization, "visual"),
    ("backlash", Backlash, "unmodeled"),
    ("action_noise", ActionNoise, "unmodeled"),
    ("action_delay", ActionDelay, "unmodeled"),
    ("observation_noise", ObservationNoise, "observation"),
    ("marker_freeze", MarkerFreeze, "unmodeled"),
)
GROUPS: dict[str, tuple[str, ...]] = {}
for _name, _, _group in _STACK:
    GROUPS.setdefault(_group, ())
    GROUPS[_group] += (_name,)
_SCALED = {name for name, _, _ in _STACK}  # every wrapper takes a ``scale`` (0 = identity)


def dactyl_randomization(
    env: gym.Env,
    *,
    observation: bool = True,
    physics: bool = True,
    unmodeled: bool = True,
    visual: bool = False,
    scale: float = 1.0,
    discrete_actions: bool = False,
    **overrides: Mapping[str, Any] | bool,
) -> gym.Env:
    """Wrap ``env`` in the paper's randomizations.

    Args:
        env: an env with a ``spaces.Box`` action space, e.g. ``gym.make("Dactyl-v0", action_type="continuous")``.
        observation: observation noise (Table 7); ``False`` is Table 4's "no observation noise".
        physics: physics randomization (Table 1); ``False`` is "no physics randomization".
        unmodeled: action noise, delay, backlash, marker freezing, random forces and timestep jitter
            (Table 8, App. C.2); ``False`` is "no unmodeled effects".
        visual: visual randomization (Table 9), for vision work; off by default.
        scale: multiplies every wrapper's magnitude (each wrapper's ``scale``, multiplied with any override's):
            noise σs, widths of the physics / timestep / visual distributions, backlash slack, force σ,
            the action-delay probability (capped at 1), the marker dropout rate and occlusion distances.
            ``0`` is nominal: every wrapper is exactly the identity (rollouts equal the bare env's).
            Any ``scale >= 0`` gives valid physics and images: widened distributions are clipped to their
            support (masses, sizes, frictions, dampings, gains >= 1 % of nominal; contrast >= 0).
        discrete_actions: add :class:`DiscretizeActions` outermost (the paper's 11 bins per joint).
        **overrides: per wrapper, by snake_case name (``physics_randomization``, ``action_delay``, …):
            a dict of keyword arguments for it, ``False`` to leave it out, or ``True`` to force it in
            although its group is off.

    Returns:
        The wrapped env.

    Raises:
        ValueError: on an unknown override name, a non-Box action space or a bad ``scale``.

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> from wrappers import dactyl_randomization
        >>> base = gym.make("Dactyl-v0", action_type="continuous")
        >>> env = dactyl_randomization(base, action_delay={"probability": 0.3}, discrete_actions=True)
        >>> obs, info = env.reset(seed=0)
    """
    scale = check_scale("scale", scale)
    known = {name for name, _, _ in _STACK}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"overrides: unknown wrapper name(s) {sorted(unknown)}; expected some of {sorted(known)}")
    for name, value in overrides.items():
        if not isinstance(value, bool | Mapping):
            raise ValueError(f"{name} must be a dict of keyword arguments, True or False, got {value!r}")
    if not isinstance(env.action_space, spaces.Box):
        raise ValueError(
            f"env: the randomization stack needs a continuous Box action space, got {env.action_space}; "
            "make the env with action_type='continuous' and pass discrete_actions=True for the paper's bins"
        )
    enabled = {"observation": observation, "physics": physics, "unmodeled": unmodeled, "visual": visual}
    for name, cls, group in _STACK:
        override = overrides.get(name)
        if override is False or (not enabled[group] and override is None):
            continue
        kwargs = dict(override) if isinstance(override, Mapping) else {}
        if name in _SCALED and scale != 1.0:
            kwargs["scale"] = kwargs.get("scale", 1.0) * scale
        env = cls(env, **kwargs)
    if discrete_actions:
        env = DiscretizeActions(env)
    return env


def make_dactyl_randomized(
    action_type: str = "discrete",
    randomization: Mapping[str, Any] | None = None,
    **env_kwargs: Any,
) -> gym.Env:
    """Entry point of ``DactylRandomized-v0``: ``Dactyl-v0`` inside the full paper stack.

    Args:
        action_type: ``"discrete"`` (paper) or ``"continuous"``, the interface the agent sees.
        randomization: keyword arguments for :func:`dactyl_randomization`.
        **env_kwargs: keyword arguments for :class:`gym_dactyl.DactylEnv`.
    """
    from gym_dactyl.dactyl_env import DactylEnv

    if action_type not in ("discrete", "continuous"):
        raise ValueError(f"action_type must be 'discrete' or 'continuous', got {action_type!r}")
    base = DactylEnv(action_type="continuous", **env_kwargs)
    return dactyl_randomization(base, discrete_actions=action_type == "discrete", **dict(randomization or {}))
