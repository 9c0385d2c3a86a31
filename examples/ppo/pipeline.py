"""The training pipeline's pieces shared by ``examples/train_ppo.py`` and ``benchmarks/ppo_throughput.py``.

:func:`make_vec_env` is the vector env (several envs per worker process, :class:`ppo.vec_env.MultiEnvSubprocVecEnv`;
``SubprocVecEnv``, one process per env, is the straightforward variant it replaced), :func:`make_model` the
RecurrentPPO with the asymmetric LSTM policy under VecNormalize, :class:`OverlappedRecurrentPPO` sb3-contrib's
RecurrentPPO whose rollouts run the critic while the envs step, and :class:`UpdateThreads` more torch threads for
the update than for the rollouts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize

from ppo.config import TrainArgs
from ppo.lean import LeanRollout
from ppo.normalize import FusedVecNormalize
from ppo.policy import AsymmetricRecurrentPolicy
from ppo.vec_env import MultiEnvSubprocVecEnv, default_workers

__all__ = [
    "VEC_ENV_KINDS",
    "OverlappedRecurrentPPO",
    "UpdateThreads",
    "make_model",
    "make_vec_env",
    "make_vecnormalize",
    "no_distribution_validation",
]

#: ``batched``: :class:`MultiEnvSubprocVecEnv` (the pipeline); ``subproc``: SB3's ``SubprocVecEnv``, one process
#: per env (the pipeline before issue 13); ``dummy``: every env in this process.
VEC_ENV_KINDS: tuple[str, ...] = ("batched", "subproc", "dummy")


def make_vec_env(
    env_fns: Sequence[Callable[[], gym.Env]], workers: int | None = None, kind: str = "batched",
    in_process: int | None = None,
) -> VecEnv:  # fmt: skip
    """The training vector env.

    Args:
        env_fns: one thunk per env (``ppo.envs.make_train_env_fn``).
        workers: worker processes of ``batched`` (default one per usable core, at most one per env, one fewer when
            envs are stepped in-process; ``0``: all envs in this process). A single env without ``workers`` runs
            in this process.
        kind: one of :data:`VEC_ENV_KINDS`.
        in_process: envs of ``batched`` stepped by this process while the workers step the others
            (:class:`MultiEnvSubprocVecEnv`'s ``in_process``; ``workers=0`` means all). Default (``None`` with
            ``workers`` unset): a worker's share, ``n_envs // default_workers(n_envs)`` — e.g. 4 envs on 2 cores:
            2 here and 2 in one worker, measured 1.13× the all-in-workers layout on an idle 2-core machine
            (docs/ppo.md, "Training throughput"); the same numbers either way. ``0``: all envs in workers.

    Raises:
        ValueError: unknown ``kind``, ``workers`` outside ``[0, len(env_fns)]``, ``in_process`` outside
            ``[0, len(env_fns)]``, or both leaving no env or too few envs for the workers.
    """
    n = len(env_fns)
    if kind not in VEC_ENV_KINDS:
        raise ValueError(f"kind must be one of {VEC_ENV_KINDS}, got {kind!r}")
    if workers is not None and not 0 <= workers <= n:
        raise ValueError(f"workers must be in [0, {n}] (the number of envs), got {workers}")
    if in_process is not None and not 0 <= in_process <= n:
        raise ValueError(f"in_process must be in [0, {n}] (the number of envs), got {in_process}")
    if kind == "dummy":
        return DummyVecEnv(list(env_fns))
    if kind == "subproc":
        return SubprocVecEnv(list(env_fns))
    if workers == 0 and in_process not in (None, n):
        raise ValueError(f"workers=0 steps all {n} envs in this process: in_process must be None or {n}, "
                         f"got {in_process}")  # fmt: skip
    if in_process == n and workers:
        raise ValueError(f"in_process={n} leaves no env for workers={workers}")
    if in_process is None and workers is None:  # a worker's share here (all of them on one core)
        in_process = n // default_workers(n)
    if workers == 0 or in_process == n:
        return MultiEnvSubprocVecEnv(env_fns, n_workers=0, in_process=n)
    return MultiEnvSubprocVecEnv(env_fns, n_workers=workers, in_process=in_process or 0)


def make_vecnormalize(raw: VecEnv, args: TrainArgs, fused: bool = True) -> VecNormalize:
    """Per-key running observation normalisation, clipped at ±5 σ, and optional reward normalisation
    (:class:`ppo.normalize.FusedVecNormalize`; ``fused=False``: SB3's ``VecNormalize``, the same numbers)."""
    obs_space = raw.observation_space
    if not isinstance(obs_space, spaces.Dict):
        raise ValueError(f"the training env must have a Dict observation space, got {obs_space}")
    return (FusedVecNormalize if fused else VecNormalize)(
        raw, norm_obs=True, norm_reward=args.norm_reward, norm_obs_keys=list(obs_space.spaces), clip_obs=5.0,
        gamma=args.gamma,
    )  # fmt: skip


@contextmanager
def no_distribution_validation() -> Iterator[None]:
    """Switch off ``torch.distributions``' argument checks inside the block (restored after).

    The checks (finite parameters, samples in the support) cost a few tensor ops per distribution and never change
    a number; a NaN policy output still shows up as NaN actions and losses.
    """
    previous = th.distributions.Distribution._validate_args
    th.distributions.Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        th.distributions.Distribution.set_default_validate_args(previous)


class OverlappedRecurrentPPO(RecurrentPPO):
    """sb3-contrib's RecurrentPPO whose rollouts evaluate the critic while the envs step.

    ``collect_rollouts`` is sb3-contrib's, step for step, except that the policy call is split: the actor
    (features, LSTM, action distribution, sampling) runs first, the actions go to the envs (``step_async``), and the
    critic (its features, LSTM and value head, which need no random numbers) runs on the same observation while the
    env workers step; then ``step_wait``. The calls are sb3-contrib's own methods on the same inputs, so the rollout
    buffer and the update are the same numbers as RecurrentPPO's (``tests/examples/test_vec_env_equivalence.py``).
    Rollouts run under ``torch.inference_mode`` and both rollouts and updates without ``torch.distributions``'
    argument checks (:func:`no_distribution_validation`). Policies that share the LSTM or have no critic LSTM use
    RecurrentPPO's rollout unchanged.

    With ``lean_inference`` (the default) actor and critic are :class:`ppo.lean.LeanRollout`'s: the same torch
    kernels on the same tensors without sb3's per-call machinery, bitwise the same numbers; ``False`` (or a policy
    ``LeanRollout`` does not support) calls sb3-contrib's methods.

    Args:
        *args: RecurrentPPO's.
        lean_inference: use :class:`ppo.lean.LeanRollout` in rollouts.
        **kwargs: RecurrentPPO's.
    """

    lean_inference: bool = True
    _lean: LeanRollout | None = None

    def __init__(self, *args, lean_inference: bool = True, **kwargs) -> None:  # noqa: ANN002,ANN003
        super().__init__(*args, **kwargs)
        if not lean_inference:
            self.lean_inference = False

    def _overlappable(self) -> bool:
        policy = self.policy
        return (
            not policy.share_features_extractor
            and policy.lstm_critic is not None
            and not self.use_sde
            and isinstance(self.rollout_buffer, RecurrentDictRolloutBuffer | RecurrentRolloutBuffer)
        )

    def train(self) -> None:
        with no_distribution_validation():
            super().train()

    def _actor(
        self, obs: th.Tensor | dict[str, th.Tensor], states: tuple[th.Tensor, th.Tensor], starts: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Actions, their log-probabilities and the actor's LSTM state (RecurrentActorCriticPolicy.forward's)."""
        if self._lean is not None:
            return self._lean.actor(obs, states, starts)  # type: ignore[arg-type]
        policy = self.policy
        features = BasePolicy.extract_features(policy, obs, policy.pi_features_extractor)
        latent_pi, states_pi = policy._process_sequence(features, states, starts, policy.lstm_actor)
        latent_pi = policy.mlp_extractor.forward_actor(latent_pi)
        distribution = policy._get_action_dist_from_latent(latent_pi)
        actions = distribution.get_actions(deterministic=False)
        return actions, distribution.log_prob(actions), states_pi

    def _critic(
        self, obs: th.Tensor | dict[str, th.Tensor], states: tuple[th.Tensor, th.Tensor], starts: th.Tensor
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Values and the critic's LSTM state (RecurrentActorCriticPolicy.forward's)."""
        if self._lean is not None:
            return self._lean.critic(obs, states, starts)  # type: ignore[arg-type]
        policy = self.policy
        features = BasePolicy.extract_features(policy, obs, policy.vf_features_extractor)
        latent_vf, states_vf = policy._process_sequence(features, states, starts, policy.lstm_critic)
        latent_vf = policy.mlp_extractor.forward_critic(latent_vf)
        return policy.value_net(latent_vf), states_vf

    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        """Fill ``rollout_buffer`` with ``n_rollout_steps`` steps per env (RecurrentPPO's, critic overlapped)."""
        if not self._overlappable():
            with no_distribution_validation():
                return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)
        assert self._last_obs is not None, "No previous observation was provided"
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        callback.on_rollout_start()
        lstm_states = deepcopy(self._last_lstm_states)
        lean = self.lean_inference and LeanRollout.supports(self.policy) and isinstance(self._last_obs, dict)
        self._lean = LeanRollout(self.policy) if lean else None  # type: ignore[arg-type]
        try:
            return self._overlapped_rollout(env, callback, rollout_buffer, n_rollout_steps, lstm_states)
        finally:
            self.__dict__.pop("_lean", None)  # nothing of it saved with the model

    def _overlapped_rollout(  # noqa: C901  (sb3-contrib's loop)
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int,
        lstm_states: RNNStates,
    ) -> bool:  # fmt: skip
        n_steps = 0
        with no_distribution_validation():
            while n_steps < n_rollout_steps:
                with th.inference_mode():
                    obs_tensor = obs_as_tensor(self._last_obs, self.device)
                    episode_starts = th.tensor(self._last_episode_starts, dtype=th.float32, device=self.device)
                    actions, log_probs, states_pi = self._actor(obs_tensor, lstm_states.pi, episode_starts)
                actions = actions.cpu().numpy()
                clipped_actions = actions
                if isinstance(self.action_space, spaces.Box):
                    clipped_actions = np.clip(actions, self.action_space.low, self.action_space.high)
                env.step_async(clipped_actions)
                with th.inference_mode():  # while the envs step
                    values, states_vf = self._critic(obs_tensor, lstm_states.vf, episode_starts)
                lstm_states = RNNStates(states_pi, states_vf)
                new_obs, rewards, dones, infos = env.step_wait()

                self.num_timesteps += env.num_envs
                callback.update_locals(locals())
                if not callback.on_step():
                    return False
                self._update_info_buffer(infos, dones)
                n_steps += 1
                if isinstance(self.action_space, spaces.Discrete):
                    actions = actions.reshape(-1, 1)
                for idx, done_ in enumerate(dones):
                    if (
                        done_
                        and infos[idx].get("terminal_observation") is not None
                        and infos[idx].get("TimeLimit.truncated", False)
                    ):
                        terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
                        with th.inference_mode():
                            terminal_lstm_state = (
                                lstm_states.vf[0][:, idx : idx + 1, :].contiguous(),
                                lstm_states.vf[1][:, idx : idx + 1, :].contiguous(),
                            )
                            starts = th.tensor([False], dtype=th.float32, device=self.device)
                            terminal_value = self.policy.predict_values(terminal_obs, terminal_lstm_state, starts)[0]
                        rewards[idx] += self.gamma * terminal_value
                rollout_buffer.add(
                    self._last_obs, actions, rewards, self._last_episode_starts, values, log_probs,
                    lstm_states=self._last_lstm_states,
                )  # fmt: skip
                self._last_obs = new_obs
                self._last_episode_starts = dones
                self._last_lstm_states = lstm_states

            with th.inference_mode():
                episode_starts = th.tensor(dones, dtype=th.float32, device=self.device)
                values = self.policy.predict_values(obs_as_tensor(new_obs, self.device), lstm_states.vf, episode_starts)
            rollout_buffer.compute_returns_and_advantage(last_values=values, dones=dones)
        callback.on_rollout_end()
        return True


