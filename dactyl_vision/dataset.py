"""Pose-estimation datasets: randomized renders with the block's true pose, in ``.npz`` shards.

Samples come from the env itself, so the hand and block look as the policy would see them: each episode
resets ``Dactyl-v0`` with its own seed (block in a uniformly random orientation on the palm), samples an
appearance (``wrappers.VisualRandomization``: Table 9, its held-out preset, or none; see
:mod:`dactyl_vision.presets`), then rolls random relative-joint
actions and records a few frames at random steps; frames after the block dropped are skipped.

A shard ``shard_00000.npz`` holds ``images`` ``uint8 (N, n_cameras, H, W, 3)``, ``object_pos``
``float32 (N, 3)`` (world frame, m), ``object_quat`` ``float32 (N, 4)`` ((w, x, y, z), w >= 0) and
``meta``, a JSON string (image size, cameras, appearance, seeds). Shards are written atomically
(temporary file + ``os.replace``), so an interrupted run never leaves a truncated shard.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from dactyl_vision.presets import APPEARANCES, FACTOR_APPEARANCES, with_appearance
from dactyl_vision.rendering import MultiCameraRenderer, check_image_size
from gym_dactyl import constants as C

__all__ = [
    "PoseSamples",
    "ShardWriter",
    "generate_samples",
    "load_or_write_dataset",
    "load_shards",
    "shard_meta",
    "write_dataset",
]

_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


@dataclass
class PoseSamples:
    """A batch of samples: images and the block's true pose."""

    images: np.ndarray
    """``uint8 (N, n_cameras, H, W, 3)``."""
    object_pos: np.ndarray
    """``float32 (N, 3)``, world frame, metres."""
    object_quat: np.ndarray
    """``float32 (N, 4)``, (w, x, y, z) with w >= 0."""

    def __len__(self) -> int:
        return len(self.object_pos)


class ShardWriter:
    """Buffers samples and writes them to ``out_dir/shard_XXXXX.npz`` every ``shard_size`` samples.

    Example:
        >>> import tempfile, numpy as np
        >>> d = tempfile.mkdtemp()
        >>> with ShardWriter(d, shard_size=2, meta={"note": "doc"}) as w:
        ...     for _ in range(3):
        ...         w.add(np.zeros((3, 64, 64, 3), np.uint8), np.zeros(3), np.array([1.0, 0, 0, 0]))
        >>> len(load_shards(d))
        3
    """

    def __init__(self, out_dir: str | os.PathLike, shard_size: int = 500, meta: dict[str, Any] | None = None) -> None:
        """Create the writer.

        Args:
            out_dir: directory for the shards (created if needed).
            shard_size: samples per shard, >= 1.
            meta: JSON-serialisable metadata stored in every shard.

        Raises:
            ValueError: if ``shard_size`` < 1 or ``meta`` is not JSON-serialisable.
        """
        if isinstance(shard_size, bool) or not isinstance(shard_size, (int, np.integer)) or shard_size < 1:
            raise ValueError(f"shard_size must be an integer >= 1, got {shard_size!r}")
        try:
            self._meta = json.dumps(meta or {})
        except TypeError as e:
            raise ValueError(f"meta must be JSON-serialisable, got {meta!r}") from e
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.shard_size = int(shard_size)
        self._images: list[np.ndarray] = []
        self._pos: list[np.ndarray] = []
        self._quat: list[np.ndarray] = []
        self.n_shards = len(sorted(self.out_dir.glob("shard_*.npz")))
        self.n_written = 0

    def add(self, images: np.ndarray, object_pos: np.ndarray, object_quat: np.ndarray) -> None:
        """Add one sample; writes a shard when the buffer is full."""
        self._images.append(np.asarray(images, dtype=np.uint8))
        self._pos.append(np.asarray(object_pos, dtype=np.float32))
        self._quat.append(np.asarray(object_quat, dtype=np.float32))
        if len(self._pos) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Write the buffered samples (if any) as one shard, atomically."""
        if not self._pos:
            return
        path = self.out_dir / f"shard_{self.n_shards:05d}.npz"
        fd, tmp = tempfile.mkstemp(dir=self.out_dir, prefix=".shard", suffix=".tmp")
        os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600 files
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(
                    f,
                    images=np.stack(self._images),
                    object_pos=np.stack(self._pos),
                    object_quat=np.stack(self._quat),
                    meta=np.array(self._meta),
                )
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        self.n_shards += 1
        self.n_written += len(self._pos)
        self._images, self._pos, self._quat = [], [], []

    def close(self) -> None:
        """Write what is left."""
        self.flush()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_shards(path: str | os.PathLike, max_samples: int | None = None) -> PoseSamples:
    """Load and concatenate every ``shard_*.npz`` in ``path`` (sorted by name).

    Args:
        path: directory written by :class:`ShardWriter`.
        max_samples: stop after this many samples.

    Returns:
        The samples.

    Raises:
        FileNotFoundError: when ``path`` holds no shard.
    """
    files = sorted(Path(path).glob("shard_*.npz"))
    if not files:
        raise FileNotFoundError(f"no shard_*.npz files in {path}")
    images, pos, quat = [], [], []
    n = 0
    for f in files:
        with np.load(f) as z:
            images.append(z["images"])
            pos.append(z["object_pos"])
            quat.append(z["object_quat"])
        n += len(pos[-1])
        if max_samples is not None and n >= max_samples:
            break
    out = PoseSamples(np.concatenate(images), np.concatenate(pos), np.concatenate(quat))
    if max_samples is not None:
        out = PoseSamples(out.images[:max_samples], out.object_pos[:max_samples], out.object_quat[:max_samples])
    return out


def shard_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of the first shard in ``path``."""
    files = sorted(Path(path).glob("shard_*.npz"))
    if not files:
        raise FileNotFoundError(f"no shard_*.npz files in {path}")
    with np.load(files[0]) as z:
        return json.loads(str(z["meta"]))


