"""The asymmetric recurrent actor-critic of Dactyl (Table 2, §1) as an RLlib ``TorchRLModule`` (new API stack).

Actor: the (noisy) policy keys -> ReLU dense -> LSTM -> action distribution inputs. Critic: the clean ``state``
-> ReLU dense -> its own LSTM -> value. Nothing is shared, so the actor cannot see the privileged state (tested
by perturbation and by gradient). The same architecture as ``ppo.policy.AsymmetricRecurrentPolicy`` (SB3).

Observations: a ``Dict`` space (a dict of ``(B, T, d)`` tensors, one per key), or the flat ``Box`` of
``gymnasium.wrappers.FlattenObservation`` with ``model_config["obs_layout"]``, the ``(key, size)`` pairs in flattening
order, from which the module cuts each key back out (the training runs flatten, because RLlib 2.60's
``MeanStdFilter`` connector fails on Dict observations; a plain flattening connector would hand ``state`` to the
actor, this module does not). The recurrent state is four ``(B, units)`` tensors,
``actor_h``, ``actor_c``, ``critic_h``, ``critic_c``; both LSTMs advance on every forward pass, the sampling ones
included, so each training sequence starts from the critic state the rollout really had.

Action distributions: ``MultiDiscrete`` (the paper's 11 bins per actuator) -> ``TorchMultiCategorical`` over one
logit vector per actuator; ``Box`` -> ``TorchDiagGaussian`` with a state-independent log standard deviation
(``log_std_init``), as SB3's PPO.

``model_config`` keys: ``obs_layout`` (Box observations only; :func:`obs_layout`), ``actor_keys`` (default
``gym_dactyl.POLICY_KEYS``), ``critic_keys`` (default ``gym_dactyl.CRITIC_KEYS``), ``dense_units`` (64; paper
1024), ``lstm_units`` (64; paper 512), ``log_std_init`` (-1.0; Box actions only),
``max_seq_len`` (RLlib's truncated-BPTT sequence length, 32).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchDiagGaussian, TorchMultiCategorical
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from gym_dactyl.constants import CRITIC_KEYS, POLICY_KEYS

__all__ = ["DEFAULT_MODEL_CONFIG", "STATE_KEYS", "AsymmetricLSTMModule", "obs_layout"]

#: Defaults of ``model_config`` (the SB3 policy's sizes in examples/ppo/policy.py; the paper: 1024 / 512).
DEFAULT_MODEL_CONFIG: dict[str, Any] = {
    "actor_keys": tuple(POLICY_KEYS),
    "critic_keys": tuple(CRITIC_KEYS),
    "dense_units": 64,
    "lstm_units": 64,
    "log_std_init": -1.0,
    "max_seq_len": 32,
}
#: Keys of the recurrent state (each a ``(units,)`` array per env, ``(B, units)`` in a batch).
STATE_KEYS: tuple[str, ...] = ("actor_h", "actor_c", "critic_h", "critic_c")


def obs_layout(space: gym.spaces.Dict) -> list[tuple[str, int]]:
    """``(key, flat size)`` of a Dict space in the order ``gymnasium.spaces.flatten`` concatenates them."""
    if not isinstance(space, gym.spaces.Dict):
        raise ValueError(f"space: a gymnasium Dict space expected, got {space}")
    return [(k, int(gym.spaces.flatdim(s))) for k, s in space.spaces.items()]


class _Branch(nn.Module):
    """One network of the actor-critic: its keys (from a dict, or cut out of a flat vector) -> ReLU dense -> LSTM.

    Args:
        keys: the observation keys this branch reads.
        slices: per key, its ``slice`` of a flat observation (None: observations come as dicts).
        sizes: per key, its flat size.
        dense_units, lstm_units: layer sizes.
    """

    def __init__(self, keys: Sequence[str], slices: Mapping[str, slice] | None, sizes: Mapping[str, int],
                 dense_units: int, lstm_units: int) -> None:  # fmt: skip
        super().__init__()
        self.keys = tuple(keys)
        self.slices = None if slices is None else {k: slices[k] for k in self.keys}
        self.dense = nn.Sequential(nn.Linear(sum(sizes[k] for k in self.keys), dense_units), nn.ReLU())
        self.lstm = nn.LSTM(dense_units, lstm_units, batch_first=True)

    def select(self, obs: Any) -> torch.Tensor:
        """This branch's inputs ``(B, T, d)`` from a dict of ``(B, T, ...)`` or a flat ``(B, T, D)`` observation."""
        if self.slices is None:
            return torch.cat([obs[k].flatten(start_dim=2).float() for k in self.keys], dim=-1)
        return torch.cat([obs[..., self.slices[k]].float() for k in self.keys], dim=-1)

    def forward(self, obs: Any, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``obs``: see :meth:`select`; ``h``, ``c``: ``(B, units)``. Returns outputs ``(B, T, units)``, h, c."""
        out, (h, c) = self.lstm(self.dense(self.select(obs)), (h.unsqueeze(0), c.unsqueeze(0)))
        return out, h.squeeze(0), c.squeeze(0)


class AsymmetricLSTMModule(TorchRLModule, ValueFunctionAPI):
    """RLlib RLModule: an LSTM actor on the policy keys and a separate LSTM critic on ``state`` (see module doc).

    Built by RLlib from ``RLModuleSpec(module_class=AsymmetricLSTMModule, model_config={...})``, or directly with
    ``AsymmetricLSTMModule(observation_space=..., action_space=..., model_config={...})``.

    Raises:
        ValueError: the observation space is not a ``Dict`` holding the actor and critic keys, the actor keys
            contain ``state``, a size is < 1, or the action space is neither ``Box`` nor ``MultiDiscrete``.
    """

    def setup(self) -> None:
        """Build the two branches and the heads from ``self.model_config`` (see :data:`DEFAULT_MODEL_CONFIG`)."""
        cfg = {**DEFAULT_MODEL_CONFIG, **dict(self.model_config or {})}
        obs_space, act_space = self.observation_space, self.action_space
        if isinstance(obs_space, gym.spaces.Dict):
            layout, slices = obs_layout(obs_space), None
        elif isinstance(obs_space, gym.spaces.Box) and cfg.get("obs_layout"):
            layout = [(str(k), int(n)) for k, n in cfg["obs_layout"]]
            if sum(n for _, n in layout) != int(np.prod(obs_space.shape)):
                total = int(np.prod(obs_space.shape))
                raise ValueError(f"model_config['obs_layout'] {layout} sums to {sum(n for _, n in layout)}, but the "
                                 f"observation space {obs_space} has {total} elements")  # fmt: skip
            ends = np.cumsum([n for _, n in layout])
            slices = {k: slice(int(e - n), int(e)) for (k, n), e in zip(layout, ends, strict=True)}
        else:
            raise ValueError(f"observation_space: a gymnasium Dict, or a flat Box with model_config['obs_layout'], "
                             f"expected; got {obs_space}")  # fmt: skip
        sizes = dict(layout)
        actor_keys, critic_keys = tuple(cfg["actor_keys"]), tuple(cfg["critic_keys"])
        if "state" in actor_keys:
            raise ValueError(f"actor_keys must not contain 'state' (the critic's privileged input), got {actor_keys}")
        missing = [k for k in (*actor_keys, *critic_keys) if k not in sizes]
        if missing:
            raise ValueError(f"observation space has no key(s) {missing}; it has {sorted(sizes)}")
        for name in ("dense_units", "lstm_units", "max_seq_len"):
            if int(cfg[name]) < 1:
                raise ValueError(f"model_config[{name!r}] must be >= 1, got {cfg[name]!r}")
        self.cfg = cfg
        dense, units = int(cfg["dense_units"]), int(cfg["lstm_units"])
        self.lstm_units = units
        self.actor = _Branch(actor_keys, slices, sizes, dense, units)
        self.critic = _Branch(critic_keys, slices, sizes, dense, units)
        if isinstance(act_space, gym.spaces.MultiDiscrete):
            nvec = [int(n) for n in np.asarray(act_space.nvec).ravel()]
            self.pi_head = nn.Linear(units, sum(nvec))
            self.log_std = None
            self.action_dist_cls = TorchMultiCategorical.get_partial_dist_cls(input_lens=nvec)
        elif isinstance(act_space, gym.spaces.Box):
            n = int(np.prod(act_space.shape))
            self.pi_head = nn.Linear(units, n)
            self.log_std = nn.Parameter(torch.full((n,), float(cfg["log_std_init"])))
            self.action_dist_cls = TorchDiagGaussian
        else:
            raise ValueError(f"action_space: Box or MultiDiscrete expected, got {act_space}")
        self.vf_head = nn.Linear(units, 1)
        # SB3's initialisation of the heads: small policy outputs (near-uniform / near-zero mean), unit-gain value.
        nn.init.orthogonal_(self.pi_head.weight, gain=0.01)
        nn.init.zeros_(self.pi_head.bias)
        nn.init.orthogonal_(self.vf_head.weight, gain=1.0)
        nn.init.zeros_(self.vf_head.bias)

    def get_initial_state(self) -> dict[str, np.ndarray]:
        """Zero LSTM states, one ``(lstm_units,)`` array per key of :data:`STATE_KEYS`."""
        return {k: np.zeros((self.lstm_units,), dtype=np.float32) for k in STATE_KEYS}

    def _dist_inputs(self, actor_out: torch.Tensor) -> torch.Tensor:
        mean = self.pi_head(actor_out)
        if self.log_std is None:
            return mean
        return torch.cat([mean, self.log_std.expand_as(mean)], dim=-1)

    def _run(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Both branches over ``batch``: actor outputs, critic outputs (each ``(B, T, units)``), state out."""
        obs, state = batch[Columns.OBS], batch[Columns.STATE_IN]
        a_out, a_h, a_c = self.actor(obs, state["actor_h"], state["actor_c"])
        c_out, c_h, c_c = self.critic(obs, state["critic_h"], state["critic_c"])
        return a_out, c_out, {"actor_h": a_h, "actor_c": a_c, "critic_h": c_h, "critic_c": c_c}

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Sampling and inference: action distribution inputs and the next state (the critic advances too)."""
        a_out, _, state_out = self._run(batch)
        return {Columns.ACTION_DIST_INPUTS: self._dist_inputs(a_out), Columns.STATE_OUT: state_out}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Training: also the critic's LSTM outputs as ``EMBEDDINGS``, reused by :meth:`compute_values`."""
        a_out, c_out, state_out = self._run(batch)
        return {
            Columns.ACTION_DIST_INPUTS: self._dist_inputs(a_out),
            Columns.STATE_OUT: state_out,
            Columns.EMBEDDINGS: c_out,
        }

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Values ``(B, T)`` from the critic branch alone (its outputs given as ``embeddings``, or computed)."""
        if embeddings is None:
            state = batch[Columns.STATE_IN]
            embeddings, _, _ = self.critic(batch[Columns.OBS], state["critic_h"], state["critic_c"])
        return self.vf_head(embeddings).squeeze(-1)
