"""CNN pose estimator: block position and orientation from the three cameras (Dactyl §2, Table 6).

Architecture (plain torch, no torchvision): one convolutional tower *shared* by all cameras (weights tied,
the cameras are stacked into the batch), each camera's last feature map summarised by a spatial softmax
(the expected image coordinates of every channel, good for position) and a global average (appearance,
good for orientation); the per-camera features are concatenated in camera order and an MLP predicts

* the position, normalised by the training set's mean and standard deviation, and
* the orientation in the continuous 6-D representation (the first two columns of the rotation matrix,
  Zhou et al., CVPR 2019), turned into a rotation matrix by Gram-Schmidt.

Regressing the matrix sidesteps the quaternion sign symmetry: ``q`` and ``-q`` give the same matrix, so the
label is unique and the loss (squared Frobenius distance of the matrices) is sign-invariant.

Checkpoints are ``{"state_dict": ..., "config": dict}`` with plain-type config only, so
``torch.load(path, weights_only=True)`` loads them (:func:`load_pose_net`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import mujoco
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gym_dactyl.constants import CAMERA_NAMES

__all__ = [
    "PoseNet",
    "PoseNetConfig",
    "load_pose_net",
    "matrix_to_quat",
    "pose_errors",
    "quat_to_matrix",
    "rotation_error_deg",
    "rotation_from_6d",
    "save_pose_net",
]


@dataclass
class PoseNetConfig:
    """Hyper-parameters and label normalisation of a :class:`PoseNet` (saved with the weights)."""

    image_size: int = 64
    """Side of the square input images in pixels."""
    n_cameras: int = 3
    """Number of cameras (images per sample)."""
    channels: tuple[int, ...] = (16, 32, 32, 64, 64)
    """Output channels of the tower's conv layers; layers 1, 2 and 4 halve the resolution."""
    hidden: int = 256
    """Width of the fusion MLP."""
    spatial_channels: int = 0
    """If > 0, each camera also contributes its whole final feature map, reduced to this many channels by
    a 1x1 convolution and flattened (keeps *where* each feature is, which the keypoints and the global
    average summarise away); 0: keypoints and global average only."""
    pos_mean: tuple[float, float, float] = (1.0, 0.87, 0.19)
    """Mean object position (m), subtracted before the position head's target."""
    pos_std: tuple[float, float, float] = (0.01, 0.01, 0.01)
    """Standard deviation of the object position (m), dividing the position head's target."""
    camera_names: tuple[str, ...] = CAMERA_NAMES
    """Cameras in input order: :data:`~gym_dactyl.constants.CAMERA_NAMES` (wide) or
    :data:`~gym_dactyl.constants.CLOSE_CAMERA_NAMES`; :class:`~dactyl_vision.PoseFromVision` renders these."""

    def to_dict(self) -> dict:
        """Plain-type dict (lists instead of tuples), loadable with ``weights_only=True``."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> PoseNetConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


_STRIDES = (2, 2, 1, 2, 1)


class SpatialSoftmax(nn.Module):
    """Expected (x, y) image coordinates in [-1, 1] of each channel's softmax over pixels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, C, H, W)`` features to ``(B, 2C)`` keypoints."""
        b, c, h, w = x.shape
        attn = F.softmax(x.flatten(2), dim=-1).view(b, c, h, w)
        ys = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype)
        kx = (attn.sum(2) * xs).sum(-1)
        ky = (attn.sum(3) * ys).sum(-1)
        return torch.cat([kx, ky], dim=1)


