import json

import numpy as np
import pytest

from dactyl_vision.dataset import ShardWriter, generate_samples, load_shards, shard_meta, write_dataset


def test_writer_loader_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 3, 64, 64, 3), dtype=np.uint8)
    pos = rng.normal(size=(7, 3)).astype(np.float32)
    quat = rng.normal(size=(7, 4)).astype(np.float32)
    with ShardWriter(tmp_path, shard_size=3, meta={"image_size": 64}) as w:
        for i in range(7):
            w.add(images[i], pos[i], quat[i])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]
    data = load_shards(tmp_path)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.object_pos, pos)
    np.testing.assert_array_equal(data.object_quat, quat)
    assert shard_meta(tmp_path) == {"image_size": 64}
    assert len(load_shards(tmp_path, max_samples=4)) == 4


def test_loader_and_writer_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_shards(tmp_path)
    with pytest.raises(ValueError, match="shard_size"):
        ShardWriter(tmp_path, shard_size=0)
    with pytest.raises(ValueError, match="meta"):
        ShardWriter(tmp_path, meta={"x": object()})
    with pytest.raises(ValueError, match="image_size"):
        next(generate_samples(1, image_size=32))
    with pytest.raises(ValueError, match="num_samples"):
        next(generate_samples(-1))
    with pytest.raises(ValueError, match="appearance"):
        next(generate_samples(1, appearance="sepia"))


def test_generated_samples_are_labelled_and_reproducible(tmp_path):
    write_dataset(tmp_path / "a", 6, seed=3, appearance="nominal", shard_size=4, progress=False)
    write_dataset(tmp_path / "b", 6, seed=3, appearance="nominal", shard_size=4, progress=False)
    a, b = load_shards(tmp_path / "a"), load_shards(tmp_path / "b")
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.object_quat, b.object_quat)
    assert a.images.shape == (6, 3, 64, 64, 3)
    np.testing.assert_allclose(np.linalg.norm(a.object_quat, axis=1), 1.0, atol=1e-5)
    assert (a.object_quat[:, 0] >= 0).all()
    assert np.all(np.abs(a.object_pos - [1.0, 0.87, 0.17]) < 0.2)
    meta = shard_meta(tmp_path / "a")
    assert meta["appearance"] == "nominal" and json.dumps(meta)
    assert not list((tmp_path / "a").glob("*.tmp"))
    with pytest.raises(FileExistsError):
        write_dataset(tmp_path / "a", 2, progress=False)


def test_test_sets_are_rendered_through_visual_randomization():
    """table9 images with image noise are not the clean ones; the states (labels) are the same."""
    clean = list(generate_samples(2, seed=5, appearance="table9"))
    noisy = list(generate_samples(2, seed=5, appearance="table9", image_noise=True))
    nominal = list(generate_samples(2, seed=5, appearance="nominal"))
    for (ic, pc, qc), (i_n, pn, qn), (i0, p0, q0) in zip(clean, noisy, nominal, strict=True):
        np.testing.assert_array_equal(pc, pn)
        np.testing.assert_array_equal(qc, qn)
        np.testing.assert_array_equal(pc, p0)  # the appearance never changes the physics
        np.testing.assert_array_equal(qc, q0)
        assert not np.array_equal(ic, i_n) and not np.array_equal(ic, i0)


def test_close_cameras_render_the_same_samples_through_another_lens():
    """camera_names changes the images only: the same seed gives the same poses (labels) and appearance."""
    from gym_dactyl.constants import CLOSE_CAMERA_NAMES

    wide = list(generate_samples(2, seed=5, appearance="table9"))
    close = list(generate_samples(2, seed=5, appearance="table9", camera_names=CLOSE_CAMERA_NAMES))
    for (iw, pw, qw), (ic, pc, qc) in zip(wide, close, strict=True):
        np.testing.assert_array_equal(pw, pc)
        np.testing.assert_array_equal(qw, qc)
        assert ic.shape == iw.shape and not np.array_equal(ic, iw)
    with pytest.raises(ValueError, match="camera_names"):
        next(generate_samples(1, camera_names=["nope"]))


def test_load_or_write_dataset_renders_once_then_reuses(tmp_path):
    from dactyl_vision.dataset import load_or_write_dataset

    path = tmp_path / "set"
    first = load_or_write_dataset(path, 3, 64, seed=4, appearance="table9", image_noise=False, progress=False)
    mtimes = {p.name: p.stat().st_mtime_ns for p in path.glob("shard_*.npz")}
    again = load_or_write_dataset(path, 2, 64, seed=4, appearance="table9", image_noise=False, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in path.glob("shard_*.npz")} == mtimes  # not re-rendered
    np.testing.assert_array_equal(again.images, first.images[:2])
    with pytest.raises(FileExistsError, match="holds another dataset"):
        load_or_write_dataset(path, 2, 64, seed=5, appearance="table9", image_noise=False, progress=False)
    with pytest.raises(FileExistsError, match="holds another dataset"):  # a larger one: not the same dataset
        load_or_write_dataset(path, 4, 64, seed=4, appearance="table9", image_noise=False, progress=False)
