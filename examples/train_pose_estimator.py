"""Train the CNN pose estimator on randomized renders and report Table 6-style errors (Dactyl §2-3).

Reads top to bottom: arguments, seeding, datasets (rendered into ``.npz`` shards once, reused on reruns),
training with on-the-fly image randomization, evaluation on three held-out test sets, saving.

    python examples/train_pose_estimator.py --out runs/pose64 --num-samples 6000 --image-size 64 --epochs 30

Outputs in ``--out``: ``data/`` (shards), ``checkpoint.pt`` (resume state, written atomically each epoch),
``pose_estimator.pt`` (best validation weights + config; ``torch.load(weights_only=True)``),
``metrics.json``, ``samples.png`` and ``training.png``.

Test sets (never trained on; other seeds than training), all rendered through ``wrappers.VisualRandomization``
(:mod:`dactyl_vision.presets`): ``table9`` (the training appearance distribution, with its image contrast and
noise), ``nominal`` (no visual randomization) and ``held_out`` (``VisualRandomization.held_out``: colours,
lights and camera errors outside the training ranges, the vision analogue of the sim-to-real gap).

``--data DIR`` shares rendered datasets between runs; a stored training set with more samples than
``--num-samples`` (same seed and size) is reused by taking its first samples, which are exactly the samples
a smaller run renders.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

import gym_dactyl  # noqa: F401  (headless GL before mujoco is imported)
from dactyl_vision.dataset import PoseSamples, load_or_write_dataset
from dactyl_vision.pose_net import (
    PoseNet,
    PoseNetConfig,
    pose_errors,
    quat_to_matrix,
    rotation_error_deg,
    save_pose_net,
)
from dactyl_vision.rendering import check_image_size
from gym_dactyl import constants as C

PAPER_TABLE6 = {"rotation_deg": (5.01, 2.47), "position_mm": (9.27, 4.02)}  # Dactyl Table 6, real images
TEST_SETS = ("table9", "nominal", "held_out")


@dataclass
class Args:
    seed: int = 0
    """Seed of the training data, the network initialisation and the batches."""
    out: str = "runs/pose_estimator"
    """Output directory."""
    data: str = ""
    """Dataset directory (default: OUT/data); share it between runs to render once."""
    num_samples: int = 4000
    """Training samples (10 % of them are held out for validation / model selection)."""
    num_test: int = 300
    """Samples in each test set."""
    image_size: int = 64
    """Image side in pixels (64-200)."""
    epochs: int = 20
    """Training epochs."""
    batch_size: int = 64
    """Minibatch size."""
    lr: float = 1e-3
    """Adam learning rate (cosine-decayed to 2 % of it)."""
    channels: str = "16,32,32,64,64"
    """Conv tower channels."""
    spatial_channels: int = 0
    """PoseNet spatial_channels: >0 adds each camera's flattened final feature map (1x1 conv to this many)."""
    cameras: str = "wide"
    """Vision cameras: wide (the whole hand, gym_dactyl.constants.CAMERA_NAMES) or close (the same cameras with a
    34 deg field of view aimed at the block in the palm, CLOSE_CAMERA_NAMES); recorded in the model's config."""
    train_appearance: str = "table9"
    """Appearance of the training set: table9 (Dactyl Table 9) or nominal (no randomization; an ablation)."""
    augment: bool = True
    """Apply Table 9 image contrast 50-150 % and per-pixel noise on the fly (only with table9)."""
    color_gain: float = 0.0
    """With --augment: also scale each image's R, G, B by gains drawn from U[1 - g, 1 + g] per camera image (before
    contrast and noise), colours beyond Table 9's (e.g. coloured lights); 0: off, in [0, 1)."""
    rot_loss: str = "frobenius"
    """Rotation loss: frobenius (squared chordal distance) or geodesic (the angle itself, in radians)."""
    threads: int = 1
    """torch threads (the machine is shared)."""
    progress: bool = True
    """Show progress bars."""
    eval_only: bool = False
    """Skip training: evaluate ``--out``/pose_estimator.pt on the test sets (rendering any that are missing)."""


