"""Compose the Dactyl scene: Shadow Hand + block + goal marker + cameras + lights.

The hand itself (MJCF and meshes) is OpenAI's model as shipped by ``gymnasium-robotics``
(MIT + Apache-2.0). It is loaded from the installed package, never copied into this repository;
everything around it is built here with :class:`mujoco.MjSpec`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mujoco
import numpy as np

from gym_dactyl.constants import (
    CAMERA_NAMES,
    CLOSE_CAMERA_NAMES,
    COUPLED_PAIRS,
    FINGERTIP_SITES,
    OBJECT_BODY,
    OBJECT_GEOM,
    OBJECT_JOINT,
    RENDER_CAMERA,
    TIMESTEP,
)

__all__ = [
    "GOAL_BODY",
    "MAX_LIGHTS",
    "MAX_RENDER_SIZE",
    "PALM_CENTER",
    "PALM_SURFACE_Z",
    "hand_asset_dir",
    "build_spec",
    "build_model",
]

GOAL_BODY = "goal"
# Point above the palm where the block rests (world frame, metres). The hand mount of the
# gymnasium-robotics model sits at (1, 1.25, 0.15) with the palm facing up.
PALM_CENTER = np.array([1.0, 0.87, 0.17])
# Aim point and vertical field of view (degrees) of the close vision cameras (CLOSE_CAMERA_NAMES): the mean
# block position over 40,000 poses of the pose-estimator dataset (block within the first 30 steps of random
# actions); at 34 deg a block centre leaves a close image in < 1 % of those poses (wide cameras: 45 deg).
CLOSE_CAMERA_TARGET = np.array([1.005, 0.905, 0.175])
CLOSE_CAMERA_FOVY = 34.0
# Top of the hand's collision geoms under the block at the reset pose (palm box and straight fingers:
# centres at z 0.140, half-thickness 0.011 / capsule radius 0.010), metres.
PALM_SURFACE_Z = 0.151
# Where the goal marker is displayed: beside the hand, out of the vision cameras' view.
GOAL_DISPLAY_POS = np.array([1.13, 0.80, 0.26])
MAX_RENDER_SIZE = 1024  # offscreen framebuffer, pixels per side
MAX_LIGHTS = 6  # Dactyl Table 9 randomizes 4-6 lights; the scene provides 6 (extra ones off by default)


def hand_asset_dir() -> Path:
    """Locate the Shadow Hand assets inside the installed ``gymnasium_robotics`` package.

    The package is located without being imported (importing it registers dozens of envs).

    Returns:
        The ``envs/assets/hand`` directory.

    Raises:
        ImportError: if gymnasium-robotics is not installed.
    """
    spec = importlib.util.find_spec("gymnasium_robotics")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "gym-dactyl loads the Shadow Hand MJCF from gymnasium-robotics; install it with "
            "`pip install gymnasium-robotics`."
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    hand = root / "envs" / "assets" / "hand"
    if not (hand / "robot.xml").is_file():
        raise ImportError(f"gymnasium-robotics at {root} does not contain the Shadow Hand assets ({hand}).")
    return hand


def _hand_xml(hand: Path) -> str:
    stls = hand.parent / "stls" / "hand"
    return f"""<mujoco model="dactyl">
  <compiler angle="radian" meshdir="{stls}"/>
  <option timestep="{TIMESTEP}" integrator="implicitfast" cone="elliptic" impratio="1"/>
  <include file="{hand / "shared.xml"}"/>
  <asset><include file="{hand / "shared_asset.xml"}"/></asset>
  <worldbody><include file="{hand / "robot.xml"}"/></worldbody>
</mujoco>"""


def _look_at_quat(pos: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Quaternion of a MuJoCo camera at ``pos`` looking at ``target`` with world z up."""
    forward = target - pos
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-6:
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    # MuJoCo cameras look along -z with +y up: columns of the rotation are x=right, y=up, z=-forward.
    mat = np.stack([right, up, -forward], axis=1)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.flatten())
    return quat


