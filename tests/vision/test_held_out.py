"""The appearances of the vision experiments: one VisualRandomization, Table 9 and its held-out preset."""

import gymnasium as gym
import numpy as np
import pytest

import gym_dactyl  # noqa: F401
from dactyl_vision.camera_observation import CameraObservation
from dactyl_vision.presets import APPEARANCES, with_appearance
from gym_dactyl import constants as C
from wrappers.distributions import SignedUniform, Uniform
from wrappers.visual_randomization import HELD_OUT, VisualRandomization


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


VISUAL = {"cam_pos", "cam_quat", "cam_fovy", "geom_rgba", "mat_rgba", "mat_specular", "mat_shininess",
          "mat_metallic", "mat_roughness", "light_active", "light_type", "light_pos", "light_dir",
          "light_diffuse"}  # fmt: skip


@pytest.mark.parametrize("appearance", ["table9", "held_out"])
def test_writes_only_visual_fields_and_restores(appearance):
    base = gym.make("Dactyl-v0")
    m = base.unwrapped.model
    before = model_arrays(m)
    env = with_appearance(base, appearance)
    env.reset(seed=0)
    changed = {k for k, v in model_arrays(m).items() if not np.array_equal(before[k], v)}
    assert changed and changed <= VISUAL, changed - VISUAL
    env.close()
    assert all(np.array_equal(before[k], v) for k, v in model_arrays(m).items())


def test_nominal_is_the_plain_env():
    env = gym.make("Dactyl-v0")
    assert with_appearance(env, "nominal") is env
    assert APPEARANCES == ("table9", "held_out", "nominal")
    with pytest.raises(ValueError, match="appearance"):
        with_appearance(env, "sepia")


def test_held_out_preset_is_outside_table9():
    """Every randomized offset of the preset starts where Table 9's ends (or beyond)."""
    table9 = VisualRandomization(gym.make("Dactyl-v0"))
    for key in ("camera_position_offset", "camera_fovy_offset_deg", "object_saturation_offset",
                "object_value_offset"):  # fmt: skip
        assert isinstance(HELD_OUT[key], SignedUniform), key
    assert HELD_OUT["camera_position_offset"].low >= 0.0015
    assert HELD_OUT["camera_rotation_deg"].low >= 3.0
    assert HELD_OUT["camera_fovy_offset_deg"].low >= 1.0
    assert HELD_OUT["object_saturation_offset"].low >= 0.15 and HELD_OUT["object_value_offset"].low >= 0.15
    assert HELD_OUT["light_total_intensity"].low >= 15.0 and HELD_OUT["num_lights"][1] < 4
    assert HELD_OUT["robot_metallic"].low >= 0.25 and HELD_OUT["object_metallic"].low >= 0.15
    assert HELD_OUT["light_color_saturation"].low > 0 and table9._light_color_saturation is None
    held = VisualRandomization.held_out(gym.make("Dactyl-v0"))
    _, info = held.reset(seed=0)
    assert 2 <= info["visual"]["num_lights"] <= 3
    light_rgb = info["visual"]["light_color"][: info["visual"]["num_lights"]]
    assert (light_rgb.max(axis=1) - light_rgb.min(axis=1) > 0.3).all()  # coloured, not white
    offsets = info["visual"]["camera_position_offset"]
    assert (np.abs(offsets) >= 0.0015 - 1e-12).all() and (np.abs(offsets) <= 0.004).all()


def test_held_out_accepts_overrides():
    env = VisualRandomization.held_out(gym.make("Dactyl-v0"), num_lights=(1, 1), pixel_noise=0.0)
    _, info = env.reset(seed=1)
    assert info["visual"]["num_lights"] == 1 and info["visual"]["pixel_noise"] == 0.0


