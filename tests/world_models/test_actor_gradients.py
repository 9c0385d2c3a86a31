"""The actor's policy gradient (REINFORCE, the default for every action space) on its own.

Issue 14's first DreamerV3 branch did not learn Pendulum: the Box actor's deterministic action sat at the
upper bound (+2 N m) for thousands of updates. The score function used the log-density of the *clipped*
sample, which is biased: with an advantage offset (a critic still far from the returns), it pushes the
mean into the nearer bound and the std to its maximum. These tests pin the estimator and the wiring of
``Behavior.actor_loss`` without a learned world model.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from world_models import DreamerConfig
from world_models.behavior import Behavior
from world_models.distributions import BoundedNormal
from world_models.spaces import ActionSpec


def _box_spec(dim: int = 1) -> ActionSpec:
    return ActionSpec("box", (dim,), np.full(dim, -1.0, np.float32), np.full(dim, 1.0, np.float32))


def test_reinforce_score_is_unbiased_near_a_bound():
    """An action-independent advantage must give zero expected gradient, also with a mean near +-1.

    The log-density of the clipped value gives ~0.14 per unit advantage on the mean at mean 0.7 (over 50
    standard errors); the draw's own log-density gives ~0.
    """
    torch.manual_seed(0)
    n = 50_000
    for mean in (-0.7, 0.0, 0.7):
        raw = torch.full((n, 1), float(torch.atanh(torch.tensor(mean))), requires_grad=True)
        std_raw = torch.zeros(n, 1, requires_grad=True)
        dist = BoundedNormal(raw, std_raw, 0.1, 1.0)
        action, logp = dist.sample_with_log_prob()
        assert action.abs().max() <= 1.0 and (action.abs() == 1.0).any()  # clipped, and clipping happened
        g_mean, g_std = torch.autograd.grad((logp * -1.0).mean(), [raw, std_raw])
        # each row is its own parameter: n * g is the per-sample gradient, whose mean is the estimate
        for g in (g_mean, g_std):
            per_sample = n * g.flatten()
            se = float(per_sample.std()) / n**0.5
            assert abs(float(per_sample.mean())) < 5 * se, (mean, float(per_sample.mean()), se)


class BanditModel(nn.Module):
    """A stand-in world model: the imagined state remembers a context c in {-1, +1} and the last action a.

    Reward on arrival ``-4 (a - 0.6 c)^2``: the best action is +0.6 in context +1 and -0.6 in context -1.
    Continue 0.99. Exposes what :meth:`Behavior.actor_loss` uses (``rssm.feat``, ``rssm.img_step``,
    ``reward``, ``cont``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.rssm = self
        self.dummy = nn.Parameter(torch.zeros(()))  # frozen() needs parameters

    def feat(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return state["deter"]

    def img_step(self, state: dict[str, torch.Tensor], action: torch.Tensor) -> dict[str, torch.Tensor]:
        ctx = state["deter"][:, :1]
        return {"deter": torch.cat([ctx, action, torch.ones_like(ctx)], -1)}

    def reward(self, feat: torch.Tensor) -> torch.Tensor:
        return -4.0 * (feat[..., 1] - 0.6 * feat[..., 0]) ** 2

    def cont(self, feat: torch.Tensor) -> torch.Tensor:
        return torch.full(feat.shape[:-1], 0.99)


def _starts(n: int) -> dict[str, torch.Tensor]:
    ctx = torch.where(torch.arange(n) % 2 == 0, 1.0, -1.0)[:, None]
    return {"deter": torch.cat([ctx, torch.zeros(n, 2)], -1)}


def test_actor_learns_state_dependent_actions_without_saturating():
    """REINFORCE + critic on the bandit: the deterministic action follows the context and stays inside.

    The clipped-log-density estimator drove the mean to one bound for every state (Pendulum's constant
    +2 N m); here it must reach +-0.6 within 0.15 for the two contexts.
    """
    torch.manual_seed(0)
    cfg = DreamerConfig.from_preset("tiny", horizon=5, units=32)
    assert cfg.actor_grad == "reinforce"
    wm = BanditModel()
    beh = Behavior(3, _box_spec(), cfg)
    opt = torch.optim.Adam(list(beh.actor.parameters()) + list(beh.critic.parameters()), lr=3e-3)
    start = _starts(256)
    for _ in range(300):
        actor_loss, _, traj = beh.actor_loss(wm, start)
        critic_loss, _ = beh.critic_loss(traj)
        opt.zero_grad()
        (actor_loss + critic_loss).backward()
        opt.step()
        beh.update_slow_critic()
    probe = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    mode = beh.actor(probe).mode[:, 0].detach()
    assert abs(float(mode[0]) - 0.6) < 0.15, mode
    assert abs(float(mode[1]) + 0.6) < 0.15, mode


def test_policy_gradient_raises_log_prob_of_advantaged_actions():
    """One actor step on fixed imagined returns: actions with a positive advantage become more likely."""
    torch.manual_seed(0)
    cfg = DreamerConfig.from_preset("tiny", horizon=3, units=32)
    wm = BanditModel()
    beh = Behavior(3, _box_spec(), cfg)
    start = _starts(512)
    loss, _, traj = beh.actor_loss(wm, start)
    feat = traj["feat"][:-1].reshape(-1, 3)
    # the action taken at step t is stored in the next state's feature, slot 1
    taken = traj["feat"][1:, :, 1:2].reshape(-1, 1)
    ctx = feat[:, 0]
    good = (taken[:, 0] - 0.6 * ctx).abs() < 0.3
    before = beh.actor(feat).log_prob(taken).detach()
    loss.backward()
    with torch.no_grad():
        for p in beh.actor.parameters():
            p -= 1e-2 * p.grad / (p.grad.norm() + 1e-12)
    after = beh.actor(feat).log_prob(taken).detach()
    assert float((after - before)[good].mean()) > 0
    assert float((after - before)[good].mean()) > float((after - before)[~good].mean())


def test_return_normalizer_tracks_the_5_95_percentile_range_with_floor_one():
    """Scale = EMA of P95 - P5 of the imagined returns, never below 1 (official ``retnorm``)."""
    from world_models.behavior import ReturnNormalizer

    norm = ReturnNormalizer(decay=0.9, percentiles=(5.0, 95.0))
    returns = torch.linspace(-200.0, 0.0, 1001)  # P5 = -190, P95 = -10
    for _ in range(200):
        scale = norm.update(returns[torch.randperm(1001)])
    assert abs(float(scale) - 180.0) < 0.5
    assert abs(float(norm.lo) + 190.0) < 0.5 and abs(float(norm.hi) + 10.0) < 0.5
    small = ReturnNormalizer(decay=0.0, percentiles=(5.0, 95.0))
    assert float(small.update(torch.linspace(0.0, 0.5, 101))) == 1.0  # a range below 1 is not blown up
