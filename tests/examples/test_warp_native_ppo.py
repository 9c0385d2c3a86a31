"""The native PPO loop of ``examples/train_ppo_warp_native.py`` (``warp_ppo``) on a small torch-only batched env.

No Warp here: a fake batched env with Dactyl-v0's observation keys and the ``DactylWarpVectorEnv`` interface
(``SAME_STEP`` autoreset, ``final_obs`` / ``final_info``) checks GAE, the actor's blindness to ``state``, that
PPO learns, and checkpoints (atomic, weights-only). ``tests/dactyl_warp/test_native_ppo.py`` runs the script on
DactylWarp-v0 itself.
"""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces
from warp_ppo.algo import NativePPO, PPOConfig, compute_gae, ppo_loss
from warp_ppo.checkpoint import load_checkpoint, save_checkpoint
from warp_ppo.model import AsymmetricLSTMActorCritic

from gym_dactyl import DactylEnv

torch.set_num_threads(1)
OBS_SPACE = DactylEnv().observation_space


class FakeWorlds:
    """N worlds; reward = share of action coordinates equal to bin 8; episodes truncate after ``length`` steps."""

    def __init__(self, n: int = 8, n_act: int = 3, length: int = 5) -> None:
        self.num_envs, self.device, self.length = n, torch.device("cpu"), length
        self.single_observation_space = OBS_SPACE
        self.single_action_space = spaces.MultiDiscrete([11] * n_act)
        self.t = torch.zeros(n, dtype=torch.long)
        self.gen = torch.Generator().manual_seed(0)

    def _obs(self):
        return {k: torch.randn(self.num_envs, s.shape[0], generator=self.gen) for k, s in OBS_SPACE.spaces.items()}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.gen.manual_seed(seed)
        self.t.zero_()
        return self._obs(), {}

    def step(self, actions):
        reward = (actions == 8).float().mean(1)
        self.t += 1
        truncated = self.t >= self.length
        terminated = torch.zeros_like(truncated)
        info = {"consecutive_successes": torch.zeros(self.num_envs), "dropped": torch.zeros(self.num_envs, dtype=bool)}
        obs = self._obs()
        if truncated.any():
            info["final_obs"] = obs
            info["final_info"] = dict(info)
            self.t[truncated] = 0
            obs = self._obs()
        return obs, reward, terminated, truncated, info


def test_gae_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    T, n, gamma, lam = 6, 3, 0.9, 0.8
    r, v = rng.normal(size=(T, n)), rng.normal(size=(T, n))
    d = (rng.random((T, n)) < 0.3).astype(float)
    nv = rng.normal(size=n)
    adv, ret = compute_gae(*(torch.as_tensor(x) for x in (r, v, d, nv)), gamma, lam)
    for i in range(n):  # A_t = Σ_k (γλ)^k δ_{t+k}, stopping at an episode end
        for t in range(T):
            total, factor = 0.0, 1.0
            for k in range(t, T):
                next_v = nv[i] if k == T - 1 else v[k + 1, i]
                total += factor * (r[k, i] + gamma * next_v * (1 - d[k, i]) - v[k, i])
                if d[k, i]:
                    break
                factor *= gamma * lam
            assert adv[t, i].item() == pytest.approx(total, abs=1e-9)
    torch.testing.assert_close(ret, adv + torch.as_tensor(v))


def test_ppo_loss_clips_the_ratio():
    adv = torch.tensor([1.0, -1.0])
    old = torch.zeros(2)
    new = torch.log(torch.tensor([2.0, 0.5]))  # ratios 2 and 0.5, both outside [0.8, 1.2]
    zeros = torch.zeros(2)
    loss, stats = ppo_loss(new, old, adv, zeros, zeros, zeros, 0.2, 0.5, 0.0)
    # normalised advantages (±1/√2 · √2 = ±0.7071...), surrogate = min(r A, clip(r) A): 1.2 A and 0.5 A
    a = (adv - adv.mean()) / (adv.std() + 1e-8)
    expected = -torch.min(torch.tensor([2.0, 0.5]) * a, torch.tensor([1.2, 0.8]) * a).mean()
    assert loss.item() == pytest.approx(expected.item()) and stats["clip_fraction"].item() == 1.0


