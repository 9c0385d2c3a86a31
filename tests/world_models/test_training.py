"""Gradient routing of the imagination losses, and that the world model fits a fixed dataset."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import ToyEnv

from world_models import Dreamer, DreamerConfig
from world_models.behavior import Behavior
from world_models.spaces import ActionSpec, ObsSpec
from world_models.world_model import WorldModel

CFG = DreamerConfig.from_preset("tiny")


def _setup(action: str, actor_grad: str):
    torch.manual_seed(0)
    env = ToyEnv("vector", action)
    cfg = DreamerConfig.from_preset("tiny", actor_grad=actor_grad)
    obs_spec, act_spec = ObsSpec.from_space(env.observation_space), ActionSpec.from_space(env.action_space)
    wm = WorldModel(obs_spec, act_spec.dim, cfg)
    beh = Behavior(wm.rssm.feat_dim, act_spec, cfg)
    start = {"deter": torch.randn(6, cfg.deter), "stoch": wm.rssm.initial(6)["stoch"]}
    return wm, beh, start


def _with_grad(module):
    return {n for n, p in module.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}


@pytest.mark.parametrize(
    ("action", "actor_grad"),
    [("box", "auto"), ("box", "reinforce"), ("discrete", "auto"), ("multidiscrete", "dynamics")],
)
def test_actor_loss_reaches_only_actor_and_critic_loss_only_critic(action, actor_grad):
    wm, beh, start = _setup(action, actor_grad)
    # non-zero reward and value heads, so the dynamics gradient is not trivially zero
    for head in (wm.reward_head[-1], beh.critic.net[-1], beh.actor.net[-1]):
        torch.nn.init.normal_(head.weight, std=0.5)
    expected = {"auto": "dynamics" if action == "box" else "reinforce"}.get(actor_grad, actor_grad)
    assert beh.actor_grad == expected
    loss, _, traj = beh.actor_loss(wm, start)
    loss.backward()
    assert all(p.requires_grad for p in wm.parameters())  # un-frozen again afterwards
    assert _with_grad(beh.actor) == {n for n, _ in beh.actor.named_parameters()}
    assert not _with_grad(wm) and not _with_grad(beh.critic) and not _with_grad(beh.slow_critic)
    beh.actor.zero_grad(set_to_none=True)
    closs, _ = beh.critic_loss(traj)
    closs.backward()
    assert _with_grad(beh.critic)
    assert not _with_grad(wm) and not _with_grad(beh.actor) and not _with_grad(beh.slow_critic)


def test_world_model_loss_falls_on_fixed_dataset():
    torch.manual_seed(0)
    agent = Dreamer(gym.make("Pendulum-v1"), config=DreamerConfig.from_preset("tiny", learning_starts=10_000), seed=0)
    agent.learn(400, progress_bar=False)  # random data only (learning_starts not reached)
    batch = agent._batch_to_torch(agent.replay.sample(8, 16, np.random.default_rng(0)))
    opt = torch.optim.Adam(agent.world_model.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        loss, metrics, _ = agent.world_model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append({k: float(v) for k, v in metrics.items()})
    first, last = losses[0], np.mean([m["loss"] for m in losses[-5:]])
    assert last < 0.6 * first["loss"]
    assert np.mean([m["recon"] for m in losses[-5:]]) < 0.5 * first["recon"]
    assert np.mean([m["reward"] for m in losses[-5:]]) < 0.5 * first["reward"]


def test_slow_critic_tracks_critic():
    _, beh, _ = _setup("box", "auto")
    with torch.no_grad():
        for p in beh.critic.parameters():
            p.add_(1.0)
    before = [p.clone() for p in beh.slow_critic.parameters()]
    beh.update_slow_critic()
    for b, s, f in zip(before, beh.slow_critic.parameters(), beh.critic.parameters(), strict=True):
        assert torch.allclose(s, b + 0.02 * (f - b))
