from __future__ import annotations

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from wrappers.distributions import (
    Constant,
    Distribution,
    LogUniform,
    Normal,
    Uniform,
    check_distribution,
    episode_generator,
)

FAST = settings(max_examples=40, deadline=None)
finite = st.floats(-1e3, 1e3, allow_nan=False)
seeds = st.integers(0, 2**32 - 1)
factors = st.floats(0.0, 3.0)


@st.composite
def uniforms(draw: st.DrawFn) -> Uniform:
    a, b = sorted((draw(finite), draw(finite)))
    return Uniform(a, b)


@st.composite
def log_uniforms(draw: st.DrawFn) -> LogUniform:
    a, b = sorted((draw(st.floats(1e-3, 1e3)), draw(st.floats(1e-3, 1e3))))
    return LogUniform(a, b)


@st.composite
def normals(draw: st.DrawFn) -> Normal:
    return Normal(draw(finite), draw(st.floats(0.0, 1e2)))


any_dist = st.one_of(uniforms(), log_uniforms(), normals(), finite.map(Constant))


@FAST
@given(dist=st.one_of(uniforms(), log_uniforms(), finite.map(Constant)), seed=seeds)
def test_samples_stay_in_support(dist: Distribution, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = dist.sample(rng, size=64)
    low, high = dist.support
    assert x.shape == (64,)
    assert np.all((x >= low) & (x <= high))
    scalar = dist.sample(rng)
    assert isinstance(scalar, float) and low <= scalar <= high


@FAST
@given(dist=any_dist, seed=seeds)
def test_same_generator_state_same_samples(dist: Distribution, seed: int) -> None:
    a = dist.sample(np.random.default_rng(seed), size=(3, 2))
    b = dist.sample(np.random.default_rng(seed), size=(3, 2))
    np.testing.assert_array_equal(a, b)


@FAST
@given(dist=st.one_of(uniforms(), normals()), center=finite, seed=seeds)
def test_scaled_zero_is_exactly_center(dist: Distribution, center: float, seed: int) -> None:
    x = dist.scaled(0.0, center).sample(np.random.default_rng(seed), size=8)
    assert np.all(x == center)


@FAST
@given(dist=log_uniforms(), seed=seeds)
def test_log_uniform_scaled_zero_is_exactly_one(dist: LogUniform, seed: int) -> None:
    x = dist.scaled(0.0, 1.0).sample(np.random.default_rng(seed), size=8)
    assert np.all(x == 1.0)


@FAST
@given(dist=any_dist)
def test_scaled_one_is_identity(dist: Distribution) -> None:
    assert dist.scaled(1.0, 1.0) is dist


@FAST
@given(dist=uniforms(), factor=factors)
def test_uniform_scaled_width(dist: Uniform, factor: float) -> None:
    center = 0.5 * (dist.low + dist.high)
    scaled = dist.scaled(factor, center)
    assert math.isclose(scaled.high - scaled.low, factor * (dist.high - dist.low), rel_tol=1e-9, abs_tol=1e-9)


@FAST
@given(dist=normals(), factor=factors)
def test_normal_scaled_sigma(dist: Normal, factor: float) -> None:
    assert math.isclose(dist.scaled(factor, dist.mean).sigma, factor * dist.sigma, rel_tol=1e-12)


@FAST
@given(dist=log_uniforms(), factor=factors)
def test_log_uniform_scaled_log_width(dist: LogUniform, factor: float) -> None:
    s = dist.scaled(factor, 1.0)
    assert math.isclose(math.log(s.high / s.low), factor * math.log(dist.high / dist.low), rel_tol=1e-9, abs_tol=1e-9)


@FAST
@given(dist=st.one_of(uniforms(), log_uniforms(), normals()), factor=factors, seed=seeds)
def test_draw_count_does_not_depend_on_width(dist: Distribution, factor: float, seed: int) -> None:
    """An ablated (factor 0) group must not shift the random stream of the groups drawn after it."""
    narrow = dist.scaled(factor, 1.0)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    dist.sample(a, size=5)
    narrow.sample(b, size=5)
    assert a.random() == b.random()


def test_log_uniform_is_uniform_in_log() -> None:
    x = LogUniform(0.3, 3.0).sample(np.random.default_rng(0), size=20_000)
    mean_log = np.log(x).mean()
    assert abs(mean_log - 0.5 * (math.log(0.3) + math.log(3.0))) < 0.02


@pytest.mark.parametrize(("mean", "sigma"), [(0.0, 0.4), (0.0, 0.15), (-3.0, 2.5)])
def test_normal_sample_is_normal(mean: float, sigma: float) -> None:
    """Normal(mean, sigma).sample: 50,000 seeded draws pass a KS test against N(mean, sigma**2) (p > 0.001),
    mean and std within 4 standard errors, and the same test rejects a normal 5 % wider or shifted by
    0.05 sigma (it has the power to see a wrong parameter). Scalar draws follow the same stream."""
    n = 50_000
    x = Normal(mean, sigma).sample(np.random.default_rng(1234), size=n)
    assert x.shape == (n,)
    assert scipy.stats.kstest(x, scipy.stats.norm(mean, sigma).cdf).pvalue > 1e-3
    assert abs(x.mean() - mean) < 4 * sigma / math.sqrt(n)
    assert abs(x.std() / sigma - 1.0) < 4 / math.sqrt(2 * n)
    assert scipy.stats.kstest(x, scipy.stats.norm(mean, 1.05 * sigma).cdf).pvalue < 1e-3
    assert scipy.stats.kstest(x, scipy.stats.norm(mean + 0.05 * sigma, sigma).cdf).pvalue < 1e-3
    rng = np.random.default_rng(1234)
    scalars = [Normal(mean, sigma).sample(rng) for _ in range(5)]
    np.testing.assert_array_equal(scalars, x[:5])


def test_normal_scaled_sample_has_scaled_spread() -> None:
    """``scaled(f, c)`` of N(0, 0.4) draws N(c * (1 - f), (f * 0.4)**2): checked with a KS test."""
    x = Normal(0.0, 0.4).scaled(0.5, 1.0).sample(np.random.default_rng(7), size=20_000)
    assert scipy.stats.kstest(x, scipy.stats.norm(0.5, 0.2).cdf).pvalue > 1e-3


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Uniform(0.0, 1.0).low = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: Uniform(2.0, 1.0), "Uniform(low, high)"),
        (lambda: Uniform(float("nan"), 1.0), "Uniform(low, high)"),
        (lambda: Uniform(0.0, float("inf")), "Uniform(low, high)"),
        (lambda: LogUniform(0.0, 1.0), "LogUniform(low, high)"),
        (lambda: LogUniform(-1.0, 1.0), "LogUniform(low, high)"),
        (lambda: LogUniform(2.0, 1.0), "LogUniform(low, high)"),
        (lambda: Normal(0.0, -0.1), "Normal(sigma)"),
        (lambda: Normal("a", 1.0), "Normal(mean)"),
        (lambda: Constant(float("nan")), "Constant(value)"),
        (lambda: Uniform(0.0, 1.0).scaled(-1.0, 0.0), "factor"),
        (lambda: LogUniform(1.0, 2.0).scaled(0.5, 0.0), "center"),
    ],
)
def test_invalid_parameters_raise(make, name: str) -> None:
    with pytest.raises(ValueError, match=name.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_check_distribution() -> None:
    assert check_distribution("x", None) is None
    d = Uniform(0.5, 1.5)
    assert check_distribution("x", d, positive=True) is d
    with pytest.raises(ValueError, match="mass_scale"):
        check_distribution("mass_scale", (0.5, 1.5))
    with pytest.raises(ValueError, match="mass_scale"):
        check_distribution("mass_scale", None, allow_none=False)
    with pytest.raises(ValueError, match="mass_scale"):
        check_distribution("mass_scale", Uniform(0.0, 1.0), positive=True)
    with pytest.raises(ValueError, match="friction"):
        check_distribution("friction", Normal(1.0, 0.1), min_value=0.0)


def test_episode_generator_seeding() -> None:
    env = gym.make("Pendulum-v1")
    a = episode_generator(env, 3, "A", None).random(4)
    assert np.array_equal(a, episode_generator(env, 3, "A", None).random(4))
    assert not np.array_equal(a, episode_generator(env, 4, "A", None).random(4))
    assert not np.array_equal(a, episode_generator(env, 3, "B", None).random(4))
    # A child of the seed, independent of the env's own stream for that seed.
    env.reset(seed=3)
    assert not np.array_equal(a, env.unwrapped.np_random.random(4))
    previous = np.random.default_rng(0)
    assert episode_generator(env, None, "A", previous) is previous
    # Never seeded: derived from the env generator's entropy without consuming its draws.
    env2 = gym.make("Pendulum-v1")
    state = env2.unwrapped.np_random.bit_generator.state
    episode_generator(env2, None, "A", None)
    assert env2.unwrapped.np_random.bit_generator.state == state
    env.close()
    env2.close()


def test_signed_uniform_magnitude_sign_and_scaling():
    from wrappers.distributions import SignedUniform

    rng = np.random.default_rng(0)
    x = SignedUniform(0.2, 0.5).sample(rng, size=2000)
    assert ((np.abs(x) >= 0.2) & (np.abs(x) <= 0.5)).all()
    assert 0.4 < (x > 0).mean() < 0.6
    assert SignedUniform(0.2, 0.5).support == (-0.5, 0.5)
    assert isinstance(SignedUniform(0.2, 0.5).sample(rng), float)
    np.testing.assert_array_equal(np.abs(SignedUniform(0.2, 0.5).scaled(0.0, 0.0).sample(rng, 3)), 0.0)
    assert SignedUniform(0.2, 0.5).scaled(2.0, 0.0) == SignedUniform(0.4, 1.0)
    with pytest.raises(ValueError, match="center"):
        SignedUniform(0.2, 0.5).scaled(0.5, 1.0)
    for bad in ((-0.1, 0.5), (0.5, 0.2), (0.0, float("nan"))):
        with pytest.raises(ValueError, match="SignedUniform"):
            SignedUniform(*bad)
