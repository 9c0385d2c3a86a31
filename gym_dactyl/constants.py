"""Names, key lists and paper constants of the Dactyl task.

Every number quotes its source in ``shared/docs/dactyl_reference.md`` (section 1, from
OpenAI, "Learning Dexterous In-Hand Manipulation", arXiv 1808.00177, "Dactyl" below).
Wrappers and training code import the key lists from here instead of hard-coding them.
"""

from __future__ import annotations

__all__ = [
    "ACTION_BINS",
    "ACTUATOR_NAMES",
    "CAMERA_NAMES",
    "COUPLED_PAIRS",
    "CRITIC_KEYS",
    "DROP_PENALTY",
    "FINGERTIP_SITES",
    "FRAME_SKIP",
    "GOAL_TIMEOUT_S",
    "HAND_JOINT_NAMES",
    "MAX_CONSECUTIVE_SUCCESSES",
    "OBJECT_BODY",
    "OBJECT_GEOM",
    "OBJECT_JOINT",
    "OBS_DIMS",
    "POLICY_KEYS",
    "QUAT_KEYS",
    "RENDER_CAMERA",
    "STATE_LAYOUT",
    "STATE_DIM",
    "SUCCESS_BONUS",
    "SUCCESS_THRESHOLD",
    "TIMESTEP",
    "ACTION_SMOOTHING",
    "EVAL_GOAL_TIMEOUT_S",
]

# --- timing (Dactyl §1: 80 ms control step = 10 MuJoCo steps of 8 ms) ---
TIMESTEP = 0.008
FRAME_SKIP = 10

# --- reward and episode end (Dactyl §1) ---
SUCCESS_THRESHOLD = 0.4  # rad, rotation error below which a goal counts as reached
SUCCESS_BONUS = 5.0
DROP_PENALTY = -20.0
MAX_CONSECUTIVE_SUCCESSES = 50
GOAL_TIMEOUT_S = 8.0  # training; no success within this much simulated time truncates
EVAL_GOAL_TIMEOUT_S = 80.0  # the paper's evaluation timeout
ACTION_BINS = 11  # each action coordinate discretised into 11 bins mapped to [-1, 1]
ACTION_SMOOTHING = 0.3  # paper's EMA coefficient per 80 ms (optional, off by default)

# --- model names (Shadow Hand MJCF shipped by gymnasium-robotics; scene composed in gym_dactyl.scene) ---
HAND_JOINT_NAMES: tuple[str, ...] = tuple(
    f"robot0:{n}"
    for n in (
        "WRJ1", "WRJ0",
        "FFJ3", "FFJ2", "FFJ1", "FFJ0",
        "MFJ3", "MFJ2", "MFJ1", "MFJ0",
        "RFJ3", "RFJ2", "RFJ1", "RFJ0",
        "LFJ4", "LFJ3", "LFJ2", "LFJ1", "LFJ0",
        "THJ4", "THJ3", "THJ2", "THJ1", "THJ0",
    )
)  # fmt: skip
ACTUATOR_NAMES: tuple[str, ...] = tuple(
    f"robot0:A_{n}"
    for n in (
        "WRJ1", "WRJ0",
        "FFJ3", "FFJ2", "FFJ1",
        "MFJ3", "MFJ2", "MFJ1",
        "RFJ3", "RFJ2", "RFJ1",
        "LFJ4", "LFJ3", "LFJ2", "LFJ1",
        "THJ4", "THJ3", "THJ2", "THJ1", "THJ0",
    )
)  # fmt: skip
# Coupled distal pairs (Dactyl §1: "4 coupled pairs, distal J1+J0 driven together"):
# the J1 actuator's target and current angle are the pair's sum.
COUPLED_PAIRS: tuple[tuple[str, str, str], ...] = tuple(
    (f"robot0:A_{f}J1", f"robot0:{f}J1", f"robot0:{f}J0") for f in ("FF", "MF", "RF", "LF")
)
FINGERTIP_SITES: tuple[str, ...] = tuple(f"robot0:S_{f}tip" for f in ("ff", "mf", "rf", "lf", "th"))
OBJECT_BODY = "object"
OBJECT_GEOM = "object"
OBJECT_JOINT = "object:joint"
CAMERA_NAMES: tuple[str, ...] = ("vision_cam_left", "vision_cam_top", "vision_cam_right")
# The same three cameras with a longer lens (narrower field of view), aimed at where the block sits in the
# palm rather than at the whole hand: the block is ~1.35x as many pixels across at the same image size
# (gym_dactyl.scene; docs/vision.md). Same positions, so wrappers.VisualRandomization gives each the jitter
# of its wide counterpart.
CLOSE_CAMERA_NAMES: tuple[str, ...] = ("vision_cam_left_close", "vision_cam_top_close", "vision_cam_right_close")
#: named vision camera sets: ``"wide"`` (the whole hand) and ``"close"`` (the block in the palm)
CAMERA_SETS: dict[str, tuple[str, ...]] = {"wide": CAMERA_NAMES, "close": CLOSE_CAMERA_NAMES}
RENDER_CAMERA = "render_cam"

# --- observations (Dactyl Table 2) ---
# Policy-visible keys (noisy under wrappers.ObservationNoise). object_quat is in the policy
# observation here, as in the issue; the paper left it out "by accident".
POLICY_KEYS: tuple[str, ...] = ("fingertip_pos", "object_pos", "object_quat", "relative_goal_quat")
CRITIC_KEYS: tuple[str, ...] = ("state",)
QUAT_KEYS: tuple[str, ...] = ("object_quat", "relative_goal_quat")

# Layout of the clean full-state vector ``obs["state"]`` for the critic (Dactyl Table 2).
# Quaternions are MuJoCo order (w, x, y, z) with w >= 0. object_linvel is in the world frame and
# object_angvel in the block's own frame (MuJoCo's free-joint convention).
STATE_LAYOUT: dict[str, slice] = {}
_offset = 0
for _name, _dim in (
    ("joint_pos", 24),
    ("joint_vel", 24),
    ("object_pos", 3),
    ("object_quat", 4),
    ("object_linvel", 3),
    ("object_angvel", 3),
    ("goal_quat", 4),
    ("relative_goal_quat", 4),
    ("fingertip_pos", 15),
):
    STATE_LAYOUT[_name] = slice(_offset, _offset + _dim)
    _offset += _dim
STATE_DIM = _offset
del _offset, _name, _dim

OBS_DIMS: dict[str, int] = {
    "fingertip_pos": 15,
    "object_pos": 3,
    "object_quat": 4,
    "relative_goal_quat": 4,
    "state": STATE_DIM,
}
