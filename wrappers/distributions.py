"""Small, frozen distribution objects for domain randomization, in the manner of dm_control's ``variation``.

A distribution is a value object: it holds its parameters, validates them when built and draws samples
only from the generator it is handed (``dist.sample(rng, size)``), so it never owns randomness itself.
Wrappers combine a sample with a *nominal* value remembered once at construction (``nominal * scale`` or
``nominal + offset``), which is what keeps parameters from compounding across resets.

``dist.scaled(factor, center)`` shrinks or widens a distribution around its identity point (1 for a
multiplicative scale, 0 for an additive offset): ``factor=0`` collapses it onto ``center`` exactly and
``factor=1`` returns it unchanged. Every distribution consumes the same number of random draws whatever
its width, so an ablation (``factor=0`` for one group) leaves the random streams of the others unchanged.

:func:`episode_generator` derives the private generator each randomization wrapper draws from; see its
docstring for why the wrappers do not draw from the env's generator directly.

Example:
    >>> import numpy as np
    >>> from wrappers.distributions import LogUniform, Normal, Uniform
    >>> rng = np.random.default_rng(0)
    >>> mass = Uniform(0.5, 1.5)                    # Dactyl Table 1, object and link masses
    >>> bool(0.5 <= mass.sample(rng) <= 1.5)
    True
    >>> LogUniform(0.3, 3.0).sample(rng, size=4).shape
    (4,)
    >>> Uniform(0.5, 1.5).scaled(0.0, center=1.0).sample(rng, size=2)
    array([1., 1.])
    >>> Normal(0.0, 0.4).scaled(0.5, center=0.0)
    Normal(mean=0.0, sigma=0.2)

"""

from __future__ import annotations

import abc
import math
import zlib
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from wrappers._validation import InvalidArgumentError, check_nonnegative, check_range, check_sigma

__all__ = [
    "Clipped",
    "Constant",
    "Distribution",
    "LogUniform",
    "Normal",
    "Uniform",
    "check_distribution",
    "clip_to_support",
    "episode_generator",
]

Size = int | tuple[int, ...] | None


class Distribution(abc.ABC):
    """Base class: a frozen description of a real-valued distribution."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, size: Size = None) -> Any:
        """Draw ``size`` samples (a float when ``size`` is None) from ``rng``."""

    @abc.abstractmethod
    def scaled(self, factor: float, center: float) -> Distribution:
        """Return the distribution with its spread multiplied by ``factor`` around ``center``."""

    @property
    @abc.abstractmethod
    def support(self) -> tuple[float, float]:
        """Smallest interval ``(low, high)`` holding every sample (may be infinite)."""


def _check_factor(factor: Any) -> float:
    return check_nonnegative("factor", factor)


def _out(value: np.ndarray, size: Size) -> Any:
    return float(value) if size is None else value


@dataclass(frozen=True)
class Constant(Distribution):
    """Always ``value``; draws nothing from the generator.

    Args:
        value: the constant (finite).

    Example:
        >>> import numpy as np
        >>> Constant(2.0).sample(np.random.default_rng(0), size=2)
        array([2., 2.])
    """

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", check_range("Constant(value)", (self.value, self.value))[0])

    def sample(self, rng: np.random.Generator, size: Size = None) -> Any:  # noqa: D102
        return _out(np.full(() if size is None else size, self.value), size)

    def scaled(self, factor: float, center: float) -> Distribution:  # noqa: D102
        factor = _check_factor(factor)
        if factor == 1.0:
            return self
        return Constant(center + factor * (self.value - center))

    @property
    def support(self) -> tuple[float, float]:  # noqa: D102
        return (self.value, self.value)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on ``[low, high]`` (``low == high`` gives exactly ``low``).

    Args:
        low: lower bound.
        high: upper bound, ``>= low``.

    Example:
        >>> import numpy as np
        >>> x = Uniform(0.7, 1.3).sample(np.random.default_rng(0), size=3)
        >>> bool(((0.7 <= x) & (x <= 1.3)).all())
        True
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = check_range("Uniform(low, high)", (self.low, self.high))
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator, size: Size = None) -> Any:  # noqa: D102
        u = rng.random(size)
        return _out(np.asarray(self.low + (self.high - self.low) * u), size)

    def scaled(self, factor: float, center: float) -> Distribution:  # noqa: D102
        factor = _check_factor(factor)
        if factor == 1.0:
            return self
        if factor == 0.0:
            return Uniform(center, center)
        return Uniform(center + factor * (self.low - center), center + factor * (self.high - center))

    @property
    def support(self) -> tuple[float, float]:  # noqa: D102
        return (self.low, self.high)


@dataclass(frozen=True)
class LogUniform(Distribution):
    """Log-uniform on ``[low, high]`` with ``0 < low <= high``: ``log x`` is uniform.

    Args:
        low: lower bound, ``> 0``.
        high: upper bound, ``>= low``.

    Example:
        >>> import numpy as np
        >>> x = LogUniform(0.3, 3.0).sample(np.random.default_rng(0), size=3)
        >>> bool(((0.3 <= x) & (x <= 3.0)).all())
        True
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = check_range("LogUniform(low, high)", (self.low, self.high))
        if low <= 0:
            raise InvalidArgumentError(
                f"LogUniform(low, high) must have 0 < low <= high, got {(self.low, self.high)!r}"
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator, size: Size = None) -> Any:  # noqa: D102
        u = rng.random(size)
        x = self.low * np.exp(u * math.log(self.high / self.low))
        return _out(np.minimum(x, self.high), size)  # exp rounding must not step past high

    def scaled(self, factor: float, center: float) -> Distribution:  # noqa: D102
        factor = _check_factor(factor)
        if factor == 1.0:
            return self
        if center <= 0:
            raise InvalidArgumentError(f"center must be > 0 to scale a LogUniform, got {center!r}")
        if factor == 0.0:
            return LogUniform(center, center)
        return LogUniform(center * (self.low / center) ** factor, center * (self.high / center) ** factor)

    @property
    def support(self) -> tuple[float, float]:  # noqa: D102
        return (self.low, self.high)


