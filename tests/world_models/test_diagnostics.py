"""examples/dreamer_diagnostics.py: event rows, real events within the horizon, and a diagnostics row."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

from dreamer_diagnostics import COLUMNS, diagnose, event_mask, real_event_within  # noqa: E402

from world_models import Dreamer, DreamerConfig  # noqa: E402


def test_event_mask_threshold_and_terminals():
    reward = np.array([0.1, -20.2, -19.0, -18.9, 0.0])
    term = np.array([False, True, False, False, True])
    assert event_mask(reward, term, -19.0).tolist() == [False, True, True, False, True]
    assert event_mask(reward, term, None).tolist() == [False, True, False, False, True]


def test_real_event_within_horizon_stops_at_episode_start():
    event = np.zeros((1, 8), bool)
    first = np.zeros((1, 8), bool)
    event[0, 5] = True
    # starts 0..3, horizon 4: start t sees events at t+1..t+4
    assert real_event_within(event, first, 4, 4)[0].tolist() == [False, True, True, True]
    first[0, 3] = True  # a new episode at step 3: the event at 5 is not in the episodes of starts 0..2
    assert real_event_within(event, first, 4, 4)[0].tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="too short"):
        real_event_within(event, first, 5, 4)


def _agent_with_replay(drop_every: int = 10, steps: int = 200) -> Dreamer:
    """A tiny agent whose replay holds hand-made episodes ending in a -20 terminal every ``drop_every`` steps."""
    import gymnasium as gym

    class Env(gym.Env):
        observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    cfg = DreamerConfig.from_preset("tiny", horizon=5, seq_len=8, batch_size=2)
    agent = Dreamer(Env(), config=cfg, seed=0, device="cpu")
    rng = np.random.default_rng(0)
    t = 0
    for _ in range(steps):
        last = (t + 1) % drop_every == 0
        agent.replay.add(
            {"obs": rng.uniform(-1, 1, 3).astype(np.float32)},
            np.zeros(2, np.float32) if last else rng.uniform(-1, 1, 2).astype(np.float32),
            -20.0 if last else 0.1,
            t == 0,
            last,
        )
        t = 0 if last else t + 1
    return agent


def test_diagnose_measures_hand_made_drop_rows_and_leaves_rng_alone():
    agent = _agent_with_replay(drop_every=10, steps=200)
    torch_state = torch.get_rng_state().clone()
    agent_rng = repr(agent.rng.bit_generator.state)
    row = diagnose(agent, np.random.default_rng(1), event_reward=-19.0, batch=4, starts=4)
    assert set(row) == set(COLUMNS)
    assert torch.equal(torch.get_rng_state(), torch_state)  # training's random streams untouched
    assert repr(agent.rng.bit_generator.state) == agent_rng
    assert row["events_in_replay"] == 20
    assert row["event_reward_real"] == pytest.approx(-20.0)
    assert row["event_cont_real"] == 0.0
    # an untrained model predicts neither the penalty nor the terminal
    assert row["event_reward_post"] > -5.0 and row["event_cont_post"] > 0.2
    # every start of a 10-step episode whose next 5 steps hold its end: 5 of 10 starts
    assert 0.0 < row["real_event_frac"] <= 1.0
    for key in ("imag_return", "real_return", "return_gap", "entropy_post", "entropy_imag", "real_return_pre_event"):
        assert np.isfinite(row[key]), key
    # the real lambda-return before a -20 terminal is strongly negative
    assert row["real_return_pre_event"] < -5.0
    assert row["return_gap"] == pytest.approx(row["imag_return"] - row["real_return"], abs=1e-4)


def test_diagnose_without_events_or_data_gives_nan():
    agent = _agent_with_replay(drop_every=10_000, steps=30)
    row = diagnose(agent, np.random.default_rng(0), event_reward=-19.0, batch=2, starts=4)
    assert row["events_in_replay"] == 0
    assert np.isnan(row["event_reward_post"]) and np.isnan(row["imag_return_pre_event"])
    assert np.isfinite(row["imag_return"]) and row["real_event_frac"] == 0.0
    empty = _agent_with_replay(steps=3)
    assert all(np.isnan(v) for k, v in diagnose(empty, np.random.default_rng(0)).items() if k != "events_in_replay")


def test_event_reward_argument():
    from train_dreamer import resolve_event_reward

    assert resolve_event_reward("auto", "Dactyl-v0") == -19.0
    assert resolve_event_reward("auto", "gym_dactyl:Dactyl-v0") == -19.0
    assert resolve_event_reward("auto", "CartPole-v1") is None
    assert resolve_event_reward("none", "Dactyl-v0") is None
    assert resolve_event_reward("-5", "CartPole-v1") == -5.0
    for bad in ("nan", "low", "inf"):
        with pytest.raises(ValueError, match="--event-reward"):
            resolve_event_reward(bad, "Dactyl-v0")


def test_hold_action_is_the_keep_still_action():
    from world_models.evaluation import hold_action

    assert hold_action(spaces.Box(-1.0, 1.0, (3,), np.float32)).tolist() == [0.0, 0.0, 0.0]
    assert hold_action(spaces.MultiDiscrete([11, 11, 5])).tolist() == [5, 5, 2]
    with pytest.raises(ValueError, match="0 inside"):
        hold_action(spaces.Box(1.0, 2.0, (2,), np.float32))
    with pytest.raises(ValueError, match="Box and MultiDiscrete"):
        hold_action(spaces.Discrete(3))


def test_compare_difference_and_standard_error():
    from world_models.evaluation import compare

    agent = [{"m": v} for v in (1.0, 2.0, 3.0, 2.0)]  # mean 2, std(ddof=1) 0.8165, se 0.408
    base = [{"m": 0.0}] * 4  # se 0
    c = compare(agent, base, "m")
    assert c["difference"] == pytest.approx(2.0)
    assert c["difference_se"] == pytest.approx(0.8165 / 2, rel=1e-3)
    assert c["z"] == pytest.approx(2.0 / 0.40825, rel=1e-3) and c["beats_by_3_se"] is True
    c = compare(base, agent, "m")
    assert c["z"] < 0 and c["beats_by_3_se"] is False
    assert compare(base, base, "m")["z"] == 0.0


def test_train_dreamer_writes_diagnostics_and_stops_cleanly_on_sigterm(tmp_path):
    import os
    import signal
    import subprocess
    import time

    root = EXAMPLES.parent
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "examples/train_dreamer.py", "--env", "CartPole-v1", "--preset", "tiny"]
    cmd += ["--logdir", str(tmp_path), "--no-progress-bar", "--eval-every", "0", "--train-ratio", "32"]
    cmd += ["--total-timesteps", "1000000", "--diag-every", "5", "--checkpoint-every", "100000"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    diag = tmp_path / "diagnostics.csv"
    deadline = time.time() + 100
    while time.time() < deadline and (not diag.exists() or len(diag.read_text().splitlines()) < 3):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=100)
    assert proc.returncode == 0, err[-2000:]
    assert "[stop] signal SIGTERM" in out
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "final.csv").exists()
    lines = diag.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["timesteps", "updates", "wall_s", "cpu_s", "diag_cpu_s"] and "train_entropy" in header
    row = dict(zip(header, lines[1].split(","), strict=True))
    assert int(row["updates"]) >= 5
    assert np.isfinite(float(row["imag_return"])) and np.isfinite(float(row["entropy_post"]))


def test_evaluation_rejects_unknown_policies_and_no_episodes():
    import gymnasium as gym

    from world_models.evaluation import evaluate_policy, run_episode

    env = gym.make("Pendulum-v1")
    with pytest.raises(ValueError, match="'greedy'"):
        run_episode(env, "greedy", seed=0, deterministic=True)
    with pytest.raises(ValueError, match="episodes must be >= 1, got 0"):
        evaluate_policy(env, "random", episodes=0, seed=0, deterministic=True)
    (stats,) = evaluate_policy(env, "hold", episodes=1, seed=0, deterministic=True)
    assert stats["length"] == 200 and "consecutive_successes" not in stats
