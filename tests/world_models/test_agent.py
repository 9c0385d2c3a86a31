"""The SB3-like API: learn / predict / save / load, seeding, errors, callbacks, real envs."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import ToyEnv
from gymnasium import spaces

from world_models import Dreamer, DreamerConfig

TINY = DreamerConfig.from_preset("tiny", learning_starts=40)


def _obs_batch(env, n=4, seed=0):
    env.reset(seed=seed)
    return [env.step(env.action_space.sample())[0] for _ in range(n)]


@pytest.mark.parametrize(("env_id", "steps"), [("Pendulum-v1", 300), ("CartPole-v1", 300)])
def test_tiny_learn_runs_on_real_env_smoke(env_id, steps, tmp_path):
    """Smoke test: learn() runs, updates and logs on real envs (it does not assert that the agent learns)."""
    agent = Dreamer(gym.make(env_id), config=TINY, seed=0, tensorboard_log=str(tmp_path))
    agent.learn(steps, progress_bar=False)
    assert agent.num_timesteps == steps and agent.num_updates > 100
    assert agent.episode_log
    events = list(tmp_path.rglob("events.out.tfevents.*"))
    assert events


@pytest.mark.parametrize("obs", ["image", "dict"])
@pytest.mark.parametrize("action", ["box", "multidiscrete"])
def test_learn_and_predict_smoke_on_image_and_dict_envs(obs, action):
    """Smoke test: learn() and predict() run on image / dict observations (no learning asserted)."""
    env = ToyEnv(obs, action, terminate_at=7)
    agent = Dreamer(env, config=DreamerConfig.from_preset("tiny", learning_starts=20, train_ratio=8.0), seed=1)
    agent.learn(60, progress_bar=False)
    assert agent.num_updates > 0
    assert agent.replay.data["is_terminal"][: len(agent.replay)].any()
    ob, _ = env.reset(seed=0)
    action_, state = agent.predict(ob)
    assert env.action_space.contains(action_)
    action2, _ = agent.predict(ob, state=state, episode_start=np.array([False]), deterministic=True)
    assert env.action_space.contains(action2)


def test_predict_batched_observations_and_state_shapes():
    env = gym.make("Pendulum-v1")
    agent = Dreamer(env, config=TINY, seed=0)
    obs = np.stack(_obs_batch(env))
    actions, state = agent.predict(obs)
    assert actions.shape == (4, 1) and np.all(np.abs(actions) <= 2.0)
    assert state[0].shape == (4, TINY.deter) and state[2].shape == (4, 1)
    single, _ = agent.predict(obs[0])
    assert single.shape == (1,)


def test_save_load_roundtrip_gives_identical_actions(tmp_path):
    env = gym.make("CartPole-v1")
    agent = Dreamer(env, config=TINY, seed=0)
    agent.learn(120, progress_bar=False)
    agent.save(tmp_path / "ckpt.pt", include_replay=True)
    assert not list(tmp_path.glob("*.tmp"))
    loaded = Dreamer.load(tmp_path / "ckpt.pt", env=gym.make("CartPole-v1"))
    assert loaded.num_timesteps == 120 and loaded.num_updates == agent.num_updates
    assert len(loaded.replay) == len(agent.replay)
    obs = np.stack(_obs_batch(gym.make("CartPole-v1"), 6))
    a1, s1 = agent.predict(obs, deterministic=True)
    a2, s2 = loaded.predict(obs, deterministic=True)
    assert np.array_equal(a1, a2) and all(np.array_equal(x, y) for x, y in zip(s1, s2, strict=True))
    torch.manual_seed(5)
    a1, _ = agent.predict(obs)
    torch.manual_seed(5)
    a2, _ = loaded.predict(obs)
    assert np.array_equal(a1, a2)
    # predict-only agent without env
    a3, _ = Dreamer.load(tmp_path / "ckpt.pt").predict(obs, deterministic=True)
    assert np.array_equal(a1 * 0 + a3, agent.predict(obs, deterministic=True)[0])
    # resumable: continues counting
    loaded.learn(40, progress_bar=False, reset_num_timesteps=False)
    assert loaded.num_timesteps == 160


def test_checkpoint_is_plain_weights_only(tmp_path):
    agent = Dreamer(gym.make("Pendulum-v1"), config=TINY, seed=0)
    agent.save(tmp_path / "c.pt")
    ckpt = torch.load(tmp_path / "c.pt", weights_only=True)
    assert ckpt["config"] == TINY.to_dict()
    assert ckpt["format"] == "world_models.Dreamer/2" and "state" in ckpt["optimizer"]


def test_same_seed_same_first_updates():
    def run():
        agent = Dreamer(gym.make("Pendulum-v1"), config=TINY, seed=3)
        agent.learn(80, progress_bar=False)
        return [p.detach().clone() for p in agent.world_model.parameters()] + [
            p.detach().clone() for p in agent.behavior.parameters()
        ], agent.num_updates

    (p1, n1), (p2, n2) = run(), run()
    assert n1 == n2 > 0
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))


def test_incompatible_env_on_load_raises(tmp_path):
    Dreamer(gym.make("Pendulum-v1"), config=TINY, seed=0).save(tmp_path / "p.pt")
    with pytest.raises(ValueError, match="incompatible.*action_kind"):
        Dreamer.load(tmp_path / "p.pt", env=gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="obs_vectors"):
        Dreamer.load(tmp_path / "p.pt", env=gym.make("MountainCarContinuous-v0"))
    (tmp_path / "junk.pt").write_bytes(b"")
    torch.save({"a": 1}, tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="not a Dreamer checkpoint"):
        Dreamer.load(tmp_path / "junk.pt")


class _SpaceEnv(gym.Env):
    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space


@pytest.mark.parametrize(
    ("obs_space", "act_space", "match"),
    [
        (spaces.Discrete(4), spaces.Discrete(2), "observation spaces"),
        (spaces.Dict({"a": spaces.Discrete(3)}), spaces.Discrete(2), "only Box entries"),
        (spaces.Box(-1, 1, (3,)), spaces.Tuple([spaces.Discrete(2)]), "action spaces"),
        (spaces.Box(-1, 1, (3,)), spaces.Box(-np.inf, np.inf, (2,)), "bounded Box"),
        (spaces.Box(-1, 1, (3,)), spaces.Discrete(3, start=1), "starting at 0"),
    ],
)
def test_unsupported_spaces_raise(obs_space, act_space, match):
    with pytest.raises(ValueError, match=match):
        Dreamer(_SpaceEnv(obs_space, act_space), config=TINY)


def test_vector_env_and_bad_arguments_raise():
    with pytest.raises(ValueError, match="single gymnasium.Env"):
        Dreamer(gym.make_vec("CartPole-v1", num_envs=2), config=TINY)
    with pytest.raises(ValueError, match="config="):
        Dreamer(gym.make("CartPole-v1"), config=42)
    with pytest.raises(ValueError, match="total_timesteps"):
        Dreamer(gym.make("CartPole-v1"), config=TINY).learn(-5)


def test_callbacks_callable_and_sb3_style_can_stop(tmp_path):
    from stable_baselines3.common.callbacks import CheckpointCallback

    calls = []

    def stop_after_25(locals_, globals_):
        calls.append(locals_["self"].num_timesteps)
        return len(calls) < 25

    agent = Dreamer(gym.make("CartPole-v1"), config=TINY, seed=0)
    agent.learn(
        100,
        callback=[stop_after_25, CheckpointCallback(10, str(tmp_path), name_prefix="d")],
        progress_bar=False,
    )
    assert agent.num_timesteps == 25 and calls[-1] == 25
    saved = sorted(tmp_path.glob("d_*_steps.zip"))
    assert len(saved) == 2
    assert Dreamer.load(saved[-1]).num_timesteps == 20


def test_dactyl_dict_obs_multidiscrete_if_available():
    pytest.importorskip("gym_dactyl")
    env = gym.make("Dactyl-v0")
    agent = Dreamer(env, config=DreamerConfig.from_preset("tiny", learning_starts=30, train_ratio=4.0), seed=0)
    assert agent.behavior.actor_grad == "reinforce" and agent.obs_spec.is_dict
    agent.learn(50, progress_bar=False)
    action, _ = agent.predict(env.reset(seed=0)[0])
    assert env.action_space.contains(action)
