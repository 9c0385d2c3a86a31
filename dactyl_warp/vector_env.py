"""``DactylWarp-v0``: N Dactyl-v0 worlds stepped together by MuJoCo Warp, as a Gymnasium ``VectorEnv``.

Same task as :class:`gym_dactyl.DactylEnv` (read its docstring): 80 ms control steps of ``frame_skip`` 10 x 8 ms,
relative joint targets (``relative_to="target"`` by default: the previous target; ``"angle"``: the measured
angle), optional action smoothing, ``wrist="locked"``, reward ``d_t - d_{t+1}``, +5 and a new goal on success,
-20 and ``terminated`` on a drop, ``terminated`` after ``max_consecutive_successes``, ``truncated`` after
``goal_timeout_s`` of simulated time without a success or when a world's state is not finite.

How it is split between host and device:

- **Stepping** (``frame_skip`` x :func:`mujoco_warp.step`, then :func:`mujoco_warp.kinematics`, like
  Dactyl-v0's ``mj_kinematics`` after ``mj_step``), actions, targets, observations, rewards, random forces:
  batched torch tensors sharing memory with the Warp arrays (:func:`warp.to_torch`, zero-copy).
- **Resets** reuse Dactyl-v0's own start sampling: a host-side ``DactylEnv`` (the *sampler*, wrapped in the
  CPU randomization wrappers that are on) is reset with the world's episode seed; its settled, checked
  start (qpos, qvel, joint targets, warm start, time, goal) and - with physics / timestep randomization -
  its randomized model fields (plus the constants ``mj_setConst`` derives from them) are copied into the
  world's slot, after :func:`mujoco_warp.reset_data` with a per-world mask. A world therefore gets *exactly*
  the start and parameters ``PhysicsRandomization(TimestepRandomization(Dactyl-v0))`` gives for the same seed.
  The cost is one CPU settle (50 ``mj_step``) per reset world, on the host; at thousands of worlds this is the
  step that does not scale (see ``docs/warp.md``).

Autoreset is Gymnasium's ``SAME_STEP`` mode: a world that ends is reset inside the same :meth:`step`; the
returned observation is its new first observation, ``info["final_obs"]`` holds the last one of the ended
episode for every world (rows of worlds that did not end are undefined) and ``info["_final_obs"]`` marks
the worlds that ended.

Randomizations (``randomizations={name: kwargs}``, names, kwargs and defaults of :mod:`wrappers`): the sampler
is the CPU wrapper stack itself (:func:`wrappers.dactyl_randomization`'s order, without the visual group, on a
continuous-action Dactyl-v0), so every *per-episode* draw and parameter is the wrappers' own, copied into the
world's slot at its reset: physics (Table 1), timestep, the random-force probability, backlash slack rates,
ActionNoise's σ and correlated offset, ActionDelay's actuator mask, ObservationNoise's σ and correlated
offsets / rotations, MarkerFreeze's dropout probability, length, occlusion distances and first dropout
times. The *per-step* draws (force kicks, uncorrelated action / observation noise, later dropout times) are made
on the device with the wrappers' rules and distributions, not their random numbers. Per step on the device:
actions ``ActionDelay -> ActionNoise -> Backlash`` (the stack's order), observations ``ObservationNoise ->
MarkerFreeze`` (frozen markers hold the last noisy value; occlusion by clean fingertip / block distances).
``"visual_randomization"`` raises ``ValueError``: it randomizes rendered images and this env renders none.

ADR (``adr=ADRState.settings()`` or an :class:`wrappers.ADRState`): the sampler is wrapped in
:class:`wrappers.AutomaticDomainRandomization` (``update=False``), so each world's reset draws its own boundary
episode and parameter values from the current ranges; the step that ends a world's boundary episode reports
``info["adr_result"]`` (Gymnasium dict of arrays, mask ``info["_adr_result"]``) for
:meth:`wrappers.ADRState.record_infos`, and :meth:`set_adr_ranges` (or ``ADRState.push(envs)``) sets the ranges.

Example:
    >>> import gymnasium as gym, dactyl_warp
    >>> envs = gym.make_vec("DactylWarp-v0", num_envs=2, vectorization_mode="vector_entry_point",
    ...                     device="cpu")  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

import gymnasium as gym
import mujoco
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from gym_dactyl import constants as C
from gym_dactyl import rotations as R
from gym_dactyl.dactyl_env import DactylEnv
from wrappers.action_delay import ActionDelay
from wrappers.action_noise import ActionNoise
from wrappers.automatic_domain_randomization import BOUNDS, ADRState, AutomaticDomainRandomization
from wrappers.backlash import Backlash
from wrappers.marker_freeze import MarkerFreeze
from wrappers.observation_noise import ObservationNoise
from wrappers.physics_randomization import PhysicsRandomization
from wrappers.random_forces import RandomForces
from wrappers.timestep_randomization import TimestepRandomization

__all__ = [
    "ACTION_DELAY_DEFAULTS",
    "ACTION_NOISE_DEFAULTS",
    "NOT_BATCHED",
    "PHYSICS_FIELDS",
    "SUPPORTED_RANDOMIZATIONS",
    "WRAPPER_DEFAULTS",
    "DactylWarpVectorEnv",
]

#: Wrapper name -> class, innermost first (the order of ``wrappers.stack``; tested against it).
_WRAPPERS: dict[str, type[gym.Wrapper]] = {
    "physics_randomization": PhysicsRandomization,
    "timestep_randomization": TimestepRandomization,
    "random_forces": RandomForces,
    "backlash": Backlash,
    "action_noise": ActionNoise,
    "action_delay": ActionDelay,
    "observation_noise": ObservationNoise,
    "marker_freeze": MarkerFreeze,
}
#: Randomizations this env implements, innermost first (the order of ``wrappers.stack``).
SUPPORTED_RANDOMIZATIONS: tuple[str, ...] = tuple(_WRAPPERS)
#: Wrapper names of ``wrappers.stack`` that have no meaning in the batched env, and why.
NOT_BATCHED: dict[str, str] = {
    "visual_randomization": "it randomizes rendered camera images (Table 9) and DactylWarpVectorEnv renders none "
    "(no cameras: observations are the state-based dict); use the CPU stack with VisualRandomization for vision",
}
#: Each supported wrapper's constructor arguments and defaults, read from its signature: one source of truth.
WRAPPER_DEFAULTS: dict[str, dict[str, Any]] = {
    name: {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k not in ("self", "env")}
    for name, cls in _WRAPPERS.items()
}
#: ActionDelay's constructor defaults (Dactyl App. C.2), read from its signature.
ACTION_DELAY_DEFAULTS: dict[str, Any] = WRAPPER_DEFAULTS["action_delay"]
#: ActionNoise's constructor defaults (Dactyl Table 8), read from its signature.
ACTION_NOISE_DEFAULTS: dict[str, Any] = WRAPPER_DEFAULTS["action_noise"]
#: "No dropout scheduled" (as ``wrappers.marker_freeze``).
_NEVER = np.iinfo(np.int64).max // 2

#: Model fields copied per world when physics randomization is on: the fields PhysicsRandomization writes and
#: the constants ``mj_setConst`` derives from them that MuJoCo Warp holds per world. (``dof_M0``, ``bvh_aabb``
#: and ``dof_length`` also change on the CPU but are not per-world fields in MuJoCo Warp; Warp does not use the
#: first two in stepping, ``dof_length`` only scales tolerances.)
PHYSICS_FIELDS: tuple[str, ...] = (
    "geom_size", "geom_pos", "geom_margin", "geom_gap", "geom_friction", "geom_rbound", "geom_aabb",
    "body_mass", "body_inertia", "body_subtreemass", "body_invweight0",
    "dof_damping", "dof_invweight0", "tendon_invweight0",
    "actuator_gainprm", "actuator_biasprm", "actuator_acc0",
    "jnt_range", "cam_poscom0", "light_poscom0",
)  # fmt: skip

ArrayType = Literal["torch", "numpy"]


def _check_kwargs(name: str, kwargs: dict[str, Any]) -> None:
    """Unknown constructor arguments of wrapper ``name`` raise ``ValueError`` naming them."""
    unknown = set(kwargs) - set(WRAPPER_DEFAULTS[name])
    if unknown:
        raise ValueError(
            f"randomizations[{name!r}]: unknown argument(s) {sorted(unknown)}; "
            f"expected some of {sorted(WRAPPER_DEFAULTS[name])}"
        )


class DactylWarpVectorEnv(VectorEnv):
    """N Dactyl-v0 worlds on MuJoCo Warp (see the module docstring for semantics).

    Args:
        num_envs: number of worlds, ``>= 1``.
        device: Warp device (``"cpu"``, ``"cuda:0"``; None: Warp's default). Tensors live on the matching torch device.
        randomizations: ``{wrapper_name: kwargs}`` for the supported :mod:`wrappers` randomizations
            (:data:`SUPPORTED_RANDOMIZATIONS`); kwargs go to the wrapper's constructor (``{}``: paper defaults).
            ``marker_freeze`` must keep its default keys (``fingertip_pos`` markers, clean positions from the state).
        adr: Automatic Domain Randomization over the randomizations on: ``ADRState.settings()`` (parameter names,
            caps, config; ``parameters=None`` for every built-in parameter whose wrapper is on) or an
            :class:`wrappers.ADRState` (its settings and current ranges). None: no ADR.
        array_type: ``"torch"`` (observations, rewards, flags as device tensors) or ``"numpy"``.
        nconmax: contacts allocated per world (the CPU model peaks at ~7; MuJoCo Warp's default is too small).
        njmax: constraint rows per world (the CPU model peaks at ~55; the default 64 overflows).
        **env_kwargs: :class:`gym_dactyl.DactylEnv` arguments (``action_type``, ``goal``, ``relative_to``,
            ``wrist``, ``action_smoothing``, ``goal_timeout_s`` ...); ``render_mode`` is not supported.

    Raises:
        ValueError: on ``num_envs < 1``, an unknown or unsupported randomization name, bad kwargs, a bad ``adr``,
            or a bad :class:`~gym_dactyl.DactylEnv` argument.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        *,
        device: str | None = None,
        randomizations: dict[str, dict[str, Any]] | None = None,
        adr: dict[str, Any] | ADRState | None = None,
        array_type: ArrayType = "torch",
        nconmax: int = 32,
        njmax: int = 256,
        **env_kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or int(num_envs) != num_envs or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if array_type not in ("torch", "numpy"):
            raise ValueError(f"array_type must be 'torch' or 'numpy', got {array_type!r}")
        for name, value in (("nconmax", nconmax), ("njmax", njmax)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if env_kwargs.get("render_mode") is not None:
            raise ValueError(f"render_mode is not supported by DactylWarpVectorEnv, got {env_kwargs['render_mode']!r}")
        action_type = env_kwargs.pop("action_type", "discrete")
        if action_type not in ("discrete", "continuous"):
            raise ValueError(f"action_type must be one of ('discrete', 'continuous'), got {action_type!r}")
        randomizations = dict(randomizations or {})
        for name, kwargs in randomizations.items():
            if name in NOT_BATCHED:
                raise ValueError(
                    f"randomizations: {name!r} is not available in DactylWarpVectorEnv: {NOT_BATCHED[name]}"
                )
            if name not in SUPPORTED_RANDOMIZATIONS:
                raise ValueError(f"randomizations: unknown name {name!r}; expected some of {SUPPORTED_RANDOMIZATIONS}")
            if not isinstance(kwargs, dict):
                raise ValueError(f"randomizations[{name!r}] must be a dict of wrapper kwargs, got {kwargs!r}")
            _check_kwargs(name, kwargs)

        import warp as wp  # the [warp] extra; imported here so the module imports without it

        if wp.config.log_level < wp.LOG_WARNING:
            wp.config.log_level = wp.LOG_WARNING  # no init banner / per-module load lines on stdout
        import mujoco_warp as mjw

        self._wp, self._mjw = wp, mjw
        wp.init()
        self._wp_device = wp.get_device(device)
        self.device = torch.device("cpu" if self._wp_device.is_cpu else f"cuda:{self._wp_device.ordinal}")
        self.num_envs = int(num_envs)
        self.array_type = array_type
        self.action_type = action_type

        # The sampler: Dactyl-v0 itself (validates env_kwargs; continuous, as under the stack's DiscretizeActions),
        # wrapped in the CPU randomization wrappers that are on, in the stack's order (they validate their kwargs).
        base = DactylEnv(action_type="continuous", **env_kwargs)
        self._base = base
        nominal = base.model
        mjm = nominal.__copy__()
        sampler: gym.Env = base
        self._wrappers: dict[str, gym.Wrapper] = {}
        for name, cls in _WRAPPERS.items():  # innermost first
            if name in randomizations:
                try:
                    sampler = cls(sampler, **randomizations[name])
                except TypeError as err:
                    raise ValueError(f"randomizations[{name!r}]: {err}") from err
                self._wrappers[name] = sampler
        freeze = self._wrappers.get("marker_freeze")
        if freeze is not None and (freeze.key != "fingertip_pos" or not freeze.use_state):  # type: ignore[attr-defined]
            raise ValueError(
                "randomizations['marker_freeze']: DactylWarpVectorEnv freezes the 'fingertip_pos' markers with clean "
                f"positions from the state (key='fingertip_pos', use_state None/True), got key={freeze.key!r}, "  # type: ignore[attr-defined]
                f"use_state={freeze.use_state!r}"  # type: ignore[attr-defined]
            )
        self._adr: AutomaticDomainRandomization | None = None
        if adr is not None:
            ranges = None
            if isinstance(adr, ADRState):
                adr, ranges = adr.settings(), dict(adr.ranges)
            if not isinstance(adr, dict):
                raise ValueError(f"adr must be ADRState.settings() (a dict), an ADRState or None, got {adr!r}")
            unknown = set(adr) - {"parameters", "caps", "config"}
            if unknown:
                raise ValueError(f"adr: unknown key(s) {sorted(unknown)}; expected parameters, caps, config")
            if not self._wrappers:
                raise ValueError("adr: Automatic Domain Randomization needs some randomization on (randomizations=...)")
            sampler = AutomaticDomainRandomization(
                sampler, adr.get("parameters"), caps=adr.get("caps"), config=adr.get("config"), update=False
            )
            self._adr = sampler
            if ranges is not None:
                sampler.set_adr_ranges(ranges)
        self._sampler = sampler
        self.randomizations = randomizations

        n = self.num_envs
        with wp.ScopedDevice(self._wp_device):
            batch = {f: n for f in PHYSICS_FIELDS} if "physics_randomization" in randomizations else {}
            self.wp_model = mjw.put_model(mjm, batch_sizes=batch)
            if "physics_randomization" in randomizations:
                self.wp_model.opt.gravity = wp.array(np.tile(mjm.opt.gravity, (n, 1)), dtype=wp.vec3)
            if "timestep_randomization" in randomizations:
                self.wp_model.opt.timestep = wp.array(np.full(n, mjm.opt.timestep), dtype=float)
            self.wp_data = mjw.put_data(mjm, mujoco.MjData(mjm), nworld=n, nconmax=int(nconmax), njmax=int(njmax))
            self._mask_wp = wp.zeros(n, dtype=bool)

        t = wp.to_torch
        m, d = self.wp_model, self.wp_data
        self._qpos, self._qvel, self._ctrl = t(d.qpos), t(d.qvel), t(d.ctrl)
        self._time, self._site_xpos, self._mocap_quat = t(d.time), t(d.site_xpos), t(d.mocap_quat)
        self._xfrc, self._warmstart, self._mask = t(d.xfrc_applied), t(d.qacc_warmstart), t(self._mask_wp)
        self._model_views = {f: t(getattr(m, f)) for f in batch}
        if "physics_randomization" in randomizations:
            self._model_views["gravity"] = t(m.opt.gravity)
        if "timestep_randomization" in randomizations:
            self._model_views["timestep"] = t(m.opt.timestep)

        # Indices, as Dactyl-v0 computes them.
        dev = self.device
        self._hand_qpos = torch.as_tensor(base._hand_qpos, device=dev)
        self._hand_qvel = torch.as_tensor(base._hand_qvel, device=dev)
        self._act_qpos = torch.as_tensor(base._act_qpos, device=dev)
        self._coupled_act = torch.as_tensor(base._coupled_act, device=dev)
        self._coupled_qpos = torch.as_tensor(base._coupled_qpos, device=dev)
        self._sel = torch.as_tensor(base.action_actuators, device=dev)
        f32 = dict(device=dev, dtype=torch.float32)
        self._act_low = torch.as_tensor(base._act_low, **f32)
        self._act_high = torch.as_tensor(base._act_high, **f32)
        self._act_half = torch.as_tensor(base._act_half, **f32)
        self._o, self._v = base._obj_qpos, base._obj_qvel
        self._obj_body, self._goal_mocap = base._obj_body, base._goal_mocap
        self._tips = torch.as_tensor(base._tip_sites, device=dev)
        n_act = len(base._act_low)

        if action_type == "discrete":
            self.single_action_space = spaces.MultiDiscrete(np.full(n_act, C.ACTION_BINS, dtype=np.int64))
        else:
            self.single_action_space = base.action_space
        self.action_space = batch_space(self.single_action_space, n)
        self.single_observation_space = base.observation_space
        self.observation_space = batch_space(base.observation_space, n)
        self.frame_skip = base.frame_skip
        self.success_threshold = base.success_threshold
        self.goal_timeout_s = base.goal_timeout_s
        self.max_consecutive_successes = base.max_consecutive_successes
        self.drop_height = base.drop_height

        self._target = torch.zeros(n, mjm.nu, **f32)
        self._smoothed = torch.zeros(n, n_act, **f32)
        self._goal = torch.zeros(n, 4, **f32)
        self._goal[:, 0] = 1.0
        self._error = torch.zeros(n, **f32)
        self._consecutive = torch.zeros(n, dtype=torch.int64, device=dev)
        self._goal_start = torch.zeros(n, **f32)
        self._force = torch.zeros(n, 3, **f32)
        self._force_p = torch.zeros(n, **f32)
        self._force_sigma = torch.zeros(n, **f32)
        # Per-world copies of what the sampler's wrappers drew / set at the world's reset (see _copy_episode).
        # Backlash: gains action_scale · δ± · Δt, slack state, whether the wrapper acts.
        self._bl_gain_up = torch.zeros(n, n_act, **f32)
        self._bl_gain_down = torch.zeros(n, n_act, **f32)
        self._bl_slack = torch.zeros(n, n_act, **f32)
        self._bl_on = torch.zeros(n, 1, dtype=torch.bool, device=dev)
        # ActionNoise: σ (action units) and the correlated offset of the episode.
        self._an_sigma_u = torch.zeros(n, 1, **f32)
        self._an_sigma_m = torch.zeros(n, 1, **f32)
        self._noise_offset = torch.zeros(n, n_act, **f32)
        # ActionDelay: per world and actuator mask, and a delay line of k past actions.
        delay = self._wrappers.get("action_delay")
        k = 1 if delay is None else int(delay.delay_steps)  # type: ignore[attr-defined]
        self._delay_fill = torch.zeros(n_act, **f32) if delay is None else torch.as_tensor(delay.fill, **f32)  # type: ignore[attr-defined]
        self._delay_mask = torch.zeros(n, n_act, dtype=torch.bool, device=dev)
        self._delay_line = torch.zeros(k, n, n_act, **f32)
        self._delay_head = 0
        # ObservationNoise: per key uncorrelated σ, correlated offsets (positions) / rotations (w, x, y, z).
        self._obs_noise: ObservationNoise | None = self._wrappers.get("observation_noise")  # type: ignore[assignment]
        self._obs_sigma_u: dict[str, torch.Tensor] = {}
        self._obs_offset: dict[str, torch.Tensor] = {}
        self._obs_rotation: dict[str, torch.Tensor] = {}
        if self._obs_noise is not None:
            for key in self._obs_noise.sigmas:
                self._obs_sigma_u[key] = torch.zeros(n, 1, **f32)
                if key in self._obs_noise.quat_keys:
                    if base.observation_space[key].shape != (4,):
                        raise ValueError(f"randomizations['observation_noise']: {key!r} must hold one quaternion")
                    self._obs_rotation[key] = torch.zeros(n, 4, **f32)
                    self._obs_rotation[key][:, 0] = 1.0
                else:
                    self._obs_offset[key] = torch.zeros(n, base.observation_space[key].shape[0], **f32)
        # MarkerFreeze: per world dropout probability / length / occlusion thresholds, schedule and held markers.
        m_markers = len(base._tip_sites)
        i64 = dict(device=dev, dtype=torch.int64)
        self._mf_on = torch.zeros(n, 1, dtype=torch.bool, device=dev)
        self._mf_p = torch.zeros(n, 1, **f32)
        self._mf_steps = torch.ones(n, 1, **i64)
        self._mf_thresholds = torch.full((n, m_markers, m_markers + 1), -1.0, **f32)
        self._mf_t = torch.zeros(n, 1, **i64)
        self._mf_next = torch.full((n, m_markers), _NEVER, **i64)
        self._mf_until = torch.zeros(n, m_markers, **i64)
        self._mf_last = torch.zeros(n, m_markers, 3, **f32)
        self._mf_frozen = torch.zeros(n, m_markers, dtype=torch.bool, device=dev)
        L = C.STATE_LAYOUT
        self._mf_points = torch.cat(
            (torch.arange(L["fingertip_pos"].start, L["fingertip_pos"].stop),
             torch.arange(L["object_pos"].start, L["object_pos"].stop))
        ).to(dev)  # fmt: skip
        # ADR: the boundary (parameter, bound, value) of each world's current episode, or None.
        self._boundary: list[tuple[str, str, float] | None] = [None] * n
        self._seed_rngs: list[np.random.Generator] = []
        self._goal_rngs: list[np.random.Generator] = []
        self._torch_gen = torch.Generator(device=dev)
        self._sampled: list[dict[str, Any]] = [{} for _ in range(n)]
        self._needs_reset = True

    # ------------------------------------------------------------------ properties
    @property
    def sampler(self) -> gym.Env:
        """The host-side Dactyl-v0 (wrapped in the CPU randomizations that are on) that draws every world's start."""
        return self._sampler

    @property
    def goal_quat(self) -> torch.Tensor:
        """Current goal of every world, ``(N, 4)`` (copy)."""
        return self._goal.clone()

    @property
    def joint_targets(self) -> torch.Tensor:
        """Current position targets of every world's actuators, ``(N, nu)`` (copy)."""
        return self._target.clone()

    def set_parameters(self, name: str, **params: Any) -> None:
        """Change a randomization's parameters; each world picks them up at its next reset.

        The same hook the wrappers offer :class:`wrappers.AutomaticDomainRandomization`: the call goes to the
        sampler's wrapper ``name`` (``set_parameters(**params)``, validated there). With ``adr`` on, ADR sets the
        parameters it drives at every world's reset, overriding such a call for those parameters.

        Raises:
            ValueError: if ``name`` is not a randomization this env was built with, or on invalid parameters.
        """
        if name not in self._wrappers:
            on = sorted(self.randomizations)
            raise ValueError(f"set_parameters: {name!r} is not a randomization of this env (built with {on})")
        self._wrappers[name].set_parameters(**params)  # type: ignore[attr-defined]

    @property
    def adr(self) -> ADRState | None:
        """The sampler's ADR state (its ranges are what worlds draw from at their next reset); None without ``adr``."""
        return None if self._adr is None else self._adr.adr

    def set_adr_ranges(self, ranges: dict[str, Any]) -> None:
        """Replace ADR ranges (what :meth:`wrappers.ADRState.push` calls); each world uses them from its next reset.

        Raises:
            ValueError: without ``adr``, or on a range :meth:`wrappers.ADRState.set_ranges` refuses.
        """
        if self._adr is None:
            raise ValueError("set_adr_ranges: this env was built without adr=")
        self._adr.set_adr_ranges(ranges)

    def get_adr_ranges(self) -> dict[str, tuple[float, float]]:
        """The current ADR ranges, by parameter name (``{}`` without ``adr``)."""
        return {} if self._adr is None else self._adr.get_adr_ranges()

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call method ``name`` of this env once (it acts on every world); one result per world, as Gymnasium's.

        What :meth:`wrappers.ADRState.push` uses (``call("set_adr_ranges", ranges)``).
        """
        result = getattr(self, name)(*args, **kwargs)
        return (result,) * self.num_envs

    def sampled(self, world: int) -> dict[str, Any]:
        """What the sampler's randomization wrappers drew for ``world``'s current episode (their reset infos)."""
        return dict(self._sampled[world])

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Reset every world (``options={"reset_mask": mask}``: only those worlds, keeping the others).

        ``seed=s`` gives world i the episode seed ``s + i`` for its first episode, so world i starts exactly as
        ``Dactyl-v0.reset(seed=s + i)`` (with the same randomization wrappers); later episodes draw their seeds
        from a per-world generator seeded from ``(s, i)``.
        """
        n = self.num_envs
        if seed is not None or not self._seed_rngs:
            if isinstance(seed, list | tuple):
                if len(seed) != n:
                    raise ValueError(f"seed must be an int or a list of {n} ints, got {seed!r}")
                seeds = [int(s) for s in seed]
            elif seed is None:
                root = int(np.random.SeedSequence().generate_state(1)[0])
                seeds = [root + i for i in range(n)]
            else:
                seeds = [int(seed) + i for i in range(n)]
            self._seed_rngs = [np.random.default_rng([s, 1]) for s in seeds]
            self._goal_rngs = [np.random.default_rng([s, 2]) for s in seeds]
            self._torch_gen.manual_seed(seeds[0])
            first = seeds
        else:
            first = None
        mask = None if options is None else options.get("reset_mask")
        if mask is None:
            mask_np = np.ones(n, dtype=bool)
        else:
            mask_np = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask)
            if mask_np.shape != (n,) or mask_np.dtype != bool:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({n},), got {mask!r}")
            if self._needs_reset and not mask_np.all():
                raise ValueError("options['reset_mask'] must select every world on the first reset")
        idx = np.flatnonzero(mask_np)
        self._reset_worlds(idx, seeds=None if first is None else [first[i] for i in idx])
        self._needs_reset = False
        obs = self._obs()
        self._error = (
            self._rotation_error(obs["state"])
            if mask is None
            else torch.where(
                torch.as_tensor(mask_np, device=self.device), self._rotation_error(obs["state"]), self._error
            )
        )
        reset_rows = torch.as_tensor(mask_np, device=self.device)
        noisy = self._freeze(self._noisy(obs), reset_rows, advance=False)
        return self._out(noisy), self._out(self._info_dict(None, None))

    def step(self, actions: Any) -> tuple[dict[str, Any], Any, Any, Any, dict[str, Any]]:
        """Step every world one 80 ms control step; worlds that end are reset in the same call (``SAME_STEP``)."""
        if self._needs_reset:
            raise gym.error.ResetNeeded("Cannot call DactylWarpVectorEnv.step before reset")
        a = self._unit_actions(actions)
        if "action_delay" in self._wrappers:  # ActionDelay (outermost of the action wrappers): a_i(t - k) where delayed
            slot = self._delay_line[self._delay_head]
            delayed = torch.where(self._delay_mask, slot, a)
            slot.copy_(a)
            self._delay_head = (self._delay_head + 1) % self._delay_line.shape[0]
            a = delayed
        if "action_noise" in self._wrappers:  # ActionNoise: clip(a (1 + σ_m η) + c + σ_u ε, -1, 1) per world
            eps = torch.randn(2, *a.shape, device=self.device, generator=self._torch_gen)
            a = a * (1.0 + self._an_sigma_m * eps[0]) + self._noise_offset + self._an_sigma_u * eps[1]
            a = a.clamp(-1.0, 1.0)
        if "backlash" in self._wrappers:  # Backlash (next to the env): (1 - α) a while the slack is taken up
            a = self._backlash(a)
        if self._base.action_smoothing is not None:
            self._smoothed += self._base.action_smoothing * (a - self._smoothed)
            a = self._smoothed
        qpos = self._qpos
        buf = a * self._act_half
        if self._base.relative_to == "angle":
            center = qpos[:, self._act_qpos].clone()
            center[:, self._coupled_act] += qpos[:, self._coupled_qpos]
            buf += center[:, self._sel]
        else:
            buf += self._target[:, self._sel]
        self._target[:, self._sel] = torch.minimum(torch.maximum(buf, self._act_low), self._act_high)
        self._ctrl.copy_(self._target)
        if "random_forces" in self._wrappers:
            self._force *= self._wrappers["random_forces"].decay
            hit = torch.rand(self.num_envs, device=self.device, generator=self._torch_gen) < self._force_p
            kick = torch.randn(self.num_envs, 3, device=self.device, generator=self._torch_gen)
            self._force += (hit * self._force_sigma)[:, None] * kick
            self._xfrc[:, self._obj_body, :3] = self._force
        with self._wp.ScopedDevice(self._wp_device):
            for _ in range(self.frame_skip):
                self._mjw.step(self.wp_model, self.wp_data)
            self._mjw.kinematics(self.wp_model, self.wp_data)

        finite = torch.isfinite(qpos).all(dim=1)
        obs = self._obs()
        error = self._rotation_error(obs["state"])
        reward = self._error - error
        success = (error < self.success_threshold) & finite
        reward = reward + C.SUCCESS_BONUS * success
        self._consecutive += success.long()
        regoal = success & (self._consecutive < self.max_consecutive_successes)
        if bool(regoal.any()):
            idx = torch.nonzero(regoal).flatten()
            goals = np.stack([self._sample_goal(self._goal_rngs[int(i)]) for i in idx.cpu()])
            self._set_goals(idx, torch.as_tensor(goals, dtype=torch.float32, device=self.device))
            self._goal_start[idx] = self._time[idx]
            obs = self._obs()
            error = torch.where(regoal, self._rotation_error(obs["state"]), error)
        self._error = error
        dropped = (qpos[:, self._o + 2] < self.drop_height) & finite
        reward = reward + C.DROP_PENALTY * dropped
        terminated = dropped | (self._consecutive >= self.max_consecutive_successes)
        truncated = ~terminated & ((self._time - self._goal_start) >= self.goal_timeout_s - 1e-4)
        truncated |= ~finite
        reward = torch.where(finite, reward, torch.zeros_like(reward))
        info = self._info_dict(success, dropped)
        info["physics_error"] = ~finite
        info["_physics_error"] = ~finite

        done = terminated | truncated
        noisy = self._freeze(self._noisy(obs), None, advance=True)
        if bool(done.any()):
            idx = np.flatnonzero(done.cpu().numpy())
            info["final_obs"] = {k: v.clone() for k, v in noisy.items()}
            info["_final_obs"] = done.clone()
            info["final_info"] = {k: v.clone() for k, v in info.items() if isinstance(v, torch.Tensor)}
            info["_final_info"] = done.clone()
            if self._adr is not None:
                self._adr_results(idx, info)
            self._reset_worlds(idx)
            obs = self._obs()
            self._error = torch.where(done, self._rotation_error(obs["state"]), self._error)
            fresh = self._freeze(self._noisy(obs), done, advance=False)
            noisy = {k: torch.where(done.view(-1, *([1] * (v.dim() - 1))), fresh[k], v) for k, v in noisy.items()}
        obs = noisy
        return self._out(obs), self._out(reward), self._out(terminated), self._out(truncated), self._out(info)

    def close_extras(self, **kwargs: Any) -> None:
        """Close the sampler (restores its nominal model); a no-op when ``__init__`` failed before building it."""
        sampler = getattr(self, "_sampler", None)
        if sampler is not None:
            sampler.close()

    # ------------------------------------------------------------------ resets
    def _reset_worlds(self, idx: np.ndarray, seeds: list[int] | None = None) -> None:
        """Reset the worlds ``idx``: masked ``reset_data``, then each world's sampled start and parameters."""
        if len(idx) == 0:
            return
        self._mask.zero_()
        self._mask[torch.as_tensor(idx, device=self.device)] = True
        with self._wp.ScopedDevice(self._wp_device):
            self._mjw.reset_data(self.wp_model, self.wp_data, reset=self._mask_wp)
        base, m, d = self._base, self._base.model, self._base.data
        nq, nv, nu = m.nq, m.nv, m.nu
        qpos = np.empty((len(idx), nq))
        qvel = np.empty((len(idx), nv))
        warm = np.empty((len(idx), nv))
        target = np.empty((len(idx), nu))
        goal = np.empty((len(idx), 4))
        time = np.empty(len(idx))
        forces = np.zeros((len(idx), 2))
        fields: dict[str, list[np.ndarray]] = {f: [] for f in self._model_views}
        episode: list[dict[str, np.ndarray]] = []
        for k, i in enumerate(idx):
            seed = seeds[k] if seeds is not None else int(self._seed_rngs[i].integers(2**63 - 1))
            _, info = self._sampler.reset(seed=seed)
            keys = ("physics", "timestep", "timestep_rate", "random_force_probability", "adr")
            self._sampled[i] = {key: info[key] for key in keys if key in info}
            self._boundary[i] = None
            if self._adr is not None and info["adr"]["boundary"] is not None:
                name, bound = info["adr"]["boundary"]
                self._boundary[i] = (name, bound, float(self._adr.adr.ranges[name][BOUNDS.index(bound)]))
            qpos[k], qvel[k], warm[k], time[k] = d.qpos, d.qvel, d.qacc_warmstart, d.time
            target[k] = base.joint_targets
            goal[k] = base.goal_quat
            if "random_forces" in self._wrappers:
                w = self._wrappers["random_forces"]
                mass = float(m.body_subtreemass[self._obj_body])
                forces[k] = (info["random_force_probability"], w.acceleration_sigma * w.scale * mass)  # type: ignore[attr-defined]
            for f in fields:
                if f == "gravity":
                    fields[f].append(m.opt.gravity.copy())
                elif f == "timestep":
                    fields[f].append(np.array(m.opt.timestep))
                else:
                    fields[f].append(getattr(m, f).copy())
            episode.append(self._episode_draws())
        dev = self.device
        ti = torch.as_tensor(idx, device=dev)

        def put(dst: torch.Tensor, src: np.ndarray) -> None:
            dst[ti] = torch.as_tensor(src, dtype=dst.dtype, device=dev).reshape(dst[ti].shape)

        put(self._qpos, qpos)
        put(self._qvel, qvel)
        put(self._warmstart, warm)
        put(self._time, time)
        put(self._target, target)
        self._ctrl[ti] = self._target[ti]
        for f, values in fields.items():
            put(self._model_views[f], np.stack(values))
        for name, dst in self._episode_tensors().items():
            put(dst, np.stack([e[name] for e in episode]))
        self._set_goals(ti, torch.as_tensor(goal, dtype=torch.float32, device=dev))
        self._goal_start[ti] = self._time[ti]
        self._consecutive[ti] = 0
        self._smoothed[ti] = 0.0
        self._force[ti] = 0.0
        self._bl_slack[ti] = 0.0
        self._delay_line[:, ti] = self._delay_fill
        self._mf_t[ti] = 0
        self._mf_until[ti] = 0
        self._mf_frozen[ti] = False
        self._xfrc[ti] = 0.0
        put(self._force_p, forces[:, 0])
        put(self._force_sigma, forces[:, 1])
        with self._wp.ScopedDevice(self._wp_device):
            self._mjw.kinematics(self.wp_model, self.wp_data)

    def _episode_tensors(self) -> dict[str, torch.Tensor]:
        """The per-world tensors :meth:`_episode_draws` fills, by the names it uses."""
        out: dict[str, torch.Tensor] = {}
        if "backlash" in self._wrappers:
            out.update(bl_on=self._bl_on, bl_gain_up=self._bl_gain_up, bl_gain_down=self._bl_gain_down)
        if "action_noise" in self._wrappers:
            out.update(an_sigma_u=self._an_sigma_u, an_sigma_m=self._an_sigma_m, an_offset=self._noise_offset)
        if "action_delay" in self._wrappers:
            out["delay_mask"] = self._delay_mask
        for key, dst in self._obs_sigma_u.items():
            out[f"on_sigma_{key}"] = dst
        for key, dst in self._obs_offset.items():
            out[f"on_offset_{key}"] = dst
        for key, dst in self._obs_rotation.items():
            out[f"on_rotation_{key}"] = dst
        if "marker_freeze" in self._wrappers:
            out.update(mf_on=self._mf_on, mf_p=self._mf_p, mf_steps=self._mf_steps, mf_next=self._mf_next,
                       mf_thresholds=self._mf_thresholds)  # fmt: skip
        return out

    def _episode_draws(self) -> dict[str, np.ndarray]:
        """What the sampler's action / observation wrappers drew and set at the reset just done (host arrays).

        Read from the wrappers' public state after their ``reset`` (their rule for the episode's σ, rates and
        thresholds, and their per-episode draws), so a world gets exactly the CPU wrapper's episode parameters.
        """
        out: dict[str, np.ndarray] = {}
        w: Any = self._wrappers.get("backlash")
        if w is not None:
            on = w.active
            out["bl_on"] = np.array([on])
            out["bl_gain_up"] = w.action_scale * w.rate_up * w.dt if on else np.zeros_like(w.slack)
            out["bl_gain_down"] = w.action_scale * w.rate_down * w.dt if on else np.zeros_like(w.slack)
        w = self._wrappers.get("action_noise")
        if w is not None:
            on = w.active
            width = 2.0 * w.scale  # the actions' range [-1, 1] times scale, as ActionNoise's σ
            out["an_sigma_u"] = np.array([w.uncorrelated_additive * width if on else 0.0])
            out["an_sigma_m"] = np.array([w.uncorrelated_multiplicative * w.scale if on else 0.0])
            # ActionNoise's offset of this episode (zero when σ_c = 0 or the wrapper is off)
            fresh = on and w.correlated_additive > 0.0
            out["an_offset"] = w.correlated_noise.copy() if fresh else np.zeros_like(w.correlated_noise)
        w = self._wrappers.get("action_delay")
        if w is not None:
            out["delay_mask"] = w.delay_mask.copy()
        w = self._obs_noise
        if w is not None:
            on = w.active
            for key, (corr, uncorr) in w.sigmas.items():
                out[f"on_sigma_{key}"] = np.array([uncorr * w.scale if on else 0.0])
                if key in self._obs_rotation:
                    ident = np.array([1.0, 0.0, 0.0, 0.0])
                    out[f"on_rotation_{key}"] = w.correlated_rotation[key][0] if on and corr > 0.0 else ident
                else:
                    offset = w.correlated_offset[key]
                    out[f"on_offset_{key}"] = offset.copy() if on and corr > 0.0 else np.zeros_like(offset)
        w = self._wrappers.get("marker_freeze")
        if w is not None:
            out["mf_on"] = np.array([w.enabled])
            out["mf_p"] = np.array([w.dropout_probability])
            out["mf_steps"] = np.array([w.dropout_steps])
            out["mf_next"] = w._next_start.copy()
            out["mf_thresholds"] = w._thresholds if w.enabled else np.full_like(w._thresholds, -1.0)
        return out

    def _backlash(self, a: torch.Tensor) -> torch.Tensor:
        """Backlash's rule per world: ``a' = (1 − α) a``, ``α = clip(|sgn a − s| / |incr|, 0, 1)``, ``s += incr``."""
        incr = torch.where(a > 0.0, self._bl_gain_up, self._bl_gain_down) * a
        gap = (torch.sign(a) - self._bl_slack).abs()
        alpha = (gap / incr.abs().clamp(min=1e-30)).clamp(max=1.0)
        on = self._bl_on
        self._bl_slack = torch.where(on, (self._bl_slack + incr).clamp(-1.0, 1.0), self._bl_slack)
        return torch.where(on, (1.0 - alpha) * a, a)

    def _freeze(
        self, obs: dict[str, torch.Tensor], reset_rows: torch.Tensor | None, *, advance: bool
    ) -> dict[str, torch.Tensor]:
        """MarkerFreeze's rule on ``fingertip_pos`` (after the observation noise, as in the stack).

        ``advance``: one step of every world (dropouts due start, their next start is drawn on the device with
        the wrapper's geometric law; occlusion by clean distances; frozen markers hold the last output).
        Otherwise ``reset_rows`` just reset: nothing frozen there and their markers are the new last values;
        other worlds show their held markers unchanged.
        """
        if "marker_freeze" not in self._wrappers:
            return obs
        n, m = self._mf_frozen.shape
        markers = obs["fingertip_pos"].reshape(n, m, 3)
        if advance:
            t = self._mf_t = self._mf_t + 1
            starts = self._mf_next <= t
            if bool(starts.any()):
                self._mf_until = torch.where(starts, t + self._mf_steps, self._mf_until)
                u = 1.0 - torch.rand(n, m, device=self.device, generator=self._torch_gen, dtype=torch.float64)
                p = self._mf_p.double()
                gaps = torch.floor(torch.log(u) / torch.log1p(-p).clamp(max=-1e-300)) + 1.0
                gaps = torch.where(p > 0.0, gaps.clamp(max=float(_NEVER)), float(_NEVER)).to(torch.int64)
                self._mf_next = torch.where(starts, t + self._mf_steps - 1 + gaps, self._mf_next)
            frozen = self._mf_until > t
            points = obs["state"][:, self._mf_points].reshape(n, m + 1, 3)
            diff = points[:, :m, None, :] - points[:, None, :, :]
            frozen |= ((diff * diff).sum(-1) < self._mf_thresholds).any(-1)
            frozen &= self._mf_on
            self._mf_frozen = frozen
        else:
            frozen = self._mf_frozen & ~reset_rows[:, None]
        held = torch.where(frozen[..., None], self._mf_last, markers)
        self._mf_last = held.clone() if advance else torch.where(reset_rows[:, None, None], markers, self._mf_last)
        out = dict(obs)
        out["fingertip_pos"] = held.reshape(n, m * 3)
        return out

    def _adr_results(self, idx: np.ndarray, info: dict[str, Any]) -> None:
        """``info["adr_result"]`` / ``["_adr_result"]`` for the worlds ``idx`` that end a boundary episode."""
        n = self.num_envs
        mask = np.zeros(n, dtype=bool)
        parameter = np.full(n, "", dtype=object)
        bound = np.full(n, "", dtype=object)
        value = np.full(n, np.nan)
        performance = np.full(n, np.nan)
        successes = info["consecutive_successes"].cpu().numpy()
        for i in idx:
            if self._boundary[i] is not None:
                parameter[i], bound[i], value[i] = self._boundary[i]
                performance[i] = float(successes[i])
                mask[i] = True
        if mask.any():
            info["adr_result"] = {"parameter": parameter, "bound": bound, "value": value, "performance": performance}
            info["_adr_result"] = mask

    def _random_rotation(self, n: int, sigma: float | torch.Tensor) -> torch.Tensor:
        """``n`` rotations about uniform random axes by angles ~ N(0, sigma) (``observation_noise.random_rotation``).

        ``sigma``: a number or one per rotation, shape ``(n, 1)``.
        """
        axis = torch.randn(n, 3, device=self.device, generator=self._torch_gen)
        axis = axis / torch.linalg.norm(axis, dim=1, keepdim=True)
        half = 0.5 * sigma * torch.randn(n, 1, device=self.device, generator=self._torch_gen)
        return torch.cat((torch.cos(half), torch.sin(half) * axis), dim=1)

    def _noisy(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """ObservationNoise's rule on the policy keys (``state`` untouched), with each world's episode σ.

        Positions + correlated + uncorrelated noise; quaternions ``R_u ⊗ R_c ⊗ q``; linked keys
        (``relative_goal_quat``) ``rel ⊗ conj(R_u ⊗ R_c)``, so they stay consistent with the noisy orientation.
        """
        w = self._obs_noise
        if w is None:
            return obs
        out = dict(obs)
        n = self.num_envs
        for key, offset in self._obs_offset.items():
            noise = torch.randn(offset.shape, device=self.device, generator=self._torch_gen)
            out[key] = obs[key] + offset + self._obs_sigma_u[key] * noise
        for key, rotation in self._obs_rotation.items():
            total = _quat_mul(self._random_rotation(n, self._obs_sigma_u[key]), rotation)
            out[key] = _canonical(_quat_mul(total, obs[key]))
            for derived, source in w.linked_quats.items():
                if source == key and derived in obs:
                    conj = total * torch.tensor([1.0, -1.0, -1.0, -1.0], device=self.device)
                    out[derived] = _canonical(_quat_mul(obs[derived], conj))
        return out

    def _set_goals(self, idx: torch.Tensor, goals: torch.Tensor) -> None:
        self._goal[idx] = goals
        self._mocap_quat[idx, self._goal_mocap] = goals

    def _sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        """A goal from Dactyl-v0's goal distribution (``DactylEnv._sample_goal``), drawn from ``rng``."""
        goal_type = self._base.goal_type
        if goal_type == "xyz":
            return R.random_quat(rng)
        yaw = R.yaw_quat(rng.uniform(-np.pi, np.pi))
        if goal_type == "z":
            return yaw
        face = R.PARALLEL_FACE_QUATS[rng.integers(len(R.PARALLEL_FACE_QUATS))]
        return R.canonical(R.quat_mul(yaw, face))

    # ------------------------------------------------------------------ helpers
    def _unit_actions(self, actions: Any) -> torch.Tensor:
        """Validate a batch of actions and map it to [-1, 1] (float32, on the device)."""
        n_act = self.single_action_space.shape[0]
        a = torch.as_tensor(np.asarray(actions) if not isinstance(actions, torch.Tensor) else actions)
        if tuple(a.shape) != (self.num_envs, n_act):
            raise ValueError(f"actions must have shape ({self.num_envs}, {n_act}), got {tuple(a.shape)}")
        a = a.to(self.device)
        if self.action_type == "discrete":
            if a.is_floating_point() and not torch.equal(a, torch.round(a)):
                raise ValueError("actions must hold integer bins for action_type='discrete'")
            if a.min() < 0 or a.max() > C.ACTION_BINS - 1:
                raise ValueError(f"action bins must lie in [0, {C.ACTION_BINS - 1}]")
            return a.to(torch.float32) * (2.0 / (C.ACTION_BINS - 1)) - 1.0
        a = a.to(torch.float32)
        if not (torch.isfinite(a).all() and a.min() >= -1.0 - 1e-6 and a.max() <= 1.0 + 1e-6):
            raise ValueError("actions must be finite and within [-1, 1] for action_type='continuous'")
        return a

    def _obs(self) -> dict[str, torch.Tensor]:
        """Observations of every world, laid out as Dactyl-v0's (float32)."""
        n, L = self.num_envs, C.STATE_LAYOUT
        qpos, qvel = self._qpos, self._qvel
        o, v = self._o, self._v
        s = torch.empty(n, C.STATE_DIM, dtype=torch.float32, device=self.device)
        s[:, L["joint_pos"]] = qpos[:, self._hand_qpos]
        s[:, L["joint_vel"]] = qvel[:, self._hand_qvel]
        s[:, L["object_pos"]] = qpos[:, o : o + 3]
        q = qpos[:, o + 3 : o + 7]
        q = q / torch.linalg.norm(q, dim=1, keepdim=True)
        q = torch.where(q[:, :1] < 0, -q, q)
        s[:, L["object_quat"]] = q
        s[:, L["object_linvel"]] = qvel[:, v : v + 3]
        s[:, L["object_angvel"]] = qvel[:, v + 3 : v + 6]
        s[:, L["fingertip_pos"]] = self._site_xpos[:, self._tips].reshape(n, -1)
        s[:, L["goal_quat"]] = self._goal
        rel = _quat_mul(self._goal, q * torch.tensor([1.0, -1.0, -1.0, -1.0], device=self.device))
        s[:, L["relative_goal_quat"]] = torch.where(rel[:, :1] < 0, -rel, rel)
        obs = {k: s[:, L[k]].clone() for k in C.POLICY_KEYS}
        obs["state"] = s
        return obs

    def _rotation_error(self, state: torch.Tensor) -> torch.Tensor:
        q = state[:, C.STATE_LAYOUT["object_quat"]]
        dot = (q * self._goal).sum(dim=1).abs().clamp(max=1.0)
        return 2.0 * torch.acos(dot)

    def _info_dict(self, success: torch.Tensor | None, dropped: torch.Tensor | None) -> dict[str, Any]:
        zeros = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        return {
            "is_success": zeros if success is None else success,
            "consecutive_successes": self._consecutive.clone(),
            "rotation_error": self._error.clone(),
            "dropped": zeros if dropped is None else dropped,
        }

    def _out(self, x: Any) -> Any:
        if self.array_type == "torch":
            return x
        if isinstance(x, dict):
            return {k: self._out(v) for k, v in x.items()}
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
        return x


def _canonical(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternions with ``w >= 0``."""
    q = q / torch.linalg.norm(q, dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def _quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product of batches of (w, x, y, z) quaternions."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        dim=-1,
    )
