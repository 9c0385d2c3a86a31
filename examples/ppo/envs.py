"""Environment factories: the training env and the evaluation conditions (nominal, randomized, held-out worlds, vision).

The randomization stack ``wrappers.dactyl_randomization`` is imported lazily and guarded: when it is
not importable, training and evaluation still run with randomization off (and say so).

Conditions of :func:`make_condition_env`:
    nominal: ``Dactyl-v0`` as calibrated, no noise.
    randomized: the training distribution (the randomization groups recorded in the checkpoint).
    shifted: a held-out "real" world: the physics set *outside* Dactyl Table 1's training ranges
        (:data:`SHIFTED_PHYSICS`, fixed like one miscalibrated robot) plus the paper's observation
        noise and unmodeled effects at their default strength when the wrappers are available.
    weak_actuators: held out, one change only: the position servos at 0.65 of their nominal gain (below
        Table 1's logU[0.75, 1.5]); nominal otherwise, no noise (:data:`HELD_OUT_WORLDS`).
    slippery_heavy: held out, one change only: the block 1.7x heavier and its (and every geom's) sliding
        friction 0.55x (outside Table 1's U[0.5, 1.5] and U[0.7, 1.3]); nominal otherwise, no noise.
    vision: the nominal world seen through the cameras (Dactyl §2, Table 3 "block, vision"): the block's
        appearance is randomized per episode (Table 9 by default: what the pose estimator was trained with)
        and ``PoseFromVision`` replaces ``object_pos`` / ``object_quat`` (and the relative goal computed
        from them) in the policy observation by the CNN's estimate from three 64 px renders.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from stable_baselines3.common.monitor import Monitor

import gym_dactyl  # noqa: F401  (registers Dactyl-v0)
from gym_dactyl import constants as C

__all__ = [
    "CONDITIONS",
    "HELD_OUT_WORLDS",
    "SHIFTED_PHYSICS",
    "VISION_APPEARANCES",
    "ShiftedPhysics",
    "effective_groups",
    "make_condition_env",
    "make_dactyl_env",
    "make_train_env_fn",
    "randomization_available",
]

CONDITIONS: tuple[str, ...] = ("nominal", "randomized", "shifted", "weak_actuators", "slippery_heavy", "vision")
#: Appearance of the ``vision`` condition (``dactyl_vision.with_appearance``): Table 9
#: (``wrappers.VisualRandomization``, the estimator's training distribution), its held-out preset, or nominal.
VISION_APPEARANCES: tuple[str, ...] = ("table9", "held_out", "nominal")

#: The held-out world of the ``shifted`` condition: scalings of the nominal model, each beyond the
#: training range of Dactyl Table 1 (masses U[0.5, 1.5], friction U[0.7, 1.3], damping logU[0.3, 3],
#: actuator gain logU[0.75, 1.5]), plus a gravity tilt of 2.5 sigma of Table 1's N(0, 0.4) per axis.
SHIFTED_PHYSICS: dict[str, float] = {
    "object_mass_scale": 1.7,  # heavier block than any training block
    "link_mass_scale": 1.6,
    "friction_scale": 0.55,  # more slippery than any training episode
    "damping_scale": 4.0,  # stiffer joints
    "actuator_gain_scale": 0.65,  # weaker position servos
    "gravity_offset_xy": 1.0,  # m/s^2 added to gravity x and y
}

_NOMINAL_PHYSICS: dict[str, float] = {
    "object_mass_scale": 1.0, "link_mass_scale": 1.0, "friction_scale": 1.0, "damping_scale": 1.0,
    "actuator_gain_scale": 1.0, "gravity_offset_xy": 0.0,
}  # fmt: skip

#: The held-out worlds of the evaluation (docs/adr.md): each the ``ShiftedPhysics`` scalings and whether the
#: paper's observation noise and unmodeled effects are added. ``shifted`` changes everything at once (plus
#: noise); the two others change one thing, with clean observations, to tell which shift a policy fails on.
HELD_OUT_WORLDS: dict[str, tuple[dict[str, float], bool]] = {
    "shifted": (dict(SHIFTED_PHYSICS), True),
    "weak_actuators": (
        {**_NOMINAL_PHYSICS, "actuator_gain_scale": SHIFTED_PHYSICS["actuator_gain_scale"]}, False
    ),
    "slippery_heavy": (
        {**_NOMINAL_PHYSICS, "object_mass_scale": SHIFTED_PHYSICS["object_mass_scale"],
         "friction_scale": SHIFTED_PHYSICS["friction_scale"]}, False,
    ),
}  # fmt: skip


def randomization_available() -> bool:
    """Whether ``from wrappers import dactyl_randomization`` works in this checkout."""
    try:
        from wrappers import dactyl_randomization  # noqa: F401
    except ImportError:
        return False
    return True


def _dactyl_randomization() -> Callable[..., gym.Env] | None:
    try:
        from wrappers import dactyl_randomization
    except ImportError:
        return None
    return dactyl_randomization


class ShiftedPhysics(gym.Wrapper):
    """Set the physics of ``Dactyl-v0`` to one fixed world outside the training ranges.

    The scalings multiply the *nominal* values, remembered at construction, so repeated resets never
    compound. They are written in ``reset`` before the inner env resets, so the hand settles in the
    shifted physics (docs/env_contract.md).

    Args:
        env: a ``Dactyl-v0`` env (any wrapper depth).
        object_mass_scale: factor on the block's mass and inertia.
        link_mass_scale: factor on every other body's mass and inertia.
        friction_scale: factor on every geom's sliding friction.
        damping_scale: factor on every joint's damping.
        actuator_gain_scale: factor on the position actuators' gain (kp and its bias term).
        gravity_offset_xy: added to the x and y components of gravity (m/s^2).
    """

    def __init__(
        self,
        env: gym.Env,
        object_mass_scale: float = SHIFTED_PHYSICS["object_mass_scale"],
        link_mass_scale: float = SHIFTED_PHYSICS["link_mass_scale"],
        friction_scale: float = SHIFTED_PHYSICS["friction_scale"],
        damping_scale: float = SHIFTED_PHYSICS["damping_scale"],
        actuator_gain_scale: float = SHIFTED_PHYSICS["actuator_gain_scale"],
        gravity_offset_xy: float = SHIFTED_PHYSICS["gravity_offset_xy"],
    ) -> None:
        super().__init__(env)
        for name, value in (
            ("object_mass_scale", object_mass_scale),
            ("link_mass_scale", link_mass_scale),
            ("friction_scale", friction_scale),
            ("damping_scale", damping_scale),
            ("actuator_gain_scale", actuator_gain_scale),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        m: mujoco.MjModel = env.unwrapped.model
        obj = m.body(C.OBJECT_BODY).id
        mass_scale = np.full(m.nbody, link_mass_scale)
        mass_scale[0] = 1.0  # world body
        mass_scale[obj] = object_mass_scale
        self._targets: dict[str, np.ndarray] = {
            "body_mass": m.body_mass * mass_scale,
            "body_inertia": m.body_inertia * mass_scale[:, None],
            "geom_friction": m.geom_friction * np.array([friction_scale, 1.0, 1.0]),
            "dof_damping": m.dof_damping * damping_scale,
            "actuator_gainprm": m.actuator_gainprm.copy(),
            "actuator_biasprm": m.actuator_biasprm.copy(),
            "opt_gravity": m.opt.gravity + np.array([gravity_offset_xy, gravity_offset_xy, 0.0]),
        }
        self._targets["actuator_gainprm"][:, 0] *= actuator_gain_scale
        self._targets["actuator_biasprm"][:, 1] *= actuator_gain_scale  # position servo: bias = -kp * q

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Write the shifted physics into the model, then reset the inner env."""
        m = self.env.unwrapped.model
        for name, value in self._targets.items():
            if name == "opt_gravity":
                m.opt.gravity[:] = value
            else:
                getattr(m, name)[:] = value
        # Recompute the constants derived from masses and gains (invweights, acc0, ...); the reset below
        # overwrites the data this uses as scratch.
        mujoco.mj_setConst(m, self.env.unwrapped.data)
        return self.env.reset(seed=seed, options=options)


