"""The statistics behind every published PPO / Dreamer / pose figure, on hand-built data with known answers.

``ppo.rollout.summarize`` (evaluate.py's Table-3 summary: mean ± std / median, success and drop rates),
``evaluate_dreamer.summarize``, ``train_pose_estimator.summarize`` (the pose-error tables of docs/vision.md) and
``DactylMetricsCallback``'s ``metrics.csv`` row. Standard deviations are population standard deviations
(``ddof=0``), as printed in the docs.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from ppo.callbacks import METRIC_FIELDS, DactylMetricsCallback
from ppo.rollout import summarize
from stable_baselines3.common.logger import configure


def episode(cs: int, dropped: bool, length: int, ret: float, rot_err: float, mm: float, deg: float) -> dict:
    """One record in the shape ``ppo.rollout.run_episode`` returns."""
    return {
        "consecutive_successes": cs,
        "dropped": dropped,
        "length": length,
        "return": ret,
        "rotation_progress": ret - 5.0 * cs + 20.0 * dropped,
        "rotation_error_mean": rot_err,
        "final_rotation_error": rot_err,
        "end": "dropped" if dropped else "timeout",
        "pose_error_mm": mm,
        "pose_error_deg": deg,
    }


EPISODES = [
    episode(0, True, 30, -19.0, 2.0, 10.0, 20.0),
    episode(2, False, 120, 11.5, 1.5, 12.0, 22.0),
    episode(1, False, 80, 5.25, 1.0, 14.0, 24.0),
    episode(5, False, 170, 26.0, 0.5, 16.0, 26.0),
]


def test_summarize_on_hand_built_episodes() -> None:
    s = summarize(EPISODES)
    # consecutive successes 0, 2, 1, 5: mean 2, population std sqrt((4 + 0 + 1 + 9) / 4), median (1 + 2) / 2
    assert s["episodes"] == 4
    assert s["consecutive_successes_mean"] == 2.0
    assert math.isclose(s["consecutive_successes_std"], math.sqrt(14 / 4))
    assert s["consecutive_successes_median"] == 1.5
    assert math.isclose(s["consecutive_successes_sem"], math.sqrt(14 / 3) / 2)  # sample std (ddof=1) / sqrt(n)
    assert s["success_rate"] == 0.75  # three of four episodes have >= 1 success
    assert s["drop_rate"] == 0.25
    assert s["rotation_error_mean"] == 1.25
    assert s["episode_length_mean"] == 100.0
    assert math.isclose(s["return_mean"], (-19.0 + 11.5 + 5.25 + 26.0) / 4)
    # rotation progress: -19 + 20 = 1, 11.5 - 10 = 1.5, 5.25 - 5 = 0.25, 26 - 25 = 1
    assert math.isclose(s["rotation_progress_mean"], (1.0 + 1.5 + 0.25 + 1.0) / 4)
    assert s["pose_error_mm_mean"] == 13.0 and s["pose_error_deg_mean"] == 23.0


def test_summarize_single_episode_and_all_failures() -> None:
    s = summarize([episode(3, False, 100, 15.0, 1.0, 0.0, 0.0)])
    assert s["consecutive_successes_sem"] == 0.0
    assert (s["consecutive_successes_mean"], s["consecutive_successes_std"], s["consecutive_successes_median"]) == (
        3.0,
        0.0,
        3.0,
    )
    s = summarize([episode(0, True, 10, -20.0, 2.0, 0.0, 0.0)] * 3)
    assert s["success_rate"] == 0.0 and s["drop_rate"] == 1.0 and s["rotation_progress_mean"] == 0.0


def test_dreamer_summarize_on_hand_built_episodes() -> None:
    pytest.importorskip("world_models")
    from world_models.evaluation import summarize as dreamer_summarize

    s = dreamer_summarize(EPISODES)
    assert s["episodes"] == 4 and s["length_mean"] == 100.0
    returns = np.array([-19.0, 11.5, 5.25, 26.0])
    assert math.isclose(s["return_mean"], returns.mean()) and math.isclose(s["return_std"], returns.std())
    assert s["return_median"] == (5.25 + 11.5) / 2
    assert s["consecutive_successes_mean"] == 2.0 and s["success_rate"] == 0.75 and s["drop_rate"] == 0.25
    assert math.isclose(s["consecutive_successes_std"], math.sqrt(14 / 4)) and s["consecutive_successes_median"] == 1.5
    assert math.isclose(s["rotation_progress_mean"], (1.0 + 1.5 + 0.25 + 1.0) / 4)
    plain = dreamer_summarize([{"return": -1.0, "length": 200}, {"return": -3.0, "length": 200}])
    assert plain["return_mean"] == -2.0 and plain["return_std"] == 1.0 and "success_rate" not in plain


def test_pose_estimator_summarize_on_hand_built_errors() -> None:
    """``train_pose_estimator.summarize``: the mean ± std (median, p90) of docs/vision.md's pose-error tables."""
    pytest.importorskip("torch")
    from train_pose_estimator import summarize as pose_summarize

    mm = np.array([10.0, 12.0, 14.0, 16.0, 48.0])
    deg = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    s = pose_summarize(mm, deg)
    assert s["n"] == 5
    assert s["position_mm_mean"] == 20.0 and s["position_mm_median"] == 14.0
    assert math.isclose(s["position_mm_std"], math.sqrt((100 + 64 + 36 + 16 + 784) / 5))  # population std
    assert math.isclose(s["position_mm_p90"], 16.0 + 0.6 * (48.0 - 16.0))  # linear interpolation, rank 3.6
    assert (s["rotation_deg_mean"], s["rotation_deg_median"]) == (3.0, 3.0)
    assert math.isclose(s["rotation_deg_std"], math.sqrt(2.0)) and math.isclose(s["rotation_deg_p90"], 4.6)


