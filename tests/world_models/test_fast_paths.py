"""The update's speed shortcuts give the same numbers as the straightforward computation (issue 14 §5).

``DreamerConfig.onehot_gather`` replaces every matmul by an imagined one-hot latent with a sum of gathered
weight columns; in float32 the result must equal the dense path up to float rounding, with the same random
draws, for whole updates.
"""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch
from conftest import ToyEnv
from torch import nn

from world_models import Dreamer, DreamerConfig
from world_models import agent as agent_module
from world_models.networks import mlp, mlp_forward, onehot_linear
from world_models.rssm import RSSM


def _onehot(index: torch.Tensor, size: int) -> torch.Tensor:
    return torch.zeros(*index.shape[:-1], size).scatter_(-1, index, 1.0)


@pytest.mark.parametrize(("dense_dim", "rows"), [(0, 6), (5, 6), (5, 1300)])  # 2 x 1300: 3 backward blocks
@pytest.mark.parametrize("bias", [False, True])
def test_onehot_linear_equals_the_dense_product_and_its_weight_gradient(dense_dim, rows, bias):
    torch.manual_seed(0)
    stoch, classes = 3, 4
    layer = nn.Linear(dense_dim + stoch * classes, 7, bias=bias)
    dense = torch.randn(2, rows, dense_dim) if dense_dim else None
    index = torch.randint(0, classes, (2, rows, stoch)) + torch.arange(stoch) * classes
    x = _onehot(index, stoch * classes)
    if dense is not None:
        x = torch.cat([dense, x], -1)
    ref = layer(x)
    (g_ref,) = torch.autograd.grad(ref.square().sum(), layer.weight)
    out = onehot_linear(layer, dense, index)
    (g_out,) = torch.autograd.grad(out.square().sum(), layer.weight)
    assert out.shape == ref.shape == (2, rows, 7)
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(g_out, g_ref, rtol=1e-5, atol=1e-4)
    # a wrong position changes the result (the test can fail)
    assert not torch.allclose(onehot_linear(layer, dense, (index + 1) % (stoch * classes)), ref, atol=1e-3)


def test_mlp_forward_with_index_equals_the_mlp_on_the_concatenated_input():
    torch.manual_seed(0)
    net = mlp(4 + 2 * 3, 8, 2, 5)
    dense = torch.randn(9, 4)
    index = torch.randint(0, 3, (9, 2)) + torch.tensor([0, 3])
    ref = net(torch.cat([dense, _onehot(index, 6)], -1))
    assert torch.allclose(mlp_forward(net, dense, index), ref, atol=1e-6)
    assert torch.equal(mlp_forward(net, ref.new_ones(9, 10)), net(ref.new_ones(9, 10)))


def test_img_step_index_equals_img_step_with_the_same_draws():
    torch.manual_seed(0)
    rssm = RSSM(embed_dim=6, action_dim=2, deter=16, stoch=4, classes=5, units=12, unimix=0.01, blocks=4)
    deter = torch.randn(10, 16)
    index = torch.randint(0, 5, (10, 4)) + torch.arange(4) * 5
    action = torch.rand(10, 2) * 2 - 1
    with torch.no_grad():
        torch.manual_seed(1)
        ref = rssm.img_step({"deter": deter, "stoch": rssm.onehot(index)}, action)
        torch.manual_seed(1)
        new_deter, new_index = rssm.img_step_index(deter, index, action)
    assert torch.allclose(new_deter, ref["deter"], atol=1e-6)
    assert torch.allclose(rssm.onehot(new_index), ref["stoch"], atol=1e-6)
    assert torch.equal(rssm.stoch_index(ref["stoch"].reshape(10, 4, 5), sample=False), new_index)


def _trained(env_factory, gather: bool, updates: int = 2, **overrides) -> tuple[Dreamer, dict[str, float]]:
    cfg = DreamerConfig.from_preset(
        "tiny", stoch=4, classes=8, learning_starts=10**9, onehot_gather=gather, **overrides
    )
    agent = Dreamer(env_factory(), config=cfg, seed=0, device="cpu")
    agent.learn(120, progress_bar=False)  # random data only
    torch.manual_seed(1)
    return agent, agent.train(updates)