def generate_samples(
    num_samples: int,
    image_size: int = 64,
    seed: int = 0,
    appearance: str = "nominal",
    image_noise: bool = False,
    frames_per_episode: int = 4,
    max_steps: int = 30,
    env_kwargs: dict[str, Any] | None = None,
    camera_names: Sequence[str] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(images, object_pos, object_quat)`` samples rendered from random episodes.

    Args:
        num_samples: how many samples to yield.
        image_size: side of the square images (64–200 px).
        seed: base seed; episode ``i`` resets with seed ``seed * 100_003 + i`` (which also seeds the
            appearance, drawn by ``VisualRandomization`` from a child of that seed) and draws its actions
            from a generator seeded the same way, so a dataset is reproducible.
        appearance: ``"table9"``, ``"held_out"``, ``"nominal"`` or one of
            :data:`~dactyl_vision.presets.FACTOR_APPEARANCES` (:func:`dactyl_vision.presets.with_appearance`).
        image_noise: also apply the wrapper's image randomization (contrast per image, per-pixel noise
            with this episode's sigma) to the stored images (test sets); training sets are stored clean
            and augmented on the fly. No effect with ``"nominal"``.
        frames_per_episode: frames recorded per episode, at distinct random steps.
        max_steps: frames are taken at steps in ``[0, max_steps)`` of random actions.
        env_kwargs: extra arguments for ``gym.make("Dactyl-v0", ...)``.
        camera_names: cameras to render, in this order; default :data:`~gym_dactyl.constants.CAMERA_NAMES`
            (:data:`~gym_dactyl.constants.CLOSE_CAMERA_NAMES`: the same cameras with a narrower view). The
            poses and appearances do not depend on it: the same ``seed`` gives the same labels.

    Yields:
        ``uint8 (n_cameras, H, W, 3)``, ``float64 (3,)``, ``float64 (4,)``.
    """
    image_size = check_image_size("image_size", image_size)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
        raise ValueError(f"num_samples must be an integer >= 0, got {num_samples!r}")
    if not 1 <= frames_per_episode <= max_steps:
        raise ValueError(f"frames_per_episode must be in [1, max_steps={max_steps}], got {frames_per_episode!r}")
    if appearance not in APPEARANCES + FACTOR_APPEARANCES:
        raise ValueError(f"appearance must be one of {APPEARANCES + FACTOR_APPEARANCES}, got {appearance!r}")
    env = with_appearance(gym.make("Dactyl-v0", **{"action_type": "continuous", **(env_kwargs or {})}), appearance)
    randomize_image = getattr(env, "randomize_image", None) if image_noise else None
    u = env.unwrapped
    renderer = MultiCameraRenderer(
        u.model, C.CAMERA_NAMES if camera_names is None else camera_names, width=image_size, height=image_size
    )
    body = u.model.body(C.OBJECT_BODY).id
    n, episode = 0, 0
    try:
        while n < num_samples:
            ep_seed = seed * 100_003 + episode
            episode += 1
            rng = np.random.default_rng(ep_seed)
            env.reset(seed=ep_seed)
            steps = set(rng.choice(max_steps, size=frames_per_episode, replace=False).tolist())
            for t in range(max_steps):
                if t in steps:
                    images = renderer.render(u.data)
                    if randomize_image is not None:
                        images = randomize_image(images)
                    # Label with the pose the renderer drew: xpos/xquat, which DactylEnv recomputes from qpos
                    # after every step, so label, image and state agree.
                    quat = u.data.xquat[body].copy()
                    yield images, u.data.xpos[body].copy(), -quat if quat[0] < 0 else quat
                    n += 1
                    if n >= num_samples:
                        break
                _, _, terminated, truncated, info = env.step(rng.uniform(-1.0, 1.0, size=u.model.nu))
                if terminated or truncated or info["dropped"]:
                    break
    finally:
        renderer.close()
        env.close()


@dataclass
class DatasetSpec:
    """What :func:`write_dataset` stores in each shard's ``meta``."""

    num_samples: int
    image_size: int
    seed: int
    appearance: str
    image_noise: bool
    camera_names: list[str]


def write_dataset(
    out_dir: str | os.PathLike,
    num_samples: int,
    image_size: int = 64,
    seed: int = 0,
    appearance: str = "nominal",
    image_noise: bool = False,
    shard_size: int = 500,
    progress: bool = True,
    camera_names: Sequence[str] | None = None,
) -> Path:
    """Generate ``num_samples`` samples (:func:`generate_samples`) into shards in ``out_dir``.

    Args:
        out_dir: destination directory; must not already hold shards.
        num_samples: number of samples.
        image_size: image side in pixels (64–200).
        seed: base seed.
        appearance: ``"table9"``, ``"held_out"``, ``"nominal"`` or one of
            :data:`~dactyl_vision.presets.FACTOR_APPEARANCES`; stored in the metadata.
        image_noise: store images with contrast and pixel noise applied.
        shard_size: samples per shard.
        progress: show a tqdm progress bar.
        camera_names: cameras to render (:func:`generate_samples`); stored in the metadata.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Raises:
        FileExistsError: if ``out_dir`` already holds shards (delete it to regenerate).
    """
    from tqdm import tqdm

    out = Path(out_dir)
    if any(out.glob("shard_*.npz")):
        raise FileExistsError(f"{out} already holds shards; remove it to regenerate")
    names = list(C.CAMERA_NAMES if camera_names is None else camera_names)
    spec = DatasetSpec(int(num_samples), int(image_size), int(seed), appearance, bool(image_noise), names)
    meta = asdict(spec)
    with ShardWriter(out, shard_size=shard_size, meta=meta) as writer:
        samples = generate_samples(num_samples, image_size, seed, appearance, image_noise, camera_names=names)
        for images, pos, quat in tqdm(samples, total=num_samples, desc=f"render {out.name}", disable=not progress):
            writer.add(images, pos, quat)
    return out


def load_or_write_dataset(
    path: str | os.PathLike,
    num_samples: int,
    image_size: int,
    seed: int,
    appearance: str,
    image_noise: bool,
    progress: bool = True,
    camera_names: Sequence[str] | None = None,
) -> PoseSamples:
    """Render a dataset into ``path`` once (:func:`write_dataset`) and reuse it afterwards.

    An existing dataset is reused when its metadata match (seed, size, appearance, image noise, cameras) and it
    holds at least ``num_samples`` samples; its first ``num_samples`` are exactly the samples a smaller run with
    the same seed would render.

    Returns:
        The first ``num_samples`` samples.

    Raises:
        FileExistsError: if ``path`` holds another dataset, or fewer samples than asked for.
    """
    path = Path(path)
    names = list(C.CAMERA_NAMES if camera_names is None else camera_names)
    if any(path.glob("shard_*.npz")):
        meta = shard_meta(path)
        want = {"image_size": image_size, "seed": seed, "appearance": appearance, "image_noise": image_noise,
                "camera_names": names}  # fmt: skip
        if all(meta.get(k) == v for k, v in want.items()) and meta.get("num_samples", -1) >= num_samples:
            data = load_shards(path, max_samples=num_samples)
            if len(data) == num_samples:
                return data
            raise FileExistsError(f"{path} holds {len(data)} samples, fewer than the {num_samples} needed; delete it")
        raise FileExistsError(f"{path} holds another dataset ({meta}); to render a different dataset, use another "
                              "directory (--data) or delete it")  # fmt: skip
    write_dataset(path, num_samples, image_size, seed, appearance, image_noise, progress=progress, camera_names=names)
    return load_shards(path)
