import gymnasium as gym
import mujoco
import numpy as np
import pytest

import gym_dactyl  # noqa: F401
from gym_dactyl.vision.appearance import HELD_OUT, TABLE9, AppearanceRandomization, AppearanceRandomizer, adjust_image
from gym_dactyl.vision.camera_observation import CameraObservation


def model_arrays(m):
    out = {}
    for name in dir(m):
        if name.startswith("_"):
            continue
        try:
            v = getattr(m, name)
        except Exception:  # noqa: BLE001
            continue
        if isinstance(v, np.ndarray):
            out[name] = v.copy()
    return out


@pytest.mark.parametrize("ranges", [TABLE9, HELD_OUT])
def test_sample_writes_only_visual_fields_and_restores(ranges):
    m = gym.make("Dactyl-v0").unwrapped.model
    before = model_arrays(m)
    app = AppearanceRandomizer(m)
    app.sample(np.random.default_rng(0), ranges)
    after = model_arrays(m)
    changed = {k for k in before if not np.array_equal(before[k], after[k])}
    assert changed and changed <= set(AppearanceRandomizer.field_names())
    app.restore()
    assert all(np.array_equal(before[k], v) for k, v in model_arrays(m).items())


def test_visual_randomization_changes_images_never_physics():
    plain = CameraObservation(gym.make("Dactyl-v0", action_type="continuous"))
    rand = CameraObservation(AppearanceRandomization(gym.make("Dactyl-v0", action_type="continuous"), TABLE9))
    for seed in (0, 1):
        oa, _ = plain.reset(seed=seed)
        ob, _ = rand.reset(seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(15):
            assert not np.array_equal(oa["images"], ob["images"])
            for k in oa:
                if k != "images":
                    np.testing.assert_array_equal(oa[k], ob[k])
            a = rng.uniform(-1, 1, 20)
            oa, ra, ta, tra, ia = plain.step(a)
            ob, rb, tb, trb, ib = rand.step(a)
            assert (ra, ta, tra) == (rb, tb, trb) and ia == ib
    np.testing.assert_array_equal(plain.unwrapped.data.qpos, rand.unwrapped.data.qpos)


def test_held_out_outside_training_ranges():
    for field in ("cam_pos", "cam_rot_deg", "cam_fovy_deg", "object_saturation", "object_value", "light_total"):
        assert getattr(HELD_OUT, field)[0] >= getattr(TABLE9, field)[1], field
    assert TABLE9.light_tint_saturation == (0.0, 0.0) and HELD_OUT.light_tint_saturation[0] > 0


def test_adjust_image_identity_and_contrast():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(adjust_image(img, 1.0, 0.0, rng), img)
    flat = adjust_image(img, 0.0, 0.0, rng)
    assert (flat.reshape(3, -1).std(axis=1) < 1).all()


def test_invalid_ranges():
    with pytest.raises(ValueError, match="ranges"):
        AppearanceRandomization(gym.make("Dactyl-v0"), ranges={"cam_pos": (0, 1)})


def test_camlight_updated_without_forward():
    env = gym.make("Dactyl-v0")
    env.reset(seed=0)
    u = env.unwrapped
    cam_before = u.data.cam_xpos.copy()
    AppearanceRandomizer(u.model).sample(np.random.default_rng(1), TABLE9, u.data)
    assert not np.array_equal(cam_before, u.data.cam_xpos)
    assert isinstance(u.model, mujoco.MjModel)
