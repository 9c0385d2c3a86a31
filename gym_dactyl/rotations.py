"""Quaternion helpers (MuJoCo order w, x, y, z), vectorised over leading dimensions.

Single-quaternion products on the env's hot path use MuJoCo's own ``mju_*`` routines; these
numpy versions serve batched work (wrappers, goal sampling, tests).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "axis_angle_to_quat",
    "canonical",
    "quat_conj",
    "quat_mul",
    "random_quat",
    "rotation_angle",
    "yaw_quat",
    "PARALLEL_FACE_QUATS",
]


# Hamilton product as a matrix: a ⊗ b = L(a) @ b with L(a)[i, j] = _MUL_SIGN[i, j] * a[_MUL_INDEX[i, j]].
_MUL_INDEX = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])
_MUL_SIGN = np.array([[1.0, -1.0, -1.0, -1.0], [1.0, 1.0, -1.0, 1.0], [1.0, 1.0, 1.0, -1.0], [1.0, -1.0, 1.0, 1.0]])


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a ⊗ b`` over the last axis (vectorised ``mju_mulQuat``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.matmul(a[..., _MUL_INDEX] * _MUL_SIGN, b[..., None])[..., 0]


def quat_conj(q: np.ndarray) -> np.ndarray:
    """Conjugate (the inverse of a unit quaternion)."""
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def canonical(q: np.ndarray) -> np.ndarray:
    """Normalise and flip the sign so that ``w >= 0`` (q and -q are the same rotation); zeros stay zero."""
    q = np.asarray(q, dtype=np.float64)
    norm = np.sqrt(np.sum(q * q, axis=-1, keepdims=True))
    return q * (np.copysign(1.0, q[..., :1]) / np.maximum(norm, 1e-300))


def rotation_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in radians of the rotation taking ``b`` to ``a``, in [0, pi]."""
    dot = np.abs(np.sum(a * b, axis=-1))
    return 2.0 * np.arccos(np.clip(dot, 0.0, 1.0))


def axis_angle_to_quat(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Quaternion of a rotation by ``angle`` about unit ``axis`` (broadcast over leading dims)."""
    angle = np.asarray(angle)[..., None]
    return np.concatenate([np.cos(angle / 2), np.sin(angle / 2) * axis], axis=-1)


def yaw_quat(theta: np.ndarray | float) -> np.ndarray:
    """Rotation about the world z axis."""
    return axis_angle_to_quat(np.array([0.0, 0.0, 1.0]), np.asarray(theta, dtype=np.float64))


def random_quat(rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Uniform random rotations on SO(3) (normalised 4-D Gaussian), canonical sign."""
    shape = (() if size is None else (size,) if isinstance(size, int) else tuple(size)) + (4,)
    return canonical(rng.normal(size=shape))


_S = np.sqrt(0.5)
# The six axis-aligned rotations that bring each face of a cube to the top (+z); times a yaw these
# are the "locked parallel" goals of Dactyl §1.
PARALLEL_FACE_QUATS = np.array(
    [
        [1.0, 0.0, 0.0, 0.0],  # +z up
        [0.0, 1.0, 0.0, 0.0],  # -z up (pi about x)
        [_S, _S, 0.0, 0.0],  # pi/2 about x
        [_S, -_S, 0.0, 0.0],  # -pi/2 about x
        [_S, 0.0, _S, 0.0],  # pi/2 about y
        [_S, 0.0, -_S, 0.0],  # -pi/2 about y
    ]
)
