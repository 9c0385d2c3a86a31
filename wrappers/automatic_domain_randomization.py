"""Automatic Domain Randomization (ADR) over the randomization wrappers (OpenAI 2019, Rubik's Cube paper §5).

Every scalar magnitude of the wrappers is an *ADR parameter* with a range ``[φL, φH]`` that starts at the
parameter's nominal value (zero width: the unrandomized env) and is widened or narrowed by ADR, never beyond a
*cap* (by default the paper's range, so fully widened ranges are ``dactyl_randomization``'s ranges).
ADR drives the existing wrappers through their ``set_parameters`` hooks; it is not a second randomization
system: the wrappers still draw every random number of the episode.

Per episode (:meth:`AutomaticDomainRandomization.reset`), with probability ``p_b`` it is a *boundary episode*:
one parameter (uniformly among those with a movable bound) and one of its movable bounds are chosen and the
parameter is pinned to that bound; every other parameter uses its current range. At the end of a boundary
episode its performance (``info["consecutive_successes"]`` by default) is appended to that bound's buffer;
when the buffer holds ``m`` results their mean is compared with the thresholds: ``>= t_H`` widens the bound by
``Δ``, ``<= t_L`` narrows it by ``Δ`` (towards the nominal value, never past it), and the buffer is cleared.

A parameter reaches its wrapper in one of three ways (:attr:`ADRParameter.sampling`):

* ``"uniform"`` / ``"log_uniform"``: the wrapper gets the distribution ``Uniform(φL, φH)`` /
  ``LogUniform(φL, φH)`` (each body, geom, dof ... draws its own factor, as in Dactyl Table 1), or a zero-width
  one at the pinned bound in a boundary episode. The caps are Table 1's ranges, so at full width the wrapper
  draws exactly its default distribution.
* ``"value"``: one value per episode ``x ~ U[φL, φH]`` (the Rubik's Cube paper's λ ~ U(φL, φH)), the pinned
  bound in a boundary episode, handed to the wrapper as its magnitude (a σ, a probability, a rate). At full width
  the episode's σ is drawn from ``[0, paper σ]``: the paper's value and everything milder.

Entropy (nats per dimension): ``H = mean_i log(max(φH_i − φL_i, ε·s_i))`` with ``s_i`` the width of parameter
``i``'s default (paper) cap and ``ε = entropy_floor`` (1e-3): the paper's ``mean log(φH − φL)``, in each
parameter's own unit, with zero widths counted as ``ε·s_i`` instead of ``-inf``, so the entropy is finite at
the start, never below its starting value (ranges always contain the nominal value) and grows with every
widening. :meth:`ADRState.entropy_relative` is the same mean of ``log(max(w_i, ε·s_i) / s_i)``: 0 when every
range has the paper's width, ``log ε`` (−6.9) at the start, above 0 only with caps wider than the paper's.

Vector envs: each sub-env wraps its own copy with ``update=False``: it samples episodes from its copy of the
ranges and reports every boundary-episode outcome in ``info["adr_result"]``; a single :class:`ADRState` in the
training process aggregates them (:meth:`ADRState.record_infos`, SB3 list-of-dicts or Gymnasium dict-of-arrays
infos) and pushes changed ranges to all sub-envs (:meth:`ADRState.push`, via ``env_method`` / ``call``).
:meth:`ADRState.to_dict` / :meth:`ADRState.from_dict` round-trip the whole state through JSON (no pickle).

Example:
    >>> import gymnasium as gym, gym_dactyl
    >>> from wrappers import AutomaticDomainRandomization, dactyl_randomization
    >>> env = AutomaticDomainRandomization(dactyl_randomization(gym.make("Dactyl-v0", action_type="continuous")))
    >>> _, info = env.reset(seed=0)
    >>> env.adr.ranges["mass_scale"], round(env.adr.entropy_relative(), 2)
    ((1.0, 1.0), -6.91)
"""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from wrappers._validation import (
    InvalidArgumentError,
    check_int,
    check_positive,
    check_probability,
    check_range,
)
from wrappers.action_delay import ActionDelay
from wrappers.action_noise import ActionNoise
from wrappers.backlash import Backlash
from wrappers.distributions import Constant, LogUniform, Normal, Uniform, episode_generator
from wrappers.marker_freeze import MarkerFreeze
from wrappers.observation_noise import DACTYL_OBSERVATION_NOISE, ObservationNoise
from wrappers.physics_randomization import (
    ACTUATOR_GAIN_SCALE,
    DAMPING_SCALE,
    FRICTION_SCALE,
    GRAVITY_OFFSET,
    JOINT_LIMIT_OFFSET,
    MASS_SCALE,
    OBJECT_SIZE_SCALE,
    PhysicsRandomization,
)
from wrappers.random_forces import FORCE_PROBABILITY, RandomForces
from wrappers.timestep_randomization import TIMESTEP_RATE, TimestepRandomization

