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
from gym_dactyl.scene import GOAL_BODY, MAX_RENDER_SIZE, PALM_CENTER, PALM_SURFACE_Z, build_model

__all__ = ["DactylEnv"]

ActionType = Literal["discrete", "continuous"]
GoalType = Literal["parallel", "z", "xyz"]
RelativeTo = Literal["target", "angle"]
WristMode = Literal["free", "locked"]
_GOALS = ("parallel", "z", "xyz")
_ACTION_TYPES = ("discrete", "continuous")
_RELATIVE_TO = ("target", "angle")
_WRISTS = ("free", "locked")
_WRIST_ACTUATORS = (0, 1)  # robot0:A_WRJ1, robot0:A_WRJ0 (constants.ACTUATOR_NAMES order)
_W = mujoco.mjtWarning
_PHYSICS_WARNINGS = tuple(int(w) for w in (_W.mjWARN_BADQACC, _W.mjWARN_BADQPOS, _W.mjWARN_BADQVEL))
_WARN_QACC, _WARN_QPOS, _WARN_QVEL = _PHYSICS_WARNINGS
_L = C.STATE_LAYOUT
_FINGERTIP, _OBJECT_POS, _OBJECT_QUAT, _RELATIVE_GOAL = (
    _L["fingertip_pos"], _L["object_pos"], _L["object_quat"], _L["relative_goal_quat"]
)  # fmt: skip


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """``index`` as an equivalent slice when it is a contiguous increasing run, else unchanged."""
    if len(index) and np.array_equal(index, np.arange(index[0], index[0] + len(index))):
        return slice(int(index[0]), int(index[0]) + len(index))
    return index


class DactylEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Reorient a block in a Shadow Hand to a goal orientation, as in the Dactyl paper.

    Control step 80 ms = ``frame_skip`` 10 MuJoCo steps of 8 ms. Actions are **relative** joint
    targets for the 20 actuators (18 with ``wrist="locked"``): a change of a * (half the actuator's
    control range), clipped to the range; for the four coupled distal pairs the target and the angle
    are the pair's sum (J1 + J0). What the change is relative to (``relative_to``):

    - ``"target"`` (default): the previous target, target_t = clip(target_{t-1} + a * half range);
      the targets start at the pose the hand holds at reset. A zero action keeps the commanded pose,
      so the position servos hold the block's weight with a constant error instead of giving way.
    - ``"angle"``: the measured angle, target = clip(angle + a * half range) — the paper's wording
      ("relative to the current ones"), as robogym and gymnasium-robotics implement it. In this
      simulation the servos' steady-state error under the block's weight then compounds every step:
      a zero action lets the wrist sag to its limit and drops the block (measured in
      ``docs/env_fidelity.md``), which is why it is not the default.

    ``action_type="discrete"`` (paper) takes ``MultiDiscrete([11] * n)``, bin b -> b / 5 - 1;
    ``"continuous"`` takes ``Box(-1, 1, (n,))``, n = 20 (18 with the wrist locked).
    ``action_smoothing=0.3`` applies the paper's exponential moving average
    ``a <- 0.3 a_t + 0.7 a`` (the new action weighted 0.3) before the targets are set.

    ``wrist="locked"`` (Dactyl Table 3, "block (state, locked wrist)"): the two wrist actuators
    (``WRJ1``, ``WRJ0``) leave the action space and hold the wrist at its reset pose; the
    observation is unchanged (``state`` still holds all 24 joint angles and velocities).
    :attr:`action_actuators` maps action coordinates to actuator indices.

    Reset: the block is placed above the palm with its lowest corner clear of every hand geom
    (its half-diagonal plus a margin above the palm surface, lifted further if any contact would
    penetrate), settled with the hand holding its pose, then checked: its centre within
    ``ON_PALM_RADIUS`` of the palm centre and above the palm surface,
    penetrating no geom by more than ``RESET_MAX_PENETRATION``, slower than ``RESET_MAX_SPEED``
    and spinning slower than ``RESET_MAX_ANGULAR_SPEED``. A start that fails the check is redrawn
    (at most ``RESET_MAX_TRIES`` times, as OpenAI's robogym does; then ``RuntimeError``). The block's
    size is read from the model at every reset, so ``wrappers.PhysicsRandomization``'s size changes
    are respected.

    Reward: r_t = d_t - d_{t+1} with d the rotation angle between block and goal; +5 and a new goal
    when d < ``success_threshold`` (0.4 rad); -20 and ``terminated`` when the block drops (its
    centre falls below ``drop_height``); ``terminated`` after ``max_consecutive_successes`` (50);
    ``truncated`` after ``goal_timeout_s`` (8 s; 80 s in the paper's evaluation) of simulated time
    without a success, or when the physics blew up (``info["physics_error"]``).

    Observation (a flat ``spaces.Dict``): the policy keys :data:`~gym_dactyl.constants.POLICY_KEYS`
    (fingertip positions, block position and quaternion, goal relative to the block; world frame,
    quaternions ``(w, x, y, z)`` with ``w >= 0``) and ``state``, the clean full state for the critic
    laid out as :data:`~gym_dactyl.constants.STATE_LAYOUT` (left out with ``critic_state=False``, for
    symmetric learners that would feed every key to the actor).

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

    RESET_MAX_TRIES = 50
    """Fresh samples a reset draws before it gives up with ``RuntimeError`` (robogym: 50)."""
    RESET_MAX_SPEED = 0.05
    """m/s: the block must be slower than this after settling."""
    RESET_MAX_ANGULAR_SPEED = 1.0
    """rad/s: the block must rotate slower than this after settling."""
    RESET_MAX_PENETRATION = 0.001
    """m: deepest allowed contact penetration of the block after settling (soft contacts rest at ~0.1-0.5 mm)."""
    SPAWN_MARGIN = 0.003
    """m: clearance between the block's lowest possible corner and the hand when it is placed."""
    ON_PALM_RADIUS = 0.04
    """m: the settled block's centre must lie within this horizontal distance of the palm centre."""

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
        relative_to: RelativeTo = "target",
        wrist: WristMode = "free",
        frame_skip: int = C.FRAME_SKIP,
        settle_steps: int = 50,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        critic_state: bool = True,
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
            relative_to: what an action's joint-target change is relative to: ``"target"`` (default,
                the previous target: a zero action holds the pose under load) or ``"angle"`` (the
                measured angle, the paper's literal re-anchoring).
            wrist: ``"free"`` (20 actions) or ``"locked"`` (18 actions; the wrist holds its reset pose).
            frame_skip: MuJoCo steps per control step.
            settle_steps: MuJoCo steps run at reset so block and hand come to rest.
            render_mode: None or ``"rgb_array"``.
            width: width of :meth:`render` images in pixels.
            height: height of :meth:`render` images in pixels.
            critic_state: include ``state``, the clean full state for an asymmetric critic, in the
                observation (default). ``False`` leaves it out, so the observation holds only the policy
                keys: use it with symmetric learners (SB3 ``MultiInputPolicy``, ``FlattenObservation``
                clients), which would otherwise feed the privileged, noise-free state to the actor.
        """
        if action_type not in _ACTION_TYPES:
            raise ValueError(f"action_type must be one of {_ACTION_TYPES}, got {action_type!r}")
        if goal not in _GOALS:
            raise ValueError(f"goal must be one of {_GOALS}, got {goal!r}")
        if relative_to not in _RELATIVE_TO:
            raise ValueError(f"relative_to must be one of {_RELATIVE_TO}, got {relative_to!r}")
        if wrist not in _WRISTS:
            raise ValueError(f"wrist must be one of {_WRISTS}, got {wrist!r}")
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
        if not isinstance(critic_state, (bool, np.bool_)):
            raise ValueError(f"critic_state must be True or False, got {critic_state!r}")

        self.critic_state = bool(critic_state)
        self.action_type = action_type
        self.goal_type = goal
        self.action_smoothing = action_smoothing
        self.relative_to = relative_to
        self.wrist = wrist
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

        # Action coordinate i drives actuator self._act_sel[i]; the wrist actuators are the first two.
        self._act_sel = slice(len(_WRIST_ACTUATORS), None) if wrist == "locked" else slice(None)
        self._act_low = self._ctrl_low[self._act_sel]
        self._act_high = self._ctrl_high[self._act_sel]
        self._act_half = self._ctrl_half[self._act_sel]
        n_act = len(self._act_low)
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
                **({"state": spaces.Box(-np.inf, np.inf, (C.STATE_DIM,), np.float32)} if self.critic_state else {}),
            }
        )

        self._state = np.zeros(C.STATE_DIM)  # float64 work buffer for the observation
        self._goal_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self._quat_tmp = np.zeros(4)
        self._neg_tmp = np.zeros(4)
        self._bind_views()
        self._smoothed = np.zeros(n_act)
        self._target = self._ctrl_low.copy()  # joint targets of all actuators (set at reset)
        self._act_buf = np.zeros(n_act)
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
        self._obj_geom = m.geom(C.OBJECT_GEOM).id
        self._goal_mocap = int(m.body_mocapid[m.body(GOAL_BODY).id])
        self._tip_sites = np.array([m.site(n).id for n in C.FINGERTIP_SITES])
        self._cam_ids = {n: m.camera(n).id for n in (*C.CAMERA_NAMES, *C.CLOSE_CAMERA_NAMES, C.RENDER_CAMERA)}

    def _bind_views(self) -> None:
        """Cache the per-step hot path's numpy views of ``data`` and ``_state`` (no copies: they follow the data).

        Called at construction and by every :meth:`reset`, so they always view the current ``self.data``.
        """
        d, s, L = self.data, self._state, C.STATE_LAYOUT
        o, v = self._obj_qpos, self._obj_qvel
        self._v_qpos = d.qpos
        self._v_qvel = d.qvel
        self._v_ctrl = d.ctrl
        self._v_site_xpos = d.site_xpos
        self._v_warnings = d.warning.number
        self._v_obj_pos = d.qpos[o : o + 3]
        self._v_obj_quat = d.qpos[o + 3 : o + 7]
        self._v_obj_vel = d.qvel[v : v + 6]  # linear then angular: the state's object_linvel, object_angvel
        self._s_joint_pos = s[L["joint_pos"]]
        self._s_joint_vel = s[L["joint_vel"]]
        self._s_object_pos = s[L["object_pos"]]
        self._s_object_quat = s[L["object_quat"]]
        self._s_object_vel = s[L["object_linvel"].start : L["object_angvel"].stop]
        self._s_goal_quat = s[L["goal_quat"]]
        self._s_relative_goal_quat = s[L["relative_goal_quat"]]
        self._s_fingertip_pos = s[L["fingertip_pos"]].reshape(len(self._tip_sites), 3)
        # Hand joints whose qpos / qvel addresses are one contiguous run are copied with a slice.
        self._hand_qpos_sel = _as_slice(self._hand_qpos)
        self._hand_qvel_sel = _as_slice(self._hand_qvel)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling and ``copy.deepcopy``: the cached views are rebound to the copy's own ``data`` and buffers."""
        self.__dict__.update(state)
        self._bind_views()

    @property
    def dt(self) -> float:
        """Seconds of simulated time per control step (``model.opt.timestep * frame_skip``)."""
        return float(self.model.opt.timestep) * self.frame_skip

    @property
    def action_actuators(self) -> np.ndarray:
        """Index (in ``model.actuator_*`` / :data:`~gym_dactyl.constants.ACTUATOR_NAMES`) of each action coordinate."""
        return np.arange(self.model.nu)[self._act_sel]

    @property
    def joint_targets(self) -> np.ndarray:
        """The current position targets of all actuators (copy of ``data.ctrl`` as last commanded)."""
        return self._target.copy()

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
        self._bind_views()
        options = options or {}
        fixed_quat = (
            self._check_quat(options["object_quat"], "options['object_quat']") if "object_quat" in options else None
        )
        goal_quat = self._check_quat(options["goal_quat"], "options['goal_quat']") if "goal_quat" in options else None
        m, d = self.model, self.data
        rng = self.np_random
        reason = ""
        for _ in range(self.RESET_MAX_TRIES):
            mujoco.mj_resetData(m, d)
            if fixed_quat is not None:
                quat = fixed_quat
            elif self.goal_type == "z":
                quat = R.yaw_quat(rng.uniform(-np.pi, np.pi))
            else:
                quat = R.random_quat(rng)
            self._place_object(quat, rng.uniform(-0.005, 0.005, size=2))
            d.ctrl[:] = self._hold_ctrl()
            if self.settle_steps:
                mujoco.mj_step(m, d, nstep=self.settle_steps)
            reason = self._start_fault()  # its mj_forward also brings positions up to the settled qpos
            if not reason:
                break
        else:
            raise RuntimeError(
                f"reset: no valid start in {self.RESET_MAX_TRIES} tries (last: {reason}); the block "
                f"(half size {self._object_half_extents()}) may not fit on the palm"
            )
        self._target[:] = d.ctrl

        if goal_quat is not None:
            self._set_goal(goal_quat)
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
        qpos = self._v_qpos
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
        self._v_ctrl[:] = self._target
        m, d = self.model, self.data
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
        """Validate an action and map it to [-1, 1]^n (float64), n = 20, or 18 with the wrist locked."""
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
        # min / max are NaN when any entry is (so NaN fails both comparisons) and +-inf fails one: this is the
        # finiteness check too.
        if not (a.min() >= -1.0 - 1e-6 and a.max() <= 1.0 + 1e-6):
            raise ValueError(f"action must be finite and within [-1, 1] for action_type='continuous', got {a!r}")
        return a

    def _object_half_extents(self) -> np.ndarray:
        """Half extents (m) of the block's collision geom as the model holds them now (randomized sizes included)."""
        return self.model.geom_size[self._obj_geom].copy()

    def _place_object(self, quat: np.ndarray, xy_offset: np.ndarray) -> None:
        """Put the block above the palm centre, its lowest possible corner clear of the hand, and run ``mj_forward``.

        The centre starts at the palm surface plus the block's half-diagonal (its reach in any orientation)
        plus :attr:`SPAWN_MARGIN`; if a contact still penetrates (a curled finger, the thumb), the block is
        lifted by the depth plus the margin until none does.
        """
        m, d = self.model, self.data
        o = self._obj_qpos
        reach = float(np.linalg.norm(self._object_half_extents()))
        d.qpos[o : o + 2] = PALM_CENTER[:2] + xy_offset
        d.qpos[o + 2] = PALM_SURFACE_Z + reach + self.SPAWN_MARGIN
        d.qpos[o + 3 : o + 7] = quat
        d.qvel[self._obj_qvel : self._obj_qvel + 6] = 0.0
        for _ in range(10):
            mujoco.mj_forward(m, d)
            depth = -self._min_object_contact_dist()
            if depth <= 0.0:
                break
            d.qpos[o + 2] += depth + self.SPAWN_MARGIN

    def _min_object_contact_dist(self) -> float:
        """Smallest signed distance (m) over the block's contacts in ``data.contact``; +inf when there are none."""
        d = self.data
        if d.ncon == 0:
            return math.inf
        con = d.contact
        body = self.model.geom_bodyid
        mine = (body[con.geom1] == self._obj_body) | (body[con.geom2] == self._obj_body)
        return float(con.dist[mine].min()) if mine.any() else math.inf

    def _start_fault(self) -> str:
        """Why the settled state is not a valid start ("" when it is): off the palm, penetrating, or moving."""
        m, d = self.model, self.data
        mujoco.mj_forward(m, d)  # contacts of the state the episode starts from
        o, v = self._obj_qpos, self._obj_qvel
        pos = d.qpos[o : o + 3]
        if not np.isfinite(d.qpos).all():
            return "non-finite state"
        if math.hypot(*(pos[:2] - PALM_CENTER[:2])) > self.ON_PALM_RADIUS or pos[2] < PALM_SURFACE_Z:
            return f"block not on the palm (centre at {np.round(pos, 4).tolist()})"
        depth = -self._min_object_contact_dist()
        if depth > self.RESET_MAX_PENETRATION:
            return f"block penetrates the hand by {1000 * depth:.2f} mm"
        speed = float(np.linalg.norm(d.qvel[v : v + 3]))
        if speed >= self.RESET_MAX_SPEED:
            return f"block still moving at {speed:.3f} m/s"
        spin = float(np.linalg.norm(d.qvel[v + 3 : v + 6]))
        if spin >= self.RESET_MAX_ANGULAR_SPEED:
            return f"block still rotating at {spin:.2f} rad/s"
        return ""

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
        n = self._v_warnings  # data.warning.number, a view
        return int(n[_WARN_QACC]) + int(n[_WARN_QPOS]) + int(n[_WARN_QVEL])

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
        dot = abs(float(self._s_object_quat @ self._goal_quat))
        return 2.0 * math.acos(min(dot, 1.0))

    def _get_obs(self) -> dict[str, np.ndarray]:
        """Write the state (:data:`~gym_dactyl.constants.STATE_LAYOUT`) from ``data`` and build the observation."""
        qpos = self._v_qpos
        self._s_joint_pos[:] = qpos[self._hand_qpos_sel]
        self._s_joint_vel[:] = self._v_qvel[self._hand_qvel_sel]
        self._s_object_pos[:] = self._v_obj_pos
        q = self._v_obj_quat
        out = self._s_object_quat
        np.divide(q, math.sqrt(float(q @ q)), out=out)
        if out[0] < 0:
            np.negative(out, out=out)
        self._s_object_vel[:] = self._v_obj_vel  # free joint: angular velocity in the body frame
        self._s_fingertip_pos[:] = self._v_site_xpos[self._tip_sites]
        return self._fill_goal_obs(None)

    def _fill_goal_obs(self, obs: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """Write the goal-dependent entries of the state and build (or update) the observation.

        The returned arrays are fresh (a float32 copy of the work buffer, then a copy per policy key), so an
        observation stays valid, and independent of the others, after later steps.
        """
        self._s_goal_quat[:] = self._goal_quat
        rel, neg = self._quat_tmp, self._neg_tmp
        mujoco.mju_negQuat(neg, self._s_object_quat)
        mujoco.mju_mulQuat(rel, self._goal_quat, neg)
        out = self._s_relative_goal_quat
        if rel[0] < 0:
            np.negative(rel, out=out)
        else:
            out[:] = rel
        state = self._state.astype(np.float32)
        if obs is None:
            obs = {
                "fingertip_pos": state[_FINGERTIP].copy(),
                "object_pos": state[_OBJECT_POS].copy(),
                "object_quat": state[_OBJECT_QUAT].copy(),
                "relative_goal_quat": state[_RELATIVE_GOAL].copy(),
            }
        else:
            obs["relative_goal_quat"] = state[_RELATIVE_GOAL].copy()
        if self.critic_state:
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
            camera_names: cameras to render; default the three of :data:`~gym_dactyl.constants.CAMERA_NAMES`
                (:data:`~gym_dactyl.constants.CLOSE_CAMERA_NAMES` are the same cameras with a narrower view).
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
