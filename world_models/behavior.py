"""Actor-critic learned in imagination: batched H-step rollouts of the world model from posterior states."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator

import torch
from torch import distributions as td
from torch import nn

from world_models.config import DreamerConfig
from world_models.distributions import BoundedNormal, MultiCategorical, TwoHot
from world_models.networks import mlp, mlp_forward
from world_models.rssm import RSSM, State
from world_models.spaces import ActionSpec
from world_models.world_model import WorldModel

__all__ = [
    "Actor",
    "Behavior",
    "Critic",
    "ReturnNormalizer",
    "frozen",
    "lambda_returns",
    "replay_lambda_returns",
]


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Temporarily set ``requires_grad=False`` on every parameter of ``modules`` (restored afterwards)."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


class Actor(nn.Module):
    """Policy on model features: bounded Normal for Box, independent categoricals for (Multi)Discrete."""

    def __init__(self, feat_dim: int, spec: ActionSpec, cfg: DreamerConfig) -> None:
        super().__init__()
        self.spec = spec
        self.min_std, self.max_std, self.unimix = cfg.actor_min_std, cfg.actor_max_std, cfg.unimix
        if spec.is_continuous:
            out = 2 * spec.dim
        else:
            self.nvec = list(spec.nvec)
            self.kmax = max(self.nvec)
            out = len(self.nvec) * self.kmax
        # official ``policy.outscale: 0.01`` (configs.yaml): near-uniform / mid-range initial policy
        self.net = mlp(feat_dim, cfg.units, cfg.mlp_layers, out, outscale=0.01)

    def forward(self, feat: torch.Tensor, index: torch.Tensor | None = None) -> td.Distribution:
        """Action distribution; values are model-unit actions ``(..., action_dim)``.

        With ``index`` (one-hot positions of the stochastic latent, see ``RSSM.img_step_index``), ``feat``
        is the deterministic part only.
        """
        out = mlp_forward(self.net, feat, index).float()
        if self.spec.is_continuous:
            mean, std = out.chunk(2, -1)
            return BoundedNormal(mean, std, self.min_std, self.max_std)
        return MultiCategorical(out.reshape(*out.shape[:-1], len(self.nvec), self.kmax), self.nvec, self.unimix)


class Critic(nn.Module):
    """Value head: two-hot logits over symexp bins, output layer zero-initialised (official ``value``)."""

    def __init__(self, feat_dim: int, cfg: DreamerConfig) -> None:
        super().__init__()
        self.net = mlp(feat_dim, cfg.units, cfg.mlp_layers, cfg.num_bins, zero_out=True)

    def forward(self, feat: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """Value logits ``(..., num_bins)``; ``index`` as in :meth:`Actor.forward`."""
        return mlp_forward(self.net, feat, index)


class ReturnNormalizer(nn.Module):
    """EMA of the 5th and 95th return percentiles; scale = max(1, hi - lo).

    Official ``retnorm``: ``impl: perc, rate: 0.01, limit: 1.0`` (``embodied/jax/utils.py::Normalize``).
    """

    lo: torch.Tensor
    hi: torch.Tensor

    def __init__(self, decay: float, percentiles: tuple[float, float]) -> None:
        super().__init__()
        self.decay = decay
        self.q = (percentiles[0] / 100.0, percentiles[1] / 100.0)
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.zeros(()))

    @torch.no_grad()
    def update(self, returns: torch.Tensor) -> torch.Tensor:
        """Update the EMAs with a batch of returns and return the new scale."""
        flat = returns.detach().flatten().float()
        q = torch.quantile(flat, torch.tensor(self.q, device=flat.device))
        self.lo.mul_(self.decay).add_((1 - self.decay) * q[0])
        self.hi.mul_(self.decay).add_((1 - self.decay) * q[1])
        return self.scale()

    def scale(self) -> torch.Tensor:
        """Current divisor ``max(1, hi - lo)``."""
        return torch.clamp_min(self.hi - self.lo, 1.0)


def lambda_returns(reward: torch.Tensor, value: torch.Tensor, disc: torch.Tensor, lam: float) -> torch.Tensor:
    """TD(lambda) returns over an imagined trajectory.

    Args:
        reward: ``(H, N)`` reward of transition t -> t+1.
        value: ``(H + 1, N)`` values of states 0..H.
        disc: ``(H, N)`` discount (gamma * continue) of transition t -> t+1.
        lam: Lambda.

    Returns:
        ``(H, N)`` returns ``R_t = r_t + disc_t ((1 - lam) v_{t+1} + lam R_{t+1})`` with ``R_H = v_H``.
    """
    last = value[-1]
    out = []
    for t in reversed(range(reward.shape[0])):
        last = reward[t] + disc[t] * ((1 - lam) * value[t + 1] + lam * last)
        out.append(last)
    return torch.stack(out[::-1], 0)


def replay_lambda_returns(
    reward: torch.Tensor,
    is_terminal: torch.Tensor,
    is_last: torch.Tensor,
    boot: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Lambda-returns of replayed sequences, bootstrapped from imagined returns.

    The official ``dreamerv3/agent.py::lambda_return`` as called by ``repl_loss``.

    Args:
        reward: ``(B, T)`` real reward received on arrival at each step.
        is_terminal: ``(B, T)`` real terminals.
        is_last: ``(B, T)`` last step of an episode (terminal or truncated; the sequence may continue
            into the next episode after it).
        boot: ``(B, T)`` bootstrap value of each step (the imagined lambda-return from its posterior).
        gamma: Discount.
        lam: Lambda.

    Returns:
        ``(B, T - 1)``: ``R_t = r_{t+1} + gamma c_{t+1} ((1 - l_{t+1}) lam R_{t+1} +
        (1 - (1 - l_{t+1}) lam) boot_{t+1})`` with ``R_{T-1} = boot_{T-1}``, ``c = 1 - is_terminal``,
        ``l = is_last``.
    """
    live = (1.0 - is_terminal.to(reward.dtype))[:, 1:] * gamma
    cont = (1.0 - is_last.to(reward.dtype))[:, 1:] * lam
    interm = reward[:, 1:] + (1.0 - cont) * live * boot[:, 1:]
    last = boot[:, -1]
    out = []
    for t in reversed(range(live.shape[1])):
        last = interm[:, t] + live[:, t] * cont[:, t] * last
        out.append(last)
    return torch.stack(out[::-1], 1)