__all__ = [
    "BOUNDS",
    "CPU_ADR",
    "DACTYL_ADR_PARAMETERS",
    "PAPER_ADR",
    "ADRConfig",
    "ADRParameter",
    "ADRState",
    "AutomaticDomainRandomization",
]

#: The two bounds of a range, as named in results and buffers.
BOUNDS: tuple[str, str] = ("low", "high")
_SAMPLINGS = ("uniform", "log_uniform", "value")
_FORMAT = "gym-dactyl ADR state"


@dataclass(frozen=True)
class ADRParameter:
    """One ADR parameter: a scalar ADR moves, its limits, and how it reaches the wrapper that uses it.

    Attributes:
        wrapper: the wrapper class in the env stack it drives (the outermost instance is used).
        apply: ``apply(wrapper, x)`` hands the episode's setting to the wrapper (through its ``set_parameters``
            hook); ``x`` is a distribution over the range for ``"uniform"`` / ``"log_uniform"``, a float for
            ``"value"``.
        nominal: the unrandomized value; the range starts as ``[nominal, nominal]``.
        cap: default limits ``(low, high)`` of the range, with ``low <= nominal <= high`` (the paper's range).
        sampling: ``"uniform"``, ``"log_uniform"`` or ``"value"`` (see the module docstring).
        domain: every cap must lie in this closed interval (e.g. ``(0, 1)`` for a probability).
        open_low: whether ``domain[0]`` itself is excluded (scales that must stay ``> 0``).
        unit: unit of the values, for docs and plots.
        source: where the cap comes from.
    """

    wrapper: type
    apply: Callable[[Any, Any], None]
    nominal: float
    cap: tuple[float, float]
    sampling: str = "value"
    domain: tuple[float, float] = (0.0, math.inf)
    open_low: bool = False
    unit: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.sampling not in _SAMPLINGS:
            raise InvalidArgumentError(f"sampling must be one of {_SAMPLINGS}, got {self.sampling!r}")
        if not callable(self.apply):
            raise InvalidArgumentError(f"apply must be callable(wrapper, value), got {self.apply!r}")
        if not (isinstance(self.wrapper, type) and issubclass(self.wrapper, gym.Env)):
            raise InvalidArgumentError(f"wrapper must be a gymnasium Wrapper class, got {self.wrapper!r}")
        object.__setattr__(self, "nominal", check_range("nominal", (self.nominal, self.nominal))[0])
        if self.sampling == "log_uniform":
            object.__setattr__(self, "open_low", True)
            object.__setattr__(self, "domain", (max(0.0, self.domain[0]), self.domain[1]))
        object.__setattr__(self, "cap", self.check_cap("cap", self.cap))

    def check_cap(self, name: str, cap: Any) -> tuple[float, float]:
        """Return ``cap`` as a float pair, checking ``low <= nominal <= high`` inside the domain.

        Raises:
            ValueError: naming ``name``, the value and the expectation.
        """
        low, high = check_range(name, cap)
        d_low, d_high = self.domain
        below = low <= d_low if self.open_low else low < d_low
        if not low <= self.nominal <= high or below or high > d_high:
            lo_bracket = "(" if self.open_low else "["
            raise InvalidArgumentError(
                f"{name} must be a (low, high) pair with low <= nominal ({self.nominal}) <= high inside "
                f"{lo_bracket}{d_low}, {d_high}], got {cap!r}"
            )
        return low, high


# ---------------------------------------------------------------------------------------------- built-ins
def _set_group(group: str, wrapper: PhysicsRandomization, dist: Any) -> None:
    wrapper.set_parameters(**{group: dist})


def _set_offset_sigma(group: str, wrapper: PhysicsRandomization, sigma: float) -> None:
    wrapper.set_parameters(**{group: Normal(0.0, sigma)})


def _set_timestep_extra(wrapper: TimestepRandomization, mean_extra: float) -> None:
    wrapper.set_parameters(rate=None if mean_extra <= 0.0 else Constant(1.0 / mean_extra))


def _set_force_probability(wrapper: RandomForces, p: float) -> None:
    wrapper.set_parameters(probability=Constant(p))


def _set_keyword(keyword: str, wrapper: Any, value: float) -> None:
    wrapper.set_parameters(**{keyword: value})


def _set_observation_sigma(key: str, index: int, wrapper: ObservationNoise, sigma: float) -> None:
    if key not in wrapper.sigmas:
        raise InvalidArgumentError(
            f"ObservationNoise in the env stack does not noise {key!r} (noised keys: {list(wrapper.sigmas)}); "
            "leave this ADR parameter out"
        )
    pair = list(wrapper.sigmas[key])
    pair[index] = sigma
    wrapper.set_parameters(sigmas={key: (pair[0], pair[1])})


def _sigma_cap(dist: Any) -> tuple[float, float]:
    return (0.0, float(dist.sigma))


