"""The env's per-step hot path is bitwise the straightforward code it replaced (issue 13, "the env's own Python").

``ReferenceDactylEnv`` below holds, verbatim, the per-step methods of ``DactylEnv`` as they were before the hot
path was optimised (commit 275e168: observation assembly by per-key slices and fancy indexing, the action check
with its separate finiteness test, the warning count over ``data.warning[i]``). Both classes are stepped side by
side from the same seeds with the same actions, bare and under the full randomization stack, through successes
(new goals mid-step), drops, timeouts, success-terminations and a physics blow-up; every observation, reward,
``terminated`` / ``truncated`` flag, info dict and the simulator state must be bitwise equal. Run in one process
against a reference in the same process, the test holds on any CPU (no stored numbers that depend on the
platform's floating point).
"""

from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np
import pytest

from gym_dactyl import constants as C
from gym_dactyl.dactyl_env import _PHYSICS_WARNINGS, DactylEnv
from wrappers import dactyl_randomization


class ReferenceDactylEnv(DactylEnv):
    """``DactylEnv`` with the per-step methods of commit 275e168, verbatim (the golden of this test)."""

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        a = self._unit_action(action)
        if self.action_smoothing is not None:
            self._smoothed += self.action_smoothing * (a - self._smoothed)
            a = self._smoothed
        m, d = self.model, self.data
        qpos = d.qpos
        buf = self._act_buf
        np.multiply(a, self._act_half, out=buf)
        if self.relative_to == "angle":
            center = qpos[self._act_qpos]
            center[self._coupled_act] += qpos[self._coupled_qpos]
            buf += center[self._act_sel]
        else:
            buf += self._target[self._act_sel]
        np.clip(buf, self._act_low, self._act_high, out=buf)
        self._target[self._act_sel] = buf
        d.ctrl[:] = self._target
        mujoco.mj_step(m, d, nstep=self.frame_skip)
        self._sync_kinematics()

        count = self._count_warnings()
        if count != self._warning_count or not np.isfinite(qpos).all():
            self._warning_count = count
            info = self._info(False, False)
            info["physics_error"] = "MuJoCo reported an instability (bad qacc/qpos/qvel); episode truncated"
            return self._get_obs(), 0.0, False, True, info

        obs = self._get_obs()
        error = self._error()
        reward = self._rotation_error - error
        success = error < self.success_threshold
        if success:
            reward += C.SUCCESS_BONUS
            self._consecutive += 1
            if self._consecutive < self.max_consecutive_successes:
                self._set_goal(self._sample_goal())
                self._goal_start_time = float(d.time)
                self._fill_goal_obs(obs)
                error = self._error()
        self._rotation_error = error
        dropped = bool(qpos[self._obj_qpos + 2] < self.drop_height)
        if dropped:
            reward += C.DROP_PENALTY
        terminated = dropped or self._consecutive >= self.max_consecutive_successes
        truncated = (not terminated) and (d.time - self._goal_start_time) >= self.goal_timeout_s - 1e-9
        return obs, float(reward), terminated, bool(truncated), self._info(success, dropped)

    def _unit_action(self, action: Any) -> np.ndarray:
        a = np.asarray(action)
        n = len(self._act_low)
        if a.shape != (n,):
            raise ValueError(f"action must have shape ({n},), got shape {a.shape}")
        if self.action_type == "discrete":
            if a.dtype.kind not in "iu":
                if a.dtype.kind != "f" or not np.array_equal(a, np.round(a)):
                    raise ValueError(
                        f"action must hold integer bins in [0, {C.ACTION_BINS - 1}] for "
                        f"action_type='discrete', got {a!r}"
                    )
            if a.min() < 0 or a.max() > C.ACTION_BINS - 1:
                raise ValueError(f"action bins must lie in [0, {C.ACTION_BINS - 1}], got {a!r}")
            return a * (2.0 / (C.ACTION_BINS - 1)) - 1.0
        if a.dtype.kind not in "fiu":
            raise ValueError(f"action must be numeric for action_type='continuous', got dtype {a.dtype}")
        a = a.astype(np.float64)
        if not (np.isfinite(a).all() and a.min() >= -1.0 - 1e-6 and a.max() <= 1.0 + 1e-6):
            raise ValueError(f"action must be finite and within [-1, 1] for action_type='continuous', got {a!r}")
        return a

    def _count_warnings(self) -> int:
        w = self.data.warning
        return sum(w[i].number for i in _PHYSICS_WARNINGS)

    def _error(self) -> float:
        s = self._state
        q = s[C.STATE_LAYOUT["object_quat"]]
        dot = abs(float(q @ self._goal_quat))
        return 2.0 * math.acos(min(dot, 1.0))

    def _get_obs(self) -> dict[str, np.ndarray]:
        d = self.data
        s = self._state
        L = C.STATE_LAYOUT
        s[L["joint_pos"]] = d.qpos[self._hand_qpos]
        s[L["joint_vel"]] = d.qvel[self._hand_qvel]
        o = self._obj_qpos
        s[L["object_pos"]] = d.qpos[o : o + 3]
        q = d.qpos[o + 3 : o + 7]
        q = q / math.sqrt(float(q @ q))
        s[L["object_quat"]] = -q if q[0] < 0 else q
        v = self._obj_qvel
        s[L["object_linvel"]] = d.qvel[v : v + 3]
        s[L["object_angvel"]] = d.qvel[v + 3 : v + 6]
        s[L["fingertip_pos"]] = d.site_xpos[self._tip_sites].ravel()
        return self._fill_goal_obs(None)

    def _fill_goal_obs(self, obs: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        s = self._state
        L = C.STATE_LAYOUT
        s[L["goal_quat"]] = self._goal_quat
        rel = self._quat_tmp
        neg = np.empty(4)
        mujoco.mju_negQuat(neg, s[L["object_quat"]])
        mujoco.mju_mulQuat(rel, self._goal_quat, neg)
        s[L["relative_goal_quat"]] = -rel if rel[0] < 0 else rel
        state = s.astype(np.float32)
        if obs is None:
            obs = {
                "fingertip_pos": state[L["fingertip_pos"]].copy(),
                "object_pos": state[L["object_pos"]].copy(),
                "object_quat": state[L["object_quat"]].copy(),
                "relative_goal_quat": state[L["relative_goal_quat"]].copy(),
            }
        else:
            obs["relative_goal_quat"] = state[L["relative_goal_quat"]].copy()
        if self.critic_state:
            obs["state"] = state
        return obs


def _same_obs(a: dict[str, np.ndarray], b: dict[str, np.ndarray], where: str) -> None:
    assert list(a) == list(b), where
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, (where, key)
        assert a[key].tobytes() == b[key].tobytes(), (where, key, a[key], b[key])


def _same_info(a: dict[str, Any], b: dict[str, Any], where: str) -> None:
    assert list(a) == list(b), where
    for key in a:
        x, y = a[key], b[key]
        assert type(x) is type(y), (where, key, type(x), type(y))
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), (where, key)
        elif isinstance(x, dict):
            _same_info(x, y, f"{where} info[{key!r}]")
        else:
            assert x == y or (x != x and y != y), (where, key, x, y)  # NaN == NaN here


