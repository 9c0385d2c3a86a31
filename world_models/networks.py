"""Building blocks: MLPs, a CNN image encoder/decoder, and the multi-key observation encoder/decoder."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from world_models.distributions import symlog
from world_models.spaces import ObsSpec

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "MultiDecoder",
    "MultiEncoder",
    "RMSNorm",
    "mlp",
    "mlp_forward",
    "norm",
    "onehot_linear",
]


class RMSNorm(nn.RMSNorm):
    """``nn.RMSNorm`` whose scale follows the input's dtype.

    Under bfloat16 autocast the fused kernel then runs (with a float32 scale and a bfloat16 input torch
    falls back to a slow composite).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension."""
        weight = self.weight.to(x.dtype) if self.weight is not None else None
        return F.rms_norm(x, self.normalized_shape, weight, self.eps)


def norm(units: int) -> nn.Module:
    """RMSNorm with a learned scale, eps 1e-4 (official ``norm: rms``, ``embodied/jax/nets.py::Norm``)."""
    return RMSNorm(units, eps=1e-4)


def mlp(
    in_dim: int,
    units: int,
    layers: int,
    out_dim: int | None = None,
    zero_out: bool = False,
    outscale: float = 1.0,
) -> nn.Sequential:
    """Linear -> RMSNorm -> SiLU blocks, optionally followed by a linear output layer.

    Args:
        in_dim: Input width.
        units: Hidden width.
        layers: Number of hidden blocks.
        out_dim: Width of the output layer; ``None`` ends with the last hidden block.
        zero_out: Initialise the output layer to zero (official ``outscale: 0.0`` of reward and value heads).
        outscale: Multiply the output layer's initial weights by this (official policy head: 0.01).
    """
    mods: list[nn.Module] = []
    dim = in_dim
    for _ in range(layers):
        mods += [nn.Linear(dim, units, bias=False), norm(units), nn.SiLU()]
        dim = units
    if out_dim is not None:
        out = nn.Linear(dim, out_dim)
        with torch.no_grad():
            if zero_out:
                out.weight.zero_()
                out.bias.zero_()
            elif outscale != 1.0:
                out.weight.mul_(outscale)
                out.bias.zero_()
        mods.append(out)
    return nn.Sequential(*mods)


class _GatherSum(torch.autograd.Function):
    """``out[n] = sum_s table[index[n, s]]`` (``embedding_bag`` sum) with a cache-friendly backward.

    torch's ``embedding_bag`` backward sorts the indices and takes ~7x its forward time at 1 024 x 32 indices
    (~190 ms for 15 360 rows); here the table gradient is index-added blockwise (1 024 rows of the output
    gradient at a time, one ``index_add_`` per latent), ~2.5 ms per 1 024 rows.
    """

    @staticmethod
    def forward(ctx: Any, table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:  # noqa: D102
        ctx.save_for_backward(index)
        ctx.rows = table.shape[0]
        return F.embedding_bag(index, table, mode="sum")

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        (index,) = ctx.saved_tensors
        grad = grad.contiguous()
        out = grad.new_zeros(ctx.rows, grad.shape[-1])
        for start in range(0, index.shape[0], 1024):
            block = grad[start : start + 1024]
            cols = index[start : start + 1024].t()
            for col in cols:
                out.index_add_(0, col, block)
        return out, None


def onehot_linear(linear: nn.Linear, dense: torch.Tensor | None, index: torch.Tensor) -> torch.Tensor:
    """``linear(cat(dense, onehot))`` where ``onehot`` is given by the positions of its ones.

    The input's trailing part is a flattened one-hot (the RSSM's stochastic latent: ``S`` ones among
    ``S * K``), so its product with the weight is the sum of ``S`` weight columns: an ``embedding_bag``
    instead of a matmul over ``S * K`` inputs (32x fewer multiply-adds at size S, and the weight gradient is
    an index-add). Equal to the dense product up to float rounding; no gradient reaches the one-hot.

    Args:
        linear: The layer; its ``in_features`` is ``dense.shape[-1] + S * K``.
        dense: ``(..., D)`` dense leading part of the input, or ``None`` (``D = 0``).
        index: ``(..., S)`` int64 positions of the ones in the flattened one-hot, in ``[0, S * K)``.

    Returns:
        ``(..., out_features)``.
    """
    weight = linear.weight
    d = 0 if dense is None else dense.shape[-1]
    lead = index.shape[:-1]
    # rows to gather: a contiguous (S * K, out) copy of the columns (embedding_bag on the strided view is ~50x
    # slower)
    table = weight[:, d:].t().contiguous()
    gathered = _GatherSum.apply(table, index.reshape(-1, index.shape[-1])).reshape(*lead, -1)
    if dense is None:
        return gathered if linear.bias is None else gathered + linear.bias
    out = F.linear(dense, weight[:, :d], linear.bias)
    return out + gathered.to(out.dtype)


def mlp_forward(net: nn.Sequential, feat: torch.Tensor | None, index: torch.Tensor | None = None) -> torch.Tensor:
    """Run an :func:`mlp` on ``feat``, or on ``cat(feat, onehot(index))`` via :func:`onehot_linear`.

    With ``index``, ``feat`` is only the dense leading part (``None`` if the input is the one-hot alone).
    """
    if index is None:
        return net(feat)
    x = onehot_linear(net[0], feat, index)
    for module in list(net)[1:]:
        x = module(x)
    return x


def _num_stages(shape: tuple[int, int, int], min_res: int) -> int:
    h, w, _ = shape
    n = 0
    while h % 2 == 0 and w % 2 == 0 and min(h, w) // 2 >= min_res:
        h, w, n = h // 2, w // 2, n + 1
    return n


class ConvEncoder(nn.Module):
    """Stride-2 conv stack for one uint8 image key (H, W, C); halves resolution per stage."""

    def __init__(self, shape: tuple[int, int, int], depth: int, min_res: int) -> None:
        super().__init__()
        h, w, c = shape
        self.stages = _num_stages(shape, min_res)
        mods: list[nn.Module] = []
        ch = c
        for i in range(self.stages):
            out = depth * 2**i
            mods += [nn.Conv2d(ch, out, 4, 2, 1, bias=False), nn.GroupNorm(1, out, eps=1e-3), nn.SiLU()]
            ch = out
        self.net = nn.Sequential(*mods)
        self.out_shape = (ch, h // 2**self.stages, w // 2**self.stages)
        self.out_dim = ch * self.out_shape[1] * self.out_shape[2]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Map uint8 ``(N, H, W, C)`` to features ``(N, out_dim)``."""
        x = image.to(torch.float32).permute(0, 3, 1, 2) / 255.0 - 0.5
        return self.net(x).flatten(1)


