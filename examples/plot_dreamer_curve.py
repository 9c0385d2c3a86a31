"""Plot a train_dreamer.py run: training-episode returns (raw and rolling mean), evaluations, baselines.

    python examples/plot_dreamer_curve.py --logdir runs/pixel_reach --out docs/dreamer_pixel_reach_curve.png \
        --baseline random=-49.5 --title "Dreamer (small) on PixelReach-v0, 16x16 pixels"

Reads ``<logdir>/episodes.csv`` and, when present, ``<logdir>/eval.csv``. With ``--length`` a second panel
shows the episode length (on Dactyl-v0 a short episode means an early drop).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def parse_baseline(text: str) -> tuple[str, float]:
    """``LABEL=VALUE`` → ``(label, value)``."""
    label, sep, value = text.partition("=")
    try:
        if not sep or not label:
            raise ValueError
        return label, float(value)
    except ValueError:
        raise ValueError(f"--baseline must look like LABEL=NUMBER (e.g. random=-49.5), got {text!r}") from None


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each index (fewer at the start)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    sums = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (sums[idx] - sums[lo]) / (idx - lo)


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", required=True, help="run directory written by train_dreamer.py")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--title", default="", help="figure title")
    parser.add_argument("--window", type=int, default=20, help="episodes in the rolling mean")
    parser.add_argument("--baseline", action="append", default=[], help="LABEL=VALUE horizontal line (repeatable)")
    parser.add_argument("--length", action="store_true", help="add a panel with the episode length")
    args = parser.parse_args(argv)
    baselines = [parse_baseline(b) for b in args.baseline]
    if args.window < 1:
        raise ValueError(f"--window must be >= 1, got {args.window}")
    logdir = Path(args.logdir)
    episodes = _read(logdir / "episodes.csv")
    if not episodes:
        raise ValueError(f"--logdir {logdir} has no episodes.csv with rows (not a train_dreamer.py run?)")
    evals = _read(logdir / "eval.csv")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([int(r["timesteps"]) for r in episodes])
    returns = np.array([float(r["return"]) for r in episodes])
    lengths = np.array([int(r["length"]) for r in episodes])
    panels = 2 if args.length else 1
    fig, axes = plt.subplots(panels, 1, figsize=(7, 3.6 * panels), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.plot(steps, returns, lw=0.5, alpha=0.3, color="C0", label="training episode (stochastic)")
    ax.plot(steps, rolling_mean(returns, args.window), lw=1.8, color="C0", label=f"mean of last {args.window}")
    if evals:
        ax.plot(
            [int(r["timesteps"]) for r in evals],
            [float(r["mean_return"]) for r in evals],
            "o-",
            ms=4,
            color="C1",
            label="evaluation (deterministic)",
        )
    for i, (label, value) in enumerate(baselines):
        ax.axhline(value, ls="--", color=f"C{i + 2}", label=label)
    ax.set_ylabel("episode return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if args.title:
        ax.set_title(args.title)
    if args.length:
        ax = axes[1, 0]
        ax.plot(steps, lengths, lw=0.5, alpha=0.3, color="C0")
        ax.plot(steps, rolling_mean(lengths, args.window), lw=1.8, color="C0", label=f"mean of last {args.window}")
        ax.set_ylabel("episode length (steps)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("environment steps")
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