def test_actor_does_not_read_state_and_critic_does():
    model = AsymmetricLSTMActorCritic(OBS_SPACE, spaces.MultiDiscrete([11] * 4), dense=16, hidden=8)
    with pytest.raises(ValueError, match="state"):
        AsymmetricLSTMActorCritic(OBS_SPACE, spaces.MultiDiscrete([11] * 4), actor_keys=("state",))
    obs = {k: torch.randn(2, s.shape[0]) for k, s in OBS_SPACE.spaces.items()}
    other = dict(obs, state=torch.randn(2, 84) * 10)
    starts = torch.ones(2)
    d1, v1, _ = model.step(obs, model.initial_state(2, "cpu"), starts)
    d2, v2, _ = model.step(other, model.initial_state(2, "cpu"), starts)
    torch.testing.assert_close(d1.base_dist.logits, d2.base_dist.logits, rtol=0, atol=0)
    assert not torch.allclose(v1, v2)
    moved = dict(obs, object_pos=obs["object_pos"] + 1.0)
    d3, v3, _ = model.step(moved, model.initial_state(2, "cpu"), starts)
    assert not torch.equal(d1.base_dist.logits, d3.base_dist.logits)
    torch.testing.assert_close(v1, v3, rtol=0, atol=0)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="n_steps"):
        PPOConfig(n_steps=0)
    with pytest.raises(ValueError, match="gamma"):
        PPOConfig(gamma=1.5)
    with pytest.raises(ValueError, match="unknown"):
        PPOConfig.from_dict({"lr": 1.0})
    with pytest.raises(ValueError, match="minibatches"):
        NativePPO(FakeWorlds(n=2), PPOConfig(minibatches=4, dense=8, hidden=4))


def test_ppo_learns_the_fake_task_and_checkpoints_round_trip(tmp_path):
    config = PPOConfig(n_steps=8, epochs=4, minibatches=2, learning_rate=3e-3, dense=32, hidden=16, gamma=0.9)
    agent = NativePPO(FakeWorlds(), config, seed=0)
    rows = []
    agent.learn(8 * 8 * 20, rows.append)
    assert len(rows) == 20 and all(math.isfinite(r["loss"]) for r in rows)
    first = np.mean([r["episode_return"] for r in rows[:5]])
    last = np.mean([r["episode_return"] for r in rows[-5:]])
    assert first < 1.0 and last > first + 1.5  # chance: 5 steps × 1/11; learned: most coordinates on bin 8
    path = save_checkpoint(tmp_path / "ckpt", agent.state_dict(), agent.meta())
    state, meta = load_checkpoint(path, "cpu")
    assert meta["num_timesteps"] == agent.num_timesteps and meta["updates"] == 20
    fresh = NativePPO(FakeWorlds(), PPOConfig.from_dict(meta["config"]), seed=1)
    fresh.load_state_dict(state)
    for a, b in zip(agent.model.parameters(), fresh.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(fresh.obs_norm.stats["state"].mean, agent.obs_norm.stats["state"].mean)
    save_checkpoint(path, agent.state_dict(), agent.meta())  # overwrite in place: still one valid checkpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


class Evil:
    pass


def test_checkpoint_loading_refuses_pickled_objects(tmp_path):
    path = save_checkpoint(tmp_path / "ckpt", {"model": {"w": torch.zeros(1)}}, {})
    torch.save({"model": Evil()}, path / "state.pt")
    with pytest.raises(ValueError, match="weights-only"):
        load_checkpoint(path, "cpu")
    (path / "meta.json").write_text("{}")
    with pytest.raises(ValueError, match="format"):
        load_checkpoint(path, "cpu")