@pytest.mark.parametrize("appearance", ["table9", "held_out"])
def test_changes_images_never_physics(appearance):
    plain = CameraObservation(gym.make("Dactyl-v0", action_type="continuous"))
    rand = CameraObservation(with_appearance(gym.make("Dactyl-v0", action_type="continuous"), appearance))
    for seed in (0, 1):
        oa, _ = plain.reset(seed=seed)
        ob, _ = rand.reset(seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(10):
            assert not np.array_equal(oa["images"], ob["images"])
            for k in oa:
                if k != "images":
                    np.testing.assert_array_equal(oa[k], ob[k])
            a = rng.uniform(-1, 1, 20)
            oa, ra, ta, tra, ia = plain.step(a)
            ob, rb, tb, trb, ib = rand.step(a)
            assert (ra, ta, tra) == (rb, tb, trb)
    np.testing.assert_array_equal(plain.unwrapped.data.qpos, rand.unwrapped.data.qpos)


def test_robot_links_get_their_own_colours_in_the_render():
    """Per-geom robot colours show up: the robot's visible geoms do not all share one colour."""
    env = VisualRandomization(gym.make("Dactyl-v0"), cameras_enabled=False, lights_enabled=False,
                              object_enabled=False, images_enabled=False)  # fmt: skip
    env.reset(seed=0)
    m = env.unwrapped.model
    visible = [g for g in range(m.ngeom) if m.body(m.geom_bodyid[g]).name.startswith("robot0:")
               and m.geom_group[g] == 1]  # fmt: skip
    colours = m.geom_rgba[visible, :3]
    assert len(np.unique(colours.round(6), axis=0)) == len(visible)
    images = env.unwrapped.render_cameras(width=64, height=64)
    env.restore_nominal()
    nominal = env.unwrapped.render_cameras(width=64, height=64)
    assert np.abs(images.astype(int) - nominal.astype(int)).max() > 50  # geom_rgba overrides the material colour


def test_noise_sigma_drawn_per_episode():
    env = VisualRandomization(gym.make("Dactyl-v0"))
    sigmas = {env.reset(seed=s)[1]["visual"]["pixel_noise"] for s in range(20)}
    assert len(sigmas) == 20 and min(sigmas) >= 0.0 and max(sigmas) <= 0.1
    assert env.pixel_noise == env.sampled["pixel_noise"]
    fixed = VisualRandomization(gym.make("Dactyl-v0"), pixel_noise=0.05)
    assert {fixed.reset(seed=s)[1]["visual"]["pixel_noise"] for s in range(3)} == {0.05}
    wide = VisualRandomization(gym.make("Dactyl-v0"), pixel_noise=Uniform(0.0, 0.1), scale=2.0)
    assert max(wide.reset(seed=s)[1]["visual"]["pixel_noise"] for s in range(20)) > 0.1


def test_textured_white_object_gets_a_weak_tint_of_random_hue():
    env = VisualRandomization(gym.make("Dactyl-v0"))
    m = env.unwrapped.model
    mat = m.geom_matid[m.geom(C.OBJECT_GEOM).id]
    hues = []
    for s in range(30):
        env.reset(seed=s)
        rgb = m.mat_rgba[mat, :3]
        sat = (rgb.max() - rgb.min()) / max(rgb.max(), 1e-9)
        assert sat <= 0.15 + 1e-6
        if sat > 0.05:
            hues.append(int(np.argmax(rgb)))
    assert len(set(hues)) >= 2  # tints of different hues, not always the same colour


def test_held_out_factors_partition_the_preset():
    from wrappers.visual_randomization import HELD_OUT_FACTORS

    keys = [k for group in HELD_OUT_FACTORS.values() for k in group]
    assert len(keys) == len(set(keys)) and set(keys) == set(HELD_OUT)


def test_factor_appearances_move_one_group_only():
    from dactyl_vision.presets import FACTOR_APPEARANCES
    from wrappers.visual_randomization import HELD_OUT_FACTORS

    assert FACTOR_APPEARANCES == tuple(f"held_out_{f}" for f in HELD_OUT_FACTORS)
    table9 = VisualRandomization(gym.make("Dactyl-v0"))._saved_kwargs
    for appearance in FACTOR_APPEARANCES:
        group = HELD_OUT_FACTORS[appearance.removeprefix("held_out_")]
        env = with_appearance(gym.make("Dactyl-v0"), appearance)
        assert isinstance(env, VisualRandomization)
        kwargs = env._saved_kwargs
        assert {k for k in kwargs if kwargs[k] is not table9[k] and kwargs[k] != table9[k]} == set(group), appearance
        assert all(kwargs[k] == HELD_OUT[k] for k in group)
        env.close()
    with pytest.raises(ValueError, match="held_out_cameras"):
        with_appearance(gym.make("Dactyl-v0"), "held_out_sepia")


def test_factor_appearance_keeps_the_poses():
    """A factor set renders the same poses as the Table 9 set of the same seed (paired comparisons)."""
    from dactyl_vision.dataset import generate_samples

    a = list(generate_samples(3, seed=5, appearance="table9", image_noise=True, frames_per_episode=2, max_steps=4))
    b = list(generate_samples(3, seed=5, appearance="held_out_object_saturation", image_noise=True,
                              frames_per_episode=2, max_steps=4))  # fmt: skip
    for (ia, pa, qa), (ib, pb, qb) in zip(a, b, strict=True):
        assert np.array_equal(pa, pb) and np.array_equal(qa, qb)
        assert not np.array_equal(ia, ib)  # the block's tint differs
