"""AutomaticDomainRandomization: learning rule, entropy, caps, persistence, vector aggregation, hooks, Dactyl stack."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wrappers import (
    CPU_ADR,
    DACTYL_ADR_PARAMETERS,
    PAPER_ADR,
    ActionDelay,
    ActionNoise,
    ADRConfig,
    ADRParameter,
    ADRState,
    AutomaticDomainRandomization,
    Backlash,
    MarkerFreeze,
    ObservationNoise,
    PhysicsRandomization,
    RandomForces,
    TimestepRandomization,
    dactyl_randomization,
)
from wrappers.distributions import Constant, Distribution, LogUniform, Normal, Uniform


# ------------------------------------------------------------------ a synthetic task: success depends on parameters
class LevelEnv(gym.Env):
    """One-step episodes whose ``consecutive_successes`` is ``success(level, spread)``.

    ``level`` is a scalar set per episode by :class:`Level`; ``spread`` is drawn from the distribution it holds.
    """

    metadata = {"render_modes": []}

    def __init__(self, success: Any, episode_steps: int = 1) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.success = success
        self.episode_steps = episode_steps
        self.level = 0.0
        self.spread = 1.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.episode_steps
        info = {"consecutive_successes": self.success(self.level, self.spread)}
        return np.zeros(1, np.float32), 0.0, done, False, info


class Level(gym.Wrapper):
    """A minimal randomization wrapper with the ``set_parameters`` hook: a level and a spread distribution."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.level = 0.0
        self.spread: Distribution = Constant(1.0)

    def set_parameters(self, *, level: float | None = None, spread: Distribution | None = None) -> None:
        if level is not None:
            if not math.isfinite(level):
                raise ValueError(f"level must be finite, got {level}")
            self.level = level
        if spread is not None:
            self.spread = spread

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.env.unwrapped.level = self.level
        self.env.unwrapped.spread = float(self.spread.sample(self.np_random))
        return obs, info


def _set_level(wrapper: Level, value: float) -> None:
    wrapper.set_parameters(level=value)


def _set_spread(wrapper: Level, dist: Distribution) -> None:
    wrapper.set_parameters(spread=dist)


LEVEL = ADRParameter(Level, _set_level, 0.0, (-1.0, 1.0), "value", domain=(-math.inf, math.inf))
SPREAD = ADRParameter(Level, _set_spread, 1.0, (0.5, 2.0), "log_uniform")
PARAMS = {"level": LEVEL, "spread": SPREAD}


def _band(level: float, spread: float) -> float:
    """30 successes while -0.35 <= level <= 0.55 (spread irrelevant), else 0."""
    return 30.0 if -0.35 <= level <= 0.55 else 0.0


def _always(level: float, spread: float) -> float:
    return 30.0


def make_level_env(success=_band, update: bool = True, config: ADRConfig | None = None, **kwargs) -> gym.Env:
    return AutomaticDomainRandomization(
        Level(LevelEnv(success)), PARAMS, config=config or ADRConfig(delta=0.05, buffer_size=4), update=update,
        **kwargs,
    )  # fmt: skip


def run(env: gym.Env, episodes: int, seed: int = 0) -> list[dict[str, Any]]:
    """Run one-step episodes; return the ``adr_result`` infos in order."""
    results = []
    env.reset(seed=seed)
    for _ in range(episodes):
        _, _, term, trunc, info = env.step(np.zeros(1, np.float32))
        if "adr_result" in info:
            results.append(info["adr_result"])
        if term or trunc:
            env.reset()
    return results


# ------------------------------------------------------------------ learning rule
def test_range_widens_where_performance_is_high_and_narrows_where_low() -> None:
    env = make_level_env()
    adr = env.adr
    run(env, 3000)
    low, high = adr.ranges["level"]
    # Success ends at -0.35 / 0.55; steps are 0.1 (0.05 of the cap width 2): each bound settles on the last
    # successful step or one beyond it, where it fails and is narrowed back.
    assert -0.4 - 1e-9 <= low <= -0.3 + 1e-9 and 0.5 - 1e-9 <= high <= 0.6 + 1e-9, (low, high)
    assert adr.counts["widened"] > 10 and adr.counts["narrowed"] > 0
    assert adr.ranges["spread"] == (0.5, 2.0)  # always succeeds: widened to its cap and held there