def _builtin_parameters() -> dict[str, ADRParameter]:
    p = functools.partial
    physics: dict[str, ADRParameter] = {}
    for group, dist, sampling, domain_open in (
        ("object_size_scale", OBJECT_SIZE_SCALE, "uniform", True),
        ("mass_scale", MASS_SCALE, "uniform", True),
        ("friction_scale", FRICTION_SCALE, "uniform", False),
        ("damping_scale", DAMPING_SCALE, "log_uniform", True),
        ("actuator_gain_scale", ACTUATOR_GAIN_SCALE, "log_uniform", True),
    ):
        physics[group] = ADRParameter(
            PhysicsRandomization, p(_set_group, group), 1.0, dist.support, sampling,
            open_low=domain_open, unit="×", source="Dactyl Table 1",
        )  # fmt: skip
    physics["joint_limit_sigma"] = ADRParameter(
        PhysicsRandomization, p(_set_offset_sigma, "joint_limit_offset"), 0.0, _sigma_cap(JOINT_LIMIT_OFFSET),
        unit="rad", source="Dactyl Table 1",
    )  # fmt: skip
    physics["gravity_sigma"] = ADRParameter(
        PhysicsRandomization, p(_set_offset_sigma, "gravity_offset"), 0.0, _sigma_cap(GRAVITY_OFFSET),
        unit="m/s²", source="Dactyl Table 1",
    )  # fmt: skip
    out = dict(physics)
    out["timestep_extra_mean"] = ADRParameter(
        TimestepRandomization, _set_timestep_extra, 0.0, (0.0, 1.0 / TIMESTEP_RATE.support[0]),
        unit="s", source="Dactyl App. C.2 (1/λ, λ ≥ 1250)",
    )  # fmt: skip
    out["random_force_probability"] = ADRParameter(
        RandomForces, _set_force_probability, 0.0, (0.0, FORCE_PROBABILITY.support[1]), domain=(0.0, 1.0),
        unit="per step", source="Dactyl App. C.2",
    )  # fmt: skip
    for keyword, cap in (("uncorrelated_additive", 0.05), ("correlated_additive", 0.015),
                         ("uncorrelated_multiplicative", 0.015)):  # fmt: skip
        out[f"action_noise_{keyword}"] = ADRParameter(
            ActionNoise, p(_set_keyword, keyword), 0.0, (0.0, cap), unit="of range", source="Dactyl Table 8"
        )
    out["action_delay_probability"] = ADRParameter(
        ActionDelay, p(_set_keyword, "probability"), 0.0, (0.0, 0.5), domain=(0.0, 1.0), source="Dactyl App. C.2"
    )
    out["backlash_scale"] = ADRParameter(
        Backlash, p(_set_keyword, "scale"), 0.0, (0.0, 1.0), unit="× slack", source="Dactyl App. C.2 (calibrated)"
    )
    out["backlash_std"] = ADRParameter(
        Backlash, p(_set_keyword, "std"), 0.0, (0.0, 0.1), unit="rel. σ of log δ", source="Dactyl App. C.2"
    )
    for key, pair in DACTYL_OBSERVATION_NOISE.items():
        unit = "rad" if key == "object_quat" else "m"
        for index, kind in enumerate(("correlated", "uncorrelated")):
            out[f"observation_noise_{key}_{kind}"] = ADRParameter(
                ObservationNoise, p(_set_observation_sigma, key, index), 0.0, (0.0, pair[index]),
                unit=unit, source="Dactyl Table 7",
            )  # fmt: skip
    out["marker_dropout_rate"] = ADRParameter(
        MarkerFreeze, p(_set_keyword, "dropout_rate"), 0.0, (0.0, 0.2), unit="1/s", source="Dactyl App. C.2"
    )
    out["marker_occlusion_distance"] = ADRParameter(
        MarkerFreeze, p(_set_keyword, "marker_distance"), 0.0, (0.0, 0.02), unit="m", source="ours (App. C.2)"
    )
    out["marker_object_occlusion_distance"] = ADRParameter(
        MarkerFreeze, p(_set_keyword, "object_distance"), 0.0, (0.0, 0.035), unit="m", source="ours (App. C.2)"
    )
    return out


#: Every built-in ADR parameter, by name: the scalar magnitudes of the Dactyl wrappers with their caps.
DACTYL_ADR_PARAMETERS: dict[str, ADRParameter] = _builtin_parameters()


