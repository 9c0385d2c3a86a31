"""Shapes through every module for vector, image and Dict observations; numerics of the small pieces."""

import numpy as np
import pytest
import torch
from conftest import ToyEnv
from hypothesis import given, settings
from hypothesis import strategies as st

from world_models import DreamerConfig
from world_models.behavior import Behavior, lambda_returns
from world_models.distributions import MultiCategorical, TwoHot, symexp, symlog, unimix_probs
from world_models.replay import ReplayBuffer
from world_models.spaces import ActionSpec, ObsSpec
from world_models.world_model import WorldModel

CFG = DreamerConfig.from_preset("tiny")
B, T = 3, 5


def _batch(obs_spec: ObsSpec, action_dim: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(B, T, n, generator=g) * 2 - 1 for k, n in obs_spec.vectors.items()}
    batch.update(
        {k: torch.randint(0, 256, (B, T, *s), generator=g, dtype=torch.uint8) for k, s in obs_spec.images.items()}
    )
    batch["action"] = torch.rand(B, T, action_dim, generator=g) * 2 - 1
    batch["reward"] = torch.randn(B, T, generator=g)
    batch["is_first"] = torch.zeros(B, T, dtype=torch.bool)
    batch["is_terminal"] = torch.zeros(B, T, dtype=torch.bool)
    batch["is_terminal"][:, -1] = True
    return batch


@pytest.mark.parametrize("obs", ["vector", "image", "dict"])
@pytest.mark.parametrize("action", ["box", "discrete", "multidiscrete"])
def test_shapes_through_every_module(obs, action):
    env = ToyEnv(obs, action)
    obs_spec, act_spec = ObsSpec.from_space(env.observation_space), ActionSpec.from_space(env.action_space)
    wm = WorldModel(obs_spec, act_spec.dim, CFG)
    beh = Behavior(wm.rssm.feat_dim, act_spec, CFG)
    batch = _batch(obs_spec, act_spec.dim)
    embed = wm.encoder({k: batch[k] for k in obs_spec.keys})
    assert embed.shape == (B, T, wm.encoder.out_dim)
    post, post_probs, prior_probs = wm.rssm.observe(embed, batch["action"], batch["is_first"])
    assert post["deter"].shape == (B, T, CFG.deter)
    assert post["stoch"].shape == (B, T, CFG.stoch * CFG.classes)
    assert post_probs.shape == prior_probs.shape == (B, T, CFG.stoch, CFG.classes)
    assert torch.allclose(post["stoch"].reshape(B, T, CFG.stoch, CFG.classes).sum(-1), torch.ones(B, T, CFG.stoch))
    feat = wm.rssm.feat(post)
    recon = wm.decoder(feat)
    for key, size in obs_spec.vectors.items():
        assert recon[key].shape == (B, T, size)
    for key, shape in obs_spec.images.items():
        assert recon[key].shape == (B, T, *shape)
    assert wm.reward(feat).shape == wm.cont(feat).shape == (B, T)
    loss, metrics, _ = wm.loss(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert {"recon", "reward", "cont", "kl_dyn", "kl_rep"} <= set(metrics)
    start = {k: v.detach().reshape(B * T, -1) for k, v in post.items()}
    traj = beh.imagine(wm, start, CFG.horizon)
    assert traj["feat"].shape == (CFG.horizon + 1, B * T, wm.rssm.feat_dim)
    assert traj["action"].shape == (CFG.horizon, B * T, act_spec.dim)
    assert traj["logp"].shape == traj["entropy"].shape == (CFG.horizon, B * T)
    actor_loss, _, out = beh.actor_loss(wm, post)
    critic_loss, _ = beh.critic_loss(out)
    assert torch.isfinite(actor_loss) and torch.isfinite(critic_loss)
    if not act_spec.is_continuous:  # concatenated one-hots, exactly one per dimension
        assert torch.allclose(traj["action"].sum(-1), torch.full((CFG.horizon, B * T), float(len(act_spec.nvec))))


def test_multicategorical_masks_padded_classes():
    dist = MultiCategorical(torch.zeros(4, 2, 5), [3, 5], unimix=0.01)
    assert torch.all(dist.probs[:, 0, 3:] == 0)
    sample = dist.sample()
    assert sample.shape == (4, 8) and torch.all(sample.sum(-1) == 2)
    assert torch.all(dist.indices(sample)[:, 0] < 3)
    expected = np.log(3) + np.log(5)
    assert torch.allclose(dist.entropy(), torch.full((4,), expected, dtype=torch.float32), atol=1e-5)


def test_unimix_floor():
    probs = unimix_probs(torch.tensor([[100.0, -100.0, -100.0, -100.0]]), 0.01)
    assert torch.allclose(probs[0, 1:], torch.full((3,), 0.0025))


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_symlog_inverse_and_twohot_mean(x):
    t = torch.tensor([x], dtype=torch.float64)
    assert torch.allclose(symexp(symlog(t)), t, rtol=1e-6, atol=1e-6)
    th = TwoHot(255, 20.0).double()
    weights = th.encode(t)
    assert torch.allclose(weights.sum(-1), torch.ones(1, dtype=torch.float64))
    clipped = t.clamp(th.bins[0], th.bins[-1])
    assert torch.allclose((weights * th.bins).sum(-1), clipped, rtol=1e-6, atol=1e-6)


def test_lambda_returns_match_recursive_definition():
    g = torch.Generator().manual_seed(1)
    h, n, lam = 6, 4, 0.95
    reward, value = torch.randn(h, n, generator=g), torch.randn(h + 1, n, generator=g)
    disc = torch.rand(h, n, generator=g)
    out = lambda_returns(reward, value, disc, lam)
    ref = np.zeros((h, n))
    nxt = value[-1].numpy()
    for t in reversed(range(h)):
        nxt = reward[t].numpy() + disc[t].numpy() * ((1 - lam) * value[t + 1].numpy() + lam * nxt)
        ref[t] = nxt
    assert np.allclose(out.numpy(), ref, atol=1e-5)
    assert torch.allclose(lambda_returns(reward, value, disc, 0.0), reward + disc * value[1:])


def test_replay_fifo_boundaries_and_npz_roundtrip(tmp_path):
    spec = ObsSpec.from_space(ToyEnv("dict").observation_space)
    rb = ReplayBuffer(spec, action_dim=2, capacity=10)
    for t in range(13):
        obs = {"pos": np.full(3, t, np.float32), "camera": np.full((16, 16, 3), t, np.uint8)}
        rb.add(obs, np.full(2, t), float(t), t % 5 == 0, t % 5 == 4)
    assert len(rb) == 10 and rb.total == 13
    sample = rb.sample(64, 4, np.random.default_rng(0))
    pos = sample["pos"][..., 0]
    assert pos.min() >= 3 and np.all(np.diff(pos, axis=1) == 1)  # oldest three evicted, windows contiguous
    assert np.all(sample["is_first"][:, 0])
    assert np.array_equal(sample["is_terminal"], pos % 5 == 4)
    rb.save(tmp_path / "r.npz")
    rb2 = ReplayBuffer(spec, action_dim=2, capacity=10)
    rb2.load(tmp_path / "r.npz")
    s2 = rb2.sample(64, 4, np.random.default_rng(0))
    assert all(np.array_equal(sample[k], s2[k]) for k in sample if k != "index")