def test_middling_performance_moves_nothing_and_clears_the_buffer() -> None:
    state = ADRState(PARAMS, config=ADRConfig(buffer_size=3))
    for perf in (15.0, 12.0, 18.0):
        assert not state.record("level", "high", perf)
    assert state.ranges["level"] == (0.0, 0.0) and state.buffers["level"]["high"] == []
    for _ in range(3):
        changed = state.record("level", "high", 20.0)  # mean == t_H widens (>=)
    assert changed and state.ranges["level"] == (0.0, 0.04)
    for _ in range(3):
        changed = state.record("level", "high", 10.0)  # mean == t_L narrows (<=)
    assert changed and state.ranges["level"] == (0.0, 0.0)
    for _ in range(3):
        changed = state.record("level", "high", 0.0)  # never narrower than nominal
    assert not changed and state.ranges["level"] == (0.0, 0.0)


def test_stale_results_are_dropped() -> None:
    state = ADRState(PARAMS, config=ADRConfig(buffer_size=1))
    assert state.record("level", "high", 30.0, value=0.0)
    assert not state.record("level", "high", 30.0, value=0.0)  # pinned to the old bound: stale
    assert state.counts["stale"] == 1 and state.ranges["level"] == (0.0, 0.04)


def test_boundary_episodes_pin_one_movable_bound() -> None:
    params = {"level": LEVEL, "spread": ADRParameter(Level, _set_spread, 1.0, (1.0, 2.0), "log_uniform")}
    env = AutomaticDomainRandomization(Level(LevelEnv(_always)), params, config=ADRConfig(boundary_probability=1.0))
    env.adr.set_ranges({"level": (-0.5, 0.5), "spread": (1.0, 1.5)})
    seen = set()
    for seed in range(60):
        _, info = env.reset(seed=seed)
        name, bound = info["adr"]["boundary"]
        seen.add((name, bound))
        pinned = env.adr.ranges[name][("low", "high").index(bound)]
        if name == "level":
            assert env.unwrapped.level == pinned
        else:
            assert info["adr"]["values"]["spread"] == (pinned, pinned) and env.unwrapped.spread == pinned
    assert seen == {("level", "low"), ("level", "high"), ("spread", "high")}  # spread's low is fixed at nominal
    env = AutomaticDomainRandomization(Level(LevelEnv(_always)), params, config=ADRConfig(boundary_probability=0.0))
    env.adr.set_ranges({"level": (-0.5, 0.5)})
    levels = [env.reset(seed=s)[1]["adr"]["values"]["level"] for s in range(200)]
    assert all(-0.5 <= v <= 0.5 for v in levels) and min(levels) < -0.4 and max(levels) > 0.4
    assert all(env.reset(seed=s)[1]["adr"]["boundary"] is None for s in range(20))


def test_custom_performance_key_and_callable() -> None:
    env = make_level_env(config=ADRConfig(boundary_probability=1.0, buffer_size=1), performance=lambda info: 25.0)
    run(env, 4)
    assert env.adr.counts["widened"] == 4
    env = make_level_env(performance="missing")
    env.reset(seed=0)
    env.adr.config = ADRConfig(boundary_probability=1.0)
    env.reset(seed=1)
    with pytest.raises(ValueError, match="missing"):
        env.step(np.zeros(1, np.float32))
    env = make_level_env(config=ADRConfig(boundary_probability=1.0), performance=lambda info: float("nan"))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.zeros(1, np.float32))


def test_seeded_runs_reproduce() -> None:
    a, b = make_level_env(), make_level_env()
    assert run(a, 500, seed=7) == run(b, 500, seed=7)
    assert a.adr.to_dict() == b.adr.to_dict()
    c = make_level_env()
    assert run(c, 500, seed=8) != run(make_level_env(), 500, seed=7)


# ------------------------------------------------------------------ entropy and caps (property tests)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    delta=st.floats(0.01, 0.6),
    m=st.integers(1, 4),
    p_b=st.floats(0.2, 1.0),
    cap_low=st.floats(-3.0, 0.0),
    cap_high=st.floats(0.0, 3.0),
    seed=st.integers(0, 10_000),
)
def test_entropy_monotone_under_success_and_caps_respected(delta, m, p_b, cap_low, cap_high, seed) -> None:
    config = ADRConfig(boundary_probability=p_b, delta=delta, buffer_size=m)
    caps = {"level": (cap_low, cap_high), "spread": (1.0, 2.0)}
    env = AutomaticDomainRandomization(Level(LevelEnv(_always)), PARAMS, caps=caps, config=config)
    start = env.adr.entropy()
    entropies = [start]
    env.reset(seed=seed)
    for _ in range(150):
        env.step(np.zeros(1, np.float32))
        env.reset()
        entropies.append(env.adr.entropy())
        for name, (low, high) in env.adr.ranges.items():
            c_low, c_high = env.adr.caps[name]
            assert c_low <= low <= PARAMS[name].nominal <= high <= c_high
    assert all(b >= a for a, b in zip(entropies, entropies[1:], strict=False))
    assert min(entropies) >= start