@dataclass(frozen=True)
class Normal(Distribution):
    """Gaussian ``N(mean, sigma**2)``; ``sigma == 0`` gives exactly ``mean``.

    Args:
        mean: the mean.
        sigma: the standard deviation, ``>= 0``.

    Example:
        >>> import numpy as np
        >>> Normal(0.0, 0.0).sample(np.random.default_rng(0))
        0.0
    """

    mean: float = 0.0
    sigma: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", check_range("Normal(mean)", (self.mean, self.mean))[0])
        object.__setattr__(self, "sigma", check_sigma("Normal(sigma)", self.sigma))

    def sample(self, rng: np.random.Generator, size: Size = None) -> Any:  # noqa: D102
        z = rng.standard_normal(size)
        return _out(np.asarray(self.mean + self.sigma * z), size)

    def scaled(self, factor: float, center: float) -> Distribution:  # noqa: D102
        factor = _check_factor(factor)
        if factor == 1.0:
            return self
        return Normal(center + factor * (self.mean - center), factor * self.sigma)

    @property
    def support(self) -> tuple[float, float]:  # noqa: D102
        if self.sigma == 0:
            return (self.mean, self.mean)
        return (-math.inf, math.inf)


@dataclass(frozen=True)
class Clipped(Distribution):
    """``base`` with its samples clipped to ``[low, high]``: how a widened distribution is kept on its support.

    Draws exactly what ``base`` draws (same count, same stream), then clips; ``scaled`` scales ``base`` and
    keeps the clip. Used by the wrappers when ``scale`` widens a distribution past the values its quantity
    can take (e.g. a mass factor U[0.5, 1.5] at ``scale=3`` is U[-0.5, 2.5], clipped to [0.01, inf)).

    Args:
        base: the distribution to clip.
        low: lower clip (may be ``-inf``).
        high: upper clip (may be ``inf``), ``>= low``.

    Example:
        >>> import numpy as np
        >>> x = Clipped(Uniform(-1.0, 1.0), 0.0, np.inf).sample(np.random.default_rng(0), size=1000)
        >>> float(x.min()), Clipped(Uniform(-1.0, 1.0), 0.0, np.inf).support
        (0.0, (0.0, 1.0))
    """

    base: Distribution
    low: float
    high: float

    def __post_init__(self) -> None:
        if not isinstance(self.base, Distribution):
            raise InvalidArgumentError(f"Clipped(base) must be a Distribution, got {self.base!r}")
        low, high = float(self.low), float(self.high)
        if math.isnan(low) or math.isnan(high) or low > high:
            raise InvalidArgumentError(f"Clipped(low, high) must have low <= high, got {(self.low, self.high)!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator, size: Size = None) -> Any:  # noqa: D102
        return _out(np.clip(np.asarray(self.base.sample(rng, size), dtype=float), self.low, self.high), size)

    def scaled(self, factor: float, center: float) -> Distribution:  # noqa: D102
        return Clipped(self.base.scaled(factor, center), self.low, self.high)

    @property
    def support(self) -> tuple[float, float]:  # noqa: D102
        low, high = self.base.support
        low, high = min(max(low, self.low), self.high), max(min(high, self.high), self.low)
        return (low, high)


def clip_to_support(dist: Distribution, low: float = -math.inf, high: float = math.inf) -> Distribution:
    """``dist`` unchanged when its support lies in ``[low, high]``, else :class:`Clipped` to it."""
    s_low, s_high = dist.support
    if s_low >= low and s_high <= high:
        return dist
    return Clipped(dist, low, high)


def check_distribution(
    name: str,
    value: Any,
    *,
    allow_none: bool = True,
    min_value: float | None = None,
    positive: bool = False,
) -> Distribution | None:
    """Check an argument is a :class:`Distribution` (or None) whose support fits the quantity.

    Args:
        name: argument name, quoted in the error.
        value: the argument.
        allow_none: whether ``None`` (group disabled) is accepted.
        min_value: if given, every sample must be ``>= min_value`` (the support's low end).
        positive: if True, every sample must be ``> 0``.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: naming ``name``, the value and the expectation.
    """
    if value is None and allow_none:
        return None
    expectation = "a wrappers.distributions.Distribution" + (" or None" if allow_none else "")
    if not isinstance(value, Distribution):
        raise InvalidArgumentError(f"{name} must be {expectation}, got {value!r}")
    low = value.support[0]
    if positive and not low > 0:
        raise InvalidArgumentError(f"{name} must be {expectation} with support in (0, inf), got {value!r}")
    if min_value is not None and not low >= min_value:
        raise InvalidArgumentError(f"{name} must be {expectation} with support in [{min_value}, inf), got {value!r}")
    return value


def episode_generator(
    env: gym.Env, seed: int | None, tag: str, previous: np.random.Generator | None
) -> np.random.Generator:
    """Return the private generator a randomization wrapper draws from for the coming episodes.

    The stream is a child of the env's seed: ``reset(seed=s)`` gives the child of ``SeedSequence(s)``
    keyed by ``tag`` (the same seed sequence the env's own ``np_random`` is built from), and a reset
    without a seed keeps drawing from ``previous``. A wrapper that was never seeded derives its child from
    the entropy of ``env.np_random`` without consuming any of its draws.

    Why not draw from ``env.np_random`` directly: model-modifying wrappers must sample *before*
    ``env.reset(seed=s)``, which re-seeds that generator, so their draws would repeat the env's own first
    draws (correlating, e.g., the mass scale with the initial pose), two stacked wrappers would share one
    stream, and a wrapper drawing per step or per rendered frame would shift the env's later draws (goals,
    initial states), so a purely visual randomization would change the physics rollout.

    Args:
        env: the wrapped env (its generator provides the entropy when no seed was ever given).
        seed: the ``seed`` passed to ``reset``.
        tag: a name unique to the wrapper class (keys the child stream).
        previous: the wrapper's current generator, or None before the first reset.

    Returns:
        The generator to draw from.
    """
    key = zlib.crc32(tag.encode())
    if seed is not None:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key,))))
    if previous is not None:
        return previous
    parent = env.np_random.bit_generator.seed_seq
    entropy = getattr(parent, "entropy", None)
    spawn_key = tuple(getattr(parent, "spawn_key", ())) + (key,)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=spawn_key)))


