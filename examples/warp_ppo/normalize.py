"""Running observation and return statistics on the device (the rule of SB3's ``VecNormalize``, in torch).

``RunningMeanStd`` is Chan et al.'s parallel mean / variance update (the one SB3's ``RunningMeanStd`` uses), in
float64 on the device; :class:`ObservationNormalizer` keeps one per observation key and maps observations to
``clip((x - mean) / sqrt(var + eps), ±clip)``; :class:`ReturnNormalizer` scales rewards by the running std of the
discounted return, as ``VecNormalize(norm_reward=True)``.
"""

from __future__ import annotations

import torch

__all__ = ["ObservationNormalizer", "ReturnNormalizer", "RunningMeanStd"]


class RunningMeanStd:
    """Running mean and variance of batches of shape ``(B, *shape)`` (float64, on ``device``)."""

    def __init__(self, shape: tuple[int, ...], device: torch.device | str, epsilon: float = 1e-4) -> None:
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.var = torch.ones(shape, dtype=torch.float64, device=device)
        self.count = torch.tensor(epsilon, dtype=torch.float64, device=device)

    def update(self, x: torch.Tensor) -> None:
        """Fold a batch (first axis) into the statistics."""
        x = x.detach().to(torch.float64)
        batch_mean, batch_var, n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * n / total
        m2 = self.var * self.count + batch_var * n + delta.square() * self.count * n / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors only (checkpoints load with ``weights_only=True``)."""
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict` (shapes must match)."""
        for name in ("mean", "var", "count"):
            value = state[name].to(dtype=torch.float64, device=self.mean.device)
            if value.shape != getattr(self, name).shape:
                raise ValueError(f"{name}: expected shape {tuple(getattr(self, name).shape)}, got {tuple(value.shape)}")
            setattr(self, name, value.clone())


class ObservationNormalizer:
    """Per-key running statistics; ``normalize`` returns float32 ``clip((x - μ) / sqrt(σ² + eps), ±clip)``."""

    def __init__(self, dims: dict[str, int], device: torch.device | str, clip: float = 5.0, eps: float = 1e-8) -> None:
        self.stats = {k: RunningMeanStd((d,), device) for k, d in dims.items()}
        self.clip, self.eps = float(clip), float(eps)

    def update(self, obs: dict[str, torch.Tensor]) -> None:
        """Fold one batch of observations (each ``(N, d)``) in."""
        for k, rms in self.stats.items():
            rms.update(obs[k])

    def normalize(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Normalised copies of the keys with statistics (other keys are dropped)."""
        out = {}
        for k, rms in self.stats.items():
            x = (obs[k].to(torch.float64) - rms.mean) / torch.sqrt(rms.var + self.eps)
            out[k] = x.clamp(-self.clip, self.clip).to(torch.float32)
        return out

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """Per key, :meth:`RunningMeanStd.state_dict`."""
        return {k: rms.state_dict() for k, rms in self.stats.items()}

    def load_state_dict(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        """Restore :meth:`state_dict` (the same keys)."""
        if set(state) != set(self.stats):
            raise ValueError(f"observation statistics for keys {sorted(state)}, expected {sorted(self.stats)}")
        for k, rms in self.stats.items():
            rms.load_state_dict(state[k])


class ReturnNormalizer:
    """Rewards divided by the running std of the discounted return (``VecNormalize(norm_reward=True)``)."""

    def __init__(self, n: int, gamma: float, device: torch.device | str, clip: float = 10.0, eps: float = 1e-8):
        self.rms = RunningMeanStd((), device)
        self.returns = torch.zeros(n, dtype=torch.float64, device=device)
        self.gamma, self.clip, self.eps = float(gamma), float(clip), float(eps)

    def __call__(self, reward: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        """Update with one step's rewards; return them scaled (float32); ``done`` worlds restart their return."""
        self.returns = self.returns * self.gamma + reward.to(torch.float64)
        self.rms.update(self.returns)
        self.returns = torch.where(done, torch.zeros_like(self.returns), self.returns)
        scaled = reward.to(torch.float64) / torch.sqrt(self.rms.var + self.eps)
        return scaled.clamp(-self.clip, self.clip).to(torch.float32)
