"""The Dactyl env as RLlib builds it inside every env runner: one registered creator, configured by ``env_config``.

``.environment("Dactyl-v0")`` does not work on a Ray cluster: the env runners are fresh processes in which
``gym_dactyl`` was never imported, so the id is unknown there (RLlib reports ``NameNotFound`` in the worker). The
creator below imports the package itself and builds the env with ``ppo.envs.make_dactyl_env``, the same function
``train_ppo.py`` and ``evaluate.py`` use, so the RLlib run trains on exactly the SB3 run's conditions.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__all__ = ["ENV_NAME", "default_env_config", "make_env", "register"]

#: The name the creator is registered under (``config.environment(ENV_NAME, env_config=...)``).
ENV_NAME = "gym_dactyl_rllib"


def default_env_config() -> dict[str, Any]:
    """``env_config`` defaults: ``Dactyl-v0`` with goal z, continuous actions, 8 s goal timeout, no randomization."""
    return {
        "goal": "z",
        "action_type": "continuous",
        "goal_timeout_s": 8.0,
        "wrist": "free",
        "groups": {"observation": False, "physics": False, "unmodeled": False},
        "scale": 1.0,
        "adr": None,
    }


def make_env(env_config: dict[str, Any] | None = None, flatten: bool = True) -> gym.Env:
    """Build one env from ``env_config`` (keys of :func:`default_env_config`; RLlib's ``EnvContext`` is a dict).

    ``groups`` all on is ``DactylRandomized-v0``'s stack; ``adr`` (``ADRState.settings()``) adds the ADR wrapper as
    a reporting sub-env (its ranges come from the driver). With ``flatten`` (what RLlib gets) the Dict observation
    is flattened (``gymnasium.wrappers.FlattenObservation``; the module cuts the keys back out with
    ``dactyl_rllib.module.obs_layout`` of the unflattened space).

    Raises:
        ValueError: an unknown key (a typo would otherwise silently train on the defaults).
    """
    from ppo.envs import make_dactyl_env

    import gym_dactyl  # noqa: F401  (registers Dactyl-v0 in this worker process)

    cfg = default_env_config()
    given = dict(env_config or {})
    unknown = sorted(set(given) - set(cfg))
    if unknown:
        raise ValueError(f"env_config: unknown key(s) {unknown}; expected some of {sorted(cfg)}")
    cfg.update(given)
    env = make_dactyl_env(
        goal=cfg["goal"], action_type=cfg["action_type"], goal_timeout_s=float(cfg["goal_timeout_s"]),
        groups=dict(cfg["groups"]), scale=float(cfg["scale"]), wrist=cfg["wrist"], adr=cfg["adr"],
    )  # fmt: skip
    return gym.wrappers.FlattenObservation(env) if flatten else env


def register() -> str:
    """Register :func:`make_env` with Ray Tune's registry (stored in the cluster, seen by every worker)."""
    from ray.tune.registry import register_env

    register_env(ENV_NAME, make_env)
    return ENV_NAME