def make_dactyl_env(
    *,
    goal: str,
    action_type: str,
    goal_timeout_s: float,
    groups: dict[str, bool] | None = None,
    scale: float = 1.0,
    shifted: bool | dict[str, float] = False,
    render_mode: str | None = None,
    size: int = 320,
    wrist: str = "free",
    adr: dict[str, Any] | None = None,
) -> gym.Env:
    """Build one ``Dactyl-v0`` env with the chosen randomization groups.

    Args:
        goal: ``"parallel"``, ``"z"`` or ``"xyz"``.
        action_type: the action interface the agent sees, ``"discrete"`` or ``"continuous"``.
        goal_timeout_s: simulated seconds without a success before truncation.
        groups: ``{"observation": bool, "physics": bool, "unmodeled": bool}``; None or all False: none.
        scale: randomization scale passed to ``dactyl_randomization``.
        shifted: wrap the base env in :class:`ShiftedPhysics`: True for the ``shifted`` world's scalings, or a
            dict of its keyword arguments (a :data:`HELD_OUT_WORLDS` entry).
        render_mode: ``None`` or ``"rgb_array"``.
        size: rendered frame size in pixels.
        wrist: ``"free"`` (20 actions) or ``"locked"`` (18; Dactyl Table 3 "locked wrist").
        adr: ``ADRState.settings()`` (parameter names, caps, config): wrap the stack in
            ``wrappers.AutomaticDomainRandomization`` as a vector sub-env (``update=False``: it reports boundary
            results in ``info["adr_result"]``; the training process's ADR state pushes the ranges).

    Returns:
        The env (not yet wrapped in a Monitor).
    """
    groups = dict(groups or {})
    wanted = any(groups.values())
    randomize = _dactyl_randomization() if wanted else None
    if wanted and randomize is None:
        warnings.warn(
            "wrappers.dactyl_randomization is not importable yet: running WITHOUT randomization", stacklevel=2
        )
    base_action = "continuous" if randomize is not None else action_type
    kwargs: dict[str, Any] = dict(action_type=base_action, goal=goal, goal_timeout_s=goal_timeout_s, wrist=wrist)
    if render_mode is not None:
        kwargs.update(render_mode=render_mode, width=size, height=size)
    env = gym.make("Dactyl-v0", **kwargs)
    if isinstance(shifted, dict):
        env = ShiftedPhysics(env, **shifted)
    elif shifted:
        env = ShiftedPhysics(env)
    if randomize is not None:
        env = randomize(
            env,
            observation=groups.get("observation", False),
            physics=groups.get("physics", False),
            unmodeled=groups.get("unmodeled", False),
            scale=scale,
            discrete_actions=action_type == "discrete",
        )
        if adr is not None:
            from wrappers import AutomaticDomainRandomization

            env = AutomaticDomainRandomization(
                env, adr["parameters"], caps=adr["caps"], config=adr["config"], update=False
            )
    elif adr is not None:
        raise ValueError("adr: Automatic Domain Randomization needs the randomization wrappers and some group on")
    return env


