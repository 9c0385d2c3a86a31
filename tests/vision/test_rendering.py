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


# --------------------------------------------------------------------------- static-mesh culling (session 12)
def _pair(model, **kwargs):
    return MultiCameraRenderer(model, **kwargs), MultiCameraRenderer(model, cull_static=False, **kwargs)


@pytest.mark.parametrize("appearance", ["nominal", "table9", "held_out"])
def test_static_cull_gives_the_same_pixels(appearance):
    """Culling the forearm's invisible triangles changes no pixel, episode after episode (cameras move)."""
    base = gym.make("Dactyl-v0", action_type="continuous")
    env = {"nominal": base, "table9": VisualRandomization(base), "held_out": VisualRandomization.held_out(base)}[
        appearance
    ]
    u = env.unwrapped
    culled, full = _pair(u.model, width=64, height=64)
    rng = np.random.default_rng(0)
    counts = set()
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(2):
            env.step(rng.uniform(-1, 1, 20))
            np.testing.assert_array_equal(culled.render(u.data), full.render(u.data))
            counts.add(culled.culled_faces)
    forearm = u.model.mesh_facenum[u.model.geom_dataid[u.model.geom("robot0:V_forearm").id]]
    assert all(0 < c < forearm for c in counts)  # something culled, not everything
    if appearance != "nominal":
        assert len(counts) > 1  # re-culled when the randomized cameras moved
    assert full.culled_faces == 0
    culled.close()
    full.close()
    env.close()


def test_static_cull_follows_a_moved_camera():
    """A camera edited in place (no reset) triggers a new cull; pixels still match the full meshes."""
    import mujoco

    env = gym.make("Dactyl-v0")
    env.reset(seed=0)
    u = env.unwrapped
    culled, full = _pair(u.model, width=72, height=64)
    culled.render(u.data)
    before = culled.culled_faces
    cam = u.model.camera(C.CAMERA_NAMES[0]).id
    u.model.cam_pos[cam] += [0.0, -0.15, 0.0]  # 15 cm back: far more of the forearm comes into view
    u.model.cam_fovy[cam] = 80.0
    mujoco.mj_camlight(u.model, u.data)
    np.testing.assert_array_equal(culled.render(u.data), full.render(u.data))
    assert culled.culled_faces != before
    culled.close()
    full.close()
    env.close()


def test_static_faces_in_view_geometry():
    from dactyl_vision.rendering import static_faces_in_view

    # A camera at the origin looking along -z (identity orientation), 90 degree field of view.
    cam_pos, cam_mat, tan_half = np.zeros((1, 3)), np.eye(3)[None], np.ones((1, 2))
    tri = np.array([[0.0, 0.0, 0.0], [0.01, 0.0, 0.0], [0.0, 0.01, 0.0]])  # counter-clockwise seen from +z
    verts = np.concatenate(
        [
            tri + [0, 0, -1],  # in front, facing the camera (its normal +z points at it)
            tri[[0, 2, 1]] + [0, 0, -1],  # the same triangle wound the other way: a back face
            tri + [0, 0, 1],  # behind the camera
            tri + [3, 0, -1],  # in front but far outside the 45 degree half angle
            tri + [1.0, 0, -1],  # on the edge of the view (x = depth): kept
        ]
    )
    faces = np.arange(15).reshape(5, 3)
    keep = static_faces_in_view(verts, faces, cam_pos, cam_mat, tan_half)
    assert keep.tolist() == [True, False, False, False, True]