def parse_args() -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in asdict(Args()).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            p.add_argument(flag, type=type(default), default=default)
    args = Args(**vars(p.parse_args()))
    check_image_size("image_size", args.image_size)
    for name in ("num_samples", "num_test", "epochs", "batch_size", "threads"):
        if getattr(args, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(args, name)!r}")
    if args.num_samples < 20:
        raise ValueError(f"num_samples must be >= 20 (10 % is held out for validation), got {args.num_samples}")
    if args.cameras not in C.CAMERA_SETS:
        raise ValueError(f"cameras must be one of {tuple(C.CAMERA_SETS)}, got {args.cameras!r}")
    if args.train_appearance not in ("table9", "nominal"):
        raise ValueError(f"train_appearance must be 'table9' or 'nominal', got {args.train_appearance!r}")
    if args.rot_loss not in ("frobenius", "geodesic"):
        raise ValueError(f"rot_loss must be 'frobenius' or 'geodesic', got {args.rot_loss!r}")
    if not args.lr > 0:
        raise ValueError(f"lr must be > 0, got {args.lr!r}")
    if not 0.0 <= args.color_gain < 1.0:
        raise ValueError(f"color_gain must be in [0, 1), got {args.color_gain!r}")
    return args


def augment(images: torch.Tensor, gen: torch.Generator, color_gain: float = 0.0) -> torch.Tensor:
    """``VisualRandomization``'s image part: contrast 50-150 % per image, noise σ ~ U[0, 10 %] per sample.

    With ``color_gain`` g > 0 each camera image's R, G, B are first scaled by gains from U[1 - g, 1 + g] (drawn
    only then, so g = 0 leaves the random stream of earlier runs unchanged).
    """
    x = images.float()
    b, n_cam = x.shape[:2]
    if color_gain > 0:
        x = x * (1.0 + color_gain * (2.0 * torch.rand(b, n_cam, 1, 1, 3, generator=gen) - 1.0))
    contrast = 0.5 + torch.rand(b, n_cam, 1, 1, 1, generator=gen)
    sigma = 25.5 * torch.rand(b, 1, 1, 1, 1, generator=gen)
    mean = x.mean(dim=(2, 3, 4), keepdim=True)
    x = mean + contrast * (x - mean) + sigma * torch.randn(x.shape, generator=gen)
    return x.clamp(0.0, 255.0)


def losses(
    net: PoseNet, images: torch.Tensor, pos: torch.Tensor, rot: torch.Tensor, rot_loss: str = "frobenius"
) -> tuple[torch.Tensor, ...]:
    """Position MSE on normalised targets; rotation: squared Frobenius distance or geodesic angle (radians)."""
    pos_n, rot6 = net(images)
    _, r_hat = net.decode(pos_n, rot6)
    loss_pos = F.mse_loss(pos_n, net.normalise_pos(pos))
    if rot_loss == "geodesic":
        # angle = acos((tr(R̂ᵀR) - 1) / 2), clamped away from ±1 where acos' gradient is infinite.
        cos = ((r_hat * rot).sum(dim=(1, 2)) - 1.0) / 2.0
        loss_rot = torch.acos(cos.clamp(-1.0 + 1e-6, 1.0 - 1e-6)).mean()
    else:
        loss_rot = (r_hat - rot).pow(2).sum(dim=(1, 2)).mean()
    return loss_pos, loss_rot


def evaluate(net: PoseNet, data: PoseSamples, batch: int = 128) -> dict[str, float]:
    """Position error (mm) and rotation error (degrees) on ``data``: mean, std, median, 90th percentile."""
    return summarize(*pose_errors(net, data.images, data.object_pos, data.object_quat, batch))


def summarize(pos_mm: np.ndarray, rot_deg: np.ndarray) -> dict[str, float]:
    out = {}
    for name, e in (("position_mm", pos_mm), ("rotation_deg", rot_deg)):
        out[f"{name}_mean"] = float(e.mean())
        out[f"{name}_std"] = float(e.std())
        out[f"{name}_median"] = float(np.median(e))
        out[f"{name}_p90"] = float(np.percentile(e, 90))
    out["n"] = int(len(pos_mm))
    return out


def mean_baseline(train: PoseSamples, test: PoseSamples) -> dict[str, float]:
    """Errors of always predicting the training mean position and the chordal mean rotation."""
    rot_train = quat_to_matrix(torch.as_tensor(train.object_quat)).mean(0).double()
    u, _, vt = torch.linalg.svd(rot_train)
    r_mean = (u @ torch.diag(torch.tensor([1.0, 1.0, torch.det(u @ vt).item()], dtype=torch.float64)) @ vt).float()
    pos_mm = 1000.0 * np.linalg.norm(test.object_pos - train.object_pos.mean(0), axis=-1)
    rot = quat_to_matrix(torch.as_tensor(test.object_quat))
    rot_deg = rotation_error_deg(r_mean.expand_as(rot), rot).numpy()
    return summarize(pos_mm, rot_deg)