class Behavior(nn.Module):
    """Actor, critic, slow critic and return normaliser, trained on imagined rollouts."""

    def __init__(self, feat_dim: int, spec: ActionSpec, cfg: DreamerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.actor = Actor(feat_dim, spec, cfg)
        self.critic = Critic(feat_dim, cfg)
        self.slow_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.return_norm = ReturnNormalizer(cfg.return_norm_decay, cfg.return_norm_percentiles)
        self.twohot = TwoHot(cfg.num_bins, cfg.bin_range)
        grad = cfg.actor_grad  # official: REINFORCE for every action space (agent.py::imag_loss)
        self.actor_grad = grad if grad != "auto" else ("dynamics" if spec.is_continuous else "reinforce")

    def imagine(self, wm: WorldModel, start: State, horizon: int) -> dict[str, torch.Tensor]:
        """Roll the learned dynamics ``horizon`` steps with the actor from each (flattened) start state.

        Actor inputs are detached; with ``actor_grad == "dynamics"`` gradients flow from later states
        back through the sampled actions, otherwise the dynamics run without autograd (with
        ``cfg.onehot_gather`` via :meth:`_imagine_gather`, which also returns ``deter`` and ``index``).

        Returns:
            ``feat (H+1, N, F)``, ``action (H, N, A)``, ``logp (H, N)``, ``entropy (H, N)``.
        """
        backprop = self.actor_grad == "dynamics"
        if self._gathers(wm):
            return self._imagine_gather(wm.rssm, start, horizon)
        state = {k: v.detach() for k, v in start.items()}
        feats = [wm.rssm.feat(state)]
        actions, logps, ents = [], [], []
        for _ in range(horizon):
            dist = self.actor(feats[-1].detach())
            if backprop:
                action = dist.rsample()
                logp = dist.log_prob(action.detach())
            else:
                # log-density of the unclipped draw: the clipped action's would bias REINFORCE (see
                # BoundedNormal.sample_with_log_prob)
                action, logp = dist.sample_with_log_prob()
            actions.append(action)
            logps.append(logp)
            ents.append(dist.entropy())
            # one actor forward per step (kept for its log-prob and entropy); the dynamics run without
            # autograd for REINFORCE
            with contextlib.nullcontext() if backprop else torch.no_grad():
                state = wm.rssm.img_step(state, action)
            feats.append(wm.rssm.feat(state))
        return {
            "feat": torch.stack(feats, 0),
            "action": torch.stack(actions, 0),
            "logp": torch.stack(logps, 0),
            "entropy": torch.stack(ents, 0),
        }

    def _gathers(self, wm: WorldModel) -> bool:
        """Whether imagination takes the one-hot gather path (REINFORCE, ``onehot_gather``, a real RSSM)."""
        return self.actor_grad != "dynamics" and self.cfg.onehot_gather and isinstance(getattr(wm, "rssm", None), RSSM)

    def _imagine_gather(self, rssm: RSSM, start: State, horizon: int) -> dict[str, torch.Tensor]:
        """:meth:`imagine` without autograd through the dynamics, imagined latents kept as one-hot positions.

        The same computation with the same random draws as the straightforward loop (equal up to float
        rounding): every layer that reads an imagined stochastic latent (the core's input projection, the
        actor here, and the heads in :meth:`actor_loss` / :meth:`critic_loss`) sums the ``S`` weight columns
        of its ones instead of multiplying by the ``S * K`` one-hot (``networks.onehot_linear``). The start
        states are used as given (dense). ``cfg.onehot_gather=False`` selects the straightforward loop.

        Returns:
            As :meth:`imagine`, plus ``deter (H+1, N, D)`` and ``index (H, N, S)``: the deterministic states
            and the one-hot positions of the imagined steps 1..H (``feat[1:] = cat(deter[1:], onehot(index))``).
        """
        deter, stoch = start["deter"].detach(), start["stoch"].detach()
        n, d = deter.shape
        # the features are written in place: row 0 the start state, rows 1..H deter and the one-hot
        feat0 = rssm.feat({"deter": deter, "stoch": stoch})
        feat = deter.new_empty(horizon + 1, n, d + rssm.stoch_dim)
        feat[0] = feat0
        indices, actions, logps, ents = [], [], [], []
        index = None
        for t in range(horizon):
            dist = self.actor(feat0) if index is None else self.actor(deter, index)
            # log-density of the unclipped draw (see BoundedNormal.sample_with_log_prob)
            action, logp = dist.sample_with_log_prob()
            actions.append(action)
            logps.append(logp)
            ents.append(dist.entropy())
            with torch.no_grad():
                if index is None:  # from the (dense) start state
                    deter = rssm._core(deter, stoch, rssm.act_proj(action))
                    index = rssm.stoch_index(rssm.prior_probs(deter))
                else:
                    deter, index = rssm.img_step_index(deter, index, action)
            feat[t + 1, :, :d] = deter
            indices.append(index)
        index_all = torch.stack(indices, 0)
        feat[1:, :, d:].zero_().scatter_(-1, index_all, 1.0)
        return {
            "feat": feat,
            "action": torch.stack(actions, 0),
            "logp": torch.stack(logps, 0),
            "entropy": torch.stack(ents, 0),
            "deter": feat[:, :, :d],
            "index": index_all,
        }

    @staticmethod
    def _rows(fn: Callable[..., torch.Tensor], traj: dict[str, torch.Tensor], drop_last: bool = False) -> torch.Tensor:
        """``fn`` on the imagined features ``traj["feat"]`` (without the last row if ``drop_last``).

        With one-hot positions in ``traj`` (:meth:`_imagine_gather`) the imagined rows go through the
        gather path ``fn(deter, index)`` and only the start row through ``fn(feat)``.
        """
        feat = traj["feat"]
        if "index" not in traj:
            return fn(feat[:-1] if drop_last else feat)
        end = -1 if drop_last else None
        return torch.cat([fn(feat[:1]), fn(traj["deter"][1:end], traj["index"][:end])], 0)

    def actor_loss(
        self, wm: WorldModel, start: State
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Imagine from every start state and compute the actor loss (official ``agent.py::imag_loss``).

        World model and critic are frozen meanwhile. As official (``contdisc: True``): the predicted
        continue ``c`` already carries the discount, ``R_t = r_{t+1} + c_{t+1} ((1 - lam) v_{t+1} +
        lam R_{t+1})`` with ``R_H = v_H``, weights ``w_t = prod_{i<=t} c_i`` (``c_0`` of the start state),
        advantages ``(R_t - v_t) / max(1, P95 - P5)``, loss ``-w_t (log pi(a_t) sg(adv_t) +
        actor_entropy H_t)`` for REINFORCE (``adv_t`` itself with ``actor_grad="dynamics"``).

        Args:
            wm: The world model.
            start: Posterior states, any leading shape (flattened to N).

        Returns:
            ``(loss, metrics, traj)``; ``traj`` holds detached ``feat``, ``returns`` and ``weight`` for
            :meth:`critic_loss` (``returns[0]`` bootstraps :meth:`repval_loss`).
        """
        cfg = self.cfg
        start = {k: v.reshape(-1, v.shape[-1]) for k, v in start.items()}
        if self._gathers(wm):
            # the dynamics run without autograd inside; the model's heads too (no freezing needed, so that
            # autocast casts each weight once per update instead of once per call)
            traj = self._imagine_gather(wm.rssm, start, cfg.horizon)
            with torch.no_grad():
                reward = wm.reward(traj["deter"][1:], traj["index"])
                cont = self._rows(wm.cont, traj)
        else:
            with frozen(wm, self.critic):
                traj = self.imagine(wm, start, cfg.horizon)
                reward = wm.reward(traj["feat"][1:])
                cont = wm.cont(traj["feat"])
        feat = traj["feat"]
        critic_logits = None
        if self.actor_grad == "dynamics":  # values carry the dynamics gradient to the actor
            with frozen(self.critic):
                value = self.twohot.mean(self.critic(feat))
        else:
            # the critic's logits on the imagined (detached) states, computed once: read without gradient
            # here (baseline and bootstrap), trained with gradient in :meth:`critic_loss`
            critic_logits = self._rows(self.critic, traj)
            value = self.twohot.mean(critic_logits.detach())
        disc = cont[1:]
        returns = lambda_returns(reward, value, disc, cfg.return_lambda)
        weight = torch.cumprod(cont[:-1], 0).detach()
        scale = self.return_norm.update(returns)
        adv = (returns - value[:-1].detach()) / scale
        if self.actor_grad == "dynamics":
            objective = adv
        else:
            objective = traj["logp"] * adv.detach()
        loss = -(weight * (objective + cfg.actor_entropy * traj["entropy"])).mean()
        metrics = {
            "actor_loss": loss.detach(),
            "entropy": traj["entropy"].detach().mean(),
            "imag_reward": reward.detach().mean(),
            "imag_return": returns.detach().mean(),
            "imag_value": value.detach().mean(),
            "return_scale": scale.detach(),
            "imag_cont": cont[1:].detach().mean(),
        }
        out = {"feat": feat.detach(), "returns": returns.detach(), "weight": weight}
        out.update({k: traj[k] for k in ("deter", "index") if k in traj})
        if critic_logits is not None:
            out["critic_logits"] = critic_logits[:-1]
        return loss, metrics, out

    def critic_loss(self, traj: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Two-hot regression of the imagined lambda-returns plus the slow-critic regulariser.

        Weighted by the continue products (official ``imag_loss`` ``value`` term); critic params only.
        """
        logits = traj["critic_logits"] if "critic_logits" in traj else self._rows(self.critic, traj, drop_last=True)
        with torch.no_grad():
            slow = self.twohot.mean(self._rows(self.slow_critic, traj, drop_last=True))
        loss = self.twohot.loss(logits, traj["returns"]) + self.cfg.slow_critic_reg * self.twohot.loss(logits, slow)
        loss = (traj["weight"] * loss).mean()
        return loss, {"critic_loss": loss.detach()}

    def repval_loss(
        self,
        feat: torch.Tensor,
        reward: torch.Tensor,
        is_terminal: torch.Tensor,
        is_last: torch.Tensor,
        boot: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Critic loss on lambda-returns of the replayed sequences (official ``agent.py::repl_loss``).

        The targets use the real rewards and terminals, bootstrapped from the imagined returns of each
        replayed state; the loss is two-hot regression plus the slow-critic regulariser, masked where
        ``is_last``. Unscaled; the caller multiplies by ``repval_scale``. Gradients reach the critic and,
        only if ``feat`` is not detached, the world model.

        Args:
            feat: ``(B, T, F)`` posterior features of the replayed steps.
            reward: ``(B, T)`` real rewards.
            is_terminal: ``(B, T)`` real terminals.
            is_last: ``(B, T)`` last steps of episodes.
            boot: ``(B, T)`` imagined lambda-return from each step.

        Returns:
            ``(loss, metrics)``.
        """
        cfg = self.cfg
        with torch.no_grad():
            ret = replay_lambda_returns(reward, is_terminal, is_last, boot.detach(), cfg.gamma, cfg.return_lambda)
            slow = self.twohot.mean(self.slow_critic(feat[:, :-1]))
        logits = self.critic(feat[:, :-1])
        loss = self.twohot.loss(logits, ret) + cfg.slow_critic_reg * self.twohot.loss(logits, slow)
        weight = 1.0 - is_last[:, :-1].to(loss.dtype)
        loss = (weight * loss).mean()
        return loss, {"repval_loss": loss.detach(), "repval_return": ret.mean()}

    @torch.no_grad()
    def update_slow_critic(self) -> None:
        """EMA step of the slow critic towards the critic."""
        for slow, fast in zip(self.slow_critic.parameters(), self.critic.parameters(), strict=True):
            slow.lerp_(fast, self.cfg.critic_ema)