@settings(max_examples=40, deadline=None)
@given(perfs=st.lists(st.tuples(st.sampled_from(["low", "high"]), st.floats(0.0, 40.0)), max_size=300),
       m=st.integers(1, 5), delta=st.floats(0.01, 1.0))  # fmt: skip
def test_entropy_never_below_nominal_and_ranges_in_caps(perfs, m, delta) -> None:
    state = ADRState(PARAMS, config=ADRConfig(delta=delta, buffer_size=m))
    nominal = state.entropy()
    for bound, perf in perfs:
        state.record("level", bound, perf)
        low, high = state.ranges["level"]
        assert -1.0 <= low <= 0.0 <= high <= 1.0
        assert state.entropy() >= nominal and state.entropy_relative() >= math.log(state.config.entropy_floor)


def test_entropy_definition() -> None:
    state = ADRState(PARAMS)
    floor = state.config.entropy_floor
    assert state.entropy() == pytest.approx(np.mean([math.log(floor * 2.0), math.log(floor * 1.5)]))
    assert state.entropy_relative() == pytest.approx(math.log(floor))
    state.set_ranges({"level": (-1.0, 1.0), "spread": (0.5, 2.0)})  # the default caps: relative entropy 0
    assert state.entropy() == pytest.approx(np.mean([math.log(2.0), math.log(1.5)]))
    assert state.entropy_relative() == pytest.approx(0.0)
    wide = ADRState(PARAMS, caps={"level": (-2.0, 2.0)})  # beyond the default cap: relative entropy > 0
    wide.set_ranges({"level": (-2.0, 2.0), "spread": (0.5, 2.0)})
    assert wide.entropy_relative() == pytest.approx(math.log(2.0) / 2)


# ------------------------------------------------------------------ persistence
def test_state_round_trips_through_json(tmp_path) -> None:
    env = make_level_env()
    run(env, 700, seed=3)
    state = env.adr
    assert any(state.buffers[n][b] for n in state.buffers for b in ("low", "high"))  # a non-trivial state
    data = json.loads(json.dumps(state.to_dict()))
    restored = ADRState.from_dict(data, PARAMS)
    assert restored.to_dict() == state.to_dict()
    path = state.save(tmp_path / "adr.json")
    assert ADRState.load(path, PARAMS).to_dict() == state.to_dict()
    # the restored state continues exactly as the original would
    for perf in (30.0, 0.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0):
        assert state.record("level", "high", perf) == restored.record("level", "high", perf)
    assert restored.to_dict() == state.to_dict()
    builtin = ADRState(["mass_scale", "gravity_sigma"], caps={"mass_scale": (0.2, 2.0)}, config=CPU_ADR)
    assert ADRState.from_dict(builtin.to_dict()).to_dict() == builtin.to_dict()


