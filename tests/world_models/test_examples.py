"""Smoke tests: the example scripts run end to end with a tiny budget."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_train_resume_and_dream_smoke(tmp_path):
    logdir = tmp_path / "run"
    common = [
        "examples/train_dreamer.py",
        "--preset",
        "tiny",
        "--logdir",
        str(logdir),
        "--no-progress-bar",
        "--eval-every",
        "100",
        "--eval-episodes",
        "1",
        "--checkpoint-every",
        "100",
        "--train-ratio",
        "8",
    ]
    out = _run(*common, "--env", "CartPole-v1", "--total-timesteps", "150")
    assert "done: 150 env steps" in out
    for name in (
        "checkpoint.pt",
        "checkpoint.pt.replay.npz",
        "episodes.csv",
        "eval.csv",
        "learning_curve.png",
    ):
        assert (logdir / name).exists(), name
    out = _run(*common, "--env", "CartPole-v1", "--total-timesteps", "200", "--resume")
    assert "resumed from" in out and "done: 200 env steps" in out
    dream = tmp_path / "dream"
    out = _run(
        "examples/dream.py",
        "--checkpoint",
        str(logdir / "checkpoint.pt"),
        "--env",
        "CartPole-v1",
        "--horizon",
        "5",
        "--context",
        "3",
        "--out",
        str(dream),
    )
    assert (dream / "dream.mp4").stat().st_size > 0 and (dream / "dream_reward.png").exists()
    assert (dream / "dream_frames.png").exists()
    rewards = json.loads((dream / "dream_rewards.json").read_text())
    n = len(rewards["real_reward"])  # 9 unless the CartPole episode ended sooner
    assert len(rewards["model_reward"]) == n and 4 <= n <= 9 and rewards["open_loop_steps"] == n - 3
    err = np.abs(np.array(rewards["real_reward"][3:]) - np.array(rewards["model_reward"][3:])).mean()
    assert rewards["open_loop_reward_mae"] == pytest.approx(err)


def test_env_kwargs_pixels_and_evaluate(tmp_path):
    logdir = tmp_path / "pixels"
    kwargs = '{"size": 8, "max_steps": 10}'
    out = _run(
        "examples/train_dreamer.py",
        *("--env", "PixelReach-v0", "--env-kwargs", kwargs, "--preset", "tiny", "--logdir", str(logdir)),
        *("--total-timesteps", "30", "--train-ratio", "8", "--eval-every", "0", "--no-progress-bar"),
    )
    assert "kwargs {'size': 8, 'max_steps': 10}" in out and "done: 30 env steps" in out
    report = tmp_path / "eval.json"
    out = _run(
        "examples/evaluate_dreamer.py",
        *("--checkpoint", str(logdir / "checkpoint.pt"), "--env", "PixelReach-v0", "--env-kwargs", kwargs),
        *("--episodes", "2", "--seed", "5", "--out", str(report)),
    )
    assert "seeds 5..6" in out and report.exists()
    alone = {}
    for policy in ("random", "oracle"):
        path = tmp_path / f"{policy}.json"
        out = _run(
            "examples/evaluate_dreamer.py",
            *("--policy", policy, "--env", "PixelReach-v0", "--env-kwargs", kwargs, "--episodes", "3"),
            *("--seed", "5", "--out", str(path)),
        )
        assert f"{policy} actions" in out
        alone[policy] = json.loads(path.read_text())
    # the baselines measured next to the model are exactly the ones their own runs measure (same seeds)
    both = tmp_path / "both.json"
    _run(
        "examples/evaluate_dreamer.py",
        *("--checkpoint", str(logdir / "checkpoint.pt"), "--env", "PixelReach-v0", "--env-kwargs", kwargs),
        *("--episodes", "3", "--seed", "5", "--baselines", "random,oracle", "--out", str(both)),
    )
    report = json.loads(both.read_text())
    assert report["num_timesteps"] == 30 and set(report["baselines"]) == {"random", "oracle"}
    for policy in ("random", "oracle"):
        assert report["baselines"][policy]["episodes"] == alone[policy]["episodes"]
        assert report["baselines"][policy]["summary"] == alone[policy]["summary"]
        returns = [e["return"] for e in report["episodes"]], [e["return"] for e in alone[policy]["episodes"]]
        diff = np.mean(returns[0]) - np.mean(returns[1])
        se = np.sqrt(np.var(returns[0], ddof=1) / 3 + np.var(returns[1], ddof=1) / 3)
        cmp = report["comparison"][policy]
        assert cmp["return_difference"] == pytest.approx(diff) and cmp["standard_error"] == pytest.approx(se)
        assert cmp["z"] == pytest.approx(diff / se)
    assert (
        report["baselines"]["oracle"]["summary"]["return_mean"]
        > report["baselines"]["random"]["summary"]["return_mean"]
    )
    # the tables and the plot are made from these files
    table = _run("examples/dreamer_run_table.py", "--logdir", str(logdir), "--bin", "10", "--eval-json", str(both))
    assert "| Dreamer, 30 env steps, deterministic |" in table and "| random actions |" in table
    curve = tmp_path / "curve.png"
    _run(
        "examples/plot_dreamer_curve.py",
        *("--logdir", str(logdir), "--out", str(curve), "--x", "cpu-minutes", "--baselines-from", str(both)),
    )
    assert curve.stat().st_size > 0


@pytest.mark.parametrize(
    "script, args, message",
    [
        ("examples/train_dreamer.py", ["--env-kwargs", "[1]"], "--env-kwargs must be a JSON object"),
        ("examples/train_dreamer.py", ["--env-kwargs", "{goal: z}"], "--env-kwargs must be a JSON object"),
        ("examples/evaluate_dreamer.py", ["--policy", "best"], "--policy must be one of"),
        ("examples/evaluate_dreamer.py", [], "--checkpoint is required"),
        ("examples/evaluate_dreamer.py", ["--policy", "oracle", "--env", "CartPole-v1"], "oracle_action"),
        ("examples/evaluate_dreamer.py", ["--policy", "random", "--baselines", "random"], "repeats --policy"),
        ("examples/evaluate_dreamer.py", ["--policy", "random", "--baselines", "best"], "--baselines must be"),
        ("examples/evaluate_dreamer.py", ["--policy", "random", "--baselines", "oracle,oracle"], "must not repeat"),
        (
            "examples/evaluate_dreamer.py",
            ["--policy", "random", "--env", "CartPole-v1", "--baselines", "oracle"],
            "oracle_action",
        ),
        ("examples/dreamer_run_table.py", ["--logdir", "no/such/run"], "has no episodes.csv"),
    ],
)
def test_bad_script_arguments_raise_value_error(script, args, message):
    proc = subprocess.run(
        [sys.executable, script, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "ValueError" in proc.stderr and message in proc.stderr


def test_plot_curve_script(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = "".join(f"{10 * i},{-i / 2:.1f},{i + 1},{i}.0,{i}\n" for i in range(30))
    (run / "episodes.csv").write_text("timesteps,return,length,wall_s,updates\n" + rows)
    (run / "eval.csv").write_text("timesteps,mean_return,wall_s,updates\n100,-3.0,5.0,7\n")
    out = tmp_path / "curve.png"
    _run(
        "examples/plot_dreamer_curve.py",
        *("--logdir", str(run), "--out", str(out), "--baseline", "random=-5", "--length", "--window", "5"),
    )
    assert out.stat().st_size > 0
    proc = subprocess.run(
        [sys.executable, "examples/plot_dreamer_curve.py", "--logdir", str(run), "--out", str(out), "--baseline", "x"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "--baseline must look like LABEL=NUMBER" in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "examples/plot_dreamer_curve.py",
            "--logdir",
            str(run),
            "--out",
            str(out),
            "--x",
            "cpu-minutes",
        ],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "ValueError" in proc.stderr and "'cpu_s'" in proc.stderr


def test_run_table_from_hand_built_csvs(tmp_path):
    """Bins by the step count at an episode's end; means, last updates/CPU minutes and the threshold line."""
    (tmp_path / "episodes.csv").write_text(
        "timesteps,return,length,wall_s,updates,cpu_s\n"
        "200,-1000,200,1,0,6\n400,-800,200,2,0,12\n600,-300,200,3,100,60\n800,-100,200,4,200,90\n"
    )
    (tmp_path / "eval.csv").write_text(
        "timesteps,mean_return,wall_s,updates,cpu_s\n400,-900.25,2,0,15\n800,-250.04,4,200,120\n"
    )
    (tmp_path / "final.csv").write_text(
        "timesteps,updates,wall_s,eval_10_episodes_mean_return,cpu_s\n810,205,5,-200.5,180\n"
    )
    out = _run("examples/dreamer_run_table.py", "--logdir", str(tmp_path), "--bin", "400", "--threshold", "-300")
    lines = out.splitlines()
    assert "| 0k–0.4k | 2 | -900.0 | 0 | 0.2 |" in lines
    assert "| 0.4k–0.8k | 2 | -200.0 | 200 | 1.5 |" in lines
    assert "| 800 | 200 | 2.0 | -250.0 |" in lines
    assert "| 810 (end) | 205 | 3.0 | -200.5 (10 episodes) |" in lines
    assert "first evaluation >= -300: -250.0 at 800 env steps, 200 updates, 2.0 CPU min" in lines
    out = _run("examples/dreamer_run_table.py", "--logdir", str(tmp_path), "--threshold", "0")
    assert "no evaluation >= 0" in out
    out = _run("examples/dreamer_run_table.py", "--logdir", str(tmp_path), "--eval-rows-every", "800")
    assert "| 400 | 0 | 0.2 | -900.2 |" not in out and "| 800 | 200 | 2.0 | -250.0 |" in out


