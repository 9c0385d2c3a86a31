"""Smoke, checkpoint and routing tests of examples/train_ppo.py and examples/evaluate.py (tiny budgets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import evaluate  # examples/evaluate.py (tests/examples/conftest.py puts examples/ on sys.path)
import gymnasium as gym
import numpy as np
import pytest
import torch as th
import train_ppo  # examples/train_ppo.py
from gymnasium import spaces
from ppo.checkpoint import load_checkpoint, load_vecnormalize, save_checkpoint
from ppo.config import TrainArgs, apply_preset, randomization_groups
from ppo.envs import make_condition_env
from ppo.policy import AsymmetricRecurrentPolicy
from ppo.rollout import ModelPolicy
from ppo.vision import load_pose_estimator
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import gym_dactyl  # noqa: F401
from dactyl_vision.pose_net import PoseNet, PoseNetConfig, save_pose_net
from gym_dactyl.constants import POLICY_KEYS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TINY = ["--n-steps", "32", "--batch-size", "64", "--n-epochs", "1", "--dense-units", "16", "--lstm-units", "16",
        "--goal-timeout-s", "1.6", "--no-progress-bar"]  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the real script once: 2 subprocess envs, 128 steps, a checkpoint every 64 steps, video on."""
    logdir = tmp_path_factory.mktemp("ppo_run")
    cmd = [sys.executable, str(EXAMPLES / "train_ppo.py"), "--total-timesteps", "128", "--n-envs", "2",
           "--checkpoint-every", "64", "--logdir", str(logdir), *TINY]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return logdir