# ---------------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ADRConfig:
    """ADR's hyperparameters (defaults: Rubik's Cube paper, Table 15).

    Attributes:
        boundary_probability: ``p_b``, the chance that an episode is a boundary episode, in [0, 1].
        delta: ``Δ``, the step of a bound, as a fraction of that parameter's cap width, > 0.
        upper_threshold: ``t_H``: a buffer mean ``>=`` this widens the bound.
        lower_threshold: ``t_L``: a buffer mean ``<=`` this narrows the bound; must be ``< t_H``.
        buffer_size: ``m``, the results a bound collects before it is judged, >= 1.
        entropy_floor: ``ε``: widths below ``ε`` × the paper's cap width count as that in the entropy, in (0, 1].
    """

    boundary_probability: float = 0.5
    delta: float = 0.02
    upper_threshold: float = 20.0
    lower_threshold: float = 10.0
    buffer_size: int = 240
    entropy_floor: float = 1e-3

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "boundary_probability", check_probability("boundary_probability", self.boundary_probability)
        )
        object.__setattr__(self, "delta", check_positive("delta", self.delta))
        t_h = check_range("upper_threshold", (self.upper_threshold, self.upper_threshold))[0]
        t_l = check_range("lower_threshold", (self.lower_threshold, self.lower_threshold))[0]
        if not t_l < t_h:
            raise InvalidArgumentError(
                f"lower_threshold must be < upper_threshold, got lower_threshold={self.lower_threshold!r} "
                f">= upper_threshold={self.upper_threshold!r}"
            )
        object.__setattr__(self, "upper_threshold", t_h)
        object.__setattr__(self, "lower_threshold", t_l)
        object.__setattr__(self, "buffer_size", check_int("buffer_size", self.buffer_size, min_value=1))
        floor = check_positive("entropy_floor", self.entropy_floor)
        if floor > 1.0:
            raise InvalidArgumentError(f"entropy_floor must be in (0, 1], got {self.entropy_floor!r}")
        object.__setattr__(self, "entropy_floor", floor)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ADRConfig:
        """Build from a mapping of field names (unknown names are a ValueError)."""
        if not isinstance(data, Mapping):
            raise InvalidArgumentError(f"config must be a mapping of ADRConfig fields, got {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidArgumentError(f"config: unknown field(s) {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**dict(data))


#: The Rubik's Cube paper's ADR settings (Table 15): p_b 0.5, Δ 0.02 of the cap, t_H 20, t_L 10, m 240.
PAPER_ADR = ADRConfig()
#: CPU scale (2 cores, an hour, goal "z"; see docs/adr.md): ~10k boundary episodes an hour spread over 29
#: bounds leave ~200-400 results per bound, so m = 10 lets each bound be judged 20-40 times and Δ = 0.05 reaches
#: the cap in 20 widenings; thresholds sized to an hour-long policy's 1-3 consecutive successes per 8 s episode.
CPU_ADR = ADRConfig(boundary_probability=0.5, delta=0.05, upper_threshold=1.0, lower_threshold=0.25, buffer_size=10)


# ---------------------------------------------------------------------------------------------- state
def _resolve_parameters(parameters: Sequence[str] | Mapping[str, ADRParameter] | None) -> dict[str, ADRParameter]:
    if parameters is None:
        return dict(DACTYL_ADR_PARAMETERS)
    if isinstance(parameters, Mapping):
        out = dict(parameters)
        for name, spec in out.items():
            if not isinstance(name, str) or not isinstance(spec, ADRParameter):
                raise InvalidArgumentError(f"parameters must map names to ADRParameter, got {name!r}: {spec!r}")
    elif isinstance(parameters, str) or not isinstance(parameters, Sequence):
        raise InvalidArgumentError(
            f"parameters must be a sequence of ADR parameter names, a mapping name -> ADRParameter, or None, "
            f"got {parameters!r}"
        )
    else:
        unknown = [n for n in parameters if n not in DACTYL_ADR_PARAMETERS]
        if unknown:
            raise InvalidArgumentError(
                f"parameters: unknown ADR parameter name(s) {unknown}; expected some of {list(DACTYL_ADR_PARAMETERS)}"
            )
        out = {n: DACTYL_ADR_PARAMETERS[n] for n in parameters}
    if not out:
        raise InvalidArgumentError("parameters must name at least one ADR parameter, got none")
    return out


class ADRState:
    """The ADR ranges, per-bound performance buffers and counters: the one object ADR learns in.

    A single-env :class:`AutomaticDomainRandomization` owns one; with a vector env the training process holds
    one and feeds it the sub-envs' results (:meth:`record_infos`), then pushes changed ranges (:meth:`push`).

    Args:
        parameters: ADR parameter names (from :data:`DACTYL_ADR_PARAMETERS`), a mapping name ->
            :class:`ADRParameter` for custom ones, or None for every built-in parameter.
        caps: per parameter name, ``(low, high)`` limits replacing the default (paper) cap; may be wider
            than the paper's ("beyond"), must contain the nominal value.
        config: the ADR hyperparameters (default :data:`PAPER_ADR`).

    Raises:
        ValueError: on an unknown parameter name (in ``parameters`` or ``caps``) or an invalid cap / config.
    """

    def __init__(
        self,
        parameters: Sequence[str] | Mapping[str, ADRParameter] | None = None,
        *,
        caps: Mapping[str, tuple[float, float]] | None = None,
        config: ADRConfig | None = None,
    ) -> None:
        self.parameters = _resolve_parameters(parameters)
        if config is None:
            config = PAPER_ADR
        if not isinstance(config, ADRConfig):
            raise InvalidArgumentError(f"config must be an ADRConfig, got {config!r}")
        self.config = config
        caps = dict(caps or {})
        unknown = sorted(set(caps) - set(self.parameters))
        if unknown:
            raise InvalidArgumentError(f"caps: unknown ADR parameter name(s) {unknown}; expected some of "
                                       f"{list(self.parameters)}")  # fmt: skip
        self.caps: dict[str, tuple[float, float]] = {
            name: spec.check_cap(f"caps[{name!r}]", caps[name]) if name in caps else spec.cap
            for name, spec in self.parameters.items()
        }
        #: Current range ``(φL, φH)`` of every parameter.
        self.ranges: dict[str, tuple[float, float]] = {n: (s.nominal, s.nominal) for n, s in self.parameters.items()}
        #: Performance results collected per parameter and bound (cleared whenever the bound is judged).
        self.buffers: dict[str, dict[str, list[float]]] = {n: {b: [] for b in BOUNDS} for n in self.parameters}
        #: Counters: results recorded, results discarded as stale, widenings and narrowings.
        self.counts: dict[str, int] = {"results": 0, "stale": 0, "widened": 0, "narrowed": 0}

    # ---------------------------------------------------------------- geometry
    def step_size(self, name: str) -> float:
        """``Δ`` in the parameter's unit: ``delta`` times the width of its cap."""
        low, high = self.caps[name]
        return self.config.delta * (high - low)

    def movable_bounds(self, name: str) -> tuple[str, ...]:
        """The bounds of ``name`` that can move: ``low`` if the cap reaches below nominal, ``high`` if above."""
        low, high = self.caps[name]
        nominal = self.parameters[name].nominal
        return tuple(b for b, ok in zip(BOUNDS, (low < nominal, high > nominal), strict=True) if ok)

    @property
    def boundary_parameters(self) -> tuple[str, ...]:
        """Parameters a boundary episode can pin (those with a movable bound)."""
        return tuple(n for n in self.parameters if self.movable_bounds(n))

    def widths(self) -> dict[str, float]:
        """``φH − φL`` per parameter."""
        return {n: hi - lo for n, (lo, hi) in self.ranges.items()}

    def entropy(self) -> float:
        """ADR entropy in nats per dimension: mean of ``log(max(φH − φL, ε·s))`` (module docstring)."""
        floor = self.config.entropy_floor
        return float(np.mean([math.log(max(w, floor * self._reference(n))) for n, w in self.widths().items()]))

    def entropy_relative(self) -> float:
        """Mean of ``log(max(w, ε·s) / s)``, ``s`` the paper's cap width: 0 at the paper's ranges, log ε at nominal."""
        floor = self.config.entropy_floor
        return float(np.mean([math.log(max(w / self._reference(n), floor)) for n, w in self.widths().items()]))

    def _reference(self, name: str) -> float:
        """Width of the parameter's default (paper) cap (its own cap if that is zero-width)."""
        low, high = self.parameters[name].cap
        if high > low:
            return high - low
        low, high = self.caps[name]
        return high - low if high > low else 1.0

    # ---------------------------------------------------------------- learning
    def _check_result_names(self, parameter: Any, bound: Any) -> tuple[str, str]:
        if parameter not in self.parameters:
            raise InvalidArgumentError(
                f"parameter must be one of this ADR state's parameters {list(self.parameters)}, got {parameter!r}"
            )
        if bound not in BOUNDS:
            raise InvalidArgumentError(f"bound must be one of {BOUNDS}, got {bound!r}")
        return str(parameter), str(bound)

    def record(self, parameter: str, bound: str, performance: float, value: float | None = None) -> bool:
        """Add one boundary-episode result; judge the bound when its buffer is full.

        Args:
            parameter: the pinned parameter.
            bound: ``"low"`` or ``"high"``.
            performance: the episode's performance (finite).
            value: the bound's value the episode was pinned to; when given and the bound has moved since
                (a sub-env that had not received the new ranges yet), the result is counted as stale and dropped.

        Returns:
            Whether the range changed.

        Raises:
            ValueError: on an unknown parameter or bound, or a non-finite performance.
        """
        parameter, bound = self._check_result_names(parameter, bound)
        perf = check_range("performance", (performance, performance))[0]
        index = BOUNDS.index(bound)
        current = self.ranges[parameter][index]
        if value is not None and float(value) != current:
            self.counts["stale"] += 1
            return False
        buffer = self.buffers[parameter][bound]
        buffer.append(perf)
        self.counts["results"] += 1
        if len(buffer) < self.config.buffer_size:
            return False
        mean = float(np.mean(buffer))
        buffer.clear()
        if mean >= self.config.upper_threshold:
            new, kind = self._moved(parameter, index, widen=True), "widened"
        elif mean <= self.config.lower_threshold:
            new, kind = self._moved(parameter, index, widen=False), "narrowed"
        else:
            return False
        if new == current:
            return False
        rng = list(self.ranges[parameter])
        rng[index] = new
        self.ranges[parameter] = (rng[0], rng[1])
        self.counts[kind] += 1
        return True

    def _moved(self, name: str, index: int, *, widen: bool) -> float:
        """The bound ``index`` of ``name`` one step wider (towards its cap) or narrower (towards nominal)."""
        current = self.ranges[name][index]
        nominal = self.parameters[name].nominal
        step = self.step_size(name)
        target = self.caps[name][index] if widen else nominal
        outward = -1.0 if index == 0 else 1.0
        new = current + (outward if widen else -outward) * step
        new = min(new, target) if (index == 1) == widen else max(new, target)
        if abs(new - target) <= 1e-9 * max(step, 1e-300):  # land exactly on the cap / nominal despite rounding
            new = target
        return float(new)

    def record_result(self, result: Mapping[str, Any]) -> bool:
        """:meth:`record` from an ``info["adr_result"]`` dict (``parameter``, ``bound``, ``performance``, ``value``)."""
        if not isinstance(result, Mapping):
            raise InvalidArgumentError(f"result must be an info['adr_result'] mapping, got {result!r}")
        return self.record(result["parameter"], result["bound"], result["performance"], result.get("value"))

    def record_infos(self, infos: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bool:
        """Record every ``adr_result`` in one vector-env step's infos; return whether any range changed.

        Accepts SB3's list of per-env dicts and Gymnasium's vector dict of arrays (with its ``_adr_result``
        mask); results are taken in sub-env order, so the outcome does not depend on how they were batched.
        """
        changed = False
        if isinstance(infos, Mapping):
            results = infos.get("adr_result")
            if results is None:
                return False
            mask = np.asarray(infos.get("_adr_result", np.ones(len(results["parameter"]), bool)))
            for i in np.flatnonzero(mask):
                changed |= self.record(
                    results["parameter"][i], results["bound"][i], results["performance"][i],
                    results["value"][i] if "value" in results else None,
                )  # fmt: skip
            return changed
        for info in infos:
            result = info.get("adr_result")
            if result is not None:
                changed |= self.record_result(result)
        return changed

    def set_ranges(self, ranges: Mapping[str, Sequence[float]]) -> None:
        """Replace some ranges (e.g. pushed from the training process's state).

        Raises:
            ValueError: on an unknown name or a range that does not hold the nominal value or leaves the cap.
        """
        new = {}
        for name, rng in dict(ranges).items():
            if name not in self.parameters:
                raise InvalidArgumentError(f"ranges: unknown ADR parameter {name!r}; expected some of "
                                           f"{list(self.parameters)}")  # fmt: skip
            low, high = check_range(f"ranges[{name!r}]", tuple(rng))
            cap_low, cap_high = self.caps[name]
            nominal = self.parameters[name].nominal
            if not cap_low <= low <= nominal <= high <= cap_high:
                raise InvalidArgumentError(
                    f"ranges[{name!r}] must satisfy cap low {cap_low} <= low <= nominal {nominal} <= high <= cap "
                    f"high {cap_high}, got {rng!r}"
                )
            new[name] = (low, high)
        for name, rng in new.items():
            if rng != self.ranges[name]:
                for b, old, now in zip(BOUNDS, self.ranges[name], rng, strict=True):
                    if old != now:
                        self.buffers[name][b].clear()
            self.ranges[name] = rng

    def push(self, vec_env: Any) -> None:
        """Send the ranges to every sub-env's :class:`AutomaticDomainRandomization` (``set_adr_ranges``).

        Works with SB3 VecEnvs (``env_method``, also through VecNormalize) and Gymnasium vector envs (``call``).
        """
        ranges = {n: list(r) for n, r in self.ranges.items()}
        if hasattr(vec_env, "env_method"):
            vec_env.env_method("set_adr_ranges", ranges)
        elif hasattr(vec_env, "call"):
            vec_env.call("set_adr_ranges", ranges)
        else:
            raise InvalidArgumentError(f"vec_env must have env_method (SB3) or call (Gymnasium), got {vec_env!r}")

    # ---------------------------------------------------------------- persistence and logging
    def settings(self) -> dict[str, Any]:
        """What a sub-env needs to build the same ADR (JSON-safe): parameter names, caps and config."""
        return {
            "parameters": list(self.parameters),
            "caps": {n: list(c) for n, c in self.caps.items()},
            "config": asdict(self.config),
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-safe data (:meth:`from_dict` restores it)."""
        return {
            "format": _FORMAT,
            "version": 1,
            **self.settings(),
            "ranges": {n: list(r) for n, r in self.ranges.items()},
            "buffers": {n: {b: list(v) for b, v in bufs.items()} for n, bufs in self.buffers.items()},
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], parameters: Mapping[str, ADRParameter] | None = None) -> ADRState:
        """Rebuild a state from :meth:`to_dict` data.

        Args:
            data: the mapping.
            parameters: the :class:`ADRParameter` objects of custom (non built-in) parameter names.

        Raises:
            ValueError: on data that is not an ADR state or is inconsistent.
        """
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
            raise InvalidArgumentError(f"data must be an ADR state written by ADRState.to_dict, got {data!r:.200}")
        try:
            names = list(data["parameters"])
            specs = {n: (parameters or {}).get(n) or DACTYL_ADR_PARAMETERS.get(n) for n in names}
            missing = [n for n, s in specs.items() if s is None]
            if missing:
                raise InvalidArgumentError(f"data: unknown ADR parameter(s) {missing}; pass their ADRParameter")
            state = cls(specs, caps=data["caps"], config=ADRConfig.from_dict(data["config"]))
            state.set_ranges(data["ranges"])
            for name, bufs in data["buffers"].items():
                for bound, values in bufs.items():
                    state._check_result_names(name, bound)
                    state.buffers[name][bound] = [check_range("buffer value", (v, v))[0] for v in values]
            state.counts.update({k: int(v) for k, v in data.get("counts", {}).items() if k in state.counts})
        except (KeyError, TypeError) as err:
            raise InvalidArgumentError(f"data: malformed ADR state ({type(err).__name__}: {err})") from err
        return state

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON to ``path``, atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.to_dict(), f, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, parameters: Mapping[str, ADRParameter] | None = None) -> ADRState:
        """Read a state written by :meth:`save` (plain JSON; nothing is unpickled)."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise InvalidArgumentError(f"cannot read an ADR state from {str(path)!r}: {err}") from err
        return cls.from_dict(data, parameters)

    def row(self) -> dict[str, float]:
        """One flat log row: entropies, counters and every range (``<name>_low`` / ``<name>_high``)."""
        out: dict[str, float] = {"entropy": self.entropy(), "entropy_relative": self.entropy_relative()}
        out.update({k: float(v) for k, v in self.counts.items()})
        for name, (low, high) in self.ranges.items():
            out[f"{name}_low"] = low
            out[f"{name}_high"] = high
        return out


# ---------------------------------------------------------------------------------------------- wrapper
def _find_wrapper(env: gym.Env, cls: type) -> gym.Env | None:
    """The outermost instance of ``cls`` in ``env``'s wrapper chain (``env`` itself included), or None."""
    current: Any = env
    while True:
        if isinstance(current, cls):
            return current
        if not isinstance(current, gym.Wrapper):
            return None
        current = current.env


def _accepts(env: gym.Env, spec: ADRParameter) -> bool:
    """Whether ``spec``'s wrapper is in ``env`` and takes the parameter (e.g. ObservationNoise noises its key)."""
    target = _find_wrapper(env, spec.wrapper)
    if target is None:
        return False
    if isinstance(target, ObservationNoise):
        key = spec.apply.args[0] if isinstance(spec.apply, functools.partial) else None
        return key is None or key in target.sigmas
    return True


class AutomaticDomainRandomization(gym.Wrapper):
    """Automatic Domain Randomization over the randomization wrappers inside ``env`` (see the module docstring).

    Put it outermost (inside a Monitor is fine), around a stack such as ``dactyl_randomization(env)``: it must
    see every episode end. At each :meth:`reset` it decides whether the episode is a boundary episode and hands
    every parameter's setting to its wrapper through the wrapper's ``set_parameters`` hook, before the inner
    resets run. ``info["adr"]`` of ``reset`` holds ``{"boundary": (parameter, bound) or None, "values": ...}``;
    the step that ends a boundary episode carries ``info["adr_result"] = {"parameter", "bound", "value",
    "performance"}``. An episode reset before it ends gives no result.

    The wrapper's own random draws (boundary choice, per-episode values) come from a private stream derived
    from the reset seed (:func:`wrappers.distributions.episode_generator`), so ``reset(seed=s)`` reproduces the
    episode and sub-envs with different seeds draw differently.

    Args:
        env: the env holding the wrappers the parameters drive.
        parameters: ADR parameter names, a mapping name -> :class:`ADRParameter`, or None: every built-in
            parameter whose wrapper is in ``env`` (observation-noise parameters only for the keys the
            ObservationNoise there noises); named parameters whose wrapper is missing are an error.
        caps: per-parameter ``(low, high)`` limits replacing the defaults (see :class:`ADRState`).
        config: :class:`ADRConfig` (default :data:`PAPER_ADR`; :data:`CPU_ADR` for an hour on a CPU).
        performance: the ``info`` key read at the last step of an episode (default ``"consecutive_successes"``)
            or a callable ``f(info) -> float``.
        update: True: record results in :attr:`adr` and move its ranges (single env). False: only report them
            in ``info`` (sub-env of a vector env; the training process's :class:`ADRState` pushes ranges).
        state: an existing :class:`ADRState` to use (shared by several in-process envs, or restored from a
            checkpoint) instead of building one; then ``parameters``, ``caps`` and ``config`` must be None.

    Raises:
        ValueError: on a bad config, an unknown parameter name, a parameter whose wrapper is not in ``env``,
            a cap the wrapper refuses, or a performance that is neither a string nor callable.
    """

    def __init__(
        self,
        env: gym.Env,
        parameters: Sequence[str] | Mapping[str, ADRParameter] | None = None,
        *,
        caps: Mapping[str, tuple[float, float]] | None = None,
        config: ADRConfig | Mapping[str, Any] | None = None,
        performance: str | Callable[[dict[str, Any]], float] = "consecutive_successes",
        update: bool = True,
        state: ADRState | None = None,
    ) -> None:
        super().__init__(env)
        if isinstance(config, Mapping):
            config = ADRConfig.from_dict(config)
        if state is not None:
            if not isinstance(state, ADRState):
                raise InvalidArgumentError(f"state must be an ADRState or None, got {state!r}")
            if parameters is not None or caps is not None or config is not None:
                raise InvalidArgumentError("parameters, caps and config must be None when a state is given")
        else:
            if parameters is None:  # every built-in parameter whose wrapper is present and accepts it
                parameters = [n for n, s in DACTYL_ADR_PARAMETERS.items() if _accepts(env, s)]
                if not parameters:
                    raise InvalidArgumentError(
                        "env holds none of the randomization wrappers ADR drives (e.g. wrap it in "
                        "wrappers.dactyl_randomization first)"
                    )
            state = ADRState(parameters, caps=caps, config=config)
        if not (isinstance(performance, str) or callable(performance)):
            raise InvalidArgumentError(f"performance must be an info key (str) or callable(info), got {performance!r}")
        if not isinstance(update, bool):
            raise InvalidArgumentError(f"update must be a bool, got {update!r}")
        #: The ADR state (ranges, buffers, counters) this wrapper samples from.
        self.adr = state
        self.performance = performance
        self.update = update
        self._targets: dict[str, gym.Env] = {}
        for name, spec in state.parameters.items():
            target = _find_wrapper(env, spec.wrapper)
            if target is None:
                raise InvalidArgumentError(
                    f"parameters: ADR parameter {name!r} drives {spec.wrapper.__name__}, which is not in the env "
                    "stack; leave it out or add the wrapper"
                )
            self._targets[name] = target
        for name in state.parameters:  # let each wrapper validate its whole cap now, then start at nominal
            for value in (*state.caps[name], state.parameters[name].nominal):
                self._apply(name, value, value)
        self._rng: np.random.Generator | None = None
        self._boundary: tuple[str, str, float] | None = None
        self._open = False

    def _apply(self, name: str, low: float, high: float) -> Any:
        """Hand ``[low, high]`` (or one value drawn from it) to the parameter's wrapper; return what was set."""
        spec = self.adr.parameters[name]
        if spec.sampling == "uniform":
            spec.apply(self._targets[name], Uniform(low, high))
            return (low, high)
        if spec.sampling == "log_uniform":
            spec.apply(self._targets[name], LogUniform(low, high))
            return (low, high)
        value = low if low == high else float(low + (high - low) * self._rng.random())  # type: ignore[union-attr]
        spec.apply(self._targets[name], value)
        return value

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Choose the episode's boundary (if any), set every parameter in its wrapper, then reset the env."""
        self._rng = rng = episode_generator(self.env, seed, type(self).__name__, self._rng)
        adr = self.adr
        boundary: tuple[str, str] | None = None
        candidates = adr.boundary_parameters
        if rng.random() < adr.config.boundary_probability and candidates:
            name = candidates[int(rng.integers(len(candidates)))]
            bounds = adr.movable_bounds(name)
            boundary = (name, bounds[int(rng.integers(len(bounds)))])
        values: dict[str, Any] = {}
        self._boundary = None
        for name in adr.parameters:
            low, high = adr.ranges[name]
            if boundary is not None and boundary[0] == name:
                low = high = adr.ranges[name][BOUNDS.index(boundary[1])]
                self._boundary = (name, boundary[1], low)
            values[name] = self._apply(name, low, high)
        self._open = True
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info)
        info["adr"] = {"boundary": boundary, "values": values}
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; at the end of a boundary episode report (and, with ``update``, record) its result."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        if (terminated or truncated) and self._open:
            self._open = False
            if self._boundary is not None:
                name, bound, value = self._boundary
                result = {"parameter": name, "bound": bound, "value": value, "performance": self._performance(info)}
                info = dict(info)
                info["adr_result"] = result
                if self.update:
                    self.adr.record_result(result)
        return obs, reward, terminated, truncated, info

    def _performance(self, info: Mapping[str, Any]) -> float:
        if callable(self.performance):
            value = self.performance(dict(info))
            source = f"performance({type(self.performance).__name__})"
        else:
            if self.performance not in info:
                raise InvalidArgumentError(
                    f"performance: info has no key {self.performance!r} at the end of the episode "
                    f"(keys: {sorted(info)})"
                )
            value = info[self.performance]
            source = f"info[{self.performance!r}]"
        try:
            out = float(value)
        except (TypeError, ValueError):
            out = math.nan
        if not math.isfinite(out):
            raise InvalidArgumentError(f"{source} must be a finite number, got {value!r}")
        return out

    def set_adr_ranges(self, ranges: Mapping[str, Sequence[float]]) -> None:
        """Replace ranges of :attr:`adr` (what :meth:`ADRState.push` calls); effective at the next reset."""
        self.adr.set_ranges(ranges)

    def get_adr_ranges(self) -> dict[str, tuple[float, float]]:
        """The current ranges, by parameter name."""
        return dict(self.adr.ranges)
