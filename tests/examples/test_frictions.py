"""Small frictions of the example scripts: CLI choices, success-rate logging, names, video fallback."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest
from ppo import callbacks
from ppo.envs import EpisodeSuccessInfo


class _Episodes(gym.Env):
    """Reaches a goal on step 2, then ends on step 4 (a timeout): is_success is True on step 2 only."""

    observation_space = gym.spaces.Box(-1, 1, (1,))
    action_space = gym.spaces.Box(-1, 1, (1,))

    def __init__(self, successes: int = 1) -> None:
        self.successes = successes

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.count = 0, 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        hit = self.t == 2 and self.successes > 0
        self.count += hit
        info = {"is_success": hit, "consecutive_successes": self.count}
        return np.zeros(1, np.float32), 0.0, False, self.t >= 4, info


@pytest.mark.parametrize("successes", [0, 1])
def test_sb3_success_rate_sees_whether_the_episode_had_a_success(successes):
    env = EpisodeSuccessInfo(_Episodes(successes))
    env.reset(seed=0)
    infos = [env.step(np.zeros(1))[4] for _ in range(4)]
    assert infos[1]["is_success"] == bool(successes)  # non-final steps unchanged
    assert infos[-1]["is_success"] == bool(successes)  # what SB3's rollout/success_rate reads
    assert infos[-1]["goal_reached"] is False


def test_checkpoint_callback_does_not_shadow_sb3s_name():
    assert hasattr(callbacks, "AtomicCheckpointCallback") and not hasattr(callbacks, "CheckpointCallback")


def test_train_dreamer_preset_has_choices(monkeypatch, capsys):
    import train_dreamer

    monkeypatch.setattr(sys, "argv", ["train_dreamer.py", "--preset", "huge"])
    with pytest.raises(SystemExit) as exit_:
        train_dreamer.parse_args()
    assert exit_.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["train_dreamer.py", "--preset", "tiny"])
    assert train_dreamer.parse_args().preset == "tiny"


def test_dream_video_falls_back_to_gif_without_ffmpeg(monkeypatch, tmp_path):
    import dream

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails as if not installed
    frames = [np.full((16, 16, 3), i * 40, np.uint8) for i in range(4)]
    out = dream.write_video(tmp_path / "dream.mp4", frames, fps=15)
    assert out == tmp_path / "dream.gif" and out.stat().st_size > 0
