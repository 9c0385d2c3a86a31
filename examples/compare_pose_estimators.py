"""Paired comparison of two pose estimators on test sets that hold the same samples.

Two estimators trained by ``examples/train_pose_estimator.py`` (e.g. on the wide and the close cameras, or
with and without an augmentation) are each evaluated on their own rendering of the test sets, and the per-sample
errors are compared pair by pair: the difference of the means with a bootstrap 95 % interval, and how often B
beats A. The pairs are only meaningful when the two renderings show the same poses, so the labels are checked
sample by sample (same seeds and sizes in ``train_pose_estimator.py``; the camera set only changes the images):

    python examples/compare_pose_estimators.py \
        --a runs/pose64_s13/pose_estimator.pt --a-data runs/pose_data64_s13 \
        --b runs/pose64_s14_close/pose_estimator.pt --b-data runs/pose_data64_s14_close \
        --json docs/vision_paired_s14_close.json

Each model must take the images of its data (camera names and image size are checked against the shards'
metadata). Differences are B − A: negative means B is more accurate.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dactyl_vision.dataset import load_shards, shard_meta
from dactyl_vision.pose_net import PoseNet, load_pose_net, pose_errors

TEST_SETS = ("table9", "nominal", "held_out")


def paired(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n_boot: int = 5000) -> dict[str, Any]:
    """Mean of ``a`` and ``b``, the mean of ``b - a`` with a bootstrap 95 % interval, and P(b < a)."""
    d = b - a
    boots = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {
        "a_mean": float(a.mean()),
        "b_mean": float(b.mean()),
        "diff_mean": float(d.mean()),
        "diff_ci95": [float(lo), float(hi)],
        "b_better_fraction": float((d < 0).mean()),
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write ``report`` as indented JSON to ``path`` atomically (a temp file in the same directory, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(report, f, indent=2)
    os.replace(f.name, path)


def check_model_matches_data(net: PoseNet, data_dir: Path, flag: str) -> None:
    """Raise ``ValueError`` when the shards in ``data_dir`` are not images ``net`` was built for."""
    meta = shard_meta(data_dir)
    cfg = net.config
    names = meta.get("camera_names")
    if names is not None and tuple(names) != tuple(cfg.camera_names):
        raise ValueError(f"{flag}: {data_dir} holds images of cameras {tuple(names)}, the model takes "
                         f"{tuple(cfg.camera_names)}")  # fmt: skip
    if meta.get("image_size") != cfg.image_size:
        raise ValueError(f"{flag}: {data_dir} holds {meta.get('image_size')} px images, the model takes "
                         f"{cfg.image_size} px")  # fmt: skip


def compare(a: PoseNet, a_data: Path, b: PoseNet, b_data: Path, sets: tuple[str, ...], seed: int = 0) -> dict:
    """Paired errors of ``a`` and ``b`` on each test set in ``sets`` (``test_<name>`` under the data roots).

    Raises:
        ValueError: when the two renderings of a test set do not hold the same labels, or a model does not
            take its data's images.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for name in sets:
        da, db = a_data / f"test_{name}", b_data / f"test_{name}"
        check_model_matches_data(a, da, "--a-data")
        check_model_matches_data(b, db, "--b-data")
        sa, sb = load_shards(da), load_shards(db)
        if len(sa) != len(sb) or not (
            np.array_equal(sa.object_pos, sb.object_pos) and np.array_equal(sa.object_quat, sb.object_quat)
        ):
            raise ValueError(f"test set {name!r}: {da} and {db} do not hold the same samples (labels differ)")
        pa, ra = pose_errors(a, sa.images, sa.object_pos, sa.object_quat)
        pb, rb = pose_errors(b, sb.images, sb.object_pos, sb.object_quat)
        out[name] = {"n": len(sa), "rotation_deg": paired(ra, rb, rng), "position_mm": paired(pa, pb, rng)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--a", type=Path, required=True, help="pose_estimator.pt of model A (the reference)")
    p.add_argument("--a-data", type=Path, required=True, help="data root of A (holds test_<set>/)")
    p.add_argument("--b", type=Path, required=True, help="pose_estimator.pt of model B")
    p.add_argument("--b-data", type=Path, required=True, help="data root of B")
    p.add_argument("--sets", default=",".join(TEST_SETS), help="comma-separated test sets")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--json", type=Path, default=None, help="also write the comparison here (atomically)")
    args = p.parse_args()
    sets = tuple(s.strip() for s in args.sets.split(","))
    unknown = [s for s in sets if s not in TEST_SETS]
    if unknown or not sets:
        raise ValueError(f"sets must be among {TEST_SETS}, got {args.sets!r}")
    torch.set_num_threads(1)
    result = compare(load_pose_net(args.a), args.a_data, load_pose_net(args.b), args.b_data, sets, args.seed)
    print(f"B - A, paired over the same samples (A = {args.a}, B = {args.b})")
    print(f"{'test set':<10}{'n':>5}  {'rotation A / B (deg)':>22}  {'B - A [95 % CI]':>24}  {'B better':>8}  "
          f"{'position A / B (mm)':>20}  {'B - A [95 % CI]':>22}")  # fmt: skip
    for name, r in result.items():
        rot, pos = r["rotation_deg"], r["position_mm"]
        print(f"{name:<10}{r['n']:>5}  {rot['a_mean']:>10.2f} / {rot['b_mean']:<9.2f}  "
              f"{rot['diff_mean']:>+7.2f} [{rot['diff_ci95'][0]:+.2f}, {rot['diff_ci95'][1]:+.2f}]  "
              f"{rot['b_better_fraction']:>8.0%}  {pos['a_mean']:>9.2f} / {pos['b_mean']:<8.2f}  "
              f"{pos['diff_mean']:>+6.2f} [{pos['diff_ci95'][0]:+.2f}, {pos['diff_ci95'][1]:+.2f}]")  # fmt: skip
    if args.json is not None:
        report = {"a": str(args.a), "a_data": str(args.a_data), "b": str(args.b), "b_data": str(args.b_data),
                  "seed": args.seed, "sets": result}  # fmt: skip
        write_report(report, args.json)


if __name__ == "__main__":
    main()
