import numpy as np
import pytest
import torch

import gym_dactyl  # noqa: F401
from dactyl_vision.dataset import PoseSamples, generate_samples
from dactyl_vision.pose_net import (
    PoseNet,
    PoseNetConfig,
    load_pose_net,
    matrix_to_quat,
    quat_to_matrix,
    rotation_error_deg,
    rotation_from_6d,
    save_pose_net,
)
from gym_dactyl import rotations as R

torch.set_num_threads(1)


def test_rotation_representations():
    q = R.random_quat(np.random.default_rng(0), 16)
    qt = torch.as_tensor(q)
    m = quat_to_matrix(qt)
    torch.testing.assert_close(m, quat_to_matrix(-qt))  # sign symmetry
    torch.testing.assert_close(m @ m.transpose(1, 2), torch.eye(3, dtype=m.dtype).expand(16, 3, 3))
    np.testing.assert_allclose(matrix_to_quat(m.numpy()), q, atol=1e-9)
    six = torch.cat([m[..., 0], m[..., 1]], dim=-1)
    torch.testing.assert_close(rotation_from_6d(six), m)
    assert rotation_error_deg(m, m).abs().max() < 1e-3
    turned = quat_to_matrix(torch.as_tensor(R.canonical(R.quat_mul(q, [np.sqrt(0.5), 0, 0, np.sqrt(0.5)]))))
    np.testing.assert_allclose(rotation_error_deg(m.float(), turned.float()).numpy(), 90.0, atol=1e-2)


def test_save_load_weights_only(tmp_path):
    net = PoseNet(PoseNetConfig(image_size=64, channels=(8, 8, 8), hidden=32))
    save_pose_net(net, tmp_path / "m.pt", {"epoch": 3})
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["epoch"] == 3 and payload["config"]["channels"] == [8, 8, 8]
    loaded = load_pose_net(tmp_path / "m.pt")
    x = torch.randint(0, 256, (2, 3, 64, 64, 3), dtype=torch.uint8)
    net.eval()
    for a, b in zip(net(x), loaded(x), strict=True):
        torch.testing.assert_close(a, b)
    pos, quat = loaded.predict(x[0].numpy())
    assert pos.shape == (3,) and quat.shape == (4,) and quat[0] >= 0


def test_invalid_config():
    with pytest.raises(ValueError, match="channels"):
        PoseNet(PoseNetConfig(channels=(8,)))
    with pytest.raises(ValueError, match="sizes"):
        PoseNet(PoseNetConfig(spatial_channels=-1))


@pytest.mark.parametrize("size", [64, 75])
def test_spatial_features_round_trip(tmp_path, size):
    net = PoseNet(PoseNetConfig(image_size=size, channels=(8, 8, 8, 8), hidden=32, spatial_channels=4)).eval()
    x = torch.randint(0, 256, (2, 3, size, size, 3), dtype=torch.uint8)
    pos, rot6 = net(x)
    assert pos.shape == (2, 3) and rot6.shape == (2, 6)
    save_pose_net(net, tmp_path / "m.pt")
    torch.testing.assert_close(load_pose_net(tmp_path / "m.pt")(x)[1], rot6)
    # a checkpoint saved before spatial_channels existed (no such key) loads as spatial_channels=0
    plain = PoseNet(PoseNetConfig(image_size=64, channels=(8, 8, 8), hidden=32))
    save_pose_net(plain, tmp_path / "old.pt")
    payload = torch.load(tmp_path / "old.pt", weights_only=True)
    del payload["config"]["spatial_channels"]
    torch.save(payload, tmp_path / "old.pt")
    assert load_pose_net(tmp_path / "old.pt").config.spatial_channels == 0


def test_tiny_estimator_beats_mean_predictor():
    samples = list(generate_samples(64, image_size=64, seed=1, frames_per_episode=4, max_steps=8))
    images, pos, quat = (np.stack(x) for x in zip(*samples, strict=True))
    data = PoseSamples(images, pos.astype(np.float32), quat.astype(np.float32))
    torch.manual_seed(0)
    cfg = PoseNetConfig(
        image_size=64, channels=(8, 16, 16, 32), hidden=64,
        pos_mean=tuple(data.object_pos.mean(0).tolist()), pos_std=tuple((data.object_pos.std(0) + 1e-6).tolist()),
    )  # fmt: skip
    net = PoseNet(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    x = torch.as_tensor(data.images)
    pos = torch.as_tensor(data.object_pos)
    rot = quat_to_matrix(torch.as_tensor(data.object_quat))
    for _ in range(60):
        for idx in torch.randperm(64).split(16):
            p, r6 = net(x[idx])
            loss_rot = (rotation_from_6d(r6) - rot[idx]).pow(2).sum((1, 2)).mean()
            loss = (p - net.normalise_pos(pos[idx])).pow(2).mean() + loss_rot
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        p_hat, r_hat = net.decode(*net(x))
    pos_err = (p_hat - pos).norm(dim=-1).mean()
    mean_pos_err = (pos - pos.mean(0)).norm(dim=-1).mean()
    rot_err = rotation_error_deg(r_hat, rot).mean()
    u, _, vt = torch.linalg.svd(rot.mean(0))
    mean_rot = u @ torch.diag(torch.tensor([1.0, 1.0, float(torch.det(u @ vt))])) @ vt  # chordal mean
    mean_rot_err = rotation_error_deg(mean_rot.expand_as(rot), rot).mean()
    assert pos_err < 0.7 * mean_pos_err
    assert rot_err < 0.7 * mean_rot_err


def test_pose_errors_per_sample_match_the_prediction() -> None:
    from dactyl_vision.pose_net import pose_errors

    torch.manual_seed(0)
    net = PoseNet(PoseNetConfig(image_size=64, channels=(4, 4, 4), hidden=8))
    images = np.random.default_rng(0).integers(0, 256, (5, 3, 64, 64, 3), dtype=np.uint8)
    pos_hat, quat_hat = net.predict(images)
    pos_mm, rot_deg = pose_errors(net, images, pos_hat + [0.001, 0.0, 0.0], quat_hat, batch=2)
    assert pos_mm.shape == rot_deg.shape == (5,) and pos_mm.dtype == np.float64
    np.testing.assert_allclose(pos_mm, 1.0, atol=1e-4)  # 1 mm off along x
    np.testing.assert_allclose(rot_deg, 0.0, atol=0.1)  # float32 acos near 1 is coarse
