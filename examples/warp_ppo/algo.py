"""PPO for batched device envs: rollouts kept as device tensors, GAE, the clipped loss, recurrent minibatches.

:class:`NativePPO` drives any batched env with ``DactylWarpVectorEnv``'s interface (``num_envs``, ``device``,
``single_observation_space`` / ``single_action_space``, ``reset(seed=)`` and ``step(actions)`` with dicts of
``(N, d)`` torch tensors on the device, ``SAME_STEP`` autoreset with ``info["final_obs"]``). One iteration:

1. collect ``n_steps`` steps of every world with the current policy (no host copies of observations): normalised
   observations, actions, log-probabilities, values, (normalised) rewards, episode ends and starts;
   truncated episodes are bootstrapped with ``γ V(final_obs)`` (as SB3 does for ``TimeLimit.truncated``);
2. GAE(λ) over the rollout (:func:`compute_gae`);
3. ``epochs`` passes over ``minibatches`` groups of worlds; each group's whole sequences are re-run through both
   LSTMs from the states they had at the rollout's start (episode starts zero the state), and the PPO clipped
   surrogate + value MSE − entropy bonus (:func:`ppo_loss`) is minimised with Adam and gradient clipping.

With an :class:`wrappers.ADRState`, every step's ``info["adr_result"]`` is recorded and moved ranges are pushed
to the env (``ADRState.push``), as ``ppo.callbacks.ADRCallback`` does for SB3.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from gymnasium import spaces

from warp_ppo.model import AsymmetricLSTMActorCritic, LSTMState
from warp_ppo.normalize import ObservationNormalizer, ReturnNormalizer

__all__ = ["NativePPO", "PPOConfig", "compute_gae", "ppo_loss"]


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters (defaults: the project's RecurrentPPO settings where they apply).

    Attributes:
        n_steps: rollout length per world.
        epochs: passes over each rollout.
        minibatches: groups of worlds per pass (each a minibatch of whole sequences); at most ``num_envs``.
        learning_rate: Adam step size.
        gamma: discount.
        gae_lambda: GAE λ.
        clip_range: PPO ratio clip ε.
        ent_coef: entropy bonus weight.
        vf_coef: value loss weight.
        max_grad_norm: gradient norm clip.
        dense: units of the ReLU layer before each LSTM (paper 1024).
        hidden: LSTM units (paper 512).
        clip_obs: normalised observations are clipped to ``±clip_obs``.
        norm_reward: scale rewards by the running std of the discounted return.
    """

    n_steps: int = 32
    epochs: int = 4
    minibatches: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.998
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    dense: int = 1024
    hidden: int = 512
    clip_obs: float = 5.0
    norm_reward: bool = True

    def __post_init__(self) -> None:
        for name in ("n_steps", "epochs", "minibatches", "dense", "hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("learning_rate", "clip_range", "max_grad_norm", "clip_obs"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        for name in ("gamma", "gae_lambda"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        for name in ("ent_coef", "vf_coef"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PPOConfig:
        """Build from a dict of field names (unknown names are a ``ValueError``)."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"PPO config: unknown field(s) {sorted(unknown)}")
        return cls(**data)


def compute_gae(
    rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, next_value: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(λ) advantages and returns of a rollout.

    Args:
        rewards: ``(T, N)`` rewards of step t (truncation bootstrap already added).
        values: ``(T, N)`` V(s_t).
        dones: ``(T, N)`` 1 where the episode ended at step t (s_{t+1} belongs to a new episode).
        next_value: ``(N,)`` V(s_T) of the observation after the rollout.
        gamma: discount.
        lam: λ.

    Returns:
        ``(advantages, returns)``, both ``(T, N)``; returns = advantages + values.
    """
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        nv = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        keep = 1.0 - dones[t]
        delta = rewards[t] + gamma * nv * keep - values[t]
        last = delta + gamma * lam * keep * last
        adv[t] = last
    return adv, adv + values


def ppo_loss(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    returns: torch.Tensor,
    entropy: torch.Tensor,
    clip_range: float,
    vf_coef: float,
    ent_coef: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate + ``vf_coef`` · value MSE − ``ent_coef`` · entropy (advantages normalised here).

    Returns:
        The loss and its parts (detached): policy, value, entropy, approx KL, clip fraction.
    """
    if advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    ratio = torch.exp(log_prob - old_log_prob)
    surrogate = torch.min(ratio * advantages, ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * advantages)
    policy_loss = -surrogate.mean()
    value_loss = (returns - values).square().mean()
    entropy_mean = entropy.mean()
    loss = policy_loss + vf_coef * value_loss - ent_coef * entropy_mean
    with torch.no_grad():
        log_ratio = log_prob - old_log_prob
        stats = {
            "policy_loss": policy_loss.detach(),
            "value_loss": value_loss.detach(),
            "entropy": entropy_mean.detach(),
            "approx_kl": ((ratio - 1.0) - log_ratio).mean(),
            "clip_fraction": ((ratio - 1.0).abs() > clip_range).float().mean(),
        }
    return loss, stats


class NativePPO:
    """PPO with the asymmetric LSTM actor-critic on a batched device env (see the module docstring).

    Args:
        envs: the batched env (torch ``array_type``).
        config: :class:`PPOConfig`.
        seed: seeds torch (weights, action sampling) and the env's first reset.
        adr: an :class:`wrappers.ADRState` fed the env's ``adr_result`` infos (the env built with ``adr=``), or None.

    Raises:
        ValueError: if ``config.minibatches`` exceeds ``envs.num_envs``.
    """

    def __init__(self, envs: Any, config: PPOConfig, seed: int = 0, adr: Any = None) -> None:
        if config.minibatches > envs.num_envs:
            raise ValueError(f"minibatches ({config.minibatches}) must be <= num_envs ({envs.num_envs})")
        self.envs, self.config, self.seed, self.adr = envs, config, int(seed), adr
        self.device = torch.device(envs.device)
        torch.manual_seed(self.seed)
        space = envs.single_observation_space
        self.model = AsymmetricLSTMActorCritic(
            space, envs.single_action_space, dense=config.dense, hidden=config.hidden
        ).to(self.device)
        self.discrete = isinstance(envs.single_action_space, spaces.MultiDiscrete)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate, eps=1e-5)
        self.obs_norm = ObservationNormalizer(
            {k: int(s.shape[0]) for k, s in space.spaces.items()}, self.device, clip=config.clip_obs
        )
        self.ret_norm = ReturnNormalizer(envs.num_envs, config.gamma, self.device) if config.norm_reward else None
        self.num_timesteps = 0
        self.updates = 0
        self._obs: dict[str, torch.Tensor] | None = None

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain containers only (for ``torch.load(weights_only=True)``)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "obs_norm": self.obs_norm.state_dict(),
            "ret_norm": None if self.ret_norm is None else self.ret_norm.rms.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the same architecture and keys)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.obs_norm.load_state_dict(state["obs_norm"])
        if self.ret_norm is not None and state.get("ret_norm") is not None:
            self.ret_norm.rms.load_state_dict(state["ret_norm"])

    def meta(self) -> dict[str, Any]:
        """JSON-safe run metadata: config, counters, seed, ADR state."""
        return {
            "config": asdict(self.config),
            "num_timesteps": self.num_timesteps,
            "updates": self.updates,
            "seed": self.seed,
            "adr": None if self.adr is None else self.adr.to_dict(),
        }

    # ------------------------------------------------------------------ rollouts
    def _observe(self, raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        self.obs_norm.update(raw)
        return self.obs_norm.normalize(raw)

    def _start(self) -> None:
        raw, _ = self.envs.reset(seed=self.seed + self.updates)
        self._obs = self._observe(raw)
        n = self.envs.num_envs
        self._lstm: LSTMState = self.model.initial_state(n, self.device)
        self._starts = torch.ones(n, device=self.device)
        self._ep_return = torch.zeros(n, device=self.device)

    @torch.no_grad()
    def collect(self) -> dict[str, Any]:
        """One rollout of ``n_steps`` steps of every world, as device tensors (plus episode statistics)."""
        if self._obs is None:
            self._start()
        cfg, n, dev = self.config, self.envs.num_envs, self.device
        T = cfg.n_steps
        obs_buf = {k: torch.empty(T, *v.shape, device=dev) for k, v in self._obs.items()}
        n_act = self.envs.single_action_space.shape[0]
        actions = torch.empty(T, n, n_act, device=dev, dtype=torch.long if self.discrete else torch.float32)
        log_probs, values, rewards, dones, starts = (torch.empty(T, n, device=dev) for _ in range(5))
        init = tuple((h.clone(), c.clone()) for h, c in self._lstm)
        finished = {"episodes": 0.0, "return": 0.0, "successes": 0.0, "drops": 0.0}
        for t in range(T):
            for k, v in self._obs.items():
                obs_buf[k][t] = v
            starts[t] = self._starts
            dist, value, self._lstm = self.model.step(self._obs, self._lstm, self._starts)
            action = dist.sample()
            log_probs[t], values[t], actions[t] = dist.log_prob(action), value, action
            env_action = action if self.discrete else action.clamp(-1.0, 1.0)
            raw, reward, terminated, truncated, info = self.envs.step(env_action)
            reward = torch.as_tensor(reward, device=dev, dtype=torch.float32)
            done = torch.as_tensor(terminated | truncated, device=dev)
            self._ep_return += reward
            scaled = reward if self.ret_norm is None else self.ret_norm(reward, done)
            if bool(done.any()):
                bootstrap = torch.as_tensor(truncated, device=dev) & ~torch.as_tensor(terminated, device=dev)
                if bool(bootstrap.any()):  # truncated: add γ V(final observation), in the value's (scaled) units
                    final = self.obs_norm.normalize(info["final_obs"])
                    seq = {k: v.unsqueeze(0) for k, v in final.items()}
                    v_final, _ = self.model.value(seq, self._lstm[1], torch.zeros(1, n, device=dev))
                    scaled = scaled + cfg.gamma * v_final[0] * bootstrap
                fin = info["final_info"]
                finished["episodes"] += float(done.sum())
                finished["return"] += float(self._ep_return[done].sum())
                succ = torch.as_tensor(fin["consecutive_successes"], device=dev, dtype=torch.float32)
                finished["successes"] += float(succ[done].sum())
                finished["drops"] += float(torch.as_tensor(fin["dropped"], device=dev)[done].sum())
                self._ep_return = torch.where(done, torch.zeros_like(self._ep_return), self._ep_return)
            if self.adr is not None and "adr_result" in info and self.adr.record_infos(info):
                self.adr.push(self.envs)
            rewards[t], dones[t] = scaled, done.float()
            self._starts = done.float()
            self._obs = self._observe(raw)
        seq = {k: v.unsqueeze(0) for k, v in self._obs.items()}
        next_value, _ = self.model.value(seq, self._lstm[1], self._starts.unsqueeze(0))
        adv, returns = compute_gae(rewards, values, dones, next_value[0], cfg.gamma, cfg.gae_lambda)
        self.num_timesteps += T * n
        return {
            "obs": obs_buf, "actions": actions, "log_probs": log_probs, "values": values, "advantages": adv,
            "returns": returns, "starts": starts, "init": init, "episodes": finished,
        }  # fmt: skip

    # ------------------------------------------------------------------ updates
    def update(self, rollout: dict[str, Any]) -> dict[str, float]:
        """``epochs`` passes of minibatched PPO over a rollout; returns the mean of each loss part."""
        cfg, n = self.config, self.envs.num_envs
        sums: dict[str, float] = {}
        count = 0
        for _ in range(cfg.epochs):
            for idx in torch.randperm(n, device=self.device).chunk(cfg.minibatches):
                init = tuple((h[:, idx], c[:, idx]) for h, c in rollout["init"])
                obs = {k: v[:, idx] for k, v in rollout["obs"].items()}
                log_prob, entropy, values = self.model.evaluate(
                    obs, rollout["actions"][:, idx], init, rollout["starts"][:, idx]
                )
                loss, stats = ppo_loss(
                    log_prob, rollout["log_probs"][:, idx], rollout["advantages"][:, idx], values,
                    rollout["returns"][:, idx], entropy, cfg.clip_range, cfg.vf_coef, cfg.ent_coef,
                )  # fmt: skip
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                stats["loss"] = loss.detach()
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                count += 1
        self.updates += 1
        return {k: v / count for k, v in sums.items()}

    def learn(self, total_timesteps: int, on_update: Callable[[dict[str, float]], bool | None] | None = None) -> None:
        """Iterate collect + update until ``num_timesteps >= total_timesteps``.

        ``on_update(row)`` gets each iteration's row (timesteps, env steps/s, episode means, losses); returning
        ``False`` stops training.
        """
        while self.num_timesteps < total_timesteps:
            t0 = time.perf_counter()
            rollout = self.collect()
            t1 = time.perf_counter()
            row: dict[str, float] = {"timesteps": float(self.num_timesteps), "updates": float(self.updates + 1)}
            row.update(self.update(rollout))
            t2 = time.perf_counter()
            ep = rollout["episodes"]
            steps = self.config.n_steps * self.envs.num_envs
            row["env_steps_per_s"] = steps / max(t1 - t0, 1e-9)
            row["steps_per_s"] = steps / max(t2 - t0, 1e-9)
            row["episodes"] = ep["episodes"]
            for key in ("return", "successes", "drops"):
                row[f"episode_{key}"] = ep[key] / ep["episodes"] if ep["episodes"] else math.nan
            if on_update is not None and on_update(row) is False:
                break