def make_model(
    args: TrainArgs, venv: VecEnv, tensorboard_log: str | None = None, overlapped: bool = True,
    lean_inference: bool = True,
) -> RecurrentPPO:  # fmt: skip
    """A new :class:`OverlappedRecurrentPPO` (``overlapped=False``: sb3-contrib's RecurrentPPO) with
    :class:`AsymmetricRecurrentPolicy` and the hyperparameters of ``args`` (``lean_inference``: see
    :class:`OverlappedRecurrentPPO`)."""
    policy_kwargs: dict = dict(dense_units=args.dense_units, lstm_hidden_size=args.lstm_units)
    if isinstance(venv.action_space, spaces.Box):
        policy_kwargs["log_std_init"] = args.log_std_init
    extra = {"lean_inference": lean_inference} if overlapped else {}
    algorithm = OverlappedRecurrentPPO if overlapped else RecurrentPPO
    return algorithm(  # type: ignore[misc]
        AsymmetricRecurrentPolicy, venv,
        learning_rate=args.learning_rate, n_steps=args.n_steps, batch_size=args.batch_size,
        n_epochs=args.n_epochs, gamma=args.gamma, gae_lambda=args.gae_lambda, clip_range=args.clip_range,
        ent_coef=args.ent_coef, policy_kwargs=policy_kwargs, tensorboard_log=tensorboard_log,
        seed=args.seed, device=args.device, verbose=0, **extra,
    )  # fmt: skip


class UpdateThreads(BaseCallback):
    """Give the PPO update ``update_threads`` torch threads and the rollouts ``rollout_threads``.

    While RecurrentPPO collects a rollout the env workers need the cores (one torch thread in the training process
    is fastest then); during the update they wait for the next actions, so the update can use their cores. The
    thread count changes only the order of floating-point sums inside matrix products (results equal to rounding).

    Args:
        update_threads: torch threads from the end of a rollout to the start of the next one.
        rollout_threads: torch threads while a rollout is collected.

    Raises:
        ValueError: a thread count below 1.
    """

    def __init__(self, update_threads: int, rollout_threads: int = 1) -> None:
        super().__init__()
        for name, value in (("update_threads", update_threads), ("rollout_threads", rollout_threads)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.update_threads = update_threads
        self.rollout_threads = rollout_threads

    def _on_training_start(self) -> None:
        th.set_num_threads(self.rollout_threads)

    def _on_rollout_start(self) -> None:
        th.set_num_threads(self.rollout_threads)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        th.set_num_threads(self.update_threads)

    def _on_training_end(self) -> None:
        th.set_num_threads(self.rollout_threads)
