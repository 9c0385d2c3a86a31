"""Fixtures for the randomization-wrapper tests: small fake envs that need neither MuJoCo nor Dactyl-v0."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from gym_dactyl.constants import OBS_DIMS, POLICY_KEYS, STATE_DIM, STATE_LAYOUT


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ]
    )


def _canon(q: np.ndarray) -> np.ndarray:
    q = q / np.linalg.norm(q)
    return -q if q[0] < 0 else q


class FakeDactylEnv(gym.Env):
    """A tiny Dict-observation env with the Dactyl keys and a Box(-1, 1, (n_actions,)) action.

    Observations follow a seeded random walk (the env consumes its own ``np_random`` every step, as the real
    env does), ``relative_goal_quat = goal ⊗ conj(object_quat)``, and ``state`` holds clean copies at the
    ``STATE_LAYOUT`` slices. ``clean_obs`` is the last observation returned, ``actions`` the actions received.
    Fingertip markers sit 5 cm apart, 20 cm from the object, unless ``marker_layout`` is given.
    """

    metadata = {"render_modes": []}
    dt = 0.08

    def __init__(
        self,
        n_actions: int = 20,
        walk: float = 0.002,
        max_steps: int = 10_000,
        marker_layout: np.ndarray | None = None,
        object_pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ):
        self.observation_space = spaces.Dict(
            {
                **{k: spaces.Box(-np.inf, np.inf, (OBS_DIMS[k],), np.float32) for k in ("fingertip_pos", "object_pos")},
                **{k: spaces.Box(-1.0, 1.0, (4,), np.float32) for k in ("object_quat", "relative_goal_quat")},
                "state": spaces.Box(-np.inf, np.inf, (STATE_DIM,), np.float32),
            }
        )
        assert tuple(k for k in self.observation_space.spaces if k != "state") == POLICY_KEYS
        self.action_space = spaces.Box(-1.0, 1.0, (n_actions,), np.float32)
        self.walk = walk
        self.max_steps = max_steps
        if marker_layout is None:
            marker_layout = np.array([[0.05 * i, 0.2, 0.0] for i in range(5)])
        self.marker_layout = np.asarray(marker_layout, dtype=np.float64).reshape(5, 3)
        self.object_pos0 = np.asarray(object_pos, dtype=np.float64)
        self.actions: list[np.ndarray] = []
        self.clean_obs: dict[str, np.ndarray] = {}

    def _obs(self) -> dict[str, np.ndarray]:
        rel = _canon(_quat_mul(self.goal, self.quat * np.array([1, -1, -1, -1])))
        state = np.zeros(STATE_DIM)
        state[STATE_LAYOUT["object_pos"]] = self.pos
        state[STATE_LAYOUT["object_quat"]] = self.quat
        state[STATE_LAYOUT["goal_quat"]] = self.goal
        state[STATE_LAYOUT["relative_goal_quat"]] = rel
        state[STATE_LAYOUT["fingertip_pos"]] = self.tips.ravel()
        obs = {
            "fingertip_pos": self.tips.ravel(),
            "object_pos": self.pos,
            "object_quat": self.quat,
            "relative_goal_quat": rel,
            "state": state,
        }
        obs = {k: v.astype(np.float32) for k, v in obs.items()}
        self.clean_obs = {k: v.copy() for k, v in obs.items()}
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.actions = []
        self.tips = self.marker_layout + self.walk * self.np_random.standard_normal((5, 3))
        self.pos = self.object_pos0 + self.walk * self.np_random.standard_normal(3)
        self.quat = _canon(self.np_random.standard_normal(4))
        self.goal = _canon(self.np_random.standard_normal(4))
        return self._obs(), {}

    def step(self, action):
        action = np.asarray(action)
        assert self.action_space.contains(action.astype(np.float32)), action
        self.actions.append(action.copy())
        self.t += 1
        self.tips = self.tips + self.walk * self.np_random.standard_normal((5, 3))
        self.pos = self.pos + self.walk * self.np_random.standard_normal(3)
        turn = np.concatenate(([1.0], 0.01 * self.np_random.standard_normal(3)))
        self.quat = _canon(_quat_mul(turn, self.quat))
        reward = -float(np.sum(np.square(action)))
        return self._obs(), reward, False, self.t >= self.max_steps, {}


class FakeBoxEnv(gym.Env):
    """A tiny env with a Box observation and a Box(low, high, shape) action; records the actions it gets."""

    metadata = {"render_modes": []}
    dt = 0.05

    def __init__(self, low: Any = -1.0, high: Any = 1.0, shape: tuple[int, ...] = (3,)):
        self.observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
        low, high = (np.broadcast_to(np.asarray(b, np.float32), shape).copy() for b in (low, high))
        self.action_space = spaces.Box(low, high, shape, np.float32)
        self.actions: list[np.ndarray] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.actions = []
        return self.np_random.standard_normal(2).astype(np.float32), {}

    def step(self, action):
        action = np.asarray(action)
        self.actions.append(action.copy())
        obs = self.np_random.standard_normal(2).astype(np.float32)
        return obs, float(np.sum(action)), False, len(self.actions) >= 200, {}


class FakeDiscreteActionEnv(FakeBoxEnv):
    """Same as FakeBoxEnv but with a MultiDiscrete action space (the wrong type for continuous wrappers)."""

    def __init__(self):
        super().__init__()
        self.action_space = spaces.MultiDiscrete([11] * 3)


def dactyl_env_available() -> bool:
    """Whether gym_dactyl's real env is importable and registered (it is being written in parallel)."""
    try:
        import gym_dactyl  # noqa: F401

        gym.spec("Dactyl-v0")
        return True
    except Exception:  # noqa: BLE001 - any import/registration failure means "not there yet"
        return False


def make_dactyl(**kwargs: Any) -> gym.Env:
    """The real env with continuous actions (for the real-env tests)."""
    return gym.make("Dactyl-v0", action_type="continuous", **kwargs)


def rollout(env: gym.Env, seed: int, n: int, actions: list[np.ndarray] | None = None) -> list[Any]:
    """Observations of ``reset(seed)`` then ``n`` steps (the given actions, else zeros)."""
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for i in range(n):
        a = actions[i] if actions is not None else np.zeros(env.action_space.shape, env.action_space.dtype)
        obs, *_ = env.step(a)
        out.append(obs)
    return out


def assert_obs_equal(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    else:
        np.testing.assert_array_equal(a, b)


def obs_differ(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return any(not np.array_equal(a[k], b[k]) for k in a)
    return not np.array_equal(a, b)


@pytest.fixture(scope="session")
def fx() -> SimpleNamespace:
    """The fake envs and helpers, as a session fixture (usable inside hypothesis tests)."""
    return SimpleNamespace(
        FakeDactylEnv=FakeDactylEnv,
        FakeBoxEnv=FakeBoxEnv,
        FakeDiscreteActionEnv=FakeDiscreteActionEnv,
        rollout=rollout,
        assert_obs_equal=assert_obs_equal,
        obs_differ=obs_differ,
    )


@pytest.fixture(scope="session")
def dactyl_make() -> Callable[..., gym.Env]:
    """``make_dactyl`` if gym_dactyl's real env is available, else skip the test."""
    if not dactyl_env_available():
        pytest.skip("gym_dactyl's Dactyl-v0 is not available yet")
    return make_dactyl


@pytest.fixture
def dactyl_fake() -> FakeDactylEnv:
    return FakeDactylEnv()


@pytest.fixture
def box_fake() -> FakeBoxEnv:
    return FakeBoxEnv()
