"""Rollout inference of the asymmetric recurrent policy without sb3's per-call machinery, the same numbers.

During a rollout sb3-contrib's ``RecurrentActorCriticPolicy.forward`` goes through ``obs_to_tensor``,
``extract_features`` / ``preprocess_obs`` (one call per observation key), ``nn.Module.__call__`` hooks, the LSTM
module's argument checks, and a ``DiagGaussianDistribution`` holding a ``torch.distributions.Normal``: on the cpu
preset's small network (4 envs, 128 units) that machinery costs more than the arithmetic. :class:`LeanRollout`
calls the same torch kernels on the same tensors in the same order — concatenation of the keys, ``linear`` +
``relu``, ``torch.lstm`` with the module's own weights, the action head, ``normal_`` for the noise, ``Normal``'s
``rsample`` and ``log_prob`` formulas, the sum over action dimensions — so actions, log-probabilities, values and
LSTM states are bitwise those of sb3-contrib given the same random-number state
(``tests/examples/test_vec_env_equivalence.py``). Only inference: the PPO update is sb3-contrib's.

Policies it does not recognise (another extractor, shared LSTM, gSDE) are refused by :meth:`LeanRollout.supports`;
action distributions other than the diagonal Gaussian are built by sb3 from the lean latent.
"""

from __future__ import annotations

import math

import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.distributions import DiagGaussianDistribution
from torch import nn

from ppo.policy import KeySelectExtractor

__all__ = ["LeanRollout"]

_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))  # the constant of torch.distributions.Normal.log_prob


def _dense(extractor: nn.Module) -> tuple[tuple[str, ...], nn.Linear] | None:
    """Keys and the Linear of a ``KeySelectExtractor`` whose net is ``Sequential(Linear, ReLU)``; else None."""
    if not isinstance(extractor, KeySelectExtractor):
        return None
    net = extractor.net
    if not (isinstance(net, nn.Sequential) and len(net) == 2 and isinstance(net[0], nn.Linear)
            and type(net[1]) is nn.ReLU):  # fmt: skip
        return None
    return extractor.keys, net[0]


def _plain_lstm(lstm: nn.Module | None) -> bool:
    return (isinstance(lstm, nn.LSTM) and lstm.num_layers == 1 and not lstm.bidirectional and not lstm.batch_first
            and lstm.proj_size == 0 and lstm.bias)  # fmt: skip


class LeanRollout:
    """The actor and the critic of an asymmetric ``RecurrentActorCriticPolicy`` for one rollout step.

    Build one per rollout (:meth:`__init__` reads the current weights and the action standard deviation, which the
    PPO update changes between rollouts); call under ``torch.inference_mode`` with the policy in eval mode.

    Args:
        policy: a policy for which :meth:`supports` is true.

    Raises:
        ValueError: ``policy`` is not supported.
    """

    def __init__(self, policy: RecurrentActorCriticPolicy) -> None:
        if not self.supports(policy):
            name = type(policy).__name__
            raise ValueError(f"LeanRollout needs an unshared KeySelectExtractor/LSTM policy, got {name}")
        self.policy = policy
        self.pi_keys, self.pi_dense = _dense(policy.pi_features_extractor)  # type: ignore[misc]
        self.vf_keys, self.vf_dense = _dense(policy.vf_features_extractor)  # type: ignore[misc]
        self.pi_lstm = self._weights(policy.lstm_actor)
        self.vf_lstm = self._weights(policy.lstm_critic)
        mlp = policy.mlp_extractor
        self.pi_mlp = None if len(mlp.policy_net) == 0 else mlp.policy_net
        self.vf_mlp = None if len(mlp.value_net) == 0 else mlp.value_net
        self.gaussian = isinstance(policy.action_dist, DiagGaussianDistribution)
        self.std: th.Tensor | None = None  # (n_envs, n_actions), built on the first call

    @staticmethod
    def supports(policy: nn.Module) -> bool:
        """Whether ``policy`` has the structure this class computes (else use sb3-contrib's calls)."""
        return (
            isinstance(policy, RecurrentActorCriticPolicy)
            and not policy.share_features_extractor
            and not policy.shared_lstm
            and not getattr(policy, "use_sde", False)
            and _dense(policy.pi_features_extractor) is not None
            and _dense(policy.vf_features_extractor) is not None
            and _plain_lstm(policy.lstm_actor)
            and _plain_lstm(policy.lstm_critic)
        )

    @staticmethod
    def _weights(lstm: nn.LSTM) -> list[th.Tensor]:
        return [getattr(lstm, name) for name in lstm._flat_weights_names]

    @staticmethod
    def _features(obs: dict[str, th.Tensor], keys: tuple[str, ...], dense: nn.Linear) -> th.Tensor:
        """``preprocess_obs`` (``.float()`` for Box), ``KeySelectExtractor.forward``."""
        x = th.cat([obs[k].float().flatten(start_dim=1) for k in keys], dim=1)
        return th.relu(th.nn.functional.linear(x, dense.weight, dense.bias))

    @staticmethod
    def _lstm(
        features: th.Tensor, states: tuple[th.Tensor, th.Tensor], starts: th.Tensor, weights: list[th.Tensor]
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """``AsymmetricRecurrentPolicy._process_sequence`` for one step of every env."""
        n = states[0].shape[1]
        keep = (1.0 - starts.reshape((n, -1)).swapaxes(0, 1)[0]).view(1, n, 1)
        sequence = features.reshape((n, -1, features.shape[-1])).swapaxes(0, 1)
        output, h, c = th.lstm(sequence, (keep * states[0], keep * states[1]), weights, True, 1, 0.0, False, False,
                               False)  # fmt: skip
        return th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1), (h, c)

    def actor(
        self, obs: dict[str, th.Tensor], states: tuple[th.Tensor, th.Tensor], starts: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Sampled actions, their log-probabilities and the actor's new LSTM state."""
        latent, new_states = self._lstm(self._features(obs, self.pi_keys, self.pi_dense), states, starts,
                                        self.pi_lstm)  # fmt: skip
        if self.pi_mlp is not None:
            latent = self.pi_mlp(latent)
        policy = self.policy
        if not self.gaussian:
            distribution = policy._get_action_dist_from_latent(latent)
            actions = distribution.get_actions(deterministic=False)
            return actions, distribution.log_prob(actions), new_states
        action_net = policy.action_net
        mean = th.nn.functional.linear(latent, action_net.weight, action_net.bias)
        if self.std is None or self.std.shape != mean.shape:
            std = th.ones_like(mean) * policy.log_std.exp()  # DiagGaussianDistribution.proba_distribution
            self.std, self.var, self.log_std = std, std**2, std.log()
        eps = th.empty(mean.shape, dtype=mean.dtype, device=mean.device).normal_()  # Normal.rsample
        actions = mean + eps * self.std
        log_prob = -((actions - mean) ** 2) / (2 * self.var) - self.log_std - _LOG_SQRT_2PI  # Normal.log_prob
        return actions, log_prob.sum(dim=1), new_states

    def critic(
        self, obs: dict[str, th.Tensor], states: tuple[th.Tensor, th.Tensor], starts: th.Tensor
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Values ``(n_envs, 1)`` and the critic's new LSTM state."""
        latent, new_states = self._lstm(self._features(obs, self.vf_keys, self.vf_dense), states, starts,
                                        self.vf_lstm)  # fmt: skip
        if self.vf_mlp is not None:
            latent = self.vf_mlp(latent)
        value_net = self.policy.value_net
        return th.nn.functional.linear(latent, value_net.weight, value_net.bias), new_states