def build_spec(object_half_size: float = 0.025) -> mujoco.MjSpec:
    """Build the editable scene specification.

    Args:
        object_half_size: half the block's edge length in metres (gymnasium-robotics' block is 0.025).

    Returns:
        An :class:`mujoco.MjSpec` holding hand, block, goal marker, four cameras and six lights.
    """
    if not 0.005 <= object_half_size <= 0.06:
        raise ValueError(f"object_half_size must be in [0.005, 0.06] metres, got {object_half_size!r}")
    hand = hand_asset_dir()
    spec = mujoco.MjSpec.from_string(_hand_xml(hand))
    spec.visual.quality.offsamples = 0  # no multisampling: 2.5x faster in software GL
    spec.visual.global_.offwidth = MAX_RENDER_SIZE
    spec.visual.global_.offheight = MAX_RENDER_SIZE

    tex_dir = hand.parent / "textures"
    spec.add_texture(
        name="texture:object",
        file=str(tex_dir / "block.png"),
        type=mujoco.mjtTexture.mjTEXTURE_CUBE,
        gridsize=[3, 4],
        gridlayout=".U..LFRB.D..",
    )
    spec.add_material(name="material:object", textures=["", "texture:object"], specular=1, shininess=0.3)
    spec.add_material(
        name="material:goal", textures=["", "texture:object"], specular=1, shininess=0.3, rgba=[1, 1, 1, 0.5]
    )

    world = spec.worldbody
    obj = world.add_body(name=OBJECT_BODY, pos=PALM_CENTER + [0, 0, 0.03])
    obj.add_freejoint(name=OBJECT_JOINT)
    obj.add_geom(
        name=OBJECT_GEOM,
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[object_half_size] * 3,
        material="material:object",
        condim=4,
        density=567,  # gymnasium-robotics' block: ~71 g at 5 cm
        friction=[1.0, 0.005, 0.0001],
    )
    obj.add_site(name="object:center", size=[0.005] * 3, rgba=[1, 0, 0, 0])

    goal = world.add_body(name=GOAL_BODY, pos=GOAL_DISPLAY_POS, mocap=True)
    goal.add_geom(
        name="goal",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[object_half_size] * 3,
        material="material:goal",
        contype=0,
        conaffinity=0,
        group=2,
    )

    # The real hand's position controllers hold its own weight; MuJoCo's P servos only push back once a
    # joint has moved off its target, so the arm would sag (and with targets re-anchored on the measured
    # angle, relative_to="angle", a zero action would exert no force at all). Gravity compensation of the
    # robot's links stands in for the real controllers' feed-forward term; the block is not compensated:
    # with DactylEnv's default relative_to="target" the servos hold it with a small constant error.
    for body in spec.bodies:
        if body.name.startswith("robot0:"):
            body.gravcomp = 1.0

    # Coupled distal pairs (Dactyl §1): the J1 actuator drives the pair's sum J1 + J0. The
    # gymnasium-robotics MJCF attaches it to J1 alone, so a target that means "J1 + J0" (as its own
    # relative-control code computes) makes the finger curl under a zero action. A fixed tendon
    # summing both joints gives the actuator the pair's sum as its length, as in OpenAI's model.
    for act_name, j1, j0 in COUPLED_PAIRS:
        tendon = spec.add_tendon(name=act_name.replace(":A_", ":T_") + "sum")
        tendon.wrap_joint(j1, 1.0)
        tendon.wrap_joint(j0, 1.0)
        act = spec.actuator(act_name)
        act.trntype = mujoco.mjtTrn.mjTRN_TENDON
        act.target = tendon.name
        act.ctrlrange = [0.0, 2 * 1.571]

    # Fingertip marker sites already exist in the hand model (robot0:S_*tip); make them visible
    # in geom-group 3 only, so vision cameras (which hide group 3) do not see them.
    for name in FINGERTIP_SITES:
        spec.site(name).group = 3

    # Cameras: one for humans, three around the hand for the vision model (Dactyl §2, Table 9).
    target = PALM_CENTER + [0.0, 0.0, 0.02]
    cams = {
        RENDER_CAMERA: (np.array([1.0, 0.45, 0.42]), np.array([1.04, 0.84, 0.18]), 45.0),
        CAMERA_NAMES[0]: (np.array([0.80, 0.72, 0.32]), target, 45.0),
        CAMERA_NAMES[1]: (np.array([1.0, 0.78, 0.42]), target, 45.0),
        CAMERA_NAMES[2]: (np.array([1.20, 0.72, 0.32]), target, 45.0),
    }
    # The close set: the same positions with a narrower field of view, aimed at the block's mean position in
    # the palm (measured over the pose estimator's training poses). Added after the others, so the ids above
    # are unchanged.
    for wide, close in zip(CAMERA_NAMES, CLOSE_CAMERA_NAMES, strict=True):
        cams[close] = (cams[wide][0], CLOSE_CAMERA_TARGET, CLOSE_CAMERA_FOVY)
    for name, (pos, look, fovy) in cams.items():
        world.add_camera(name=name, pos=pos, quat=_look_at_quat(pos, look), fovy=fovy)

    # Lights on the upper hemisphere: two on, four spare for VisualRandomization (4-6 lights).
    for i in range(MAX_LIGHTS):
        az = 2 * np.pi * i / MAX_LIGHTS
        pos = target + 1.0 * np.array([np.cos(az) * 0.7, np.sin(az) * 0.7, 0.7])
        world.add_light(
            name=f"light{i}",
            pos=pos,
            dir=(target - pos) / np.linalg.norm(target - pos),
            diffuse=[0.6, 0.6, 0.6] if i < 2 else [0.3, 0.3, 0.3],
            specular=[0.2, 0.2, 0.2],
            castshadow=False,
            active=i < 2,
        )
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    spec.visual.headlight.diffuse = [0.4, 0.4, 0.4]
    return spec


def build_model(object_half_size: float = 0.025) -> mujoco.MjModel:
    """Compile the Dactyl scene into an :class:`mujoco.MjModel`."""
    return build_spec(object_half_size).compile()
