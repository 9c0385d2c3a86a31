"""PixelReach-v0: the cheap pixel task of world_models.envs."""

import gymnasium as gym
import numpy as np
import pytest

import world_models.envs  # noqa: F401  (registers PixelReach-v0)
from world_models import Dreamer, DreamerConfig
from world_models.envs import PixelReach


def test_spaces_and_rendering_show_point_and_target():
    env = PixelReach(size=16, render_mode="rgb_array")
    obs, info = env.reset(seed=3)
    assert obs.shape == (16, 16, 3) and obs.dtype == np.uint8 and env.observation_space.contains(obs)
    assert np.array_equal(env.render(), obs) and not obs[..., 2].any()
    for channel, pos in ((0, env.point), (1, env.target)):  # brightest pixel of a blob at its position
        row, col = np.unravel_index(np.argmax(obs[..., channel]), obs.shape[:2])
        assert abs((col + 0.5) / 16 * 2 - 1 - pos[0]) <= 1 / 16 + 1e-9
        assert abs((row + 0.5) / 16 * 2 - 1 - pos[1]) <= 1 / 16 + 1e-9
    assert info["distance"] == pytest.approx(np.linalg.norm(env.point - env.target))


def test_step_moves_clips_rewards_and_truncates():
    env = PixelReach(max_steps=3, step_size=0.1)
    env.reset(seed=0)
    start = env.point.copy()
    _, reward, terminated, truncated, info = env.step(np.array([5.0, -0.5], np.float32))  # clipped to [1, -0.5]
    assert np.allclose(env.point, np.clip(start + 0.1 * np.array([1.0, -0.5]), -1, 1))
    assert reward == pytest.approx(-info["distance"]) and not terminated and not truncated
    env.step(np.zeros(2, np.float32))
    assert env.step(np.zeros(2, np.float32))[3]


def test_reset_is_seeded_and_gym_make_works():
    env = gym.make("PixelReach-v0", size=8)
    a, _ = env.reset(seed=7)
    b, _ = env.reset(seed=7)
    assert a.shape == (8, 8, 3) and np.array_equal(a, b)


def test_oracle_beats_random():
    env = PixelReach()
    env.action_space.seed(0)
    returns = {"oracle": 0.0, "random": 0.0}
    for name in returns:
        for seed in range(5):
            env.reset(seed=seed)
            for _ in range(env.max_steps):
                action = env.oracle_action() if name == "oracle" else env.action_space.sample()
                returns[name] += env.step(action)[1]
    assert returns["oracle"] > returns["random"] / 5


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"size": 4}, "size"),
        ({"size": 16.5}, "size"),
        ({"max_steps": 0}, "max_steps"),
        ({"step_size": 0.0}, "step_size"),
        ({"spawn": 1.5}, "spawn"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PixelReach(**kwargs)


def test_dreamer_runs_on_pixels_smoke():
    """Smoke test: Dreamer updates on image-only observations and acts in range (no learning asserted)."""
    config = DreamerConfig.from_preset("tiny", learning_starts=20, train_ratio=16)
    agent = Dreamer(gym.make("PixelReach-v0", max_steps=10), config=config, seed=0)
    assert agent.obs_spec.images and not agent.obs_spec.vectors
    agent.learn(40, progress_bar=False)
    assert agent.num_updates > 0
    obs, _ = gym.make("PixelReach-v0").reset(seed=0)
    action, _ = agent.predict(obs, deterministic=True)
    assert action.shape == (2,) and np.all(np.abs(action) <= 1)
