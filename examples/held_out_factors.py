"""Which part of the held-out appearance a pose estimator fails on: one factor at a time, paired on the same poses.

The held-out appearance (``VisualRandomization.held_out``) moves every row of Table 9 beyond its range at once:
cameras, light count and intensity, light colour, object colour and materials, robot materials. This script
renders the Table 9 test set of a data root (``test_table9``, from ``examples/train_pose_estimator.py``) again
with **one group of rows at a time at its held-out ranges** (``dactyl_vision.FACTOR_APPEARANCES``, groups of
``wrappers.visual_randomization.HELD_OUT_FACTORS``), from the same seed, so every set holds the same poses. Each
estimator is evaluated on Table 9, each factor set and the full held-out set; the per-sample errors are compared
with Table 9's on the same samples (difference of the means, bootstrap 95 % interval):

    python examples/held_out_factors.py --data runs/pose_data64_s14_close \
        --models runs/pose64_s14_close/pose_estimator.pt runs/pose64_s15_close_cg/pose_estimator.pt \
        --json docs/vision_held_out_factors_close.json

The factor sets are rendered into ``<data>/test_held_out_<factor>`` once (with ``test_table9``'s seed, size,
cameras, image noise and sample count) and reused; the labels of every set are checked against ``test_table9``
sample by sample, and every model must take the data's cameras and image size.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from compare_pose_estimators import check_model_matches_data, paired, write_report

from dactyl_vision.dataset import PoseSamples, load_or_write_dataset, load_shards, shard_meta
from dactyl_vision.pose_net import load_pose_net, pose_errors
from dactyl_vision.presets import FACTOR_APPEARANCES


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="data root holding test_table9/ and test_held_out/")
    p.add_argument("--models", type=Path, nargs="+", required=True, help="pose_estimator.pt files")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no render progress bars")
    p.add_argument("--json", type=Path, default=None, help="also write the results here (atomically)")
    args = p.parse_args()
    ref_dir = args.data / "test_table9"
    if not any(ref_dir.glob("shard_*.npz")):
        raise ValueError(f"--data: {args.data} holds no test_table9/ (render it with train_pose_estimator.py)")
    torch.set_num_threads(1)
    nets = {str(m): load_pose_net(m) for m in args.models}
    reference = shard_meta(ref_dir)
    sets: dict[str, PoseSamples] = {"table9": load_shards(ref_dir)}
    for appearance in FACTOR_APPEARANCES:
        sets[appearance] = load_or_write_dataset(
            args.data / f"test_{appearance}",
            reference["num_samples"],
            reference["image_size"],
            reference["seed"],
            appearance,
            reference["image_noise"],
            args.progress,
            reference["camera_names"],
        )
    if any((args.data / "test_held_out").glob("shard_*.npz")):
        sets["held_out"] = load_shards(args.data / "test_held_out")
    base = sets["table9"]
    for name, data in sets.items():
        if not (
            np.array_equal(data.object_pos, base.object_pos) and np.array_equal(data.object_quat, base.object_quat)
        ):
            raise ValueError(f"test set {name!r} does not hold test_table9's samples (labels differ)")
        for flag, net in nets.items():
            check_model_matches_data(net, args.data / f"test_{name}", flag)
    rng = np.random.default_rng(args.seed)
    results: dict[str, Any] = {}
    for flag, net in nets.items():
        errors = {name: pose_errors(net, d.images, d.object_pos, d.object_quat) for name, d in sets.items()}
        pos0, rot0 = errors["table9"]
        results[flag] = {
            name: {
                "rotation_deg": {
                    **paired(rot0, rot, rng),
                    "median": float(np.median(rot)),
                    "share_over_60": float((rot > 60.0).mean()),  # mostly whole-face confusions (90 deg apart)
                },
                "position_mm": {**paired(pos0, pos, rng), "median": float(np.median(pos))},
            }  # fmt: skip
            for name, (pos, rot) in errors.items()
        }
    print(f"{len(base)} samples per set, the same poses in every set (data {args.data})")
    for flag, rows in results.items():
        print(f"\n{flag}\n{'test set':<28}{'rotation (deg)':>15}  {'vs Table 9 [95 % CI]':>26}  {'median':>7}  "
              f"{'> 60 deg':>8}  {'position (mm)':>14}  {'vs Table 9':>10}")  # fmt: skip
        for name, r in rows.items():
            rot, pos = r["rotation_deg"], r["position_mm"]
            print(f"{name:<28}{rot['b_mean']:>15.2f}  {rot['diff_mean']:>+9.2f} [{rot['diff_ci95'][0]:+7.2f}, "
                  f"{rot['diff_ci95'][1]:+7.2f}]  {rot['median']:>7.2f}  {rot['share_over_60']:>8.1%}  "
                  f"{pos['b_mean']:>14.2f}  {pos['diff_mean']:>+10.2f}")  # fmt: skip
    if args.json is not None:
        report = {"data": str(args.data), "n": len(base), "seed": args.seed, "reference": "table9",
                  "note": "a_mean is Table 9's error, b_mean the set's, diff = set - Table 9 on the same samples",
                  "models": results}  # fmt: skip
        write_report(report, args.json)


if __name__ == "__main__":
    main()
