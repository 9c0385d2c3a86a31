"""Configuration of the Dreamer agent: one dataclass, validated on construction, with size presets.

The "S" preset follows the DreamerV3 (first release) defaults quoted in ``docs/dactyl_reference.md`` §5.
The "tiny" and "small" presets are CPU-friendly deviations, documented field by field in ``PRESETS``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTOR_GRADS", "PRESETS", "DreamerConfig"]

ACTOR_GRADS = ("auto", "dynamics", "reinforce")


@dataclass
class DreamerConfig:
    """Hyper-parameters of world model, behaviour and training loop.

    Defaults equal the ``"small"`` preset. Use :meth:`from_preset` for the others.

    Example:
        >>> cfg = DreamerConfig.from_preset("tiny", seq_len=16)
        >>> cfg.deter, cfg.seq_len
        (32, 16)
    """

    # --- world model sizes ---
    deter: int = 128
    """Size of the deterministic GRU state."""
    stoch: int = 16
    """Number of categorical latent variables."""
    classes: int = 8
    """Classes per categorical latent."""
    units: int = 128
    """Hidden width of every MLP (encoder, decoder, heads, actor, critic)."""
    mlp_layers: int = 1
    """Hidden layers per MLP."""
    cnn_depth: int = 16
    """Channels of the first conv layer (doubled per stage) for image observations."""
    cnn_min_res: int = 4
    """Image encoder halves the resolution while it stays divisible by 2 and >= this value."""
    unimix: float = 0.01
    """Uniform mixture of categorical latents and discrete actions (DreamerV3: 1%)."""
    num_bins: int = 63
    """Two-hot bins (symexp spaced) of reward and value heads."""
    bin_range: float = 20.0
    """Bins span [-bin_range, bin_range] in symlog space."""
    # --- world model loss ---
    kl_dyn: float = 0.5
    """Weight of KL(sg(post) || prior)."""
    kl_rep: float = 0.1
    """Weight of KL(post || sg(prior))."""
    free_bits: float = 1.0
    """KL terms are clipped below at this many nats."""
    # --- behaviour ---
    horizon: int = 15
    """Imagination horizon H."""
    gamma: float = 0.99
    """Discount (DreamerV3: 1 - 1/333 = 0.997)."""
    return_lambda: float = 0.95
    """Lambda of the lambda-returns."""
    critic_ema: float = 0.02
    """Update rate of the slow critic target."""
    slow_critic_reg: float = 1.0
    """Weight of the regulariser pulling the critic towards the slow critic."""
    return_norm_decay: float = 0.99
    """EMA decay of the return percentiles."""
    return_norm_percentiles: tuple[float, float] = (5.0, 95.0)
    """Lower and upper percentile of the return range."""
    actor_entropy: float = 3e-4
    """Entropy bonus of the actor."""
    actor_grad: str = "auto"
    """"dynamics" (backprop through model), "reinforce", or "auto" (dynamics for Box, reinforce otherwise)."""
    actor_min_std: float = 0.1
    """Lower bound of the Box actor's standard deviation (in [-1, 1] action units)."""
    actor_max_std: float = 1.0
    """Upper bound of the Box actor's standard deviation."""
    # --- optimisation ---
    model_lr: float = 3e-4
    """World model learning rate (DreamerV3: 1e-4)."""
    model_eps: float = 1e-8
    """World model Adam epsilon."""
    model_clip: float = 1000.0
    """World model gradient-norm clip."""
    actor_lr: float = 1e-4
    """Actor learning rate (DreamerV3: 3e-5)."""
    critic_lr: float = 1e-4
    """Critic learning rate (DreamerV3: 3e-5)."""
    ac_eps: float = 1e-5
    """Actor/critic Adam epsilon."""
    ac_clip: float = 100.0
    """Actor/critic gradient-norm clip."""
    batch_size: int = 16
    """Replayed sequences per update."""
    seq_len: int = 16
    """Length of each replayed sequence."""
    train_ratio: float = 128.0
    """Replayed steps (batch_size * seq_len per update) per environment step."""
    # --- data and bookkeeping ---
    replay_capacity: int = 1_000_000
    """Replay capacity in environment steps (FIFO)."""
    learning_starts: int = 1000
    """Environment steps collected with uniform random actions before the first update."""
    log_every: int = 50
    """Write TensorBoard scalars every this many updates."""
    compile: bool = False
    """Wrap the update functions in ``torch.compile`` (measured: see benchmarks/dreamer_throughput.py)."""
    torch_threads: int | None = None
    """If set, ``torch.set_num_threads`` is called with it when the agent is built."""

    def __post_init__(self) -> None:
        """Validate every field; raise ``ValueError`` naming the field, its value and what was expected."""
        if isinstance(self.return_norm_percentiles, list):
            self.return_norm_percentiles = tuple(self.return_norm_percentiles)
        positive_ints = (
            "deter",
            "stoch",
            "classes",
            "units",
            "cnn_depth",
            "cnn_min_res",
            "num_bins",
            "horizon",
            "batch_size",
            "seq_len",
            "replay_capacity",
            "log_every",
        )
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                _fail(name, value, "a positive int")
        if isinstance(self.mlp_layers, bool) or not isinstance(self.mlp_layers, int) or self.mlp_layers < 0:
            _fail("mlp_layers", self.mlp_layers, "an int >= 0")
        if self.classes < 2:
            _fail("classes", self.classes, "an int >= 2")
        if self.num_bins < 2:
            _fail("num_bins", self.num_bins, "an int >= 2")
        if (
            isinstance(self.learning_starts, bool)
            or not isinstance(self.learning_starts, int)
            or self.learning_starts < 0
        ):
            _fail("learning_starts", self.learning_starts, "an int >= 0")
        positive_floats = (
            "bin_range",
            "model_lr",
            "actor_lr",
            "critic_lr",
            "model_eps",
            "ac_eps",
            "model_clip",
            "ac_clip",
            "train_ratio",
            "actor_min_std",
        )
        for name in positive_floats:
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                _fail(name, value, "a number > 0")
        non_negative = ("kl_dyn", "kl_rep", "free_bits", "actor_entropy", "slow_critic_reg")
        for name in non_negative:
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                _fail(name, value, "a number >= 0")
        unit_closed = ("gamma", "return_lambda", "return_norm_decay")
        for name in unit_closed:
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                _fail(name, value, "a number in [0, 1]")
        if not _is_number(self.unimix) or not 0.0 <= self.unimix < 1.0:
            _fail("unimix", self.unimix, "a number in [0, 1)")
        if not _is_number(self.critic_ema) or not 0.0 < self.critic_ema <= 1.0:
            _fail("critic_ema", self.critic_ema, "a number in (0, 1]")
        if not _is_number(self.actor_max_std) or self.actor_max_std < self.actor_min_std:
            _fail("actor_max_std", self.actor_max_std, f">= actor_min_std ({self.actor_min_std})")
        pct = self.return_norm_percentiles
        if (
            not isinstance(pct, tuple)
            or len(pct) != 2
            or not all(_is_number(p) for p in pct)
            or not 0.0 <= pct[0] < pct[1] <= 100.0
        ):
            _fail("return_norm_percentiles", pct, "a pair (lo, hi) with 0 <= lo < hi <= 100")
        if self.actor_grad not in ACTOR_GRADS:
            _fail("actor_grad", self.actor_grad, f"one of {ACTOR_GRADS}")
        if not isinstance(self.compile, bool):
            _fail("compile", self.compile, "a bool")
        if self.torch_threads is not None and (
            isinstance(self.torch_threads, bool)
            or not isinstance(self.torch_threads, int)
            or self.torch_threads < 1
        ):
            _fail("torch_threads", self.torch_threads, "None or a positive int")

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> DreamerConfig:
        """Build the config of a named size preset, with field overrides.

        Args:
            name: One of ``PRESETS`` ("tiny", "small", "S").
            **overrides: Field values replacing the preset's.

        Returns:
            The validated config.

        Raises:
            ValueError: Unknown preset or field, or an invalid value.
        """
        if name not in PRESETS:
            raise ValueError(f"DreamerConfig preset={name!r} is unknown: expected one of {tuple(PRESETS)}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ValueError(f"DreamerConfig has no field(s) {unknown}: expected names from {sorted(fields)}")
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DreamerConfig:
        """Rebuild a config from :meth:`to_dict` output (e.g. a checkpoint), ignoring unknown keys."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of primitives, safe for ``torch.save`` / ``torch.load(weights_only=True)``."""
        return dataclasses.asdict(self)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fail(name: str, value: Any, expected: str) -> None:
    raise ValueError(f"DreamerConfig.{name}={value!r} is invalid: expected {expected}")


PRESETS: dict[str, dict[str, Any]] = {
    # CI-sized: a learn() of a few hundred steps takes seconds on one core.
    "tiny": dict(
        deter=32,
        stoch=4,
        classes=4,
        units=32,
        mlp_layers=1,
        cnn_depth=4,
        num_bins=41,
        batch_size=4,
        seq_len=8,
        horizon=15,
        train_ratio=32.0,
        learning_starts=64,
        model_lr=1e-3,
        actor_lr=3e-4,
        critic_lr=3e-4,
        log_every=10,
    ),
    # CPU-friendly default (measured ~0.13 s/update on one core): small widths, 63 bins, 16 x 16 batches,
    # higher learning rates than the paper (few updates fit a CPU budget), gamma 0.99 for short-horizon
    # gymnasium control tasks.
    "small": dict(),
    # Paper-ish DreamerV3 size S and optimiser settings (reference §5).
    "S": dict(
        deter=512,
        stoch=32,
        classes=32,
        units=512,
        mlp_layers=2,
        cnn_depth=32,
        num_bins=255,
        batch_size=16,
        seq_len=64,
        gamma=0.997,
        model_lr=1e-4,
        actor_lr=3e-5,
        critic_lr=3e-5,
        train_ratio=512.0,
        learning_starts=1024,
    ),
}