def test_script_writes_everything(run_dir: Path) -> None:
    final = run_dir / "final"
    for name in ("model.zip", "model.json", "vecnormalize.npz", "vecnormalize.json", "meta.json"):
        assert (final / name).is_file()
    meta = json.loads((final / "meta.json").read_text())
    assert meta["num_timesteps"] == 128
    assert meta["args"]["goal"] == "z" and meta["args"]["preset"] == "quick"
    assert sorted((run_dir / "checkpoints").iterdir())  # periodic checkpoints
    assert not list(run_dir.glob("**/.*tmp-*"))  # no half-written checkpoint left behind
    lines = (run_dir / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("timesteps,") and "consecutive_successes_mean" in lines[0] and len(lines) >= 3
    assert "rotation_progress_mean" in lines[0] and "drop_rate" in lines[0]
    assert (run_dir / "metrics.jsonl").is_file() and (run_dir / "learning_curve.png").is_file()
    assert list((run_dir / "tb").rglob("events.out.tfevents.*"))


def test_evaluate_checkpoint_and_random(run_dir: Path, tmp_path: Path) -> None:
    report = evaluate.main(["--checkpoint", str(run_dir / "final"), "--episodes", "2", "--goal-timeout-s", "0.8",
                            "--out", str(tmp_path / "model"), "--no-video"])  # fmt: skip
    assert set(report["results"]) == {"nominal", "randomized", "shifted"}
    for r in report["results"].values():
        assert r["episodes"] == 2 and 0 <= r["drop_rate"] <= 1 and r["consecutive_successes_mean"] >= 0
    for ep in report["episodes"]["nominal"]:  # return = rotation progress + 5 per success - 20 per drop
        assert np.isclose(ep["return"], ep["rotation_progress"] + 5 * ep["consecutive_successes"] - 20 * ep["dropped"])
    assert (tmp_path / "model" / "eval.json").is_file() and (tmp_path / "model" / "eval.png").is_file()
    rnd = evaluate.main(["--policy", "random", "--episodes", "1", "--goal-timeout-s", "0.8", "--conditions", "nominal",
                         "--out", str(tmp_path / "random"), "--no-plot", "--no-video"])  # fmt: skip
    assert rnd["results"]["nominal"]["episodes"] == 1
    hold = evaluate.main(["--policy", "hold", "--episodes", "1", "--goal-timeout-s", "0.8", "--conditions", "nominal",
                          "--action-type", "discrete", "--out", str(tmp_path / "hold"), "--no-plot", "--no-video"])
    assert hold["results"]["nominal"]["episodes"] == 1 and hold["action_type"] == "discrete"


@pytest.fixture(scope="module")
def pose_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised (untrained) pose estimator saved like train_pose_estimator.py does."""
    th.manual_seed(0)
    path = tmp_path_factory.mktemp("pose") / "pose_estimator.pt"
    save_pose_net(PoseNet(PoseNetConfig(image_size=64, channels=(8, 8, 8), hidden=16)), path)
    return path


def test_evaluate_vision_condition(run_dir: Path, pose_model: Path, tmp_path: Path) -> None:
    report = evaluate.main(["--checkpoint", str(run_dir / "final"), "--episodes", "2", "--goal-timeout-s", "0.8",
                            "--conditions", "nominal,vision", "--pose-model", str(pose_model.parent),
                            "--out", str(tmp_path), "--no-video"])  # fmt: skip
    assert list(report["results"]) == ["nominal", "vision"]
    assert report["pose_model"] == str(pose_model.parent) and report["vision_appearance"] == "table9"
    nominal, vision = report["results"]["nominal"], report["results"]["vision"]
    assert vision["episodes"] == 2  # nominal: the true pose (float32 rounding only); an untrained CNN is far off
    assert nominal["pose_error_mm_mean"] < 1e-3 and nominal["pose_error_deg_mean"] < 0.1
    assert vision["pose_error_mm_mean"] > 1 and vision["pose_error_deg_mean"] > 1
    assert (tmp_path / "eval.json").is_file() and (tmp_path / "eval.png").is_file()


def test_vision_env_feeds_the_estimate_to_the_policy(pose_model: Path) -> None:
    net = load_pose_estimator(pose_model)
    kwargs = dict(goal="z", action_type="continuous", goal_timeout_s=0.8, train_groups={})
    nominal = make_condition_env("nominal", **kwargs)
    vision = make_condition_env("vision", pose_estimator=net, **kwargs)
    assert vision.observation_space == nominal.observation_space  # the state policy runs unchanged
    obs_n, _ = nominal.reset(seed=3)
    obs_v, _ = vision.reset(seed=3)
    pos, quat = net.predict(vision.get_wrapper_attr("last_images"))
    np.testing.assert_allclose(obs_v["object_pos"], pos, atol=1e-6)
    np.testing.assert_allclose(obs_v["object_quat"], quat, atol=1e-6)
    np.testing.assert_array_equal(obs_v["state"], obs_n["state"])  # same seed, same world; only the view differs
    np.testing.assert_array_equal(vision.unwrapped.goal_quat, nominal.unwrapped.goal_quat)
    with pytest.raises(ValueError, match="vision_appearance"):
        make_condition_env("vision", pose_estimator=net, vision_appearance="sepia", **kwargs)
    with pytest.raises(ValueError, match="pose_estimator"):
        make_condition_env("vision", **kwargs)
    nominal.close()
    vision.close()


def test_vision_condition_errors_name_the_pose_model(run_dir: Path, tmp_path: Path) -> None:
    base = ["--checkpoint", str(run_dir / "final"), "--episodes", "1", "--no-video", "--no-plot",
            "--out", str(tmp_path / "out")]  # fmt: skip
    with pytest.raises(ValueError, match="--pose-model is required"):
        evaluate.main([*base, "--conditions", "vision"])
    missing = tmp_path / "nowhere.pt"
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        evaluate.main([*base, "--conditions", "vision", "--pose-model", str(missing)])
    with pytest.raises(FileNotFoundError, match="pose_estimator.pt"):  # a directory without the file
        evaluate.main([*base, "--conditions", "vision", "--pose-model", str(tmp_path)])
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="corrupt.pt"):
        evaluate.main([*base, "--conditions", "vision", "--pose-model", str(corrupt)])
    with pytest.raises(ValueError, match="model.zip"):  # a PPO checkpoint is not a pose estimator
        evaluate.main([*base, "--conditions", "vision", "--pose-model", str(run_dir / "final" / "model.zip")])
    cams = tmp_path / "cams.pt"
    save_pose_net(PoseNet(PoseNetConfig(image_size=64, channels=(8, 8), hidden=8, camera_names=("a", "b", "c"))), cams)
    with pytest.raises(ValueError, match=r"cams\.pt.*cameras"):
        evaluate.main([*base, "--conditions", "vision", "--pose-model", str(cams)])
    with pytest.raises(ValueError, match="only used by the vision condition"):
        evaluate.main([*base, "--conditions", "nominal", "--pose-model", str(cams)])


def _rollout_actions(ckpt: Path, steps: int = 12) -> np.ndarray:
    """Deterministic actions of a loaded checkpoint on a fixed seeded trajectory (LSTM state carried)."""
    model, _, _ = load_checkpoint(ckpt)
    vecnorm = load_vecnormalize(ckpt)
    vecnorm.training = False
    policy = ModelPolicy(model, vecnorm, deterministic=True)
    env = gym.make("Dactyl-v0", action_type="continuous", goal="z")
    obs, _ = env.reset(seed=7)
    actions = []
    for _ in range(steps):
        a = policy.act(obs)
        actions.append(a)
        obs, *_ = env.step(np.zeros(20, dtype=np.float32))  # same observations whatever the policy says
    env.close()
    return np.array(actions)


def test_checkpoint_roundtrip_identical_actions(run_dir: Path, tmp_path: Path) -> None:
    raw = DummyVecEnv([lambda: gym.make("Dactyl-v0", action_type="continuous", goal="z", goal_timeout_s=1.6)])
    venv = load_vecnormalize(run_dir / "final", raw)
    model, _, _ = load_checkpoint(run_dir / "final", env=venv)  # n_envs 1 != the 2 it was trained with
    copy = save_checkpoint(tmp_path / "copy", model, {"note": "re-saved"})
    a1, a2 = _rollout_actions(run_dir / "final"), _rollout_actions(copy)
    np.testing.assert_array_equal(a1, a2)
    assert np.ptp(a1, axis=0).max() > 0  # the actions depend on the observations (not a constant policy)
    venv.close()


def test_resume_continues_steps_and_statistics(run_dir: Path, tmp_path: Path) -> None:
    ckpts = sorted((run_dir / "checkpoints").iterdir())
    start = json.loads((ckpts[0] / "meta.json").read_text())["num_timesteps"]
    logdir = tmp_path / "resumed"
    final = train_ppo.main(["--resume", str(ckpts[0]), "--total-timesteps", str(start + 64), "--n-envs", "1",
                            "--logdir", str(logdir), "--checkpoint-every", "0", "--no-video", "--no-progress-bar"])
    meta = json.loads((final / "meta.json").read_text())
    assert meta["num_timesteps"] >= start + 64
    assert meta["args"]["dense_units"] == 16  # settings inherited from the checkpoint
    old = load_vecnormalize(ckpts[0]).obs_rms["state"].count
    new = load_vecnormalize(final).obs_rms["state"].count
    assert new > old  # normalisation statistics carried over and updated, not restarted


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_actor_never_sees_state(action_type: str) -> None:
    env = gym.make("Dactyl-v0", action_type=action_type, goal="z")
    policy = AsymmetricRecurrentPolicy(env.observation_space, env.action_space, lambda _: 3e-4,
                                       dense_units=32, lstm_hidden_size=16)  # fmt: skip
    assert policy.pi_features_extractor.keys == POLICY_KEYS
    assert policy.vf_features_extractor.keys == ("state",)
    rng = np.random.default_rng(0)
    n = 3
    obs = {k: th.as_tensor(rng.normal(size=(n, *s.shape)), dtype=th.float32) for k, s in env.observation_space.items()}
    zeros = th.zeros(1, n, 16)
    states = (zeros, zeros)
    starts = th.zeros(n)

    def outputs(o: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        with th.no_grad():
            dist, _ = policy.get_distribution(o, states, starts)
            params = th.cat([p.flatten() for p in _dist_params(dist)])
            value = policy.predict_values(o, states, starts)
        return params, value

    base_params, base_value = outputs(obs)
    state_changed = dict(obs, state=obs["state"] + 3.0)
    p, v = outputs(state_changed)
    assert th.equal(p, base_params), "the actor's distribution moved when only the critic's state changed"
    assert not th.allclose(v, base_value), "the critic ignores the state"
    # The full forward pass (used while collecting rollouts) routes the same way.
    rnn = type(policy).forward.__globals__["RNNStates"](states, states)
    with th.no_grad():
        a1, v1, lp1, _ = policy(obs, rnn, starts, deterministic=True)
        a2, v2, lp2, _ = policy(state_changed, rnn, starts, deterministic=True)
    assert th.equal(a1, a2) and th.equal(lp1, lp2) and not th.allclose(v1, v2)
    tips_changed = dict(obs, fingertip_pos=obs["fingertip_pos"] + 3.0)
    p, _ = outputs(tips_changed)
    assert not th.allclose(p, base_params), "the actor ignores a policy key"


def _dist_params(dist) -> list[th.Tensor]:
    inner = dist.distribution
    if isinstance(inner, list):  # MultiCategorical
        return [d.logits for d in inner]
    return [inner.mean, inner.stddev]


def test_actor_keys_must_not_include_state() -> None:
    env = gym.make("Dactyl-v0", action_type="continuous")
    with pytest.raises(ValueError, match="state"):
        AsymmetricRecurrentPolicy(env.observation_space, env.action_space, lambda _: 3e-4, actor_keys=("state",))


def test_missing_checkpoint_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_checkpoint(missing)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        evaluate.main(["--checkpoint", str(missing), "--episodes", "1"])
    with pytest.raises(FileNotFoundError, match="nowhere"):
        train_ppo.main(["--resume", str(missing), "--logdir", str(tmp_path / "log")])
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "model.zip").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="model.json, vecnormalize.npz, vecnormalize.json"):
        load_checkpoint(incomplete)


def test_corrupt_checkpoint_is_a_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("model.zip", "model.json", "vecnormalize.npz", "vecnormalize.json"):
        (bad / name).write_bytes(b"not a zip, JSON or npz")
    with pytest.raises(ValueError, match="bad"):
        load_checkpoint(bad)
    with pytest.raises(ValueError, match="bad"):
        load_vecnormalize(bad)


def test_incompatible_checkpoint_is_a_value_error(tmp_path: Path) -> None:
    """A RecurrentPPO checkpoint of another task (Pendulum: Box observations) is refused by path."""
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    model = RecurrentPPO("MlpLstmPolicy", venv, n_steps=8, batch_size=8, policy_kwargs=dict(lstm_hidden_size=8))
    other = save_checkpoint(tmp_path / "pendulum", model)
    with pytest.raises(ValueError, match="pendulum.*observation space"):
        evaluate.main(["--checkpoint", str(other), "--episodes", "1", "--conditions", "nominal", "--no-video",
                       "--out", str(tmp_path / "out")])  # fmt: skip
    dactyl = gym.make("Dactyl-v0", action_type="continuous")
    with pytest.raises(ValueError, match="pendulum"):
        load_vecnormalize(other, DummyVecEnv([lambda: dactyl]))
    venv.close()


def test_presets_and_table4_flags() -> None:
    args = apply_preset(TrainArgs(preset="paper"))
    assert (args.gamma, args.gae_lambda, args.ent_coef, args.clip_range, args.learning_rate) == (
        0.998, 0.95, 0.01, 0.2, 3e-4)  # fmt: skip
    assert (args.dense_units, args.lstm_units) == (1024, 512)
    assert apply_preset(TrainArgs(preset="cpu", gamma=0.9)).gamma == 0.9  # a flag wins over the preset
    assert apply_preset(TrainArgs()).preset == "quick"
    assert randomization_groups(apply_preset(TrainArgs())) == {"observation": True, "physics": True, "unmodeled": True}
    assert randomization_groups(apply_preset(TrainArgs(randomization="none"))) == dict.fromkeys(
        ("observation", "physics", "unmodeled"), False)  # fmt: skip
    assert randomization_groups(apply_preset(TrainArgs(no_physics=True)))["physics"] is False
    assert randomization_groups(apply_preset(TrainArgs(randomization="no-unmodeled")))["unmodeled"] is False
    with pytest.raises(ValueError, match="preset"):
        apply_preset(TrainArgs(preset="huge"))


def test_cpu_preset_is_the_unrandomized_small_compute_variant() -> None:
    cpu = apply_preset(TrainArgs(preset="cpu"))
    assert (cpu.randomization, cpu.total_timesteps, cpu.goal, cpu.action_type) == ("none", 3_000_000, "z", "continuous")
    assert not any(randomization_groups(cpu).values())
    assert apply_preset(TrainArgs(preset="cpu", randomization="all")).randomization == "all"  # a flag wins
    assert apply_preset(TrainArgs(preset="paper")).randomization == "all"
    assert apply_preset(TrainArgs(), base=dict(preset="cpu")).randomization == "none"  # resuming a cpu run
    assert apply_preset(TrainArgs(), base=dict(preset="cpu", randomization="all")).randomization == "all"


def test_action_space_kinds_build() -> None:
    env = gym.make("Dactyl-v0", action_type="discrete")
    assert isinstance(env.action_space, spaces.MultiDiscrete)
    policy = AsymmetricRecurrentPolicy(env.observation_space, env.action_space, lambda _: 3e-4, dense_units=8,
                                       lstm_hidden_size=8)  # fmt: skip
    assert policy.lstm_critic is not None and policy.lstm_actor is not policy.lstm_critic


def test_fused_lstm_matches_sb3_contrib_loop() -> None:
    """The one-call LSTM path gives sb3-contrib's step-by-step result (starts only at sequence heads)."""
    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

    th.manual_seed(0)
    lstm = th.nn.LSTM(6, 5)
    n_seq, length = 4, 7
    features = th.randn(n_seq * length, 6)
    states = (th.randn(1, n_seq, 5), th.randn(1, n_seq, 5))
    starts = th.zeros(n_seq, length)
    starts[1, 0] = starts[3, 0] = 1.0  # episodes starting at the head of sequences 1 and 3
    ours = AsymmetricRecurrentPolicy._process_sequence(features, states, starts.flatten(), lstm)
    ref = RecurrentActorCriticPolicy._process_sequence(features, states, starts.flatten(), lstm)
    th.testing.assert_close(ours[0], ref[0])
    th.testing.assert_close(ours[1][0], ref[1][0])
    th.testing.assert_close(ours[1][1], ref[1][1])
    starts[2, 4] = 1.0  # a start inside a sequence: falls back to the loop, same result
    ours = AsymmetricRecurrentPolicy._process_sequence(features, states, starts.flatten(), lstm)
    ref = RecurrentActorCriticPolicy._process_sequence(features, states, starts.flatten(), lstm)
    th.testing.assert_close(ours[0], ref[0])


def test_resume_inherits_randomization_switches() -> None:
    base = dict(preset="cpu", randomization="none", randomization_scale=0.0, no_physics=True, gamma=0.97)
    args = apply_preset(TrainArgs(), base=base)
    assert (args.preset, args.randomization, args.randomization_scale, args.no_physics, args.gamma) == (
        "cpu", "none", 0.0, True, 0.97)  # fmt: skip
    assert apply_preset(TrainArgs(randomization="all"), base=base).randomization == "all"
    assert apply_preset(TrainArgs(), base=dict(base, logdir="runs/x")).logdir == Path("runs/x")
    assert apply_preset(TrainArgs()).logdir == Path("runs/ppo")


def test_adr_run_end_to_end_and_resume(tmp_path: Path) -> None:
    """A tiny --adr run (one in-process env): ranges move, everything is written, --resume restores the state."""
    logdir = tmp_path / "adr"
    # Thresholds every result passes (t_H = 0) and m = 1: each boundary episode widens its bound.
    adr_flags = ["--adr-buffer-size", "1", "--adr-upper-threshold", "0", "--adr-lower-threshold", "-1"]
    common = ["--preset", "cpu-adr", "--n-envs", "1", "--checkpoint-every", "64", "--logdir", str(logdir),
              "--no-video", *TINY[:-3], "--goal-timeout-s", "0.4", "--no-progress-bar", *adr_flags]  # fmt: skip
    train_ppo.main([*common, "--total-timesteps", "64"])
    meta = json.loads((logdir / "final" / "meta.json").read_text())
    assert meta["args"]["adr"] and meta["args"]["randomization"] == "all"
    state = json.loads((logdir / "adr_state.json").read_text())
    assert state == meta["adr"] and state["counts"]["widened"] > 0
    rows = (logdir / "adr.csv").read_text().splitlines()
    assert rows[0].startswith("timesteps,wall_s,entropy,entropy_relative") and len(rows) >= 2
    assert (logdir / "adr.png").is_file() and (logdir / "learning_curve.png").is_file()
    train_ppo.main([*common, "--total-timesteps", "128", "--resume", str(logdir / "final")])
    resumed = json.loads((logdir / "adr_state.json").read_text())
    assert resumed["counts"]["results"] > state["counts"]["results"]  # continued from the checkpoint's state
    for name, (low, high) in state["ranges"].items():  # widening only: the resumed ranges contain the saved ones
        assert resumed["ranges"][name][0] <= low and resumed["ranges"][name][1] >= high


def test_adr_flags_and_presets() -> None:
    from wrappers import CPU_ADR, PAPER_ADR

    adr = apply_preset(TrainArgs(preset="cpu-adr"))
    assert adr.adr and adr.randomization == "all" and adr.goal == "z" and adr.total_timesteps == 3_000_000
    assert (adr.adr_delta, adr.adr_buffer_size, adr.adr_upper_threshold, adr.adr_lower_threshold,
            adr.adr_boundary_probability) == (CPU_ADR.delta, CPU_ADR.buffer_size, CPU_ADR.upper_threshold,
                                              CPU_ADR.lower_threshold, CPU_ADR.boundary_probability)  # fmt: skip
    paper = apply_preset(TrainArgs(preset="paper", adr=True))
    assert (paper.adr_delta, paper.adr_buffer_size) == (PAPER_ADR.delta, PAPER_ADR.buffer_size)
    assert apply_preset(TrainArgs(preset="cpu", adr=True)).randomization == "all"  # --adr grows the whole stack
    assert not apply_preset(TrainArgs(preset="cpu")).adr
    with pytest.raises(ValueError, match="--adr needs"):
        apply_preset(TrainArgs(preset="cpu-adr", randomization="none"))
    with pytest.raises(ValueError, match="--randomization-scale"):
        apply_preset(TrainArgs(preset="cpu-adr", randomization_scale=0.5))
    with pytest.raises(ValueError, match="--adr-delta"):
        apply_preset(TrainArgs(preset="cpu-adr", adr_delta=-0.1))
    with pytest.raises(ValueError, match="--adr-lower-threshold"):
        apply_preset(TrainArgs(preset="cpu-adr", adr_lower_threshold=5.0))
    with pytest.raises(ValueError, match="--adr-buffer-size"):
        apply_preset(TrainArgs(preset="cpu-adr", adr_buffer_size=0))
    with pytest.raises(ValueError, match="--adr-boundary-probability"):
        apply_preset(TrainArgs(preset="cpu-adr", adr_boundary_probability=1.5))


def test_locked_wrist_runs_through_training_and_evaluation_smoke(tmp_path: Path) -> None:
    """--wrist locked: 18 actions through training, checkpoint meta, evaluation (which takes the checkpoint's wrist)."""
    final = train_ppo.main(["--total-timesteps", "64", "--n-envs", "1", "--wrist", "locked", "--logdir",
                            str(tmp_path / "run"), "--checkpoint-every", "0", "--no-video", *TINY])  # fmt: skip
    meta = json.loads((final / "meta.json").read_text())
    assert meta["args"]["wrist"] == "locked"
    report = evaluate.main(["--checkpoint", str(final), "--episodes", "1", "--goal-timeout-s", "0.8",
                            "--conditions", "nominal,randomized", "--no-video", "--no-plot",
                            "--out", str(tmp_path / "eval")])  # fmt: skip
    assert report["wrist"] == "locked" and report["results"]["nominal"]["episodes"] == 1
    with pytest.raises(ValueError, match="wrist"):
        evaluate.main(["--checkpoint", str(final), "--episodes", "1", "--wrist", "free", "--no-video", "--no-plot",
                       "--out", str(tmp_path / "eval2")])  # fmt: skip
    with pytest.raises(SystemExit):  # argparse choices
        train_ppo.main(["--wrist", "loose", "--logdir", str(tmp_path / "bad")])
