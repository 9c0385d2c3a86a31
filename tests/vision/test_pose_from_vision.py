import gymnasium as gym
import numpy as np
import pytest
import torch

import gym_dactyl  # noqa: F401
from dactyl_vision.camera_observation import CameraObservation
from dactyl_vision.pose_from_vision import PoseFromVision, make_vision_env
from dactyl_vision.pose_net import PoseNet, PoseNetConfig, save_pose_net
from gym_dactyl import rotations as R
from wrappers.visual_randomization import VisualRandomization

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return PoseNet(PoseNetConfig(image_size=64, channels=(8, 8, 8), hidden=32)).eval()


def check_consistent(env, obs):
    goal = env.unwrapped.goal_quat
    expected = R.canonical(R.quat_mul(goal, R.quat_conj(obs["object_quat"].astype(np.float64))))
    np.testing.assert_allclose(obs["relative_goal_quat"], expected, atol=1e-5)
    assert obs["object_quat"][0] >= 0 and obs["relative_goal_quat"][0] >= 0


def test_keeps_observation_space_and_replaces_pose(net):
    base = gym.make("Dactyl-v0", action_type="continuous")
    env = PoseFromVision(base, net)
    assert env.observation_space == base.observation_space
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    _, pred_quat = net.predict(env.last_images)
    np.testing.assert_allclose(obs["object_quat"], pred_quat, atol=1e-6)
    state = obs["state"]
    from gym_dactyl.constants import STATE_LAYOUT as L

    assert not np.allclose(obs["object_pos"], state[L["object_pos"]])  # an untrained net is wrong
    np.testing.assert_array_equal(obs["fingertip_pos"], state[L["fingertip_pos"]])
    check_consistent(env, obs)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample())
        check_consistent(env, obs)
    env.close()


def test_uses_inner_images(net):
    inner = CameraObservation(VisualRandomization(gym.make("Dactyl-v0")), width=64, height=64)
    env = PoseFromVision(inner, net)
    assert env.observation_space == inner.observation_space
    obs, _ = env.reset(seed=1)
    assert "images" in obs
    pos, _ = net.predict(obs["images"])
    np.testing.assert_allclose(obs["object_pos"], pos, atol=1e-6)
    stripped = PoseFromVision(CameraObservation(gym.make("Dactyl-v0")), net, strip_images=True)
    assert stripped.observation_space == gym.make("Dactyl-v0").observation_space
    assert "images" not in stripped.reset(seed=0)[0]


def test_invalid_arguments(net):
    with pytest.raises(ValueError, match="estimator"):
        PoseFromVision(gym.make("Dactyl-v0"), estimator=3)
    with pytest.raises(ValueError, match="env"):
        PoseFromVision(CameraObservation(gym.make("Dactyl-v0"), width=96, height=96), net)
    from gym_dactyl.constants import CLOSE_CAMERA_NAMES

    def close_images():
        return CameraObservation(gym.make("Dactyl-v0"), width=64, height=64, camera_names=CLOSE_CAMERA_NAMES)

    with pytest.raises(ValueError, match="cameras"):  # images of other cameras than the estimator's
        PoseFromVision(close_images(), net)
    close_net = PoseNet(PoseNetConfig(image_size=64, channels=(8, 8, 8), hidden=32, camera_names=CLOSE_CAMERA_NAMES))
    env = PoseFromVision(close_images(), close_net.eval())
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs["object_pos"], close_net.predict(obs["images"])[0], atol=1e-6)
    rendered = PoseFromVision(gym.make("Dactyl-v0"), close_net)  # renders the estimator's own cameras
    rendered.reset(seed=0)
    np.testing.assert_array_equal(rendered.last_images, obs["images"])


def test_make_vision_env(tmp_path, net):
    save_pose_net(net, tmp_path / "m.pt")
    for appearance in ("table9", "held_out", "nominal"):
        env = make_vision_env(tmp_path / "m.pt", appearance=appearance, action_type="continuous")
        assert env.observation_space == gym.make("Dactyl-v0", action_type="continuous").observation_space
        obs, _ = env.reset(seed=0)
        check_consistent(env, obs)
        env.close()
    with pytest.raises(ValueError, match="appearance"):
        make_vision_env(tmp_path / "m.pt", appearance="sunny")


def test_rollout_pose_errors(net):
    from dactyl_vision.pose_from_vision import rollout_pose_errors

    env = PoseFromVision(gym.make("Dactyl-v0"), net)  # discrete actions
    e = rollout_pose_errors(env, episodes=2, steps=3, seed=0)
    assert e["position_mm"].shape == e["rotation_deg"].shape == e["seconds_per_step"].shape == (6,)
    assert (e["rotation_deg"] >= 0).all() and (e["rotation_deg"] <= 180).all()
