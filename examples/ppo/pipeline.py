"""The training pipeline's pieces shared by ``examples/train_ppo.py`` and ``benchmarks/ppo_throughput.py``.

:func:`make_vec_env` is the vector env (several envs per worker process, :class:`ppo.vec_env.MultiEnvSubprocVecEnv`;
``SubprocVecEnv``, one process per env, is the straightforward variant it replaced), :func:`make_model` the
RecurrentPPO with the asymmetric LSTM policy under VecNormalize.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gymnasium as gym
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize

from ppo.config import TrainArgs
from ppo.policy import AsymmetricRecurrentPolicy
from ppo.vec_env import MultiEnvSubprocVecEnv

__all__ = ["VEC_ENV_KINDS", "make_model", "make_vec_env", "make_vecnormalize"]

#: ``batched``: :class:`MultiEnvSubprocVecEnv` (the pipeline); ``subproc``: SB3's ``SubprocVecEnv``, one process
#: per env (the pipeline before issue 13); ``dummy``: every env in this process.
VEC_ENV_KINDS: tuple[str, ...] = ("batched", "subproc", "dummy")


def make_vec_env(
    env_fns: Sequence[Callable[[], gym.Env]], workers: int | None = None, kind: str = "batched"
) -> VecEnv:
    """The training vector env.

    Args:
        env_fns: one thunk per env (``ppo.envs.make_train_env_fn``).
        workers: worker processes of ``batched`` (default one per usable core, at most one per env; ``0``: all
            envs in this process, a ``DummyVecEnv``). A single env without ``workers`` runs in this process.
        kind: one of :data:`VEC_ENV_KINDS`.

    Raises:
        ValueError: unknown ``kind`` or ``workers`` outside ``[0, len(env_fns)]``.
    """
    if kind not in VEC_ENV_KINDS:
        raise ValueError(f"kind must be one of {VEC_ENV_KINDS}, got {kind!r}")
    if workers is not None and not 0 <= workers <= len(env_fns):
        raise ValueError(f"workers must be in [0, {len(env_fns)}] (the number of envs), got {workers}")
    if kind == "dummy" or workers == 0 or (workers is None and len(env_fns) == 1):
        return DummyVecEnv(list(env_fns))
    if kind == "subproc":
        return SubprocVecEnv(list(env_fns))
    return MultiEnvSubprocVecEnv(env_fns, n_workers=workers)


def make_vecnormalize(raw: VecEnv, args: TrainArgs) -> VecNormalize:
    """Per-key running observation normalisation, clipped at ±5 σ, and optional reward normalisation."""
    obs_space = raw.observation_space
    if not isinstance(obs_space, spaces.Dict):
        raise ValueError(f"the training env must have a Dict observation space, got {obs_space}")
    return VecNormalize(
        raw, norm_obs=True, norm_reward=args.norm_reward, norm_obs_keys=list(obs_space.spaces), clip_obs=5.0,
        gamma=args.gamma,
    )  # fmt: skip


def make_model(args: TrainArgs, venv: VecEnv, tensorboard_log: str | None = None) -> RecurrentPPO:
    """A new RecurrentPPO with :class:`AsymmetricRecurrentPolicy` and the hyperparameters of ``args``."""
    policy_kwargs: dict = dict(dense_units=args.dense_units, lstm_hidden_size=args.lstm_units)
    if isinstance(venv.action_space, spaces.Box):
        policy_kwargs["log_std_init"] = args.log_std_init
    return RecurrentPPO(
        AsymmetricRecurrentPolicy, venv,
        learning_rate=args.learning_rate, n_steps=args.n_steps, batch_size=args.batch_size,
        n_epochs=args.n_epochs, gamma=args.gamma, gae_lambda=args.gae_lambda, clip_range=args.clip_range,
        ent_coef=args.ent_coef, policy_kwargs=policy_kwargs, tensorboard_log=tensorboard_log,
        seed=args.seed, device=args.device, verbose=0,
    )  # fmt: skip
