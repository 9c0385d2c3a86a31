"""The asymmetric recurrent actor-critic of Dactyl (Table 2) in plain torch, for batched device rollouts.

Actor: the (noisy) policy keys -> ReLU dense -> LSTM -> action head. Critic: the clean ``state`` -> ReLU dense ->
its own LSTM -> value head. Nothing is shared, so the actor cannot see the privileged state (the same design as
``examples/ppo/policy.py``'s ``AsymmetricRecurrentPolicy``; paper sizes 1024 dense, 512 LSTM).

Actions: ``MultiDiscrete`` (the paper's 11 bins per joint) as independent categoricals, or ``Box`` as a diagonal
Gaussian with a state-independent log σ (samples are clipped to the box by the caller, log-probabilities are of
the unclipped sample).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from gymnasium import spaces
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from gym_dactyl.constants import CRITIC_KEYS, POLICY_KEYS

__all__ = ["AsymmetricLSTMActorCritic", "LSTMState"]

#: ``(actor (h, c), critic (h, c))``, each tensor ``(1, N, hidden)``.
LSTMState = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class _Branch(nn.Module):
    """Concatenate some keys -> ReLU dense -> LSTM (one branch: actor or critic)."""

    def __init__(self, keys: Sequence[str], in_dim: int, dense: int, hidden: int) -> None:
        super().__init__()
        self.keys = tuple(keys)
        self.dense = nn.Sequential(nn.Linear(in_dim, dense), nn.ReLU())
        self.lstm = nn.LSTM(dense, hidden)

    def forward(
        self, obs: dict[str, torch.Tensor], state: tuple[torch.Tensor, torch.Tensor], starts: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run a sequence: ``obs[k]`` ``(T, N, d)``, ``starts`` ``(T, N)`` (1 where an episode starts: state zeroed).

        Returns the LSTM outputs ``(T, N, hidden)`` and the final state.
        """
        x = self.dense(torch.cat([obs[k] for k in self.keys], dim=-1))
        h, c = state
        if not bool(starts[1:].any()):  # starts only at the head: one fused LSTM call (the common case)
            keep = (1.0 - starts[0]).view(1, -1, 1)
            return self.lstm(x, (keep * h, keep * c))
        outs = []
        for t in range(x.shape[0]):
            keep = (1.0 - starts[t]).view(1, -1, 1)
            out, (h, c) = self.lstm(x[t : t + 1], (keep * h, keep * c))
            outs.append(out)
        return torch.cat(outs), (h, c)


class AsymmetricLSTMActorCritic(nn.Module):
    """Actor on ``actor_keys``, critic on ``critic_keys``; separate dense + LSTM stacks.

    Args:
        observation_space: the env's single ``spaces.Dict`` observation space.
        action_space: the env's single action space (``MultiDiscrete`` or ``Box``).
        actor_keys: actor inputs (default ``POLICY_KEYS``; ``"state"`` is refused).
        critic_keys: critic inputs (default ``CRITIC_KEYS``: the clean state).
        dense: units of the ReLU layer before each LSTM (paper 1024).
        hidden: LSTM units (paper 512).

    Raises:
        ValueError: on a non-Dict observation space, missing keys, ``"state"`` among the actor keys, or an
            action space that is neither ``MultiDiscrete`` nor ``Box``.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        actor_keys: Sequence[str] = POLICY_KEYS,
        critic_keys: Sequence[str] = CRITIC_KEYS,
        dense: int = 1024,
        hidden: int = 512,
    ) -> None:
        super().__init__()
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(f"observation_space must be a spaces.Dict, got {observation_space}")
        missing = [k for k in (*actor_keys, *critic_keys) if k not in observation_space.spaces]
        if missing:
            raise ValueError(f"observation space has no key(s) {missing}; it has {sorted(observation_space.spaces)}")
        if "state" in actor_keys:
            raise ValueError("actor_keys must not contain 'state': the privileged state is for the critic only")
        for name, value in (("dense", dense), ("hidden", hidden)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        dims = {k: int(observation_space.spaces[k].shape[0]) for k in (*actor_keys, *critic_keys)}
        self.hidden = int(hidden)
        self.actor = _Branch(actor_keys, sum(dims[k] for k in actor_keys), dense, hidden)
        self.critic = _Branch(critic_keys, sum(dims[k] for k in critic_keys), dense, hidden)
        self.value_head = nn.Linear(hidden, 1)
        if isinstance(action_space, spaces.MultiDiscrete):
            self.nvec = tuple(int(v) for v in action_space.nvec)
            if len(set(self.nvec)) != 1:
                raise ValueError(f"MultiDiscrete action spaces need equal bins per coordinate, got {self.nvec}")
            self.action_head = nn.Linear(hidden, sum(self.nvec))
            self.log_std = None
        elif isinstance(action_space, spaces.Box):
            self.nvec = ()
            self.action_head = nn.Linear(hidden, int(action_space.shape[0]))
            self.log_std = nn.Parameter(torch.full((int(action_space.shape[0]),), -0.5))
        else:
            raise ValueError(f"action_space must be MultiDiscrete or Box, got {action_space}")
        nn.init.orthogonal_(self.action_head.weight, gain=0.01)
        nn.init.zeros_(self.action_head.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)

    def initial_state(self, n: int, device: torch.device | str) -> LSTMState:
        """Zero LSTM states for ``n`` worlds."""

        def zeros() -> tuple[torch.Tensor, torch.Tensor]:
            z = torch.zeros(1, n, self.hidden, device=device)
            return z, z.clone()

        return zeros(), zeros()

    def distribution(self, features: torch.Tensor) -> Distribution:
        """The action distribution of actor LSTM outputs ``(..., hidden)`` (batch shape ``...``)."""
        out = self.action_head(features)
        if self.log_std is None:
            logits = out.view(*out.shape[:-1], len(self.nvec), self.nvec[0])
            return Independent(Categorical(logits=logits), 1)
        return Independent(Normal(out, self.log_std.exp().expand_as(out)), 1)

    def actor_features(
        self, obs: dict[str, torch.Tensor], state: tuple[torch.Tensor, torch.Tensor], starts: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Actor LSTM outputs over a sequence (reads only the actor keys)."""
        return self.actor(obs, state, starts)

    def value(
        self, obs: dict[str, torch.Tensor], state: tuple[torch.Tensor, torch.Tensor], starts: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Values ``(T, N)`` over a sequence (reads only the critic keys) and the final critic state."""
        out, new = self.critic(obs, state, starts)
        return self.value_head(out).squeeze(-1), new

    def step(
        self, obs: dict[str, torch.Tensor], state: LSTMState, starts: torch.Tensor
    ) -> tuple[Distribution, torch.Tensor, LSTMState]:
        """One step for N worlds: ``obs[k]`` ``(N, d)``, ``starts`` ``(N,)``; returns (distribution, value, state)."""
        seq = {k: v.unsqueeze(0) for k, v in obs.items()}
        features, actor_state = self.actor_features(seq, state[0], starts.unsqueeze(0))
        value, critic_state = self.value(seq, state[1], starts.unsqueeze(0))
        return self.distribution(features[0]), value[0], (actor_state, critic_state)

    def evaluate(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor, state: LSTMState, starts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probabilities, entropies and values ``(T, N)`` of stored sequences from their initial states."""
        features, _ = self.actor_features(obs, state[0], starts)
        dist = self.distribution(features)
        values, _ = self.value(obs, state[1], starts)
        return dist.log_prob(actions), dist.entropy(), values
