"""The world model: encoder, RSSM, decoder, reward and continue heads, and its loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from world_models.config import DreamerConfig
from world_models.distributions import TwoHot
from world_models.networks import MultiDecoder, MultiEncoder, mlp, mlp_forward
from world_models.rssm import RSSM, State
from world_models.spaces import ObsSpec

__all__ = ["WorldModel"]


class WorldModel(nn.Module):
    """Encoder + RSSM + decoder + reward (two-hot symexp) + continue (Bernoulli) heads.

    Follows the official ``dreamerv3/agent.py::Agent.loss`` (world-model part): reconstruction, reward,
    continue, ``dyn`` and ``rep`` KL terms, each summed over its dims and averaged over batch and time with
    the official loss scales (``rec 1, rew 1, con 1, dyn kl_dyn, rep kl_rep``). The encoder reads
    ``cfg.obs_keys``; the decoder reconstructs ``cfg.decoder_keys``.

    Batches are dicts of ``(B, T, ...)`` tensors: every observation key, ``action`` (the action taken at
    each step, model units), ``reward`` (received on arrival at the step), ``is_first`` and ``is_terminal``;
    optionally ``prev_action`` (the action before each step; default: ``action`` shifted by one with zeros
    at the start).
    """

    def __init__(self, obs_spec: ObsSpec, action_dim: int, cfg: DreamerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        enc_spec = obs_spec.subset(cfg.obs_keys, "obs_keys")
        dec_keys = cfg.decoder_keys if cfg.decoder_keys is not None else cfg.obs_keys
        dec_spec = obs_spec.subset(dec_keys, "decoder_keys")
        self.encoder = MultiEncoder(enc_spec, cfg.units, cfg.mlp_layers, cfg.cnn_depth, cfg.cnn_min_res)
        self.rssm = RSSM(
            self.encoder.out_dim,
            action_dim,
            cfg.deter,
            cfg.stoch,
            cfg.classes,
            cfg.units,
            cfg.unimix,
            blocks=cfg.blocks,
            prior_layers=cfg.prior_layers,
        )
        feat = self.rssm.feat_dim
        self.decoder = MultiDecoder(dec_spec, feat, cfg.units, cfg.mlp_layers, self.encoder)
        self.reward_head = mlp(feat, cfg.units, cfg.mlp_layers, cfg.num_bins, zero_out=True)
        self.cont_head = mlp(feat, cfg.units, cfg.mlp_layers, 1)
        self.twohot = TwoHot(cfg.num_bins, cfg.bin_range)

    def reward(self, feat: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted reward of any leading shape.

        With ``index`` (one-hot positions of the stochastic latent, see ``RSSM.img_step_index``), ``feat``
        is the deterministic part only.
        """
        return self.twohot.mean(mlp_forward(self.reward_head, feat, index))

    def cont(self, feat: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted discount: probability that the episode continues, times ``gamma``.

        As the official ``contdisc: True`` the head is trained on ``gamma * (1 - is_terminal)``, so its
        output is the per-step discount of imagination (0 at predicted terminals, ``gamma`` otherwise).
        ``index`` as in :meth:`reward`.
        """
        return torch.sigmoid(mlp_forward(self.cont_head, feat, index).squeeze(-1).float())

    def loss(
        self, batch: dict[str, torch.Tensor], start: State | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], State]:
        """World model loss of a batch of sequences.

        Args:
            batch: See the class docstring.
            start: Latent state before the first step (replay context); ``None``: zeros, and the first
                step counts as an episode start.

        Returns:
            ``(loss, metrics, posterior)``: scalar loss, detached per-term means, and the posterior
            states ``(B, T, ...)`` (with gradients) that imagination starts from.
        """
        cfg = self.cfg
        obs = {k: batch[k] for k in self.encoder.spec.keys}
        targets = {k: batch[k] for k in self.decoder.spec.keys}
        is_first = batch["is_first"].clone()
        if start is None:
            is_first[:, 0] = True
        action = batch["action"]
        prev_action = batch.get("prev_action")
        if prev_action is None:
            prev_action = torch.cat([torch.zeros_like(action[:, :1]), action[:, :-1]], 1)
        embed = self.encoder(obs)
        post, post_probs, prior_probs = self.rssm.observe(embed, prev_action, is_first, start)
        feat = self.rssm.feat(post)
        dyn, rep, kl = self.rssm.kl_losses(post_probs, prior_probs, cfg.free_bits)
        recon = self.decoder.loss(feat, targets)
        reward_loss = self.twohot.loss(self.reward_head(feat), batch["reward"])
        # official contdisc: the continue target carries the discount (agent.py, ``con *= 1 - 1 / horizon``)
        cont_target = cfg.gamma * (1.0 - batch["is_terminal"].to(feat.dtype))
        cont_loss = F.binary_cross_entropy_with_logits(
            self.cont_head(feat).squeeze(-1).float(), cont_target, reduction="none"
        )
        recon_total = sum(recon.values())
        total = (recon_total + reward_loss + cont_loss + cfg.kl_dyn * dyn + cfg.kl_rep * rep).mean()
        metrics = {f"recon_{k}": v.detach().mean() for k, v in recon.items()}
        metrics.update(
            loss=total.detach(),
            recon=recon_total.detach().mean(),
            reward=reward_loss.detach().mean(),
            cont=cont_loss.detach().mean(),
            kl_dyn=dyn.detach().mean(),
            kl_rep=rep.detach().mean(),
            kl=kl.mean(),
            prior_entropy=_entropy(prior_probs),
            post_entropy=_entropy(post_probs),
        )
        return total, metrics, post


def _entropy(probs: torch.Tensor) -> torch.Tensor:
    return -(probs * torch.log(probs.clamp_min(1e-8))).sum((-2, -1)).mean().detach()
