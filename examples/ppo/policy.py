"""The asymmetric recurrent actor-critic of Dactyl (Table 2, §1) on sb3-contrib's RecurrentActorCriticPolicy.

Actor: the (noisy) policy keys -> ReLU dense -> LSTM -> action head. Critic: the clean ``state`` ->
ReLU dense -> its own LSTM -> value head. Nothing is shared, so the actor cannot see the privileged
state. Paper sizes: 1024-unit dense, 512-unit LSTM, for both networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from gym_dactyl.constants import CRITIC_KEYS, POLICY_KEYS

__all__ = ["AsymmetricRecurrentPolicy", "KeySelectExtractor"]


class KeySelectExtractor(BaseFeaturesExtractor):
    """Concatenate the chosen keys of a Dict observation and apply one ReLU dense layer.

    Every extractor of a RecurrentActorCriticPolicy must have the same output size (both LSTMs are
    built with ``features_dim`` inputs), which the dense layer provides whatever the keys' sizes.

    Args:
        observation_space: the env's ``spaces.Dict`` observation space.
        keys: the keys to read, in order.
        features_dim: units of the dense layer.
    """

    def __init__(self, observation_space: spaces.Dict, keys: Sequence[str], features_dim: int = 1024) -> None:
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(f"KeySelectExtractor needs a spaces.Dict observation space, got {observation_space}")
        missing = [k for k in keys if k not in observation_space.spaces]
        if missing:
            raise ValueError(f"observation space has no key(s) {missing}; it has {sorted(observation_space.spaces)}")
        super().__init__(observation_space, features_dim)
        self.keys = tuple(keys)
        in_dim = sum(int(observation_space.spaces[k].shape[0]) for k in self.keys)
        self.net = nn.Sequential(nn.Linear(in_dim, features_dim), nn.ReLU())

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """Select, flatten and concatenate ``self.keys`` and apply the dense layer."""
        x = th.cat([observations[k].flatten(start_dim=1) for k in self.keys], dim=1)
        return self.net(x)


class AsymmetricRecurrentPolicy(RecurrentActorCriticPolicy):
    """RecurrentActorCriticPolicy whose actor reads ``actor_keys`` and whose critic reads ``critic_keys``.

    ``share_features_extractor=False`` gives SB3 two extractors (``pi_features_extractor`` built first,
    ``vf_features_extractor`` second) and ``enable_critic_lstm=True`` a separate critic LSTM; this class
    only makes the first extractor select the policy keys and the second the critic keys. The heads
    after the LSTMs are linear by default (``net_arch=[]``), as in the paper (dense -> LSTM -> output).

    Args:
        observation_space: ``spaces.Dict`` with the actor and critic keys.
        action_space: the action space.
        lr_schedule: learning-rate schedule.
        actor_keys: observation keys of the actor (default :data:`gym_dactyl.constants.POLICY_KEYS`).
        critic_keys: observation keys of the critic (default :data:`gym_dactyl.constants.CRITIC_KEYS`).
        dense_units: units of the ReLU dense layer before each LSTM (paper 1024).
        lstm_hidden_size: LSTM units (paper 512).
        net_arch: layers between the LSTMs and the heads (default none).
        **kwargs: passed on to :class:`RecurrentActorCriticPolicy`.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        lr_schedule: Any,
        actor_keys: Sequence[str] = POLICY_KEYS,
        critic_keys: Sequence[str] = CRITIC_KEYS,
        dense_units: int = 1024,
        lstm_hidden_size: int = 512,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        **kwargs: Any,
    ) -> None:
        for name in ("share_features_extractor", "shared_lstm", "enable_critic_lstm", "features_extractor_class"):
            if name in kwargs:
                raise ValueError(f"AsymmetricRecurrentPolicy fixes {name}; do not pass it")
        if "state" in actor_keys:
            raise ValueError("actor_keys must not contain 'state': the privileged state is for the critic only")
        self.actor_keys = tuple(actor_keys)
        self.critic_keys = tuple(critic_keys)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[] if net_arch is None else net_arch,
            features_extractor_class=KeySelectExtractor,
            features_extractor_kwargs={"features_dim": dense_units},
            share_features_extractor=False,
            lstm_hidden_size=lstm_hidden_size,
            shared_lstm=False,
            enable_critic_lstm=True,
            **kwargs,
        )

    @staticmethod
    def _process_sequence(
        features: th.Tensor,
        lstm_states: tuple[th.Tensor, th.Tensor],
        episode_starts: th.Tensor,
        lstm: nn.LSTM,
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Run the LSTM over a batch of sequences; one fused call when episodes only start at a sequence's head.

        sb3-contrib steps the LSTM one timestep at a time in Python whenever any ``episode_start`` is set.
        RecurrentPPO's rollout buffer cuts its training sequences at episode starts, so a start can only be
        the first element of a sequence: zeroing those initial states and running the whole sequence in one
        ``nn.LSTM`` call is then exactly the same computation, many times faster on a CPU. Any other
        pattern falls back to sb3-contrib's loop.
        """
        n_seq = lstm_states[0].shape[1]
        starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)  # (seq_len, n_seq)
        if starts.shape[0] > 1 and th.any(starts[1:] != 0.0):
            return RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        keep = (1.0 - starts[0]).view(1, n_seq, 1)
        sequence = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)
        output, states = lstm(sequence, (keep * lstm_states[0], keep * lstm_states[1]))
        return th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1), states

    def make_features_extractor(self) -> KeySelectExtractor:
        """First call (the actor's extractor): policy keys; second call (the critic's): critic keys."""
        keys = self.actor_keys if self.features_extractor is None else self.critic_keys
        return KeySelectExtractor(self.observation_space, keys=keys, **self.features_extractor_kwargs)