def test_load_refuses_garbage(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(ValueError, match="bad.json"):
        ADRState.load(bad)
    with pytest.raises(ValueError, match="ADR state"):
        ADRState.from_dict({"ranges": {}})
    data = ADRState(["mass_scale"]).to_dict()
    with pytest.raises(ValueError, match="unknown ADR parameter"):
        ADRState.from_dict({**data, "parameters": ["nope"]})
    with pytest.raises(ValueError, match="mass_scale"):
        ADRState.from_dict({**data, "ranges": {"mass_scale": [1.2, 1.3]}})  # does not hold the nominal value
    with pytest.raises(ValueError, match="malformed"):
        ADRState.from_dict({k: v for k, v in data.items() if k != "buffers"})


# ------------------------------------------------------------------ vector envs
@settings(max_examples=30, deadline=None)
@given(n_envs=st.integers(1, 5), seed=st.integers(0, 1000), data=st.data())
def test_vector_aggregation_equals_single_env(n_envs, seed, data) -> None:
    single = make_level_env()
    results = run(single, 400, seed=seed)
    central = ADRState(PARAMS, config=single.adr.config)
    # The same outcomes arrive batched as vector-env steps (each step: up to n_envs infos, some without results),
    # alternately in SB3's list-of-dicts and Gymnasium's dict-of-arrays form.
    i, step = 0, 0
    while i < len(results):
        k = data.draw(st.integers(1, n_envs))
        batch = results[i : i + k]
        i += len(batch)
        infos = [{"adr_result": r} for r in batch] + [{} for _ in range(n_envs - len(batch))]
        if step % 2:
            central.record_infos(infos)
        else:
            mask = np.array([bool(info) for info in infos])
            arrays = {key: np.array([info["adr_result"][key] if info else 0 for info in infos], dtype=object)
                      for key in ("parameter", "bound", "value", "performance")}  # fmt: skip
            central.record_infos({"adr_result": arrays, "_adr_result": mask})
        step += 1
    assert central.to_dict() == single.adr.to_dict()


def _level_env_fn(update: bool = False) -> gym.Env:
    return make_level_env(update=update)


def test_async_vector_env_reports_and_the_central_state_pushes() -> None:
    envs = gym.vector.AsyncVectorEnv([functools.partial(_level_env_fn) for _ in range(3)], context="fork")
    central = ADRState(PARAMS, config=ADRConfig(delta=0.05, buffer_size=4))
    try:
        envs.reset(seed=0)
        pushes = 0
        for _ in range(400):
            _, _, _, _, infos = envs.step(np.zeros((3, 1), np.float32))
            if central.record_infos(infos):
                central.push(envs)
                pushes += 1
        assert pushes > 5 and central.counts["widened"] > 5
        for ranges in envs.call("get_adr_ranges"):
            assert ranges == central.ranges  # every sub-env samples from the central ranges
        for adr_state_ranges in envs.get_attr("adr"):
            assert adr_state_ranges.counts["results"] == 0  # sub-envs only report (update=False)
    finally:
        envs.close()
    assert 0.5 - 1e-9 <= central.ranges["level"][1] <= 0.6 + 1e-9


def test_sb3_subproc_vec_env_push() -> None:
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = SubprocVecEnv([_level_env_fn, _level_env_fn], start_method="fork")
    try:
        central = ADRState(PARAMS)
        central.set_ranges({"level": (-0.2, 0.3)})
        central.push(venv)
        assert venv.env_method("get_adr_ranges") == [central.ranges] * 2
    finally:
        venv.close()
    with pytest.raises(ValueError, match="env_method"):
        central.push(object())


# ------------------------------------------------------------------ configuration errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(delta=-0.02), "delta"),
        (dict(delta=0.0), "delta"),
        (dict(lower_threshold=20.0, upper_threshold=20.0), "lower_threshold"),
        (dict(lower_threshold=25.0), "lower_threshold"),
        (dict(buffer_size=0), "buffer_size"),
        (dict(buffer_size=2.5), "buffer_size"),
        (dict(boundary_probability=1.5), "boundary_probability"),
        (dict(upper_threshold=float("nan")), "upper_threshold"),
        (dict(entropy_floor=0.0), "entropy_floor"),
    ],
)
def test_bad_config_is_a_value_error(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        ADRConfig(**kwargs)


def test_bad_parameters_and_caps_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown ADR parameter.*'nope'"):
        ADRState(["mass_scale", "nope"])
    with pytest.raises(ValueError, match="caps: unknown"):
        ADRState(["mass_scale"], caps={"friction_scale": (0.5, 1.5)})
    with pytest.raises(ValueError, match="nominal"):
        ADRState(["mass_scale"], caps={"mass_scale": (1.1, 1.5)})
    with pytest.raises(ValueError, match="mass_scale"):
        ADRState(["mass_scale"], caps={"mass_scale": (0.0, 1.5)})  # masses must stay > 0
    with pytest.raises(ValueError, match="damping_scale"):
        ADRState(["damping_scale"], caps={"damping_scale": (0.0, 3.0)})  # log-uniform needs > 0
    with pytest.raises(ValueError, match="action_delay_probability"):
        ADRState(["action_delay_probability"], caps={"action_delay_probability": (0.0, 1.5)})
    with pytest.raises(ValueError, match="at least one"):
        ADRState([])
    with pytest.raises(ValueError, match="config"):
        ADRState(config={"delta": 0.1})
    with pytest.raises(ValueError, match="unknown field"):
        ADRConfig.from_dict({"detla": 0.1})
    with pytest.raises(ValueError, match="not in the env"):
        AutomaticDomainRandomization(Level(LevelEnv(_always)), ["mass_scale"])
    with pytest.raises(ValueError, match="none of the randomization wrappers"):
        AutomaticDomainRandomization(LevelEnv(_always))
    with pytest.raises(ValueError, match="performance"):
        make_level_env(performance=3)
    with pytest.raises(ValueError, match="must be None when a state"):
        AutomaticDomainRandomization(Level(LevelEnv(_always)), PARAMS, state=ADRState(PARAMS))
    with pytest.raises(ValueError, match="sampling"):
        ADRParameter(Level, _set_level, 0.0, (-1.0, 1.0), "gaussian")
    state = ADRState(PARAMS)
    with pytest.raises(ValueError, match="bound"):
        state.record("level", "middle", 1.0)
    with pytest.raises(ValueError, match="parameter"):
        state.record("nope", "low", 1.0)
    with pytest.raises(ValueError, match="performance"):
        state.record("level", "low", float("inf"))
    with pytest.raises(ValueError, match="ranges"):
        state.set_ranges({"level": (-2.0, 0.5)})  # outside the cap
    assert state.ranges["level"] == (0.0, 0.0)


def test_shared_state_between_in_process_envs() -> None:
    state = ADRState(PARAMS, config=ADRConfig(delta=0.05, buffer_size=4))
    envs = [AutomaticDomainRandomization(Level(LevelEnv(_band)), state=state) for _ in range(2)]
    for seed, env in enumerate(envs):
        run(env, 300, seed=seed)
    assert envs[0].adr is envs[1].adr and state.counts["results"] > 0 and state.ranges["level"][1] >= 0.5 - 1e-9


# ------------------------------------------------------------------ the wrappers' hooks
def test_hooks_take_effect_at_the_next_reset(fx) -> None:
    env = ActionNoise(fx.FakeBoxEnv(), 0.0, 0.0, 0.0)
    env.reset(seed=0)
    a = np.full(3, 0.5, np.float32)
    env.set_parameters(uncorrelated_additive=0.3)
    np.testing.assert_array_equal(env.action(a), a)  # mid-episode: unchanged
    env.reset(seed=0)
    assert not np.array_equal(env.action(a), a)
    with pytest.raises(ValueError, match="correlated_additive"):
        env.set_parameters(uncorrelated_additive=0.1, correlated_additive=-1.0)
    assert env.uncorrelated_additive == 0.3  # nothing changed

    delay = ActionDelay(fx.FakeBoxEnv(), probability=0.0)
    delay.set_parameters(probability=1.0)
    assert delay.reset(seed=0)[1]["action_delay_mask"].all()
    with pytest.raises(ValueError, match="probability"):
        delay.set_parameters(probability=2.0)

    backlash = Backlash(fx.FakeBoxEnv(), log_rate_up=1.0, log_rate_down=1.0, std=0.0, scale=0.0)
    backlash.reset(seed=0)
    backlash.set_parameters(scale=1.0, std=0.1)
    np.testing.assert_array_equal(backlash.action(a), a)  # identity until the next reset
    backlash.reset(seed=0)
    assert not np.array_equal(backlash.action(a), a)
    with pytest.raises(ValueError, match="std"):
        backlash.set_parameters(std=-0.1)

    obs_env = ObservationNoise(fx.FakeDactylEnv(), scale=1.0, sigmas={"object_pos": (0.0, 0.0)})
    obs, _ = obs_env.reset(seed=0)
    np.testing.assert_array_equal(obs["object_pos"], obs_env.env.clean_obs["object_pos"])
    obs_env.set_parameters(sigmas={"object_pos": (0.0, 0.01)})
    obs, *_ = obs_env.step(np.zeros(20, np.float32))
    np.testing.assert_array_equal(obs["object_pos"], obs_env.env.clean_obs["object_pos"])  # not mid-episode
    obs, _ = obs_env.reset(seed=0)
    assert not np.array_equal(obs["object_pos"], obs_env.env.clean_obs["object_pos"])
    with pytest.raises(ValueError, match="fingertip_pos"):
        obs_env.set_parameters(sigmas={"fingertip_pos": (0.1, 0.1)})

    freeze = MarkerFreeze(fx.FakeDactylEnv(), dropout_rate=0.0, marker_distance=0.0, object_distance=0.0)
    freeze.reset(seed=0)
    freeze.set_parameters(dropout_rate=1000.0)
    assert freeze.dropout_probability == 0.0
    freeze.reset(seed=0)
    assert freeze.dropout_probability > 0.99
    with pytest.raises(ValueError, match="marker_distance"):
        freeze.set_parameters(marker_distance=float("nan"))


def test_mujoco_hooks(dactyl_make) -> None:
    env = PhysicsRandomization(dactyl_make(), scale=1.0)
    env.set_parameters(mass_scale=Constant(1.3), gravity_offset=None)
    _, info = env.reset(seed=0)
    assert np.all(info["physics"]["mass_scale"] == 1.3) and "gravity_offset" not in info["physics"]
    with pytest.raises(ValueError, match="nope"):
        env.set_parameters(nope=Constant(1.0))
    with pytest.raises(ValueError, match="mass_scale"):
        env.set_parameters(friction_scale=Constant(1.0), mass_scale=Uniform(-1.0, 1.0))
    assert env._dists["friction_scale"] != Constant(1.0)  # nothing changed on error
    timestep = TimestepRandomization(dactyl_make())
    timestep.set_parameters(rate=None)
    _, info = timestep.reset(seed=0)
    assert info["timestep"] == timestep.base and info["timestep_rate"] == math.inf
    forces = RandomForces(dactyl_make())
    forces.set_parameters(probability=Constant(0.0))
    assert forces.reset(seed=0)[1]["random_force_probability"] == 0.0
    with pytest.raises(ValueError, match="probability"):
        forces.set_parameters(probability=Uniform(0.5, 1.5))


# ------------------------------------------------------------------ on the Dactyl stack
def test_dactyl_stack_starts_nominal_and_expands_to_the_paper_ranges(dactyl_make) -> None:
    bare = dactyl_make()
    env = AutomaticDomainRandomization(dactyl_randomization(dactyl_make()), config=CPU_ADR)
    assert set(env.adr.parameters) == set(DACTYL_ADR_PARAMETERS)  # the whole stack: every built-in parameter
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, 20).astype(np.float32) for _ in range(15)]
    # At the start every range is the nominal point: the episode is exactly the unrandomized env's.
    for obs_a, obs_b in zip(
        [bare.reset(seed=5)[0]] + [bare.step(a)[0] for a in actions],
        [env.reset(seed=5)[0]] + [env.step(a)[0] for a in actions], strict=True,
    ):  # fmt: skip
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
    # Fully widened: the scalings are exactly Dactyl Table 1's distributions, the magnitudes within the paper's.
    env.adr.set_ranges(env.adr.caps)
    env.adr.config = ADRConfig(boundary_probability=0.0)
    _, info = env.reset(seed=1)
    physics = env.get_wrapper_attr("_dists")
    assert physics["mass_scale"] == Uniform(0.5, 1.5) and physics["damping_scale"] == LogUniform(0.3, 3.0)
    assert physics["actuator_gain_scale"] == LogUniform(0.75, 1.5)
    assert isinstance(physics["gravity_offset"], Normal) and 0 <= physics["gravity_offset"].sigma <= 0.4
    noise = next(w for w in _chain(env) if isinstance(w, ActionNoise))
    assert 0 <= noise.uncorrelated_additive <= 0.05 and 0 <= noise.correlated_additive <= 0.015
    values = info["adr"]["values"]
    assert values["mass_scale"] == (0.5, 1.5) and 0 <= values["timestep_extra_mean"] <= 8e-4
    assert env.adr.entropy_relative() == pytest.approx(0.0)
    env.close()
    assert PAPER_ADR.buffer_size == 240 and PAPER_ADR.upper_threshold == 20 and PAPER_ADR.lower_threshold == 10


def _chain(env: gym.Env):
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env


def test_default_parameters_follow_the_stack(dactyl_make) -> None:
    only_object = {"sigmas": {"object_pos": (0.005, 0.001)}}
    partial = dactyl_randomization(dactyl_make(), physics=False, observation_noise=only_object)
    names = set(AutomaticDomainRandomization(partial).adr.parameters)
    assert not names & {"mass_scale", "gravity_sigma", "observation_noise_fingertip_pos_correlated"}
    assert {"observation_noise_object_pos_correlated", "action_delay_probability", "timestep_extra_mean"} <= names
    with pytest.raises(ValueError, match="fingertip_pos"):
        AutomaticDomainRandomization(dactyl_randomization(dactyl_make(), observation_noise={"sigmas": {}}),
                                     ["observation_noise_fingertip_pos_correlated"])  # fmt: skip
