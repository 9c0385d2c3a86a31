"""Configuration of the Dreamer agent: one dataclass, validated on construction, with size presets.

Defaults of the algorithm fields follow the current official DreamerV3 (danijar/dreamerv3,
``dreamerv3/configs.yaml`` ``defaults.agent``, the version of the 2025 Nature paper); each field's doc names
the official entry. The presets differ only in sizes, learning rates, batch and train ratio, documented
field by field in ``PRESETS``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTOR_GRADS", "PRESETS", "DreamerConfig"]

ACTOR_GRADS = ("reinforce", "dynamics", "auto")


@dataclass
class DreamerConfig:
    """Hyper-parameters of world model, behaviour and training loop.

    Algorithm defaults are the official DreamerV3 values (each field names its entry in the official
    ``configs.yaml``); size defaults are the ``"small"`` preset's. Use :meth:`from_preset` for a preset
    (``"small"`` also changes learning rates, warm-up and gamma, see ``PRESETS``).

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
    """Hidden width of every MLP (encoder, decoder, heads, actor, critic) and of the RSSM (official ``hidden``)."""
    blocks: int = 8
    """Groups of the block GRU (official ``rssm.blocks: 8``); must divide ``deter``."""
    prior_layers: int = 2
    """Hidden layers of the prior head (official ``rssm.imglayers: 2``)."""
    mlp_layers: int = 1
    """Hidden layers per MLP."""
    cnn_depth: int = 16
    """Channels of the first conv layer (doubled per stage) for image observations."""
    cnn_min_res: int = 4
    """Image encoder halves the resolution while it stays divisible by 2 and >= this value."""
    unimix: float = 0.01
    """Uniform mixture of categorical latents and discrete actions (DreamerV3: 1%)."""
    num_bins: int = 255
    """Two-hot bins (symexp spaced) of reward and value heads (official ``bins: 255``)."""
    bin_range: float = 20.0
    """Bins are ``symexp`` of points equally spaced in [-bin_range, bin_range] (official: 20)."""
    obs_keys: tuple[str, ...] | None = None
    """Observation keys the encoder (hence the actor) reads; ``None``: all keys."""
    decoder_keys: tuple[str, ...] | None = None
    """Observation keys the decoder reconstructs; ``None``: the same as ``obs_keys``. May name keys the
    encoder does not read (e.g. Dactyl's privileged ``state``: a world-model training target only)."""
    # --- world model loss ---
    kl_dyn: float = 1.0
    """Weight of KL(sg(post) || prior) (official ``loss_scales.dyn: 1.0``)."""
    kl_rep: float = 0.1
    """Weight of KL(post || sg(prior)) (official ``loss_scales.rep: 0.1``)."""
    free_bits: float = 1.0
    """KL terms are clipped below at this many nats (official ``rssm.free_nats: 1.0``)."""
    # --- behaviour ---
    horizon: int = 15
    """Imagination horizon H (official ``imag_length: 15``)."""
    gamma: float = 0.997
    """Discount (official ``horizon: 333``, i.e. 1 - 1/333). As in the official ``contdisc: True``, the
    continue head is trained on ``gamma * (1 - is_terminal)``, so its output is the discount itself."""
    return_lambda: float = 0.95
    """Lambda of the lambda-returns."""
    critic_ema: float = 0.02
    """Update rate of the slow critic target (official ``slowvalue.rate: 0.02``)."""
    slow_critic_reg: float = 1.0
    """Weight of the regulariser pulling the critic towards the slow critic (official ``slowreg: 1.0``)."""
    repval_scale: float = 0.3
    """Weight of the critic loss on lambda-returns of replayed sequences (official ``loss_scales.repval``)."""
    repval_grad: bool = False
    """Let the replay critic loss train the world model's representation too (official
    ``repval_grad: True``); the default ``False`` keeps its gradient on the critic only."""
    return_norm_decay: float = 0.99
    """EMA decay of the return percentiles (official ``retnorm.rate: 0.01``)."""
    return_norm_percentiles: tuple[float, float] = (5.0, 95.0)
    """Lower and upper percentile of the return range."""
    actor_entropy: float = 3e-4
    """Entropy bonus of the actor (official ``imag_loss.actent: 3e-4``)."""
    actor_grad: str = "reinforce"
    """"reinforce" (official, every action space), "dynamics" (backprop through the model), or "auto"
    (the first release's choice: dynamics for Box, reinforce otherwise)."""
    actor_min_std: float = 0.1
    """Lower bound of the Box actor's standard deviation (in [-1, 1] action units)."""
    actor_max_std: float = 1.0
    """Upper bound of the Box actor's standard deviation."""
    # --- optimisation: one LaProp over all modules (official ``opt``) ---
    model_lr: float = 4e-5
    """Learning rate of the world model's parameters (official ``opt.lr: 4e-5``, one rate for all)."""
    actor_lr: float = 4e-5
    """Learning rate of the actor (official: 4e-5)."""
    critic_lr: float = 4e-5
    """Learning rate of the critic (official: 4e-5)."""
    opt_eps: float = 1e-20
    """Epsilon of LaProp's RMS denominator (official ``opt.eps: 1e-20``)."""
    agc: float = 0.3
    """Adaptive gradient clipping ratio per tensor (official ``opt.agc: 0.3``); 0 disables it."""
    warmup: int = 1000
    """Updates of the linear learning-rate warm-up from 0 (official ``opt.warmup: 1000``)."""
    batch_size: int = 16
    """Replayed sequences per update (official ``batch_size: 16``)."""
    seq_len: int = 16
    """Length of each trained sequence (official ``batch_length: 64``)."""
    replay_context: int = 1
    """1: each replayed window starts from the stored posterior of the step before it, and the posteriors
    computed in training are written back to the replay (official ``replay_context: 1``); 0: windows start
    from a zero state."""
    train_ratio: float = 128.0
    """Replayed steps (batch_size * seq_len per update) per environment step (official ``run.train_ratio``;
    512 for crafter, 1024 for dmc_proprio)."""
    # --- data and bookkeeping ---
    replay_capacity: int = 1_000_000
    """Replay capacity in environment steps (FIFO)."""
    learning_starts: int = 1000
    """Environment steps collected with uniform random actions before the first update."""
    log_every: int = 50
    """Write TensorBoard scalars every this many updates."""
    compute_dtype: str = "float32"
    """"float32", "bfloat16" or "auto": "bfloat16" runs the matmuls of the training update under
    ``torch.autocast`` in bfloat16 (official ``jax.compute_dtype: bfloat16``; parameters, optimiser and
    recurrent state stay float32); "auto" is bfloat16 where the device computes it natively (a CPU with
    AVX512-BF16 or AMX, a CUDA GPU with bfloat16 support), else float32 (``Dreamer.compute_dtype`` tells which).
    Acting always runs in float32."""
    onehot_gather: bool = False
    """Imagination (REINFORCE, no autograd through the dynamics) keeps the imagined stochastic latents as
    one-hot positions, and every layer that reads them sums the ``stoch`` weight columns of the ones instead
    of multiplying by the ``stoch * classes`` one-hot: the same result up to float rounding, with the same
    random draws. Pays off for wide one-hots (the ``S`` preset, 32 x 32: on), not for narrow ones (``tiny``
    4 x 4: 7 % slower; ``small`` 16 x 8: no difference), see docs/dreamer.md, "Speed". ``False``: the
    straightforward dense matmuls."""
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
            "blocks",
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
        for name in ("prior_layers", "warmup"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                _fail(name, value, "an int >= 0")
        if self.replay_context not in (0, 1) or isinstance(self.replay_context, bool):
            _fail("replay_context", self.replay_context, "0 or 1")
        if self.deter % self.blocks:
            _fail("blocks", self.blocks, f"a divisor of deter ({self.deter})")
        for name in ("obs_keys", "decoder_keys"):
            value = getattr(self, name)
            if isinstance(value, list):
                value = tuple(value)
                setattr(self, name, value)
            if value is not None and (
                not isinstance(value, tuple) or not value or not all(isinstance(k, str) for k in value)
            ):
                _fail(name, value, "None or a non-empty tuple of observation key names")
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
            "opt_eps",
            "train_ratio",
            "actor_min_std",
        )
        for name in positive_floats:
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                _fail(name, value, "a number > 0")
        non_negative = ("kl_dyn", "kl_rep", "free_bits", "actor_entropy", "slow_critic_reg", "repval_scale", "agc")
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
        if self.compute_dtype not in ("float32", "bfloat16", "auto"):
            _fail("compute_dtype", self.compute_dtype, 'one of ("float32", "bfloat16", "auto")')
        if self.actor_grad not in ACTOR_GRADS:
            _fail("actor_grad", self.actor_grad, f"one of {ACTOR_GRADS}")
        for name in ("compile", "repval_grad", "onehot_gather"):
            if not isinstance(getattr(self, name), bool):
                _fail(name, getattr(self, name), "a bool")
        if self.torch_threads is not None and (
            isinstance(self.torch_threads, bool) or not isinstance(self.torch_threads, int) or self.torch_threads < 1
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
    # CI-sized: a learn() of a few hundred steps takes seconds on one core. Deviations from official, field
    # by field: tiny sizes (deter 32, stoch 4 x 4 classes, units 32, 1 hidden layer per MLP and in the
    # prior, 4 GRU blocks, cnn_depth 4); batch 4 x 8 and train ratio 32 (fast tests); learning rates
    # 1e-3 / 3e-4 / 3e-4 and no warm-up (only a few hundred updates); gamma 0.99 (short test episodes).
    "tiny": dict(
        deter=32,
        stoch=4,
        classes=4,
        units=32,
        mlp_layers=1,
        blocks=4,
        prior_layers=1,
        cnn_depth=4,
        batch_size=4,
        seq_len=8,
        horizon=15,
        gamma=0.99,
        train_ratio=32.0,
        learning_starts=64,
        model_lr=1e-3,
        actor_lr=3e-4,
        critic_lr=3e-4,
        warmup=0,
        log_every=10,
    ),
    # CPU-friendly default. Deviations from official, field by field: small sizes (deter 128, stoch 16 x 8
    # classes, units 128, 1 hidden layer per MLP; official MLPs have 3 layers for encoder/decoder/actor/
    # critic and 1 for the reward/continue heads); batch 16 x 16 (official 16 x 64); learning rates
    # 3e-4 (world model) / 1e-4 (actor, critic) instead of 4e-5 and warm-up 100 instead of 1000 (few
    # updates fit a CPU budget); gamma 0.99 instead of 0.997 (short-horizon gymnasium control tasks);
    # train ratio 128 (official 512-1024 for proprioceptive control).
    "small": dict(
        model_lr=3e-4,
        actor_lr=1e-4,
        critic_lr=1e-4,
        warmup=100,
        gamma=0.99,
    ),
    # Official algorithm settings at the first release's size S. Deviations from official: sizes (deter 512,
    # stoch 32 x 32, units 512, 2 hidden layers per MLP; the 2025 configs have no "S": their smallest,
    # size1m, is deter 512 / hidden 64 / 4 classes / units 64, size12m deter 2048 / hidden 256 / 16 classes);
    # train ratio 512 (official 512 for crafter, 1024 for dmc_proprio). compute_dtype "auto": bfloat16 as the
    # official where the CPU/GPU has native bfloat16 (3.2 instead of 4.8 CPU-s per update here), else float32;
    # onehot_gather on (a compute shortcut, same results up to rounding; see docs/dreamer.md, "Speed").
    "S": dict(
        deter=512,
        stoch=32,
        classes=32,
        units=512,
        mlp_layers=2,
        cnn_depth=32,
        batch_size=16,
        seq_len=64,
        train_ratio=512.0,
        learning_starts=1024,
        compute_dtype="auto",
        onehot_gather=True,
    ),
}
