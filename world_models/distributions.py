"""Distributions used by Dreamer: symlog transforms, two-hot symexp bins, unimix categoricals, action dists.

Everything here is a thin layer over ``torch.distributions`` and works on arbitrary leading batch dims.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import distributions as td
from torch import nn

__all__ = [
    "BoundedNormal",
    "MultiCategorical",
    "TwoHot",
    "categorical_kl",
    "sample_index",
    "straight_through_onehot",
    "symexp",
    "symexp_bins",
    "symlog",
    "unimix_probs",
]


def symlog(x: torch.Tensor) -> torch.Tensor:
    """Symmetric log: ``sign(x) * log(1 + |x|)``."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`symlog`."""
    return torch.sign(x) * torch.expm1(torch.abs(x))


def unimix_probs(logits: torch.Tensor, unimix: float, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over the last dim mixed with ``unimix`` of the uniform distribution.

    Args:
        logits: Unnormalised log-probabilities ``(..., K)``.
        unimix: Weight of the uniform component.
        mask: Optional boolean ``(..., K)`` of valid classes; invalid ones get probability 0.

    Returns:
        Probabilities ``(..., K)``.
    """
    if mask is not None:
        logits = logits.masked_fill(~mask, -1e9)
    probs = torch.softmax(logits, -1)
    if unimix > 0:
        if mask is None:
            uniform = 1.0 / logits.shape[-1]
        else:
            uniform = mask.to(probs.dtype) / mask.sum(-1, keepdim=True).to(probs.dtype)
        probs = (1.0 - unimix) * probs + unimix * uniform
    return probs


def sample_index(probs: torch.Tensor, sample: bool = True) -> torch.Tensor:
    """Class index of a categorical ``(..., K)``: a sample (inverse CDF, one uniform each) or the mode."""
    if sample:
        # inverse-CDF sampling: one uniform per categorical, cheaper than torch.multinomial on CPU
        cdf = probs.detach().cumsum(-1)
        u = torch.rand(probs.shape[:-1] + (1,), device=probs.device, dtype=probs.dtype) * cdf[..., -1:]
        return (cdf < u).sum(-1).clamp_max(probs.shape[-1] - 1)
    return probs.argmax(-1)


def straight_through_onehot(probs: torch.Tensor, sample: bool = True) -> torch.Tensor:
    """One-hot sample (or mode) of a categorical with straight-through gradients to ``probs``."""
    index = sample_index(probs, sample)
    onehot = F.one_hot(index, probs.shape[-1]).to(probs.dtype)
    return onehot + probs - probs.detach()


def categorical_kl(probs_p: torch.Tensor, probs_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) of independent categoricals ``(..., N, K)``, summed over the N latents."""
    log_p = torch.log(probs_p.clamp_min(1e-8))
    log_q = torch.log(probs_q.clamp_min(1e-8))
    return (probs_p * (log_p - log_q)).sum((-2, -1))


def symexp_bins(num_bins: int, bin_range: float) -> torch.Tensor:
    """``num_bins`` bin positions in the original space: ``symexp`` of points equally spaced in symlog space.

    Built as in the official DreamerV3 (``embodied/jax/heads.py``, ``MLPHead`` with ``symexp_twohot``): one
    half ``symexp(linspace(-bin_range, 0))`` mirrored, so the bins are exactly symmetric and contain 0 for
    odd ``num_bins``.
    """
    if num_bins % 2 == 1:
        half = symexp(torch.linspace(-bin_range, 0.0, (num_bins - 1) // 2 + 1, dtype=torch.float64))
        bins = torch.cat([half, -half[:-1].flip(0)])
    else:
        half = symexp(torch.linspace(-bin_range, 0.0, num_bins // 2, dtype=torch.float64))
        bins = torch.cat([half, -half.flip(0)])
    return bins.to(torch.float32)


class TwoHot(nn.Module):
    """Two-hot distribution over symexp-spaced bins (DreamerV3 reward and value heads).

    Follows the official ``embodied/jax/outs.py::TwoHot``: the bins live in the original (raw) space, a
    target is split between its two neighbouring bins by linear interpolation in raw space, and the readout
    is the expectation ``sum(p_i * b_i)`` in raw space -- the true mean of the predicted distribution, also
    for mixed outcomes (a 30 % chance of -20 reads -6). The sum runs symmetrically from the centre outwards,
    so uniform probabilities read exactly 0 (as the official ``pred``).

    Example:
        >>> th = TwoHot(num_bins=255, bin_range=20.0)
        >>> logits = torch.zeros(3, 255)
        >>> th.mean(logits)
        tensor([0., 0., 0.])
    """

    bins: torch.Tensor

    def __init__(self, num_bins: int, bin_range: float) -> None:
        super().__init__()
        self.register_buffer("bins", symexp_bins(num_bins, bin_range), persistent=False)

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        """Expected value in the original space of logits ``(..., num_bins)``."""
        logits = logits.float()
        weighted = torch.softmax(logits, -1) * self.bins
        n = weighted.shape[-1]
        m = n // 2
        if n % 2 == 1:
            return weighted[..., m] + (weighted[..., :m].flip(-1) + weighted[..., m + 1 :]).sum(-1)
        return (weighted[..., :m].flip(-1) + weighted[..., m:]).sum(-1)

    def encode(self, target: torch.Tensor) -> torch.Tensor:
        """Two-hot weights ``(..., num_bins)`` of a raw-space target (clipped to the outer bins)."""
        bins = self.bins.to(target.dtype)
        x = target.clamp(bins[0], bins[-1])
        below = (torch.bucketize(x, bins, right=True) - 1).clamp(0, len(bins) - 2)
        lo, hi = bins[below], bins[below + 1]
        w_hi = ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
        weights = F.one_hot(below, len(bins)).to(x.dtype) * (1 - w_hi).unsqueeze(-1)
        return weights + F.one_hot(below + 1, len(bins)).to(x.dtype) * w_hi.unsqueeze(-1)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood (cross-entropy against the two-hot target), shape ``logits.shape[:-1]``."""
        logits = logits.float()
        return -(self.encode(target.detach().float()) * torch.log_softmax(logits, -1)).sum(-1)


class BoundedNormal(td.Distribution):
    """Diagonal Normal with tanh-bounded mean and bounded std; samples clipped to [-1, 1] straight-through.

    The clipping passes gradients through unchanged, so ``rsample`` supports backprop through dynamics.
    """

    arg_constraints: dict = {}
    has_rsample = True

    def __init__(self, mean_raw: torch.Tensor, std_raw: torch.Tensor, min_std: float, max_std: float) -> None:
        mean = torch.tanh(mean_raw)
        std = (max_std - min_std) * torch.sigmoid(std_raw + 2.0) + min_std
        self.base = td.Independent(td.Normal(mean, std), 1)
        super().__init__(batch_shape=self.base.batch_shape, event_shape=self.base.event_shape, validate_args=False)

    @property
    def mode(self) -> torch.Tensor:
        """Deterministic action: the (tanh-bounded) mean."""
        return self.base.mean

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:  # noqa: B008
        """Reparameterised sample clipped to [-1, 1] with straight-through gradients."""
        x = self.base.rsample(sample_shape)
        return x + (x.clamp(-1.0, 1.0) - x).detach()

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:  # noqa: B008
        """Sample without gradients."""
        with torch.no_grad():
            return self.rsample(sample_shape)

    def sample_with_log_prob(self) -> tuple[torch.Tensor, torch.Tensor]:
        """An action for REINFORCE: ``(clip(x, -1, 1), log_prob(x))`` of one unclipped draw ``x``.

        The log-density is that of the draw itself, so ``E[grad log_prob] = 0`` and the score-function
        gradient stays unbiased; the clipped action is a fixed function of the draw (what the env and the
        dynamics receive). The log-density of the *clipped* value would not be: for a mean near a bound,
        clipping shrinks ``x - mean`` on that side, so any advantage offset (e.g. a critic that still
        overestimates) pushes the mean into the bound (issue 14's Pendulum regression).
        """
        with torch.no_grad():
            x = self.base.sample()
        return x.clamp(-1.0, 1.0), self.base.log_prob(x)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Log density of the underlying Normal.

        For score-function gradients pass the unclipped draw (see :meth:`sample_with_log_prob`), not the
        clipped action.
        """
        return self.base.log_prob(value)

    def entropy(self) -> torch.Tensor:
        """Entropy of the underlying Normal."""
        return self.base.entropy()


class MultiCategorical(td.Distribution):
    """Independent categoricals per action dimension (Discrete = one dimension), with unimix.

    Values are concatenated one-hot vectors of size ``sum(nvec)``; sampling is straight-through, so
    gradients reach the logits also when backpropagating through the dynamics.
    """

    arg_constraints: dict = {}
    has_rsample = True

    def __init__(self, logits: torch.Tensor, nvec: list[int], unimix: float) -> None:
        """Build from padded logits.

        Args:
            logits: ``(..., D, K)`` with ``K = max(nvec)``.
            nvec: Number of classes per dimension.
            unimix: Uniform mixture weight.
        """
        self.nvec = list(nvec)
        k = logits.shape[-1]
        mask = torch.arange(k, device=logits.device) < torch.tensor(self.nvec, device=logits.device)[:, None]
        self.mask = mask
        self.probs = unimix_probs(logits, unimix, mask)
        self.valid = mask.reshape(-1)
        super().__init__(batch_shape=logits.shape[:-2], event_shape=torch.Size([sum(self.nvec)]), validate_args=False)

    def _flatten(self, onehot: torch.Tensor) -> torch.Tensor:
        return onehot.flatten(-2)[..., self.valid]

    def _unflatten(self, value: torch.Tensor) -> torch.Tensor:
        shape = value.shape[:-1] + self.mask.shape
        full = value.new_zeros(shape).flatten(-2)
        full[..., self.valid] = value
        return full.reshape(shape)

    @property
    def mode(self) -> torch.Tensor:
        """Most likely class per dimension, as concatenated one-hots."""
        return self._flatten(straight_through_onehot(self.probs, sample=False))

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:  # noqa: B008
        """Straight-through one-hot sample."""
        if len(sample_shape):
            raise NotImplementedError("MultiCategorical samples one draw per batch element")
        return self._flatten(straight_through_onehot(self.probs))

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:  # noqa: B008
        """Sample without gradients."""
        with torch.no_grad():
            return self.rsample(sample_shape)

    def sample_with_log_prob(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(action, log_prob(action))`` of one draw (the same interface as :class:`BoundedNormal`)."""
        action = self.sample()
        return action, self.log_prob(action)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Sum of per-dimension log-probabilities of a concatenated one-hot value."""
        onehot = self._unflatten(value.detach())
        return (onehot * torch.log(self.probs.clamp_min(1e-8))).sum((-2, -1))

    def entropy(self) -> torch.Tensor:
        """Sum of per-dimension entropies."""
        return -(self.probs * torch.log(self.probs.clamp_min(1e-8))).sum((-2, -1))

    def indices(self, value: torch.Tensor) -> torch.Tensor:
        """Class index per dimension ``(..., D)`` of a concatenated one-hot value."""
        return self._unflatten(value).argmax(-1)