@pytest.mark.parametrize("flag,value", [("--max-cpu-minutes", "-1"), ("--max-minutes", "nan")])
def test_train_dreamer_rejects_bad_time_limits(tmp_path, flag, value):
    proc = subprocess.run(
        [sys.executable, "examples/train_dreamer.py", "--logdir", str(tmp_path), flag, value],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr and flag in proc.stderr and value in proc.stderr


def test_train_dreamer_cpu_limit_stops_and_logs_cpu_seconds(tmp_path):
    out = _run(
        "examples/train_dreamer.py",
        "--env",
        "CartPole-v1",
        "--preset",
        "tiny",
        "--logdir",
        str(tmp_path),
        "--no-progress-bar",
        "--eval-every",
        "50",
        "--eval-episodes",
        "1",
        "--train-ratio",
        "8",
        "--total-timesteps",
        "100000",
        "--max-cpu-minutes",
        "0.0001",
    )
    assert "CPU-time limit" in out and "done: 100000 env steps" not in out
    header = (tmp_path / "final.csv").read_text().splitlines()[0]
    assert header.endswith(",cpu_s")


@pytest.mark.parametrize(
    "logdir, args",
    [
        ("docs/dreamer_pendulum", ["--bin", "2000", "--threshold", "-300"]),
        ("docs/dreamer_pixel_reach", ["--bin", "5000", "--eval-rows-every", "4000"]),
    ],
)
def test_dreamer_doc_tables_are_the_committed_data(logdir, args):
    """docs/dreamer.md's Pendulum and PixelReach tables are, row for row, what dreamer_run_table.py prints from
    the committed CSVs and evaluation JSON."""
    doc = (ROOT / "docs" / "dreamer.md").read_text().splitlines()
    out = _run("examples/dreamer_run_table.py", "--logdir", logdir, *args, "--eval-json", f"{logdir}/eval_50.json")
    rows = [line for line in out.splitlines() if line.startswith(("| ", "first evaluation", "no evaluation"))]
    missing = [row for row in rows if row not in doc]
    assert len(rows) >= 10 and not missing, missing