class ConvDecoder(nn.Module):
    """Mirror of :class:`ConvEncoder`: features -> image in [-0.5, 0.5] units, ``(N, H, W, C)``."""

    def __init__(self, feat_dim: int, encoder: ConvEncoder, channels: int) -> None:
        super().__init__()
        self.in_shape = encoder.out_shape
        self.linear = nn.Linear(feat_dim, encoder.out_dim)
        mods: list[nn.Module] = []
        ch = self.in_shape[0]
        for i in reversed(range(encoder.stages)):
            last = i == 0
            out = channels if last else ch // 2
            mods.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=last))
            if not last:
                mods += [nn.GroupNorm(1, out, eps=1e-3), nn.SiLU()]
            ch = out
        if encoder.stages == 0:
            mods.append(nn.Conv2d(ch, channels, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """Map ``(N, feat_dim)`` to ``(N, H, W, C)``."""
        x = self.linear(feat).reshape(-1, *self.in_shape)
        return self.net(x).permute(0, 2, 3, 1)


class MultiEncoder(nn.Module):
    """Encode a dict observation: symlog vector keys through one MLP, each image key through a CNN."""

    def __init__(self, spec: ObsSpec, units: int, layers: int, cnn_depth: int, cnn_min_res: int) -> None:
        super().__init__()
        self.spec = spec
        self.cnn_depth, self.cnn_min_res = cnn_depth, cnn_min_res
        self.vec_dim = sum(spec.vectors.values())
        self.out_dim = 0
        if self.vec_dim:
            self.mlp = mlp(self.vec_dim, units, max(layers, 1))
            self.out_dim += units
        self.cnns = nn.ModuleDict({k: ConvEncoder(s, cnn_depth, cnn_min_res) for k, s in spec.images.items()})
        self.out_dim += sum(c.out_dim for c in self.cnns.values())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Map a dict of ``(..., *shape)`` tensors to ``(..., out_dim)``."""
        parts = []
        lead: tuple[int, ...] = ()
        if self.vec_dim:
            first = next(iter(self.spec.vectors))
            lead = obs[first].shape[:-1]
            vec = torch.cat([obs[k].reshape(*lead, -1) for k in self.spec.vectors], -1)
            parts.append(self.mlp(symlog(vec)))
        for key, cnn in self.cnns.items():
            img = obs[key]
            lead = img.shape[:-3]
            parts.append(cnn(img.reshape(-1, *img.shape[-3:])).reshape(*lead, -1))
        return torch.cat(parts, -1)


class MultiDecoder(nn.Module):
    """Reconstruct every key from model features.

    The loss is the squared error in symlog space for vectors and in [-0.5, 0.5] pixel units for images.
    """

    def __init__(self, spec: ObsSpec, feat_dim: int, units: int, layers: int, encoder: MultiEncoder) -> None:
        super().__init__()
        self.spec = spec
        self.vec_dim = sum(spec.vectors.values())
        if self.vec_dim:
            self.mlp = mlp(feat_dim, units, layers, self.vec_dim)
        # image keys the encoder does not read get the mirror of the encoder it would have
        refs = {
            k: encoder.cnns[k] if k in encoder.cnns else ConvEncoder(s, encoder.cnn_depth, encoder.cnn_min_res)
            for k, s in spec.images.items()
        }
        self.cnns = nn.ModuleDict({k: ConvDecoder(feat_dim, refs[k], s[2]) for k, s in spec.images.items()})

    def forward(self, feat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predictions per key: vectors in symlog space ``(..., size)``, images ``(..., H, W, C)``."""
        out: dict[str, torch.Tensor] = {}
        lead = feat.shape[:-1]
        if self.vec_dim:
            vec = self.mlp(feat)
            for key, part in zip(self.spec.vectors, vec.split(list(self.spec.vectors.values()), -1), strict=True):
                out[key] = part
        for key, cnn in self.cnns.items():
            img = cnn(feat.reshape(-1, feat.shape[-1]))
            out[key] = img.reshape(*lead, *img.shape[1:])
        return out

    def loss(self, feat: torch.Tensor, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-key squared error summed over the observation dims, shape ``feat.shape[:-1]``."""
        pred = {k: v.float() for k, v in self(feat).items()}
        losses = {}
        for key in self.spec.vectors:
            target = symlog(obs[key].reshape(*feat.shape[:-1], -1))
            losses[key] = F.mse_loss(pred[key], target, reduction="none").sum(-1)
        for key in self.spec.images:
            target = obs[key].to(torch.float32) / 255.0 - 0.5
            losses[key] = F.mse_loss(pred[key], target, reduction="none").sum((-3, -2, -1))
        return losses
