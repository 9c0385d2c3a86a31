"""Per-episode physics randomization of a MuJoCo env (Dactyl Table 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import mujoco
import numpy as np

from wrappers._validation import InvalidArgumentError, check_scale, model_ids
from wrappers.distributions import (
    Distribution,
    LogUniform,
    Normal,
    Uniform,
    check_distribution,
    clip_to_support,
    episode_generator,
)

__all__ = [
    "ACTUATOR_GAIN_SCALE",
    "MIN_FACTOR",
    "DAMPING_SCALE",
    "FRICTION_SCALE",
    "GRAVITY_OFFSET",
    "JOINT_LIMIT_OFFSET",
    "MASS_SCALE",
    "OBJECT_SIZE_SCALE",
    "PhysicsRandomization",
]

# Dactyl Table 1 (OpenAI, arXiv 1808.00177): the defaults of PhysicsRandomization.
OBJECT_SIZE_SCALE = Uniform(0.95, 1.05)  # object dimensions, scaling
MASS_SCALE = Uniform(0.5, 1.5)  # object and link masses, scaling
FRICTION_SCALE = Uniform(0.7, 1.3)  # surface friction, scaling
DAMPING_SCALE = LogUniform(0.3, 3.0)  # joint damping, scaling
ACTUATOR_GAIN_SCALE = LogUniform(0.75, 1.5)  # actuator force gain (P term), scaling
JOINT_LIMIT_OFFSET = Normal(0.0, 0.15)  # joint limits, additive (rad)
GRAVITY_OFFSET = Normal(0.0, 0.4)  # gravity vector, each axis, additive (m/s^2)

# Group -> (identity point of ``scale``, support constraint for check_distribution).
_GROUPS: dict[str, tuple[float, dict[str, Any]]] = {
    "object_size_scale": (1.0, {"positive": True}),
    "mass_scale": (1.0, {"positive": True}),
    "friction_scale": (1.0, {"min_value": 0.0}),
    "damping_scale": (1.0, {"min_value": 0.0}),
    "actuator_gain_scale": (1.0, {"positive": True}),
    "joint_limit_offset": (0.0, {}),
    "gravity_offset": (0.0, {}),
}
#: Smallest multiplicative factor ever applied (1 % of nominal): a widened scale distribution is clipped here.
MIN_FACTOR = 0.01

# Geom types whose geom_size fully describes the collision shape (a mesh's size is only its bounding box).
_SCALABLE_GEOMS = {
    int(mujoco.mjtGeom.mjGEOM_SPHERE),
    int(mujoco.mjtGeom.mjGEOM_CAPSULE),
    int(mujoco.mjtGeom.mjGEOM_ELLIPSOID),
    int(mujoco.mjtGeom.mjGEOM_CYLINDER),
    int(mujoco.mjtGeom.mjGEOM_BOX),
}
# Model fields written by this wrapper; a copy of each is taken once at construction.
_FIELDS = (
    "geom_size",
    "geom_pos",
    "geom_margin",
    "geom_gap",
    "body_mass",
    "body_inertia",
    "geom_friction",
    "dof_damping",
    "actuator_gainprm",
    "actuator_biasprm",
    "jnt_range",
)


def _mujoco_model(env: gym.Env, wrapper: str) -> tuple[mujoco.MjModel, mujoco.MjData]:
    """Return ``env.unwrapped.model`` and ``.data``, checking they are MuJoCo objects."""
    model = getattr(env.unwrapped, "model", None)
    data = getattr(env.unwrapped, "data", None)
    if not isinstance(model, mujoco.MjModel) or not isinstance(data, mujoco.MjData):
        raise InvalidArgumentError(
            f"env must be a MuJoCo env whose unwrapped env has `model` (mujoco.MjModel) and `data` "
            f"(mujoco.MjData) for {wrapper}, got {env.unwrapped!r}"
        )
    return model, data


class PhysicsRandomization(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Randomize the physics of a MuJoCo env once per episode, always relative to the nominal model.

    Defaults are Dactyl Table 1 (OpenAI, arXiv 1808.00177), sampled at every episode start and held
    for the whole episode:

    ===========================  ====================  =====================  ===========================
    parameter                    argument              default                model field(s)
    ===========================  ====================  =====================  ===========================
    object dimensions            object_size_scale     U[0.95, 1.05]          geom_size/pos/margin/gap
    object and link masses       mass_scale            U[0.5, 1.5]            body_mass, body_inertia
    surface friction             friction_scale        U[0.7, 1.3]            geom_friction
    joint damping                damping_scale         logU[0.3, 3.0]         dof_damping
    actuator force gain (P)      actuator_gain_scale   logU[0.75, 1.5]        actuator_gainprm/biasprm
    joint limits                 joint_limit_offset    + N(0, 0.15) rad       jnt_range
    gravity vector, each axis    gravity_offset        + N(0, 0.4) m/s^2      opt.gravity
    ===========================  ====================  =====================  ===========================

    How each group is drawn and what it needs from the model:

    - *object dimensions*: one scale for the whole object, applied to ``geom_size``, ``geom_pos``
      (so multi-geom objects keep their shape), ``geom_margin`` and ``geom_gap`` of the ``object_geoms``;
      these must be primitive geoms (sphere, capsule, ellipsoid, cylinder, box; a mesh's size does not
      drive its collision shape). The object's mass is *not* tied to its size: Table 1 randomizes mass
      separately. Envs without an object (Ant-v5) pass ``object_geoms=None`` (or disable the group with
      ``object_size_scale=None``, which skips the geom-name check).
    - *masses*: one scale per body (world excluded); ``body_inertia`` is scaled by the same factor, so
      the mass distribution's shape is kept.
    - *friction*: one scale per geom for all three coefficients (sliding, torsional, rolling); explicit
      contact pairs (``pair_friction``, MJCF ``<contact><pair>``) are not randomized.
    - *damping*: one scale per dof (zero-damping dofs stay zero).
    - *actuator gain*: one scale per actuator on ``gainprm[:, 0]``; for affine-bias servos the matching
      bias term is scaled with it, so a position actuator (``biasprm[:, 1] = -kp``) stays a P controller
      with the same set point and a velocity actuator (``biasprm[:, 2] = -kv``) stays a velocity servo.
      The damping term ``kv`` of a position actuator is left alone (Table 1 names the P gain).
    - *joint limits*: independent offsets for both ends of every limited hinge or slide joint (in the
      joint's unit: rad, or m for slide joints); where an end would cross the other, the pair is set to
      its midpoint +- 0.5 % of the nominal width, so ``low < high`` always holds.
    - *gravity*: an offset per axis on ``opt.gravity``.

    Each group takes a :mod:`wrappers.distributions` object (``None`` disables it). ``scale`` multiplies
    every distribution's width around its identity point (1 for the scales, 0 for the offsets):
    ``scale=0`` leaves the model exactly nominal, ``scale=1`` is Table 1; this makes the Table 4
    ablation ("no physics randomization") one argument away.

    Every ``scale`` in ``[0, inf)`` gives valid physics: a scaled factor distribution that would reach
    below :data:`MIN_FACTOR` (0.01, i.e. 1 % of the nominal value) is clipped there
    (:class:`wrappers.distributions.Clipped`; same draws, clipped samples), so masses, inertias, object
    sizes, frictions, dampings and gains stay positive (zero-damping dofs stay zero). With the Table 1
    defaults the clip acts from ``scale`` ≈ 1.98 (masses), 3.3 (friction) and 19.8 (object size); the
    log-uniform damping and gain never reach it (a user distribution reaching below 0.01 is clipped too).
    Offsets need no clip: crossed joint limits are handled as below, and gravity may take any value.

    Sampling happens in :meth:`reset` *before* ``env.reset``, so the env's initial state is settled
    with the new physics; derived constants (``body_subtreemass``, ``dof_M0``, ``dof_invweight0``,
    ``actuator_acc0``, ``geom_rbound``, ``geom_aabb`` ...) are recomputed by :func:`mujoco.mj_setConst`.
    New values are always ``nominal * scale`` or ``nominal + offset`` from a copy taken at
    construction, so nothing compounds across resets. The draws are reported in
    ``info["physics"]`` (a dict of float / arrays) and kept in :attr:`sampled`. :meth:`close` and
    :meth:`restore_nominal` write the nominal model back.

    Randomness comes from a child of the env's seed (:func:`wrappers.distributions.episode_generator`):
    ``reset(seed=s)`` reproduces the physics, and sub-envs of a vector env, which receive different
    seeds, get different physics.

    Args:
        env: a MuJoCo env (``env.unwrapped.model`` / ``.data``).
        object_geoms: names of the object's geoms (a name, a sequence, or None / () for none).
        object_size_scale: scale of the object's dimensions.
        mass_scale: scale of every body's mass (and inertia).
        friction_scale: scale of every geom's friction.
        damping_scale: scale of every dof's damping.
        actuator_gain_scale: scale of every actuator's gain (see above).
        joint_limit_offset: offset added to both ends of each limited hinge/slide joint's range.
        gravity_offset: offset added to each gravity axis (m/s^2).
        scale: width multiplier of all groups, ``>= 0`` (0: nominal physics; widened factors are clipped
            to ``>= MIN_FACTOR``).

    Raises:
        ValueError: on an invalid argument, an env that is not a MuJoCo env, or an unknown / non-primitive
            object geom.

    Example:
        >>> import gymnasium as gym
        >>> from wrappers.physics_randomization import PhysicsRandomization
        >>> env = PhysicsRandomization(gym.make("Ant-v5"), object_geoms=None)
        >>> _, info = env.reset(seed=0)
        >>> bool(0.5 <= info["physics"]["mass_scale"].min() <= info["physics"]["mass_scale"].max() <= 1.5)
        True
        >>> env.close()
    """

    #: Actions reach the inner env unchanged (see :mod:`wrappers.action_check`).
    passes_actions = True

    def __init__(
        self,
        env: gym.Env,
        *,
        object_geoms: str | Sequence[str] | None = ("object",),
        object_size_scale: Distribution | None = OBJECT_SIZE_SCALE,
        mass_scale: Distribution | None = MASS_SCALE,
        friction_scale: Distribution | None = FRICTION_SCALE,
        damping_scale: Distribution | None = DAMPING_SCALE,
        actuator_gain_scale: Distribution | None = ACTUATOR_GAIN_SCALE,
        joint_limit_offset: Distribution | None = JOINT_LIMIT_OFFSET,
        gravity_offset: Distribution | None = GRAVITY_OFFSET,
        scale: float = 1.0,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            object_geoms=object_geoms,
            object_size_scale=object_size_scale,
            mass_scale=mass_scale,
            friction_scale=friction_scale,
            damping_scale=damping_scale,
            actuator_gain_scale=actuator_gain_scale,
            joint_limit_offset=joint_limit_offset,
            gravity_offset=gravity_offset,
            scale=scale,
        )
        gym.Wrapper.__init__(self, env)
        self.scale = check_scale("scale", scale)
        # Each group's distribution, narrowed or widened by ``scale`` around its identity point.
        self._dists: dict[str, Distribution] = {}
        self._set_distributions(
            object_size_scale=object_size_scale,
            mass_scale=mass_scale,
            friction_scale=friction_scale,
            damping_scale=damping_scale,
            actuator_gain_scale=actuator_gain_scale,
            joint_limit_offset=joint_limit_offset,
            gravity_offset=gravity_offset,
        )

        self._model, self._data = _mujoco_model(env, "PhysicsRandomization")
        m = self._model
        # Object geoms are only needed (and checked) when the object-size group is on.
        self._object_geoms = self._resolve_object_geoms(object_geoms if object_size_scale is not None else None)
        self._object_size_on = object_size_scale is not None
        self._nominal: dict[str, np.ndarray] = {f: getattr(m, f).copy() for f in _FIELDS}
        self._nominal_gravity = m.opt.gravity.copy()

        affine = m.actuator_biastype == int(mujoco.mjtBias.mjBIAS_AFFINE)
        bias = self._nominal["actuator_biasprm"]
        self._position_actuators = np.flatnonzero(affine & (bias[:, 1] != 0))
        self._velocity_actuators = np.flatnonzero(affine & (bias[:, 1] == 0) & (bias[:, 2] != 0))
        hinge_or_slide = np.isin(m.jnt_type, [int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)])
        self._limited_joints = np.flatnonzero(hinge_or_slide & (m.jnt_limited != 0))

        self._rng: np.random.Generator | None = None
        self.sampled: dict[str, Any] = {}

    def _set_distributions(self, **groups: Distribution | None) -> None:
        """Validate and store group distributions (unknown names are refused), scaled by ``self.scale``."""
        unknown = set(groups) - set(_GROUPS)
        if unknown:
            raise InvalidArgumentError(
                f"set_parameters: unknown group(s) {sorted(unknown)}; expected some of {list(_GROUPS)}"
            )
        checked = {name: check_distribution(name, dist, **_GROUPS[name][1]) for name, dist in groups.items()}
        for name, dist in checked.items():  # all valid: only now change anything
            if dist is None:
                self._dists.pop(name, None)
            else:
                center = _GROUPS[name][0]
                scaled = dist.scaled(self.scale, center)
                # factors (center 1) stay >= MIN_FACTOR whatever the scale; offsets need no clip
                self._dists[name] = clip_to_support(scaled, MIN_FACTOR) if center == 1.0 else scaled

    def set_parameters(self, **groups: Distribution | None) -> None:
        """Replace some groups' distributions; they take effect at the next :meth:`reset`.

        The hook :class:`wrappers.AutomaticDomainRandomization` drives this wrapper through. Each keyword is a
        constructor argument (``mass_scale=Uniform(0.9, 1.1)``, ``gravity_offset=Normal(0, 0.1)``, ``None`` to
        switch the group off), validated as in the constructor and scaled by ``scale`` like it. The object-size
        group can only be set when the wrapper was built with it on (its geoms are resolved then).

        Raises:
            ValueError: on an unknown group name or an invalid distribution.
        """
        if groups.get("object_size_scale") is not None and not self._object_size_on:
            raise InvalidArgumentError(
                "object_size_scale can only be set on a PhysicsRandomization built with object_size_scale on "
                f"(its object geoms are resolved at construction), got {groups['object_size_scale']!r}"
            )
        self._set_distributions(**groups)

    def _resolve_object_geoms(self, object_geoms: str | Sequence[str] | None) -> np.ndarray:
        ids = model_ids(
            self._model, mujoco.mjtObj.mjOBJ_GEOM, object_geoms, "object_geoms",
            hint="(pass object_geoms=None for an env without an object)",
        )  # fmt: skip
        for gid in ids:
            if int(self._model.geom_type[gid]) not in _SCALABLE_GEOMS:
                raise InvalidArgumentError(
                    f"object_geoms must name primitive geoms (sphere, capsule, ellipsoid, cylinder, box), "
                    f"got {mujoco.mj_id2name(self._model, mujoco.mjtObj.mjOBJ_GEOM, gid)!r} of type "
                    f"{mujoco.mjtGeom(int(self._model.geom_type[gid])).name}"
                )
        return ids

    # ------------------------------------------------------------------ sampling and writing
    def _sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one episode's parameters, in a fixed order (each group draws the same count always)."""
        m = self._model
        sizes = {
            "object_size_scale": None,
            "mass_scale": m.nbody - 1,
            "friction_scale": m.ngeom,
            "damping_scale": m.nv,
            "actuator_gain_scale": m.nu,
            "joint_limit_offset": (len(self._limited_joints), 2),
            "gravity_offset": 3,
        }
        return {name: dist.sample(rng, sizes[name]) for name, dist in self._dists.items()}

    def _write(self, sample: dict[str, Any]) -> None:
        m, nom = self._model, self._nominal
        for field in _FIELDS:
            getattr(m, field)[:] = nom[field]
        m.opt.gravity[:] = self._nominal_gravity

        g = self._object_geoms
        if "object_size_scale" in sample and len(g):
            s = sample["object_size_scale"]
            for field in ("geom_size", "geom_pos", "geom_margin", "geom_gap"):
                getattr(m, field)[g] = nom[field][g] * s
        if "mass_scale" in sample:
            s = sample["mass_scale"]
            m.body_mass[1:] = nom["body_mass"][1:] * s
            m.body_inertia[1:] = nom["body_inertia"][1:] * s[:, None]
        if "friction_scale" in sample:
            m.geom_friction[:] = nom["geom_friction"] * sample["friction_scale"][:, None]
        if "damping_scale" in sample:
            m.dof_damping[:] = nom["dof_damping"] * sample["damping_scale"]
        if "actuator_gain_scale" in sample:
            s = sample["actuator_gain_scale"]
            m.actuator_gainprm[:, 0] = nom["actuator_gainprm"][:, 0] * s
            p, v = self._position_actuators, self._velocity_actuators
            m.actuator_biasprm[p, 1] = nom["actuator_biasprm"][p, 1] * s[p]
            m.actuator_biasprm[v, 2] = nom["actuator_biasprm"][v, 2] * s[v]
        if "joint_limit_offset" in sample and len(self._limited_joints):
            j = self._limited_joints
            nominal = nom["jnt_range"][j]
            rng = nominal + sample["joint_limit_offset"]
            crossed = rng[:, 0] >= rng[:, 1]
            if crossed.any():
                mid = rng[crossed].mean(axis=1)
                half = 0.005 * (nominal[crossed, 1] - nominal[crossed, 0])
                rng[crossed] = np.stack([mid - half, mid + half], axis=1)
            m.jnt_range[j] = rng
        if "gravity_offset" in sample:
            m.opt.gravity[:] = self._nominal_gravity + sample["gravity_offset"]
        mujoco.mj_setConst(m, self._data)  # recompute subtree masses, M0, invweights, acc0, rbound, aabb

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Sample and write this episode's physics, then reset the env with it."""
        self._rng = episode_generator(self.env, seed, type(self).__name__, self._rng)
        self.sampled = self._sample(self._rng)
        self._write(self.sampled)
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info)
        info["physics"] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.sampled.items()}
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env unchanged (the physics is held for the episode)."""
        return self.env.step(action)

    def restore_nominal(self) -> None:
        """Write the nominal model back (the simulation state in ``data`` is kept)."""
        m, d = self._model, self._data
        spec = int(mujoco.mjtState.mjSTATE_INTEGRATION)
        state = np.empty(mujoco.mj_stateSize(m, spec))
        mujoco.mj_getState(m, d, state, spec)
        self.sampled = {}
        self._write({})
        mujoco.mj_setState(m, d, state, spec)
        mujoco.mj_forward(m, d)

    def close(self) -> None:
        """Restore the nominal model and close the env."""
        self.restore_nominal()
        super().close()