def save_json(obj: dict, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def save_samples_figure(sets: dict[str, PoseSamples], path: Path) -> None:
    import imageio.v3 as iio

    rows = []
    for data in sets.values():
        for i in range(min(2, len(data))):
            rows.append(np.concatenate(list(data.images[(i * 7) % len(data)]), axis=1))
    iio.imwrite(path, np.concatenate(rows, axis=0))


def save_history_figure(history: list[dict], results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        return
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key, test_key, ref, unit in (
        (axes[0], "val_position_mm", "position_mm_mean", PAPER_TABLE6["position_mm"][0], "mm"),
        (axes[1], "val_rotation_deg", "rotation_deg_mean", PAPER_TABLE6["rotation_deg"][0], "deg"),
    ):
        ax.plot(epochs, [h[key] for h in history], label="validation (table9)")
        for name, r in results.items():
            ax.scatter([epochs[-1]], [r[test_key]], s=14, label=f"test {name}")
        ax.axhline(ref, color="k", ls="--", lw=0.8, label="Dactyl Table 6 (real)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"mean error ({unit})")
        ax.set_yscale("log")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    # --- data: training set (appearance per --train-appearance), three test sets from other seeds
    t0 = time.time()
    s = args.image_size
    root = Path(args.data) if args.data else out / "data"
    cameras = C.CAMERA_SETS[args.cameras]
    train_all = load_or_write_dataset(root / f"train_{args.train_appearance}", args.num_samples, s, args.seed,
                                      args.train_appearance, False, args.progress, cameras)  # fmt: skip
    tests = {
        name: load_or_write_dataset(
            root / f"test_{name}", args.num_test, s, 10_000 + args.seed, name, name != "nominal", args.progress, cameras
        )  # fmt: skip
        for name in TEST_SETS
    }
    n_val = max(1, len(train_all) // 10)  # the last episodes: samples of one episode never straddle the split
    n_tr = len(train_all) - n_val
    train = PoseSamples(train_all.images[:n_tr], train_all.object_pos[:n_tr], train_all.object_quat[:n_tr])
    val = PoseSamples(train_all.images[n_tr:], train_all.object_pos[n_tr:], train_all.object_quat[n_tr:])
    render_s = time.time() - t0
    print(f"data: {len(train)} train / {len(val)} val / " + " / ".join(f"{len(v)} {k}" for k, v in tests.items())
          + f" samples ({render_s:.0f} s)")  # fmt: skip
    save_samples_figure({"train": train, **tests}, out / "samples.png")

    # --- network and optimiser (label normalisation from the training set)
    config = PoseNetConfig(
        image_size=s,
        channels=tuple(int(c) for c in args.channels.split(",")),
        spatial_channels=args.spatial_channels,
        camera_names=cameras,
        pos_mean=tuple(float(v) for v in train.object_pos.mean(0)),
        pos_std=tuple(float(v) for v in train.object_pos.std(0) + 1e-6),
    )
    net = PoseNet(config)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(k / (args.epochs * steps_per_epoch), 1.0)))
    )
    start_epoch, best, history = 0, float("inf"), []
    ckpt_path = out / "checkpoint.pt"
    previous_seconds = (None, None)
    if args.eval_only:
        if not (out / "pose_estimator.pt").exists():
            raise FileNotFoundError(f"--eval-only needs {out / 'pose_estimator.pt'}")
        start_epoch = args.epochs
        if (out / "metrics.json").exists():
            previous = json.loads((out / "metrics.json").read_text())
            history = previous["history"]
            previous_seconds = (previous.get("render_seconds"), previous.get("train_seconds"))
    elif ckpt_path.exists():  # resume
        ckpt = torch.load(ckpt_path, weights_only=True)
        if ckpt["config"] == config.to_dict():
            net.load_state_dict(ckpt["state_dict"])
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
            start_epoch, best, history = ckpt["epoch"], ckpt["best"], ckpt["history"]
            gen.set_state(ckpt["generator"])
            print(f"resumed from {ckpt_path} at epoch {start_epoch}")

    images_t = torch.as_tensor(train.images)
    pos_t = torch.as_tensor(train.object_pos)
    rot_t = quat_to_matrix(torch.as_tensor(train.object_quat))
    do_augment = args.augment and args.train_appearance == "table9"
    t_train = time.time()
    for epoch in range(start_epoch, args.epochs):
        net.train()
        perm = torch.randperm(len(train), generator=gen)
        sums = np.zeros(2)
        for k in range(steps_per_epoch):
            idx = perm[k * args.batch_size : (k + 1) * args.batch_size]
            x = augment(images_t[idx], gen, args.color_gain) if do_augment else images_t[idx]
            loss_pos, loss_rot = losses(net, x, pos_t[idx], rot_t[idx], args.rot_loss)
            opt.zero_grad(set_to_none=True)
            (loss_pos + loss_rot).backward()
            opt.step()
            sched.step()
            sums += (loss_pos.item(), loss_rot.item())
        metrics = evaluate(net, val)
        history.append(
            {
                "epoch": epoch + 1,
                "loss_pos": float(sums[0] / steps_per_epoch),
                "loss_rot": float(sums[1] / steps_per_epoch),
                "val_position_mm": metrics["position_mm_mean"],
                "val_rotation_deg": metrics["rotation_deg_mean"],
            }
        )
        score = metrics["position_mm_mean"] / 10.0 + metrics["rotation_deg_mean"] / 5.0  # Table 6 scale
        if score < best:
            best = score
            save_pose_net(net, out / "pose_estimator.pt", {"epoch": epoch + 1})
        save_pose_net(net, ckpt_path, {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                                       "epoch": epoch + 1, "best": best, "history": history,
                                       "generator": gen.get_state()})  # fmt: skip
        print(f"epoch {epoch + 1:3d}/{args.epochs}  loss pos {history[-1]['loss_pos']:.4f} rot "
              f"{history[-1]['loss_rot']:.4f}  val {metrics['position_mm_mean']:6.2f} mm "
              f"{metrics['rotation_deg_mean']:6.2f} deg  ({time.time() - t_train:.0f} s)", flush=True)  # fmt: skip

    # --- evaluation of the best-validation weights on the held-out test sets
    from dactyl_vision.pose_net import load_pose_net

    best_net = load_pose_net(out / "pose_estimator.pt")
    if tuple(best_net.config.camera_names) != cameras:  # --eval-only of a model trained on the other camera set
        raise ValueError(
            f"cameras: {out / 'pose_estimator.pt'} was trained on {tuple(best_net.config.camera_names)}, "
            f"--cameras {args.cameras} renders {cameras}"
        )
    results = {name: evaluate(best_net, data) for name, data in tests.items()}
    baseline = {name: mean_baseline(train, data) for name, data in tests.items()}
    print(f"\nPose error on held-out renders ({args.image_size} px, trained on {len(train)} {args.train_appearance} "
          "samples), mean ± std (median)")  # fmt: skip
    print(f"{'test set':<22}{'rotation (deg)':>24}{'position (mm)':>24}")
    for name in tests:
        r = results[name]
        rot = f"{r['rotation_deg_mean']:.2f} ± {r['rotation_deg_std']:.2f} ({r['rotation_deg_median']:.2f})"
        pos = f"{r['position_mm_mean']:.2f} ± {r['position_mm_std']:.2f} ({r['position_mm_median']:.2f})"
        print(f"{name:<22}{rot:>24}{pos:>24}")
    for name in tests:
        b = baseline[name]
        print(f"{'mean pred. ' + name:<22}{b['rotation_deg_mean']:>24.2f}{b['position_mm_mean']:>24.2f}")
    pr, pp = PAPER_TABLE6["rotation_deg"], PAPER_TABLE6["position_mm"]
    print(f"{'Dactyl Table 6 (real)':<22}{f'{pr[0]:.2f} ± {pr[1]:.2f}':>24}{f'{pp[0]:.2f} ± {pp[1]:.2f}':>24}")
    save_json(
        {
            "args": asdict(args),
            "config": config.to_dict(),
            "n_train": len(train),
            "n_val": len(val),
            "eval_only": args.eval_only,
            "render_seconds": previous_seconds[0] if args.eval_only and previous_seconds[0] else render_s,
            "train_seconds": previous_seconds[1] if args.eval_only and previous_seconds[1] else time.time() - t_train,
            "test": results,
            "mean_predictor": baseline,
            "paper_table6_real": PAPER_TABLE6,
            "history": history,
        },
        out / "metrics.json",
    )
    save_history_figure(history, results, out / "training.png")
    print(f"saved {out / 'pose_estimator.pt'}, {out / 'metrics.json'} and {out / 'training.png'}")


if __name__ == "__main__":
    main()