def _actions(space: Any, n: int, seed: int, kind: str) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "discrete":
        return [rng.integers(0, C.ACTION_BINS, space.shape).astype(np.int64) for _ in range(n)]
    # the cpu preset's untrained policy: N(0, e^-1) clipped, float32 (sb3 clips to the Box)
    return [np.clip(rng.normal(0.0, math.exp(-1.0), space.shape), -1.0, 1.0).astype(np.float32) for _ in range(n)]


CONFIGS = {
    "cpu-preset": dict(action_type="continuous", goal="z"),
    "default": dict(),
    "xyz-smoothing-angle-locked-nostate": dict(
        action_type="continuous", goal="xyz", action_smoothing=0.3, relative_to="angle", wrist="locked",
        critic_state=False, goal_timeout_s=1.6,
    ),  # fmt: skip
    "always-success": dict(
        action_type="continuous", goal="parallel", success_threshold=3.1, max_consecutive_successes=7
    ),
}


@pytest.mark.parametrize("randomized", [False, True], ids=["bare", "full-stack"])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_step_is_bitwise_the_reference(config: str, randomized: bool) -> None:
    kwargs = CONFIGS[config]
    discrete = kwargs.get("action_type", "discrete") == "discrete"
    envs = []
    for cls in (DactylEnv, ReferenceDactylEnv):
        env: Any = cls(**({**kwargs, "action_type": "continuous"} if randomized else kwargs))
        if randomized:
            env = dactyl_randomization(env, discrete_actions=discrete)
        envs.append(env)
    new, ref = envs
    actions = _actions(new.action_space, 160, seed=7, kind="discrete" if discrete else "continuous")
    ends: set[str] = set()
    kept: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = []  # (returned obs, copy taken then)
    episode, t, done = 0, 0, True
    for i, action in enumerate(actions):
        if done:
            options = None
            if episode == 1:  # a goal met on the first step: a new goal mid-step (the _fill_goal_obs path)
                q = np.array([1.0, 0.0, 0.0, 0.0])
                options = {"object_quat": q, "goal_quat": q}
            out_new = new.reset(seed=100 + episode, options=options)
            out_ref = ref.reset(seed=100 + episode, options=options)
            _same_obs(out_new[0], out_ref[0], f"reset {episode}")
            _same_info(out_new[1], out_ref[1], f"reset {episode}")
            kept.append((out_new[0], {k: v.copy() for k, v in out_new[0].items()}))
            episode, t = episode + 1, 0
        if i == 30:  # a physics blow-up (ends episode 0 or a later one): both envs must report it the same way
            for env in envs:
                env.unwrapped.data.qvel[:] = 1e12
        where = f"episode {episode - 1} step {t}"
        o1, r1, te1, tr1, i1 = new.step(action.copy())
        o2, r2, te2, tr2, i2 = ref.step(action.copy())
        _same_obs(o1, o2, where)
        assert type(r1) is type(r2) and np.float64(r1).tobytes() == np.float64(r2).tobytes(), (where, r1, r2)
        assert (te1, tr1) == (te2, tr2) and type(te1) is type(te2) and type(tr1) is type(tr2), where
        _same_info(i1, i2, where)
        for name in ("qpos", "qvel", "ctrl", "act", "mocap_quat", "site_xpos", "cam_xpos"):
            assert getattr(new.unwrapped.data, name).tobytes() == getattr(ref.unwrapped.data, name).tobytes(), name
        kept.append((o1, {k: v.copy() for k, v in o1.items()}))
        done = te1 or tr1
        t += 1
        if done:
            ends.add("physics_error" if "physics_error" in i1 else "drop" if i1["dropped"] else
                     "success" if te1 else "timeout")  # fmt: skip
        if i1["is_success"]:
            ends.add("goal reached")
    # Observations handed out earlier were not changed by later steps (no buffer is shared with the caller).
    for returned, copy in kept:
        _same_obs(returned, copy, "an earlier observation")
    # The run went through the paths the optimisation touched.
    assert "physics_error" in ends and "goal reached" in ends, ends
    if config == "always-success":
        assert "success" in ends, ends
    for env in envs:
        env.close()