@dataclass(frozen=True)
class SignedUniform(Distribution):
    """A magnitude uniform on ``[low, high]`` with a random sign: support ``[-high, -low] ∪ [low, high]``.

    Describes a deviation that is at least ``low`` away from zero, e.g. a held-out range just outside a
    training range ``Uniform(-low, low)``. Draws two numbers per sample (magnitude, sign).

    Args:
        low: smallest magnitude, ``>= 0``.
        high: largest magnitude, ``>= low``.

    Example:
        >>> import numpy as np
        >>> x = SignedUniform(1.0, 3.0).sample(np.random.default_rng(0), size=100)
        >>> bool(((np.abs(x) >= 1.0) & (np.abs(x) <= 3.0)).all()), bool((x < 0).any() and (x > 0).any())
        (True, True)
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = check_range("SignedUniform(low, high)", (self.low, self.high))
        if low < 0:
            raise InvalidArgumentError(f"SignedUniform(low, high) needs 0 <= low <= high, got ({low!r}, {high!r})")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator, size: Size = None) -> Any:  # noqa: D102
        magnitude = self.low + (self.high - self.low) * rng.random(size)
        sign = np.where(rng.random(size) < 0.5, -1.0, 1.0)
        return _out(np.asarray(sign * magnitude), size)

    def scaled(self, factor: float, center: float) -> Distribution:  # noqa: D102
        """Scale the magnitudes by ``factor``; only defined around ``center == 0``.

        Raises:
            ValueError: if ``center`` is not 0.
        """
        factor = _check_factor(factor)
        if center != 0.0:
            raise InvalidArgumentError(f"SignedUniform can only be scaled around center 0, got center={center!r}")
        if factor == 1.0:
            return self
        return SignedUniform(factor * self.low, factor * self.high)

    @property
    def support(self) -> tuple[float, float]:  # noqa: D102
        return (-self.high, self.high)