def _step(cb: DactylMetricsCallback, infos: list[dict], dones: list[bool]) -> None:
    cb.locals = {"infos": infos, "dones": np.array(dones)}
    assert cb._on_step()


def _done(cs: int, dropped: bool, ret: float, length: int, err: float) -> dict:
    """The info of a finished episode: the env's keys plus SB3 Monitor's ``episode`` entry."""
    return {
        "rotation_error": err,
        "consecutive_successes": cs,
        "dropped": dropped,
        "episode": {"r": ret, "l": length, "t": 0.0},
    }


def test_metrics_callback_row_and_files(tmp_path: Path) -> None:
    cb = DactylMetricsCallback(tmp_path / "metrics.csv", tmp_path / "metrics.jsonl", window=3)
    cb.model = SimpleNamespace(logger=configure(None, []))  # what SB3's init_callback provides
    cb._on_training_start()
    # Two envs; four episodes end; the window keeps the last three.
    _step(cb, [{"rotation_error": 1.0}, {"rotation_error": 3.0}], [False, False])
    _step(cb, [_done(0, True, -19.0, 30, 2.0), {"rotation_error": 2.0}], [True, False])
    _step(cb, [{"rotation_error": 1.0}, _done(2, False, 11.5, 120, 1.0)], [False, True])
    _step(cb, [_done(1, False, 5.25, 80, 0.0), _done(5, False, 26.0, 170, 2.0)], [True, True])
    cb.num_timesteps = 8
    row = cb.row()
    assert set(row) == set(METRIC_FIELDS)
    assert (row["timesteps"], row["episodes"], row["window"]) == (8, 4, 3)
    # window: cs 2, 1, 5 / dropped 0, 0, 0 / returns 11.5, 5.25, 26 / lengths 120, 80, 170
    assert math.isclose(row["consecutive_successes_mean"], 8 / 3)
    assert math.isclose(row["consecutive_successes_std"], np.std([2.0, 1.0, 5.0]))
    assert row["consecutive_successes_median"] == 2.0
    assert row["success_rate"] == 1.0 and row["drop_rate"] == 0.0
    assert math.isclose(row["return_mean"], (11.5 + 5.25 + 26.0) / 3)
    assert math.isclose(row["rotation_progress_mean"], (1.5 + 0.25 + 1.0) / 3)
    assert row["episode_length_mean"] == 370 / 3
    assert row["rotation_error_mean"] == 12.0 / 8  # every step's rotation error, both envs, this rollout

    cb._on_rollout_end()
    with (tmp_path / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and tuple(rows[0]) == METRIC_FIELDS
    assert math.isclose(float(rows[0]["consecutive_successes_mean"]), 8 / 3)
    line = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
    assert line["window"] == 3 and line["drop_rate"] == 0.0

    # The rotation error restarts with each rollout; the episode window carries over.
    _step(cb, [{"rotation_error": 0.5}, {"rotation_error": 0.5}], [False, False])
    cb.num_timesteps = 10
    cb._on_rollout_end()
    with (tmp_path / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and float(rows[1]["rotation_error_mean"]) == 0.5 and rows[1]["window"] == "3"


def test_metrics_callback_row_without_episodes_is_nan_and_null(tmp_path: Path) -> None:
    cb = DactylMetricsCallback(tmp_path / "m.csv", tmp_path / "m.jsonl")
    cb.model = SimpleNamespace(logger=configure(None, []))
    cb._on_training_start()
    _step(cb, [{"rotation_error": 1.0}], [False])
    row = cb.row()
    assert row["window"] == 0 and row["rotation_error_mean"] == 1.0
    for key in ("return_mean", "consecutive_successes_mean", "success_rate", "drop_rate"):
        assert math.isnan(row[key]), key
    cb._on_rollout_end()
    line = json.loads((tmp_path / "m.jsonl").read_text())
    assert line["return_mean"] is None and line["rotation_error_mean"] == 1.0