def effective_groups(groups: dict[str, bool]) -> dict[str, bool]:
    """The groups that will actually be applied (all off when the wrappers are not importable)."""
    if randomization_available():
        return dict(groups)
    return {g: False for g in groups}


def make_condition_env(
    condition: str,
    *,
    goal: str,
    action_type: str,
    goal_timeout_s: float,
    train_groups: dict[str, bool],
    scale: float = 1.0,
    render_mode: str | None = None,
    size: int = 320,
    pose_estimator: Any = None,
    vision_appearance: str = "table9",
    wrist: str = "free",
) -> gym.Env:
    """Build the env of an evaluation condition (see the module docstring), wrapped in a Monitor.

    Args:
        condition: one of :data:`CONDITIONS`.
        goal, action_type, goal_timeout_s: as for :func:`make_dactyl_env`.
        train_groups: randomization groups of the ``randomized`` condition.
        scale: randomization scale of the ``randomized`` condition.
        render_mode, size: video rendering (``None`` or ``"rgb_array"``; pixels).
        pose_estimator: a ``dactyl_vision.pose_net.PoseNet`` (see :func:`ppo.vision.load_pose_estimator`);
            required by, and only used for, the ``vision`` condition.
        vision_appearance: one of :data:`VISION_APPEARANCES` (``vision`` only).
        wrist: ``"free"`` or ``"locked"``, as for :func:`make_dactyl_env`.

    Raises:
        ValueError: unknown condition or appearance, or ``vision`` without a pose estimator.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    if condition == "vision":
        return Monitor(
            _make_vision_env(
                pose_estimator, vision_appearance, goal=goal, action_type=action_type, goal_timeout_s=goal_timeout_s,
                render_mode=render_mode, size=size, wrist=wrist,
            )
        )  # fmt: skip
    physics: dict[str, float] | bool = False
    if condition == "nominal":
        groups: dict[str, bool] = {}
    elif condition == "randomized":
        groups = dict(train_groups)
    else:  # a held-out world: fixed out-of-range physics (+ the paper's noise and unmodeled effects for shifted)
        physics, noisy = HELD_OUT_WORLDS[condition]
        groups = {"observation": True, "physics": False, "unmodeled": True} if noisy else {}
        scale = 1.0
    env = make_dactyl_env(
        goal=goal,
        action_type=action_type,
        goal_timeout_s=goal_timeout_s,
        groups=groups,
        scale=scale,
        shifted=physics,
        render_mode=render_mode,
        size=size,
        wrist=wrist,
    )
    return Monitor(env)


def _make_vision_env(
    pose_estimator: Any, appearance: str, *, goal: str, action_type: str, goal_timeout_s: float,
    render_mode: str | None, size: int, wrist: str = "free",
) -> gym.Env:  # fmt: skip
    """Nominal physics, per-episode appearance randomization, block pose from the estimator (see module doc)."""
    from dactyl_vision import PoseFromVision, PoseNet, with_appearance

    if not isinstance(pose_estimator, PoseNet):
        raise ValueError(
            f"pose_estimator: the vision condition needs a PoseNet (pass --pose-model PATH), got {pose_estimator!r}"
        )
    if appearance not in VISION_APPEARANCES:
        raise ValueError(f"vision_appearance must be one of {VISION_APPEARANCES}, got {appearance!r}")
    env = make_dactyl_env(
        goal=goal, action_type=action_type, goal_timeout_s=goal_timeout_s, render_mode=render_mode, size=size,
        wrist=wrist,
    )  # fmt: skip
    # wrappers.VisualRandomization (Table 9, the estimator's training randomization, or its held-out preset); it
    # draws from a private generator, so goals match the other conditions.
    return PoseFromVision(with_appearance(env, appearance), pose_estimator)


class EpisodeSuccessInfo(gym.Wrapper):
    """On an episode's last step, ``info["is_success"]`` says whether the episode had >= 1 success.

    SB3 reads ``info["is_success"]`` only when an episode ends (``rollout/success_rate``), but Dactyl-v0 sets
    it per step (a goal reached on *this* step), which is almost always False on the last step (a drop or a
    timeout ends the episode). With this wrapper ``rollout/success_rate`` is the share of the last 100
    episodes with at least one success: the same quantity as ``dactyl/success_rate``. Other steps are
    unchanged; the step's own flag stays in ``info["goal_reached"]`` on the last step.
    """

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            info = {**info, "goal_reached": info.get("is_success", False),
                    "is_success": info.get("consecutive_successes", 0) > 0}  # fmt: skip
        return obs, reward, terminated, truncated, info


def make_train_env_fn(
    rank: int,
    seed: int,
    *,
    goal: str,
    action_type: str,
    goal_timeout_s: float,
    groups: dict[str, bool],
    scale: float,
    wrist: str = "free",
    adr: dict[str, Any] | None = None,
) -> Callable[[], gym.Env]:
    """A picklable thunk for SubprocVecEnv: env of ``rank``, seeded ``seed + rank``, in a Monitor (``adr``: see
    :func:`make_dactyl_env`)."""

    def _init() -> gym.Env:
        env = make_dactyl_env(
            goal=goal, action_type=action_type, goal_timeout_s=goal_timeout_s, groups=groups, scale=scale,
            wrist=wrist, adr=adr,
        )  # fmt: skip
        env = Monitor(EpisodeSuccessInfo(env))
        env.action_space.seed(seed + rank)  # observations are seeded by VecEnv.seed(seed) -> seed + rank
        return env

    return _init
