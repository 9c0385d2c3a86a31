"""Recurrent state-space model: a block GRU (deterministic state) plus categorical latents.

Shapes: ``deter (..., D)``, ``stoch (..., S * K)`` (flattened one-hots), ``probs (..., S, K)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from world_models.distributions import categorical_kl, sample_index, straight_through_onehot, unimix_probs
from world_models.networks import mlp, mlp_forward, norm

__all__ = ["RSSM", "State"]

State = dict[str, torch.Tensor]


class RSSM(nn.Module):
    """DreamerV3 RSSM (official ``dreamerv3/rssm.py::RSSM``).

    Block GRU, 2-layer prior, 1% unimix categoricals with straight-through sampling, RMSNorm everywhere.

    ``_core`` follows the official ``RSSM._core``: deter, stoch and action each go through
    Linear -> RMSNorm -> SiLU to ``hidden`` units; the deterministic state is split into ``blocks`` groups,
    each group sees its own slice of the state plus all three projections (``BlockLinear`` ``dynhid0``),
    then a block-diagonal layer gives the three GRU gates per group (``dyngru``). The part of ``dynhid0``
    that reads the shared projections is one dense matmul here (mathematically the same as the official
    repeat-per-group, without the copies). The prior is ``prior_layers`` hidden layers (official
    ``imglayers: 2``); the posterior one hidden layer on ``cat(deter, embed)`` (official ``obslayers: 1``).

    Input projections that do not depend on the recurrence (actions, embeddings) are computed for the
    whole sequence at once before the time loop; the prior head runs once on all steps after it.
    """

    def __init__(
        self,
        embed_dim: int,
        action_dim: int,
        deter: int,
        stoch: int,
        classes: int,
        units: int,
        unimix: float,
        blocks: int = 8,
        prior_layers: int = 2,
    ) -> None:
        super().__init__()
        if deter % blocks:
            raise ValueError(f"RSSM deter={deter} is invalid: expected a multiple of blocks={blocks}")
        self.deter, self.stoch, self.classes, self.unimix = deter, stoch, classes, unimix
        self.blocks = blocks
        self.stoch_dim = stoch * classes
        self.feat_dim = deter + self.stoch_dim
        self.dynin_deter = nn.Sequential(nn.Linear(deter, units, bias=False), norm(units), nn.SiLU())
        self.dynin_stoch = nn.Sequential(nn.Linear(self.stoch_dim, units, bias=False), norm(units), nn.SiLU())
        self.dynin_act = nn.Sequential(nn.Linear(action_dim, units, bias=False), norm(units), nn.SiLU())
        group = deter // blocks
        # dynhid0 (BlockLinear): per group [deter_g, x] -> group units; split into block-diag + shared dense
        self.hid_shared = nn.Linear(3 * units, deter, bias=False)
        self.hid_block = nn.Parameter(torch.empty(blocks, group, group))
        self.hid_norm = nn.Sequential(norm(deter), nn.SiLU())
        # dyngru (BlockLinear): per group hidden_g -> (reset, cand, update)_g
        self.gru_block = nn.Parameter(torch.empty(blocks, group, 3 * group))
        self.gru_bias = nn.Parameter(torch.zeros(blocks, 3 * group))
        bound_hid = 1.0 / math.sqrt(group + 3 * units)
        nn.init.uniform_(self.hid_block, -bound_hid, bound_hid)
        nn.init.uniform_(self.hid_shared.weight, -bound_hid, bound_hid)
        nn.init.uniform_(self.gru_block, -1.0 / math.sqrt(group), 1.0 / math.sqrt(group))
        self.prior_net = mlp(deter, units, prior_layers, self.stoch_dim)
        self.post_deter = nn.Linear(deter, units, bias=False)
        self.post_embed = nn.Linear(embed_dim, units)
        self.post_out = nn.Sequential(norm(units), nn.SiLU(), nn.Linear(units, self.stoch_dim))

    def initial(self, batch: int, device: torch.device | str | None = None) -> State:
        """Zero state for ``batch`` sequences."""
        device = device if device is not None else self.gru_block.device
        return {
            "deter": torch.zeros(batch, self.deter, device=device),
            "stoch": torch.zeros(batch, self.stoch_dim, device=device),
        }

    @staticmethod
    def feat(state: State) -> torch.Tensor:
        """Model features: ``cat(deter, stoch)``."""
        return torch.cat([state["deter"], state["stoch"]], -1)

    def _probs(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        return unimix_probs(logits.reshape(*logits.shape[:-1], self.stoch, self.classes), self.unimix)

    def _block(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Block-diagonal matmul: ``x (N, G * I)`` with ``weight (G, I, O)`` -> ``(N, G, O)``."""
        n = x.shape[0]
        xg = x.reshape(n, self.blocks, -1).transpose(0, 1)
        return torch.bmm(xg, weight).transpose(0, 1)

    def _core(
        self,
        deter: torch.Tensor,
        stoch: torch.Tensor | None,
        act_proj: torch.Tensor,
        index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Block GRU step (official ``RSSM._core``); ``act_proj`` is ``dynin_act(action)``.

        The stochastic input is ``stoch``, or with ``index`` the one-hot at those positions (see
        :meth:`img_step_index`).
        """
        lead = deter.shape[:-1]
        deter2 = deter.reshape(-1, self.deter)
        if index is None:
            assert stoch is not None
            stoch_proj = self.dynin_stoch(stoch.reshape(-1, self.stoch_dim))
        else:
            stoch_proj = mlp_forward(self.dynin_stoch, None, index.reshape(-1, self.stoch))
        x = torch.cat([self.dynin_deter(deter2), stoch_proj, act_proj.reshape(-1, act_proj.shape[-1])], -1)
        hid = self.hid_shared(x) + self._block(deter2, self.hid_block).flatten(1)
        hid = self.hid_norm(hid)
        gates = self._block(hid, self.gru_block) + self.gru_bias
        reset, cand, update = gates.chunk(3, -1)
        reset = torch.sigmoid(reset.flatten(1))
        cand = torch.tanh(reset * cand.flatten(1))
        update = torch.sigmoid(update.flatten(1) - 1.0)
        out = update * cand + (1.0 - update) * deter2
        return out.reshape(*lead, self.deter).float()  # the state stays float32 under bf16 autocast

    def act_proj(self, action: torch.Tensor) -> torch.Tensor:
        """Action input of the core.

        Actions are first divided by ``max(1, |a|)`` as in the official ``_core`` (a no-op for the
        [-1, 1] and one-hot actions used here).
        """
        action = action / action.detach().abs().clamp_min(1.0)
        return self.dynin_act(action)

    def prior_probs(self, deter: torch.Tensor) -> torch.Tensor:
        """Prior p(z | h) of any leading shape."""
        return self._probs(self.prior_net(deter))

    def img_step(self, state: State, action: torch.Tensor, sample: bool = True) -> State:
        """One step of the learned dynamics prior: ``(h, z), a -> (h', z' ~ p(z' | h'))``."""
        deter = self._core(state["deter"], state["stoch"], self.act_proj(action))
        stoch = straight_through_onehot(self.prior_probs(deter), sample).flatten(-2)
        return {"deter": deter, "stoch": stoch}

    def stoch_index(self, probs: torch.Tensor, sample: bool = True) -> torch.Tensor:
        """Positions ``(..., S)`` of the ones in the flattened one-hot sample (or mode) of ``probs (..., S, K)``.

        Draws the same random numbers as :func:`straight_through_onehot` (inverse-CDF sampling).
        """
        offsets = torch.arange(self.stoch, device=probs.device) * self.classes
        return sample_index(probs, sample) + offsets

    def onehot(self, index: torch.Tensor) -> torch.Tensor:
        """Flattened one-hot ``(..., S * K)`` float32 of positions ``(..., S)`` (inverse of :meth:`stoch_index`)."""
        out = torch.zeros(*index.shape[:-1], self.stoch_dim, device=index.device)
        return out.scatter_(-1, index, 1.0)

    def img_step_index(
        self, deter: torch.Tensor, index: torch.Tensor, action: torch.Tensor, sample: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`img_step` with the stochastic state as one-hot positions, for rollouts without autograd.

        ``(h, positions of z), a -> (h', positions of z')``: the same computation and the same random draws
        as ``img_step`` on ``stoch = onehot(index)``, equal up to float rounding, but the layer that reads
        ``z`` sums ``S`` weight columns instead of multiplying by the ``S * K`` one-hot
        (:func:`~world_models.networks.onehot_linear`). No straight-through gradient reaches ``z``.
        """
        deter = self._core(deter, None, self.act_proj(action), index=index)
        return deter, self.stoch_index(self.prior_probs(deter), sample)

    def obs_step(
        self,
        state: State,
        prev_action: torch.Tensor,
        embed: torch.Tensor,
        is_first: torch.Tensor,
        sample: bool = True,
    ) -> State:
        """One posterior step for acting: reset where ``is_first``, advance, and condition on ``embed``."""
        keep = (~is_first).to(embed.dtype).unsqueeze(-1)
        state = {k: v * keep for k, v in state.items()}
        prev_action = prev_action * keep
        deter = self._core(state["deter"], state["stoch"], self.act_proj(prev_action))
        probs = self._probs(self.post_out(self.post_deter(deter) + self.post_embed(embed)))
        return {"deter": deter, "stoch": straight_through_onehot(probs, sample).flatten(-2)}

    def observe(
        self,
        embed: torch.Tensor,
        prev_actions: torch.Tensor,
        is_first: torch.Tensor,
        state: State | None = None,
    ) -> tuple[State, torch.Tensor, torch.Tensor]:
        """Filter a batch of sequences.

        Args:
            embed: Encoder output ``(B, T, E)``.
            prev_actions: Action taken *before* each step ``(B, T, A)`` (zero where ``is_first``).
            is_first: ``(B, T)`` bool; the state is reset to zero there.
            state: Initial state ``(B, ...)``, zeros if ``None``.

        Returns:
            Posterior states ``(B, T, ...)``, posterior probs and prior probs ``(B, T, S, K)``.
        """
        batch, steps = embed.shape[:2]
        state = state if state is not None else self.initial(batch, embed.device)
        keep = (~is_first).to(embed.dtype).unsqueeze(-1)
        act_proj = self.act_proj(prev_actions * keep)
        emb_proj = self.post_embed(embed)
        deter, stoch = state["deter"], state["stoch"]
        deters, stochs, post_probs = [], [], []
        for t in range(steps):
            deter, stoch = deter * keep[:, t], stoch * keep[:, t]
            deter = self._core(deter, stoch, act_proj[:, t])
            probs = self._probs(self.post_out(self.post_deter(deter) + emb_proj[:, t]))
            stoch = straight_through_onehot(probs).flatten(-2)
            deters.append(deter)
            stochs.append(stoch)
            post_probs.append(probs)
        states = {"deter": torch.stack(deters, 1), "stoch": torch.stack(stochs, 1)}
        return states, torch.stack(post_probs, 1), self.prior_probs(states["deter"])

    @staticmethod
    def kl_losses(post: torch.Tensor, prior: torch.Tensor, free_bits: float) -> tuple[torch.Tensor, ...]:
        """DreamerV3 KL balancing terms with free bits.

        Returns:
            ``(dyn, rep, kl)``: clipped KL(sg(post) || prior), clipped KL(post || sg(prior)), and the raw KL,
            each of shape ``post.shape[:-2]``.
        """
        dyn = categorical_kl(post.detach(), prior)
        rep = categorical_kl(post, prior.detach())
        return dyn.clamp_min(free_bits), rep.clamp_min(free_bits), dyn.detach()
