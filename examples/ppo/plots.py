"""Matplotlib figures: the training curve from ``metrics.csv`` and the evaluation bar chart."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

from gym_dactyl.constants import DROP_PENALTY, SUCCESS_BONUS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_adr", "plot_comparison", "plot_evaluation", "plot_learning_curve", "plot_runs", "read_metrics"]


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of a ``metrics.csv`` written by :class:`ppo.callbacks.DactylMetricsCallback`, or of its committed JSON
    form (``{"source", "columns", "rows"}``, ``examples/ppo_steps_table.py --write-json``), as floats (empty cells
    and nulls as NaN; ``rotation_progress_mean`` derived for older logs that lack it)."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        rows = [
            {k: float("nan") if v is None else float(v) for k, v in zip(data["columns"], row, strict=True)}
            for row in data["rows"]
        ]
    else:
        with path.open() as f:
            reader = csv.DictReader(f)
            rows = [{k: float(v) if v not in ("", "nan") else float("nan") for k, v in r.items()} for r in reader]
    for r in rows:  # older logs lack the column; it is a linear function of three others
        if "rotation_progress_mean" not in r and "return_mean" in r:
            r["rotation_progress_mean"] = (
                r["return_mean"] - SUCCESS_BONUS * r["consecutive_successes_mean"] - DROP_PENALTY * r["drop_rate"]
            )
    return rows


def plot_learning_curve(csv_path: Path, out: Path, title: str = "RecurrentPPO on Dactyl-v0") -> Path:
    """Plot return, rotation progress, consecutive successes, success/drop rates, rotation error and episode
    length (means over the last 100 episodes) against environment steps."""
    rows = read_metrics(csv_path)
    t = [r["timesteps"] for r in rows]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), sharex=True)
    panels = (
        (axes[0, 0], ("return_mean",), "episode return"),
        (axes[0, 1], ("rotation_progress_mean",), "rotation progress per episode (rad)"),
        (axes[0, 2], ("consecutive_successes_mean", "consecutive_successes_median"), "consecutive successes"),
        (axes[1, 0], ("success_rate", "drop_rate"), "share of episodes"),
        (axes[1, 1], ("rotation_error_mean",), "rotation error (rad, rollout mean)"),
        (axes[1, 2], ("episode_length_mean",), "episode length (steps)"),
    )
    for ax, keys, label in panels:
        for key in keys:
            ax.plot(t, [r[key] for r in rows], label=key)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("environment steps")
    return _save(fig, out, title)


def plot_runs(runs: dict[str, Path], out: Path, title: str = "RecurrentPPO on Dactyl-v0") -> Path:
    """Overlay the training curves of several runs (label -> ``metrics.csv``): rotation progress, consecutive
    successes, success rate and drop rate (means over the last 100 episodes) against environment steps."""
    panels = (
        ("rotation_progress_mean", "rotation progress per episode (rad)"),
        ("consecutive_successes_mean", "consecutive successes (mean)"),
        ("success_rate", "success rate"),
        ("drop_rate", "drop rate"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), sharex=True)
    for label, csv_path in runs.items():
        rows = read_metrics(csv_path)
        t = [r["timesteps"] for r in rows]
        for ax, (key, _) in zip(axes, panels, strict=True):
            ax.plot(t, [r[key] for r in rows], label=label, lw=1.2)
    for ax, (_, name) in zip(axes, panels, strict=True):
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("environment steps")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _save(fig, out, title)


def plot_evaluation(results: dict[str, dict[str, Any]], out: Path, title: str = "evaluation") -> Path:
    """Bar chart of consecutive successes (mean ± std, median marked) and drop rate per condition."""
    names = list(results)
    means = [results[n]["consecutive_successes_mean"] for n in names]
    stds = [results[n]["consecutive_successes_std"] for n in names]
    medians = [results[n]["consecutive_successes_median"] for n in names]
    drops = [results[n]["drop_rate"] for n in names]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    x = range(len(names))
    ax1.bar(x, means, yerr=stds, capsize=4, color="tab:blue", alpha=0.8, label="mean ± std")
    ax1.scatter(x, medians, color="k", zorder=3, label="median")
    ax1.set_xticks(list(x), names, rotation=20, ha="right", fontsize=8)
    ax1.set_ylabel("consecutive successes")
    ax1.legend(fontsize=8)
    ax2.bar(x, drops, color="tab:red", alpha=0.8)
    ax2.set_xticks(list(x), names, rotation=20, ha="right", fontsize=8)
    ax2.set_ylabel("drop rate")
    ax2.set_ylim(0, 1)
    return _save(fig, out, title)


def plot_comparison(reports: dict[str, Path], out: Path, title: str = "evaluation") -> Path:
    """Grouped bars of several ``eval.json`` reports (e.g. a checkpoint and the random baseline) per condition.

    Args:
        reports: label -> path of an ``eval.json`` written by ``examples/evaluate.py``.
        out: PNG to write.
        title: figure title.
    """
    import json

    import numpy as np

    data = {label: json.loads(Path(p).read_text())["results"] for label, p in reports.items()}
    conditions = list(next(iter(data.values())))
    metrics = (
        ("consecutive_successes_mean", "consecutive successes (mean ± std)", "consecutive_successes_std"),
        ("drop_rate", "drop rate", None),
        ("rotation_progress_mean", "rotation progress per episode (rad)", None),
    )
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4))
    width = 0.8 / len(data)
    x = np.arange(len(conditions))
    for ax, (key, label, err) in zip(axes, metrics, strict=True):
        for i, (name, res) in enumerate(data.items()):
            values = [res[c][key] for c in conditions]
            errors = [res[c][err] for c in conditions] if err else None
            ax.bar(x + (i - (len(data) - 1) / 2) * width, values, width, yerr=errors, capsize=3, label=name)
        ax.set_xticks(x, conditions)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        ax.axhline(0, color="k", lw=0.6)
    axes[0].legend(fontsize=8)
    return _save(fig, out, title)


def plot_adr(
    csv_path: Path, out: Path, caps: dict[str, Any] | None = None, title: str = "Automatic Domain Randomization"
) -> Path:
    """Plot ADR entropy and every parameter's range against environment steps.

    Left: the entropy (relative: 0 = the paper's ranges; and absolute), nats per dimension. Right: one row per
    parameter, the width of its range ``high - low`` as a share of its cap's width (0 = nominal, 1 = the whole
    cap) at each logged rollout, so all 24 ranges fit one image (the exact values are in ``adr.csv``).

    Args:
        csv_path: ``adr.csv`` written by :class:`ppo.callbacks.ADRCallback`.
        out: PNG to write.
        caps: parameter name -> ``(low, high)`` cap; without it each row is scaled by its own largest width.
        title: figure title.
    """
    import numpy as np

    rows = read_metrics(csv_path)
    t = np.array([r["timesteps"] for r in rows])
    names = [k[: -len("_low")] for k in (rows[0] if rows else {}) if k.endswith("_low")]
    widths = np.array([[r[f"{n}_high"] - r[f"{n}_low"] for r in rows] for n in names]).reshape(len(names), len(rows))
    for i, name in enumerate(names):
        scale = caps[name][1] - caps[name][0] if caps and name in caps else widths[i].max(initial=0.0)
        widths[i] = widths[i] / scale if scale > 0 else 0.0
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 0.28 * max(len(names), 12) + 1.5),
                                   gridspec_kw={"width_ratios": [1, 1.6]})  # fmt: skip
    ax1.plot(t, [r["entropy_relative"] for r in rows], color="k", label="relative (0 = the paper's ranges)")
    ax1.plot(t, [r["entropy"] for r in rows], color="tab:purple", label="absolute (each parameter's unit)")
    ax1.set_xlabel("environment steps")
    ax1.set_ylabel("ADR entropy (nats per dimension)")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    extent = (float(t[0]), float(t[-1]) if len(t) > 1 else float(t[0]) + 1.0, len(names) - 0.5, -0.5)
    image = ax2.imshow(widths, aspect="auto", interpolation="nearest", vmin=0.0, vmax=1.0, cmap="viridis",
                       extent=extent)  # fmt: skip
    ax2.set_yticks(range(len(names)), names, fontsize=7)
    ax2.set_xlabel("environment steps")
    ax2.set_title("range width / cap width" if caps else "range width / its largest width", fontsize=10)
    fig.colorbar(image, ax=ax2, fraction=0.04)
    return _save(fig, out, title)


def _save(fig: Any, out: Path, title: str) -> Path:
    """Title, tighten and write ``fig`` to ``out`` (parents created), then close it."""
    fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
