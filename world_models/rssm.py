"""Recurrent state-space model: a layer-normed GRU (deterministic state) plus categorical latents.

Shapes: ``deter (..., D)``, ``stoch (..., S * K)`` (flattened one-hots), ``probs (..., S, K)``.
"""

from __future__ import annotations

import torch
from torch import nn

from world_models.distributions import categorical_kl, straight_through_onehot, unimix_probs
from world_models.networks import mlp

__all__ = ["RSSM", "State"]

State = dict[str, torch.Tensor]


class RSSM(nn.Module):
    """DreamerV3 RSSM with 1% unimix categoricals and straight-through sampling.

    Input projections that do not depend on the recurrence (actions, embeddings) are computed for the
    whole sequence at once before the time loop; the prior head runs once on all steps after it.
    """

    def __init__(
        self, embed_dim: int, action_dim: int, deter: int, stoch: int, classes: int, units: int, unimix: float
    ) -> None:
        super().__init__()
        self.deter, self.stoch, self.classes, self.unimix = deter, stoch, classes, unimix
        self.stoch_dim = stoch * classes
        self.feat_dim = deter + self.stoch_dim
        self.img_in_stoch = nn.Linear(self.stoch_dim, units, bias=False)
        self.img_in_act = nn.Linear(action_dim, units, bias=False)
        self.img_in_norm = nn.Sequential(nn.LayerNorm(units, eps=1e-3), nn.SiLU())
        self.gru = nn.Linear(units + deter, 3 * deter, bias=False)
        self.gru_norm = nn.LayerNorm(3 * deter, eps=1e-3)
        self.prior_net = mlp(deter, units, 1, self.stoch_dim)
        self.post_deter = nn.Linear(deter, units, bias=False)
        self.post_embed = nn.Linear(embed_dim, units, bias=False)
        self.post_out = nn.Sequential(
            nn.LayerNorm(units, eps=1e-3), nn.SiLU(), nn.Linear(units, self.stoch_dim)
        )

    def initial(self, batch: int, device: torch.device | str | None = None) -> State:
        """Zero state for ``batch`` sequences."""
        device = device if device is not None else self.gru.weight.device
        return {
            "deter": torch.zeros(batch, self.deter, device=device),
            "stoch": torch.zeros(batch, self.stoch_dim, device=device),
        }

    @staticmethod
    def feat(state: State) -> torch.Tensor:
        """Model features: ``cat(deter, stoch)``."""
        return torch.cat([state["deter"], state["stoch"]], -1)

    def _probs(self, logits: torch.Tensor) -> torch.Tensor:
        return unimix_probs(logits.reshape(*logits.shape[:-1], self.stoch, self.classes), self.unimix)

    def _gru(self, x: torch.Tensor, deter: torch.Tensor) -> torch.Tensor:
        reset, cand, update = self.gru_norm(self.gru(torch.cat([x, deter], -1))).chunk(3, -1)
        reset = torch.sigmoid(reset)
        cand = torch.tanh(reset * cand)
        update = torch.sigmoid(update - 1.0)
        return update * cand + (1.0 - update) * deter

    def prior_probs(self, deter: torch.Tensor) -> torch.Tensor:
        """Prior p(z | h) of any leading shape."""
        return self._probs(self.prior_net(deter))

    def img_step(self, state: State, action: torch.Tensor, sample: bool = True) -> State:
        """One step of the learned dynamics prior: ``(h, z), a -> (h', z' ~ p(z' | h'))``."""
        x = self.img_in_norm(self.img_in_stoch(state["stoch"]) + self.img_in_act(action))
        deter = self._gru(x, state["deter"])
        stoch = straight_through_onehot(self.prior_probs(deter), sample).flatten(-2)
        return {"deter": deter, "stoch": stoch}

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
        x = self.img_in_norm(self.img_in_stoch(state["stoch"]) + self.img_in_act(prev_action))
        deter = self._gru(x, state["deter"])
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
        act_proj = self.img_in_act(prev_actions * keep)
        emb_proj = self.post_embed(embed)
        deter, stoch = state["deter"], state["stoch"]
        deters, stochs, post_probs = [], [], []
        for t in range(steps):
            deter, stoch = deter * keep[:, t], stoch * keep[:, t]
            x = self.img_in_norm(self.img_in_stoch(stoch) + act_proj[:, t])
            deter = self._gru(x, deter)
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
