import gymnasium as gym
import numpy as np
import pytest

import gym_dactyl  # noqa: F401
from dactyl_vision.camera_observation import CameraObservation, find_image_randomizer
from dactyl_vision.rendering import MultiCameraRenderer
from gym_dactyl import constants as C
from wrappers.visual_randomization import VisualRandomization


def make(width=64, height=64, randomize=False):
    env = gym.make("Dactyl-v0", action_type="continuous")
    if randomize:
        env = VisualRandomization(env)
    return CameraObservation(env, width=width, height=height)


def rollout(env, seed, n=3):
    obs, _ = env.reset(seed=seed)
    frames = [obs["images"]]
    rng = np.random.default_rng(seed)
    for _ in range(n):
        obs, *_ = env.step(rng.uniform(-1, 1, 20))
        frames.append(obs["images"])
    return np.stack(frames)


def test_multi_camera_renderer_matches_render_cameras():
    env = gym.make("Dactyl-v0")
    env.reset(seed=3)
    u = env.unwrapped
    with MultiCameraRenderer(u.model, width=80, height=64) as r:
        mine = r.render(u.data)
    ref = u.render_cameras(width=80, height=64)
    assert mine.shape == ref.shape == (3, 64, 80, 3)
    diff = np.abs(mine.astype(int) - ref.astype(int))
    assert diff.max() <= 2 and (diff > 0).mean() < 1e-3  # rasterisation rounding at viewport offsets only
    env.close()


def test_observation_space_and_images():
    env = make(96, 72)
    space = env.observation_space
    assert space["images"].shape == (3, 72, 96, 3) and space["images"].dtype == np.uint8
    assert set(space.spaces) == set(env.env.observation_space.spaces) | {"images"}
    obs, _ = env.reset(seed=0)
    assert space.contains(obs)
    assert obs["images"].std() > 10  # not a blank frame
    env.close()


@pytest.mark.parametrize("randomize", [False, True])
def test_renders_deterministic_under_seed(randomize):
    a, b = make(randomize=randomize), make(randomize=randomize)
    fa, fb = rollout(a, 7), rollout(b, 7)
    np.testing.assert_array_equal(fa, fb)
    assert not np.array_equal(fa, rollout(a, 8))
    a.close()
    b.close()


def test_pixel_noise_is_fresh_every_frame():
    env = make(randomize=True)
    for seed in range(20):  # find an episode with non-zero noise
        env.reset(seed=seed)
        if env.env.pixel_noise > 0.02:
            break
    first = env.observation({})["images"]
    second = env.observation({})["images"]  # same state, new noise
    assert not np.array_equal(first, second)
    env.close()


def test_finds_randomizer_in_stack():
    env = gym.make("Dactyl-v0")
    assert find_image_randomizer(env) is None
    wrapped = VisualRandomization(env)
    assert find_image_randomizer(gym.wrappers.PassiveEnvChecker(wrapped)) == wrapped.randomize_image


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"width": 63}, "width"), ({"width": 201}, "width"), ({"height": 32}, "height"),
    ({"height": 64.0}, "height"), ({"width": True}, "width"),
])  # fmt: skip
def test_invalid_size_raises_naming_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CameraObservation(gym.make("Dactyl-v0"), **kwargs)


def test_invalid_camera_and_space():
    with pytest.raises(ValueError, match="camera_names"):
        CameraObservation(gym.make("Dactyl-v0"), camera_names=("nope",))
    with pytest.raises(ValueError, match="images"):
        CameraObservation(CameraObservation(gym.make("Dactyl-v0")))
    assert C.CAMERA_NAMES == make().camera_names