@pytest.mark.parametrize(
    "env_factory",
    [lambda: gym.make("Pendulum-v1"), lambda: ToyEnv("vector", "multidiscrete")],
    ids=["box", "multidiscrete"],
)
def test_update_with_onehot_gather_equals_the_straightforward_update(env_factory):
    """Two full float32 updates (world model, imagination, actor, critic, repval, LaProp) on a fixed seed:
    every metric and every parameter equal to the dense path up to float rounding.

    Two paths that differ by rounding can eventually draw a different category where a uniform falls within
    ~1e-7 of a CDF step (after a few updates, once the parameters differ by ~1e-8); with this seed that does
    not happen within two updates, so any larger difference is a real one.
    """
    fast, m_fast = _trained(env_factory, gather=True)
    ref, m_ref = _trained(env_factory, gather=False)
    assert m_fast.keys() == m_ref.keys()
    for key in m_ref:
        assert m_fast[key] == pytest.approx(m_ref[key], rel=1e-4, abs=1e-5), key
    for (name, p_fast), p_ref in zip(
        [*fast.world_model.named_parameters(), *fast.behavior.named_parameters()],
        [*ref.world_model.parameters(), *ref.behavior.parameters()],
        strict=True,
    ):
        assert torch.allclose(p_fast, p_ref, atol=1e-5), name
    # the parameters moved, so the comparison is not between two untouched models
    untouched = Dreamer(env_factory(), config=fast.config, seed=0, device="cpu")
    assert not torch.allclose(fast.behavior.actor.net[0].weight, untouched.behavior.actor.net[0].weight)


def test_imagine_gather_returns_the_dense_features_and_the_same_rollout():
    torch.manual_seed(0)
    cfg = DreamerConfig.from_preset("tiny", classes=8, onehot_gather=True)
    agent = Dreamer(gym.make("Pendulum-v1"), config=cfg, seed=0)
    wm, beh = agent.world_model, agent.behavior
    start = {"deter": torch.randn(12, wm.rssm.deter), "stoch": wm.rssm.initial(12)["stoch"]}  # dense start
    with torch.no_grad():
        torch.manual_seed(2)
        fast = beh.imagine(wm, start, 6)
        beh.cfg.onehot_gather = False
        torch.manual_seed(2)
        ref = beh.imagine(wm, start, 6)
    assert "index" in fast and "index" not in ref
    for key in ("feat", "action", "logp", "entropy"):
        assert fast[key].shape == ref[key].shape
        assert torch.allclose(fast[key], ref[key], atol=1e-5), key
    assert torch.equal(fast["feat"][1:, :, wm.rssm.deter :], wm.rssm.onehot(fast["index"]))


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_compute_dtype_is_bfloat16_only_where_native(monkeypatch, native, expected):
    """``compute_dtype="auto"`` (the S preset's) resolves per device; the update then runs in that dtype."""
    s_preset = DreamerConfig.from_preset("S")
    assert s_preset.compute_dtype == "auto" and s_preset.onehot_gather
    assert DreamerConfig().compute_dtype == "float32" and not DreamerConfig().onehot_gather
    assert isinstance(agent_module.native_bfloat16("cpu"), bool)
    monkeypatch.setattr(agent_module, "native_bfloat16", lambda device: native)
    cfg = DreamerConfig.from_preset("tiny", compute_dtype="auto", learning_starts=10**9)
    agent = Dreamer(gym.make("Pendulum-v1"), config=cfg, seed=0, device="cpu")
    assert agent.compute_dtype == expected
    seen = []
    agent.world_model.reward_head[0].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    agent.learn(100, progress_bar=False)
    agent.train(1)
    assert seen and set(seen) == {expected}
    assert all(p.dtype == torch.float32 for p in agent.world_model.parameters())