def test_reference_still_differs_where_it_should() -> None:
    """The comparison can fail: a one-ulp change to one observation entry is caught."""
    a = {"x": np.array([1.0, 2.0], dtype=np.float32)}
    b = {"x": np.array([1.0, np.nextafter(np.float32(2.0), np.float32(3.0))], dtype=np.float32)}
    with pytest.raises(AssertionError):
        _same_obs(a, b, "probe")
    with pytest.raises(AssertionError):
        _same_info({"r": 0.0}, {"r": -0.0 + 1e-300}, "probe")


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copies_step_like_the_reference(how: str) -> None:
    """A deep copy or an unpickled env steps its own ``data`` (the cached views follow the copy), like the old code."""
    import copy
    import pickle

    envs = [cls(action_type="continuous", goal="z") for cls in (DactylEnv, ReferenceDactylEnv)]
    actions = _actions(envs[0].action_space, 25, seed=3, kind="continuous")
    for env in envs:
        env.reset(seed=1)
        for action in actions[:5]:
            env.step(action)
    copies = [copy.deepcopy(env) if how == "deepcopy" else pickle.loads(pickle.dumps(env)) for env in envs]
    for k, action in enumerate(actions[5:]):
        o1, r1, *_ = copies[0].step(action)
        o2, r2, *_ = copies[1].step(action)
        _same_obs(o1, o2, f"{how} step {k}")
        assert r1 == r2
    assert copies[0].data.qpos.tobytes() == copies[1].data.qpos.tobytes()
    # the originals were not moved by their copies' steps
    assert envs[0].data.qpos.tobytes() == envs[1].data.qpos.tobytes()
    assert envs[0].data.qpos.tobytes() != copies[0].data.qpos.tobytes()
