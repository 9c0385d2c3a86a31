"""The DreamerV3 optimiser: adaptive gradient clipping, then LaProp (RMS scaling before momentum), warm-up.

Follows the official ``dreamerv3/agent.py::Agent._make_opt`` chain ``clip_by_agc(0.3)`` ->
``scale_by_rms(beta2=0.999, eps=1e-20)`` -> ``scale_by_momentum(beta1=0.9)`` -> learning rate with a linear
warm-up from 0 over ``warmup`` updates (``embodied/jax/opt.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["LaProp"]


class LaProp(torch.optim.Optimizer):
    """LaProp with per-tensor adaptive gradient clipping and a linear learning-rate warm-up.

    Per parameter tensor ``p`` with gradient ``g`` (official ``embodied/jax/opt.py``):

    * ``clip_by_agc``: ``g *= 1 / max(1, |g| / (agc * max(1e-3, |p|)))`` (L2 norms over the tensor);
    * ``scale_by_rms``: ``nu = b2 nu + (1 - b2) g^2``; ``u = g / (sqrt(nu / (1 - b2^t)) + eps)``;
    * ``scale_by_momentum``: ``mu = b1 mu + (1 - b1) u``; ``u = mu / (1 - b1^t)``;
    * ``p -= lr_t u`` with ``lr_t = lr * min(1, t / warmup)`` (``t`` counts from 0 as in optax).

    Args:
        params: Parameters or parameter groups (groups may set their own ``lr``).
        lr: Learning rate after warm-up.
        agc: Adaptive clipping ratio (0 disables clipping).
        eps: Added to the RMS denominator.
        betas: ``(beta1, beta2)`` of momentum and RMS.
        warmup: Updates of the linear warm-up (0: none).

    Example:
        >>> w = torch.nn.Parameter(torch.ones(3))
        >>> opt = LaProp([w], lr=0.1, warmup=0)
        >>> w.sum().backward(); opt.step()
        >>> [round(float(x), 3) for x in w]
        [0.9, 0.9, 0.9]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 4e-5,
        agc: float = 0.3,
        eps: float = 1e-20,
        betas: tuple[float, float] = (0.9, 0.999),
        warmup: int = 1000,
    ) -> None:
        if not lr > 0:
            raise ValueError(f"LaProp lr={lr!r} is invalid: expected a number > 0")
        if not agc >= 0:
            raise ValueError(f"LaProp agc={agc!r} is invalid: expected a number >= 0")
        if warmup < 0:
            raise ValueError(f"LaProp warmup={warmup!r} is invalid: expected an int >= 0")
        super().__init__(params, dict(lr=lr, agc=agc, eps=eps, betas=betas, warmup=warmup))

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # noqa: D102 (documented on the class)
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            b1, b2 = group["betas"]
            grads = [p.grad for p in params]
            if group["agc"] > 0:
                gnorm = torch._foreach_norm(grads)
                pnorm = torch._foreach_norm(params)
                upper = torch._foreach_mul(torch._foreach_clamp_min(pnorm, 1e-3), group["agc"])
                # factor = 1 / max(1, |g| / upper) = min(1, upper / |g|)
                ratio = torch._foreach_div(upper, torch._foreach_clamp_min(gnorm, 1e-30))
                factor = torch._foreach_clamp_max(ratio, 1.0)
                grads = torch._foreach_mul(grads, factor)
            states = [self.state[p] for p in params]
            for p, st in zip(params, states, strict=True):
                if not st:
                    st["step"] = 0
                    st["nu"] = torch.zeros_like(p)
                    st["mu"] = torch.zeros_like(p)
            t = states[0]["step"]  # the number of previous updates (equal within a group)
            for st in states:
                st["step"] = t + 1
            nus = [st["nu"] for st in states]
            mus = [st["mu"] for st in states]
            torch._foreach_mul_(nus, b2)
            torch._foreach_addcmul_(nus, grads, grads, value=1 - b2)
            denom = torch._foreach_sqrt(torch._foreach_div(nus, 1 - b2 ** (t + 1)))
            torch._foreach_add_(denom, group["eps"])
            updates = torch._foreach_div(grads, denom)
            torch._foreach_mul_(mus, b1)
            torch._foreach_add_(mus, updates, alpha=1 - b1)
            warm = group["warmup"]
            lr = group["lr"] * (min(1.0, t / warm) if warm else 1.0)
            if lr:
                torch._foreach_add_(params, mus, alpha=-lr / (1 - b1 ** (t + 1)))
        return loss
