"""``Dactyl-v0``: a Shadow Hand reorients a block to a goal orientation (OpenAI Dactyl, §1).

Numbers come from ``shared/docs/dactyl_reference.md`` §1 (Dactyl = OpenAI, "Learning Dexterous
In-Hand Manipulation", arXiv 1808.00177); see :mod:`gym_dactyl.constants`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from gym_dactyl import constants as C
from gym_dactyl import rotations as R
from gym_dactyl.scene import GOAL_BODY, MAX_RENDER_SIZE, PALM_CENTER, build_model

__all__ = ["DactylEnv"]

ActionType = Literal["discrete", "continuous"]
GoalType = Literal["parallel", "z", "xyz"]
_GOALS = ("parallel", "z", "xyz")
_ACTION_TYPES = ("discrete", "continuous")
_W = mujoco.mjtWarning
_PHYSICS_WARNINGS = tuple(int(w) for w in (_W.mjWARN_BADQACC, _W.mjWARN_BADQPOS, _W.mjWARN_BADQVEL))


class DactylEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Reorient a block in a Shadow Hand to a goal orientation, as in the Dactyl paper.

    Control step 80 ms = ``frame_skip`` 10 MuJoCo steps of 8 ms. Actions are 20 **relative** joint
    targets: target = current angle + a * (half the actuator's control range), clipped to the range;
    for the four coupled distal pairs the target and the angle are the pair's sum (J1 + J0).
    ``action_type="discrete"`` (paper) takes ``MultiDiscrete([11] * 20)``, bin b -> b / 5 - 1;
    ``"continuous"`` takes ``Box(-1, 1, (20,))``. ``action_smoothing=0.3`` applies the paper's
    exponential moving average ``a <- 0.3 a_t + 0.7 a`` before the targets are set.

    Reward: r_t = d_t - d_{t+1} with d the rotation angle between block and goal; +5 and a new goal
    when d < ``success_threshold`` (0.4 rad); -20 and ``terminated`` when the block drops (its
    centre falls below ``drop_height``); ``terminated`` after ``max_consecutive_successes`` (50);
    ``truncated`` after ``goal_timeout_s`` (8 s; 80 s in the paper's evaluation) of simulated time
    without a success, or when the physics blew up (``info["physics_error"]``).

    Observation (a flat ``spaces.Dict``): the policy keys :data:`~gym_dactyl.constants.POLICY_KEYS`
    (fingertip positions, block position and quaternion, goal relative to the block; world frame,
    quaternions ``(w, x, y, z)`` with ``w >= 0``) and ``state``, the clean full state for the critic
    laid out as :data:`~gym_dactyl.constants.STATE_LAYOUT`.

    Goals: ``"parallel"`` (paper: a random face up, uniform yaw), ``"z"`` (yaw only; the block also
    starts face-up, the easy variant), ``"xyz"`` (uniform on SO(3)).

    Example:
        >>> import gymnasium as gym, gym_dactyl
        >>> env = gym.make("Dactyl-v0")
        >>> obs, info = env.reset(seed=0)
        >>> sorted(obs)
        ['fingertip_pos', 'object_pos', 'object_quat', 'relative_goal_quat', 'state']
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> info["rotation_error"] > 0
        True
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": round(1.0 / (C.TIMESTEP * C.FRAME_SKIP), 3)}

    def __init__(
        self,
        action_type: ActionType = "discrete",
        goal: GoalType = "parallel",
        action_smoothing: float | None = None,
        success_threshold: float = C.SUCCESS_THRESHOLD,
        goal_timeout_s: float = C.GOAL_TIMEOUT_S,
        max_consecutive_successes: int = C.MAX_CONSECUTIVE_SUCCESSES,
        drop_height: float = 0.10,
        object_half_size: float = 0.025,
        frame_skip: int = C.FRAME_SKIP,
        settle_steps: int = 50,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        """Create the environment.

        Args:
            action_type: ``"discrete"`` (paper, 11 bins per joint) or ``"continuous"``.
            goal: goal distribution, ``"parallel"``, ``"z"`` or ``"xyz"``.
            action_smoothing: EMA coefficient in (0, 1] (paper: 0.3), or None for no smoothing.
            success_threshold: rotation error in radians below which a goal counts as reached.
            goal_timeout_s: simulated seconds without a success before the episode is truncated.
            max_consecutive_successes: successes after which the episode terminates.
            drop_height: world z (m) below which the block's centre counts as dropped; the palm
                surface is at about 0.14 m, so the default is 4 cm below it.
            object_half_size: half the block's edge in metres.
            frame_skip: MuJoCo steps per control step.
            settle_steps: MuJoCo steps run at reset so block and hand come to rest.
            render_mode: None or ``"rgb_array"``.
            width: width of :meth:`render` images in pixels.
            height: height of :meth:`render` images in pixels.
        """
        if action_type not in _ACTION_TYPES:
            raise ValueError(f"action_type must be one of {_ACTION_TYPES}, got {action_type!r}")
        if goal not in _GOALS:
            raise ValueError(f"goal must be one of {_GOALS}, got {goal!r}")
        if action_smoothing is not None and not 0.0 < action_smoothing <= 1.0:
            raise ValueError(f"action_smoothing must be None or in (0, 1], got {action_smoothing!r}")
        if not 0.0 < success_threshold < math.pi:
            raise ValueError(f"success_threshold must be in (0, pi) radians, got {success_threshold!r}")
        if not goal_timeout_s > 0:
            raise ValueError(f"goal_timeout_s must be > 0 seconds, got {goal_timeout_s!r}")
        if int(max_consecutive_successes) != max_consecutive_successes or max_consecutive_successes < 1:
            raise ValueError(f"max_consecutive_successes must be an integer >= 1, got {max_consecutive_successes!r}")
        if int(frame_skip) != frame_skip or frame_skip < 1:
            raise ValueError(f"frame_skip must be an integer >= 1, got {frame_skip!r}")
        if int(settle_steps) != settle_steps or settle_steps < 0:
            raise ValueError(f"settle_steps must be an integer >= 0, got {settle_steps!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        for name, value in (("width", width), ("height", height)):
            if int(value) != value or not 1 <= value <= MAX_RENDER_SIZE:
                raise ValueError(f"{name} must be an integer in [1, {MAX_RENDER_SIZE}] pixels, got {value!r}")

        self.action_type = action_type
        self.goal_type = goal
        self.action_smoothing = action_smoothing
        self.success_threshold = float(success_threshold)
        self.goal_timeout_s = float(goal_timeout_s)
        self.max_consecutive_successes = int(max_consecutive_successes)
        self.drop_height = float(drop_height)
        self.frame_skip = int(frame_skip)
        self.settle_steps = int(settle_steps)
        self.render_mode = render_mode
        self.width, self.height = int(width), int(height)

        self.model = build_model(object_half_size)
        self.data = mujoco.MjData(self.model)
        self._init_indices()

        n_act = self.model.nu
        if action_type == "discrete":
            self.action_space = spaces.MultiDiscrete(np.full(n_act, C.ACTION_BINS, dtype=np.int64))
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (n_act,), dtype=np.float32)
        self.observation_space = spaces.Dict(
            {
                "fingertip_pos": spaces.Box(-np.inf, np.inf, (15,), np.float32),
                "object_pos": spaces.Box(-np.inf, np.inf, (3,), np.float32),
                "object_quat": spaces.Box(-1.0, 1.0, (4,), np.float32),
                "relative_goal_quat": spaces.Box(-1.0, 1.0, (4,), np.float32),
                "state": spaces.Box(-np.inf, np.inf, (C.STATE_DIM,), np.float32),
            }
        )

        self._state = np.zeros(C.STATE_DIM)  # float64 work buffer for the observation
        self._goal_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self._quat_tmp = np.zeros(4)
        self._smoothed = np.zeros(n_act)
        self._rotation_error = 0.0
        self._consecutive = 0
        self._goal_start_time = 0.0
        self._warning_count = 0
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}

    # ------------------------------------------------------------------ model bookkeeping
    def _init_indices(self) -> None:
        m = self.model
        jid = [m.joint(n).id for n in C.HAND_JOINT_NAMES]
        self._hand_qpos = np.array([m.jnt_qposadr[j] for j in jid])
        self._hand_qvel = np.array([m.jnt_dofadr[j] for j in jid])
        act_ids = [m.actuator(n).id for n in C.ACTUATOR_NAMES]
        if act_ids != list(range(m.nu)):
            raise RuntimeError("unexpected actuator order in the Shadow Hand model")
        # The joint each actuator drives ("robot0:A_X" drives "robot0:X"); for the coupled pairs the
        # actuator drives the tendon J1 + J0, so the distal joint is added to J1's angle.
        self._act_qpos = np.array([m.jnt_qposadr[m.joint(n.replace(":A_", ":")).id] for n in C.ACTUATOR_NAMES])
        self._coupled_act = np.array([m.actuator(a).id for a, _, _ in C.COUPLED_PAIRS])
        self._coupled_qpos = np.array([m.jnt_qposadr[m.joint(j0).id] for _, _, j0 in C.COUPLED_PAIRS])
        self._ctrl_low = m.actuator_ctrlrange[:, 0].copy()
        self._ctrl_high = m.actuator_ctrlrange[:, 1].copy()
        self._ctrl_half = (self._ctrl_high - self._ctrl_low) / 2.0
        obj_joint = m.joint(C.OBJECT_JOINT)
        self._obj_qpos = int(obj_joint.qposadr[0])
        self._obj_qvel = int(obj_joint.dofadr[0])
        self._obj_body = m.body(C.OBJECT_BODY).id
        self._goal_mocap = int(m.body_mocapid[m.body(GOAL_BODY).id])
        self._tip_sites = np.array([m.site(n).id for n in C.FINGERTIP_SITES])
        self._cam_ids = {n: m.camera(n).id for n in (*C.CAMERA_NAMES, C.RENDER_CAMERA)}

    @property
    def dt(self) -> float:
        """Seconds of simulated time per control step (``model.opt.timestep * frame_skip``)."""
        return float(self.model.opt.timestep) * self.frame_skip

    @property
    def goal_quat(self) -> np.ndarray:
        """The current goal orientation (copy)."""
        return self._goal_quat.copy()

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset: block on the palm in a random orientation, settled, and a fresh goal.

        Args:
            seed: seed for :attr:`np_random`.
            options: optional ``{"object_quat": q, "goal_quat": q}`` to fix the initial block or
                goal orientation (w, x, y, z) instead of sampling them.
        """
        super().reset(seed=seed)
        options = options or {}
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        rng = self.np_random

        if "object_quat" in options:
            quat = self._check_quat(options["object_quat"], "options['object_quat']")
        elif self.goal_type == "z":
            quat = R.yaw_quat(rng.uniform(-np.pi, np.pi))
        else:
            quat = R.random_quat(rng)
        pos = PALM_CENTER + np.array([*rng.uniform(-0.005, 0.005, size=2), 0.02])
        d.qpos[self._obj_qpos : self._obj_qpos + 3] = pos
        d.qpos[self._obj_qpos + 3 : self._obj_qpos + 7] = quat
        d.ctrl[:] = self._hold_ctrl()
        mujoco.mj_forward(m, d)
        if self.settle_steps:
            mujoco.mj_step(m, d, nstep=self.settle_steps)
            self._sync_kinematics()

        if "goal_quat" in options:
            self._set_goal(self._check_quat(options["goal_quat"], "options['goal_quat']"))
        else:
            self._set_goal(self._sample_goal())
        self._smoothed[:] = 0.0
        self._consecutive = 0
        self._goal_start_time = float(d.time)
        self._warning_count = self._count_warnings()
        obs = self._get_obs()
        self._rotation_error = self._error()
        info = self._info(False, False)
        return obs, info

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply a relative joint-target action for one 80 ms control step."""
        a = self._unit_action(action)
        if self.action_smoothing is not None:
            self._smoothed += self.action_smoothing * (a - self._smoothed)
            a = self._smoothed
        m, d = self.model, self.data
        qpos = d.qpos
        center = qpos[self._act_qpos]
        center[self._coupled_act] += qpos[self._coupled_qpos]
        np.clip(center + a * self._ctrl_half, self._ctrl_low, self._ctrl_high, out=d.ctrl)
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

    # ------------------------------------------------------------------ helpers
    def _unit_action(self, action: Any) -> np.ndarray:
        """Validate an action and map it to [-1, 1]^20 (float64)."""
        a = np.asarray(action)
        n = self.model.nu
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

    def _hold_ctrl(self) -> np.ndarray:
        """Controls that hold the hand's current joint angles."""
        qpos = self.data.qpos
        center = qpos[self._act_qpos]
        center[self._coupled_act] += qpos[self._coupled_qpos]
        return np.clip(center, self._ctrl_low, self._ctrl_high)

    def _sync_kinematics(self) -> None:
        """Recompute positions (bodies, geoms, sites, cameras, lights) from the current ``qpos``.

        ``mj_step`` computes kinematics *before* its final integration, so after it ``site_xpos`` and the
        rendered geometry lag one substep behind ``qpos``. Observations and renders must show the state
        after the step; the next ``mj_step`` recomputes everything anyway, so dynamics are unchanged.
        """
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)

    def _count_warnings(self) -> int:
        w = self.data.warning
        return sum(w[i].number for i in _PHYSICS_WARNINGS)

    @staticmethod
    def _check_quat(q: Any, name: str) -> np.ndarray:
        q = np.asarray(q, dtype=np.float64)
        if q.shape != (4,) or not np.isfinite(q).all() or np.linalg.norm(q) < 1e-6:
            raise ValueError(f"{name} must be a finite non-zero quaternion (w, x, y, z), got {q!r}")
        return R.canonical(q)

    def _sample_goal(self) -> np.ndarray:
        rng = self.np_random
        if self.goal_type == "xyz":
            return R.random_quat(rng)
        yaw = R.yaw_quat(rng.uniform(-np.pi, np.pi))
        if self.goal_type == "z":
            return yaw
        face = R.PARALLEL_FACE_QUATS[rng.integers(len(R.PARALLEL_FACE_QUATS))]
        return R.canonical(R.quat_mul(yaw, face))

    def _set_goal(self, quat: np.ndarray) -> None:
        self._goal_quat[:] = quat
        self.data.mocap_quat[self._goal_mocap] = quat

    def _error(self) -> float:
        """Rotation angle between block and goal (radians)."""
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
        s[L["object_angvel"]] = d.qvel[v + 3 : v + 6]  # free joint: angular velocity in the body frame
        s[L["fingertip_pos"]] = d.site_xpos[self._tip_sites].ravel()
        return self._fill_goal_obs(None)

    def _fill_goal_obs(self, obs: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """Write the goal-dependent entries of the state and build (or update) the observation."""
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
            return {
                "fingertip_pos": state[L["fingertip_pos"]].copy(),
                "object_pos": state[L["object_pos"]].copy(),
                "object_quat": state[L["object_quat"]].copy(),
                "relative_goal_quat": state[L["relative_goal_quat"]].copy(),
                "state": state,
            }
        obs["relative_goal_quat"] = state[L["relative_goal_quat"]].copy()
        obs["state"] = state
        return obs

    def _info(self, success: bool, dropped: bool) -> dict[str, Any]:
        return {
            "is_success": bool(success),
            "consecutive_successes": self._consecutive,
            "rotation_error": self._rotation_error,
            "dropped": bool(dropped),
        }

    # ------------------------------------------------------------------ rendering
    def _renderer(self, width: int, height: int) -> mujoco.Renderer:
        key = (width, height)
        r = self._renderers.get(key)
        if r is None:
            r = mujoco.Renderer(self.model, height=height, width=width)
            self._renderers[key] = r
        return r

    def render(self) -> np.ndarray | None:
        """Render the scene from the ``render_cam`` camera (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to gym.make")
            return None
        r = self._renderer(self.width, self.height)
        r.update_scene(self.data, camera=self._cam_ids[C.RENDER_CAMERA])
        return r.render()

    def render_cameras(
        self,
        camera_names: tuple[str, ...] | list[str] | None = None,
        width: int = 128,
        height: int = 128,
    ) -> np.ndarray:
        """Render the vision cameras (goal marker and marker sites hidden).

        Args:
            camera_names: cameras to render; default the three of :data:`~gym_dactyl.constants.CAMERA_NAMES`.
            width: image width in pixels.
            height: image height in pixels.

        Returns:
            ``uint8`` array of shape ``(n_cameras, height, width, 3)``.
        """
        names = tuple(C.CAMERA_NAMES if camera_names is None else camera_names)
        for n in names:
            if n not in self._cam_ids:
                raise ValueError(f"camera_names: unknown camera {n!r}; expected names from {tuple(self._cam_ids)}")
        for name, value in (("width", width), ("height", height)):
            if int(value) != value or not 1 <= value <= MAX_RENDER_SIZE:
                raise ValueError(f"{name} must be an integer in [1, {MAX_RENDER_SIZE}] pixels, got {value!r}")
        r = self._renderer(int(width), int(height))
        opt = mujoco.MjvOption()
        opt.geomgroup[2] = 0  # goal marker
        opt.sitegroup[:] = 0
        out = np.empty((len(names), int(height), int(width), 3), dtype=np.uint8)
        for i, n in enumerate(names):
            r.update_scene(self.data, camera=self._cam_ids[n], scene_option=opt)
            r.render(out=out[i])
        return out

    def close(self) -> None:
        """Release the renderers."""
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
        super().close()