class PoseNet(nn.Module):
    """Shared conv tower per camera, fused by concatenation; predicts normalised position and 6-D rotation.

    Example:
        >>> net = PoseNet(PoseNetConfig(image_size=64))
        >>> images = torch.zeros(2, 3, 64, 64, 3, dtype=torch.uint8)
        >>> pos, rot6 = net(images)
        >>> pos.shape, rot6.shape
        (torch.Size([2, 3]), torch.Size([2, 6]))
    """

    def __init__(self, config: PoseNetConfig) -> None:
        """Build the network.

        Args:
            config: the architecture and label normalisation.

        Raises:
            ValueError: for a config with fewer than two conv layers or non-positive sizes.
        """
        super().__init__()
        if len(config.channels) < 2 or min(config.channels) < 1:
            raise ValueError(f"config.channels must list >= 2 positive ints, got {config.channels!r}")
        if config.hidden < 1 or config.n_cameras < 1 or config.image_size < 8 or config.spatial_channels < 0:
            raise ValueError(f"config sizes must be positive (image_size >= 8), got {config!r}")
        self.config = config
        layers: list[nn.Module] = []
        c_in = 3
        for i, c_out in enumerate(config.channels):
            stride = _STRIDES[i] if i < len(_STRIDES) else 1
            k = 5 if i == 0 else 3
            layers += [nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.tower = nn.Sequential(*layers)
        self.keypoints = SpatialSoftmax()
        feat = 3 * c_in * config.n_cameras
        self.spatial: nn.Module | None = None
        if config.spatial_channels > 0:
            side = config.image_size
            for i in range(len(config.channels)):
                stride = _STRIDES[i] if i < len(_STRIDES) else 1
                side = (side + stride - 1) // stride
            self.spatial = nn.Sequential(nn.Conv2d(c_in, config.spatial_channels, 1), nn.ReLU(), nn.Flatten())
            feat += config.spatial_channels * side * side * config.n_cameras
        self.mlp = nn.Sequential(
            nn.Linear(feat, config.hidden), nn.ReLU(), nn.Linear(config.hidden, config.hidden), nn.ReLU()
        )
        self.pos_head = nn.Linear(config.hidden, 3)
        self.rot_head = nn.Linear(config.hidden, 6)
        with torch.no_grad():  # start near the identity rotation and the mean position
            self.pos_head.weight.mul_(0.1)
            self.pos_head.bias.zero_()
            self.rot_head.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.register_buffer("pos_mean", torch.tensor(config.pos_mean, dtype=torch.float32))
        self.register_buffer("pos_std", torch.tensor(config.pos_std, dtype=torch.float32))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict from images.

        Args:
            images: ``uint8`` (or float in [0, 255]) tensor ``(B, n_cameras, H, W, 3)``.

        Returns:
            ``(pos_normalised (B, 3), rot6 (B, 6))``; see :meth:`decode`.
        """
        b, n, h, w, _ = images.shape
        x = images.reshape(b * n, h, w, 3).permute(0, 3, 1, 2).float() * (1.0 / 255.0) - 0.5
        f = self.tower(x)
        parts = [self.keypoints(f), f.mean(dim=(2, 3))]
        if self.spatial is not None:
            parts.append(self.spatial(f))
        feats = torch.cat(parts, dim=1).reshape(b, -1)
        z = self.mlp(feats)
        return self.pos_head(z), self.rot_head(z)

    def normalise_pos(self, pos: torch.Tensor) -> torch.Tensor:
        """World position (m) -> the position head's target."""
        return (pos - self.pos_mean) / self.pos_std

    def decode(self, pos_n: torch.Tensor, rot6: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Network outputs -> ``(position in metres (B, 3), rotation matrix (B, 3, 3))``."""
        return pos_n * self.pos_std + self.pos_mean, rotation_from_6d(rot6)

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimate the block pose from ``uint8`` images.

        Args:
            images: ``(n_cameras, H, W, 3)`` or a batch ``(B, n_cameras, H, W, 3)``.

        Returns:
            ``(position (…, 3) in metres, quaternion (…, 4) (w, x, y, z) with w >= 0)`` as float64 arrays,
            without the batch axis when the input had none.
        """
        single = images.ndim == 4
        x = torch.as_tensor(np.ascontiguousarray(images[None] if single else images))
        was_training = self.training
        self.eval()
        pos, mat = self.decode(*self(x))
        self.train(was_training)
        pos_np = pos.double().numpy()
        quat = matrix_to_quat(mat.double().numpy())
        return (pos_np[0], quat[0]) if single else (pos_np, quat)


def rotation_from_6d(rot6: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt of two 3-vectors (the matrix's first two columns) into a rotation matrix ``(B, 3, 3)``."""
    a1, a2 = rot6[..., :3], rot6[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(…, 3, 3)`` of quaternions ``(…, 4)`` (w, x, y, z); ``q`` and ``-q`` agree."""
    q = F.normalize(q, dim=-1)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def matrix_to_quat(mat: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z), ``w >= 0``, of rotation matrices ``(…, 3, 3)`` (via ``mju_mat2Quat``)."""
    flat = np.asarray(mat, dtype=np.float64).reshape(-1, 9)
    out = np.empty((len(flat), 4))
    for i, m in enumerate(flat):
        mujoco.mju_mat2Quat(out[i], m)
    out /= np.linalg.norm(out, axis=-1, keepdims=True)
    out[out[:, 0] < 0] *= -1.0
    return out.reshape(*np.shape(mat)[:-2], 4)


def rotation_error_deg(r_pred: torch.Tensor, r_true: torch.Tensor) -> torch.Tensor:
    """Angle in degrees of the rotation between two batches of rotation matrices."""
    cos = ((r_pred.transpose(-1, -2) @ r_true).diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0
    return torch.rad2deg(torch.acos(cos.clamp(-1.0, 1.0)))


def pose_errors(
    net: PoseNet, images: np.ndarray, object_pos: np.ndarray, object_quat: np.ndarray, batch: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample position error (mm) and rotation error (degrees) of ``net`` in eval mode.

    Args:
        net: the estimator (put in eval mode).
        images: ``uint8 (N, n_cameras, H, W, 3)``.
        object_pos: true positions ``(N, 3)`` in metres (any float dtype; compared in the net's).
        object_quat: true orientations ``(N, 4)`` (w, x, y, z).
        batch: samples per forward pass.

    Returns:
        ``float64`` arrays ``(N,)``: position error in mm, rotation error in degrees.
    """
    net.eval()
    pos_err, rot_err = [], []
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            p_hat, r_hat = net.decode(*net(torch.as_tensor(images[i : i + batch])))
            pos = torch.as_tensor(object_pos[i : i + batch], dtype=p_hat.dtype)
            rot = quat_to_matrix(torch.as_tensor(object_quat[i : i + batch], dtype=r_hat.dtype))
            pos_err.append(1000.0 * (p_hat - pos).norm(dim=-1))
            rot_err.append(rotation_error_deg(r_hat, rot))
    return torch.cat(pos_err).double().numpy(), torch.cat(rot_err).double().numpy()


def save_pose_net(net: PoseNet, path: str | os.PathLike, extra: dict | None = None) -> None:
    """Save ``{"state_dict", "config", **extra}`` atomically (temp file + ``os.replace``).

    Args:
        net: the network.
        path: destination file.
        extra: more plain-type entries (e.g. metrics), must be ``weights_only``-loadable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"state_dict": net.state_dict(), "config": net.config.to_dict(), **(extra or {})}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600 files
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_pose_net(path: str | os.PathLike) -> PoseNet:
    """Load a network saved by :func:`save_pose_net` (``torch.load(weights_only=True)``), in eval mode."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    net = PoseNet(PoseNetConfig.from_dict(payload["config"]))
    net.load_state_dict(payload["state_dict"])
    return net.eval()
