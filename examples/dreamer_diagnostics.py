"""Training-time diagnostics of a Dreamer agent: what imagination predicts vs what the replay shows.

Every ``--diag-every`` updates ``train_dreamer.py`` calls :func:`diagnose` and appends one row to
``<logdir>/diagnostics.csv`` (and TensorBoard ``diag/*``). Without gradients, on a few replayed windows:

* **return gap** — from the posterior of each replayed step, the imagined lambda-return (the actor's
  imagination with the current actor, world model and critic, exactly as the actor loss computes it) vs the
  real lambda-return of the same replayed sequence (real rewards and terminals, bootstrapped with the same
  critic on the posteriors; :func:`world_models.behavior.replay_lambda_returns`). The replayed actions
  came from older policies, so a gap mixes model error and policy change; on states a few steps before a
  real drop it is mostly model error (the drop is on the way whatever the actor does, unless it can be
  avoided);
* **drop prediction** — at replayed *event* rows (the caller's definition: reward ``<= event_reward`` or
  terminal; on Dactyl-v0 the −20 drop penalty), the predicted reward and continue probability from the
  posterior (the model sees the row) and from the prior (one imagined step from the previous posterior with
  the real action: what imagination would predict) vs the real ones; and the fraction of imagined
  H-step trajectories that contain a predicted event vs the fraction of replayed starts followed by a real
  event within H steps;
* **actor entropy** — at the replayed posteriors and along imagination.

Nothing here changes training: it runs under ``torch.no_grad`` with its own numpy generator and a forked
torch RNG, so the training run's random streams are the same with or without diagnostics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from world_models import Dreamer
from world_models.behavior import lambda_returns, replay_lambda_returns

__all__ = ["DROP_REWARD_DACTYL", "diagnose", "event_mask", "real_event_within", "row_prediction"]

DROP_REWARD_DACTYL = -19.0
"""A Dactyl-v0 step with reward <= this holds the -20 drop penalty (rotation rewards are a few tenths)."""


def event_mask(reward: np.ndarray, is_terminal: np.ndarray, event_reward: float | None) -> np.ndarray:
    """Rows that are events: terminal, or (if ``event_reward`` is given) reward <= ``event_reward``."""
    mask = np.asarray(is_terminal, bool).copy()
    if event_reward is not None:
        mask |= np.asarray(reward) <= event_reward
    return mask


def real_event_within(event: np.ndarray, is_first: np.ndarray, starts: int, horizon: int) -> np.ndarray:
    """For each start ``t < starts`` of ``(B, T)`` windows: is there an event at ``t+1..t+horizon`` in the same
    episode (before any ``is_first``)? Returns ``(B, starts)`` bool."""
    b, t_len = event.shape
    if starts + horizon > t_len:
        raise ValueError(f"windows of {t_len} steps are too short for {starts} starts and horizon {horizon}")
    out = np.zeros((b, starts), bool)
    alive = np.ones((b, starts), bool)
    for k in range(1, horizon + 1):
        alive &= ~is_first[:, k : k + starts]
        out |= alive & event[:, k : k + starts]
    return out


def row_prediction(agent: Dreamer, batch: dict[str, torch.Tensor], post: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Predicted reward and continue at the last row of each window: posterior and one-step prior.

    Returns tensors ``(B,)``: ``post_reward``, ``post_cont``, ``prior_reward``, ``prior_cont``, and the
    real ``reward`` and ``cont`` (``gamma * (1 - is_terminal)``, the continue head's target).
    """
    wm = agent.world_model
    feat = wm.rssm.feat({k: v[:, -1] for k, v in post.items()})
    prev = {k: v[:, -2] for k, v in post.items()}
    prior = wm.rssm.img_step(prev, batch["action"][:, -2])
    prior_feat = wm.rssm.feat(prior)
    gamma = agent.config.gamma
    return {
        "post_reward": wm.reward(feat).float(),
        "post_cont": wm.cont(feat),
        "prior_reward": wm.reward(prior_feat).float(),
        "prior_cont": wm.cont(prior_feat),
        "reward": batch["reward"][:, -1].float(),
        "cont": gamma * (1.0 - batch["is_terminal"][:, -1].float()),
    }


def _observe(agent: Dreamer, sample: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    batch = agent._batch_to_torch(sample)
    batch, context = agent._split_context(batch)
    wm = agent.world_model
    obs = {k: batch[k] for k in wm.encoder.spec.keys}
    is_first = batch["is_first"].clone()
    if context is None:
        is_first[:, 0] = True
    prev_action = batch.get("prev_action")
    if prev_action is None:
        prev_action = torch.cat([torch.zeros_like(batch["action"][:, :1]), batch["action"][:, :-1]], 1)
    post, _, _ = wm.rssm.observe(wm.encoder(obs), prev_action, is_first, context)
    return batch, post


def _imagine(agent: Dreamer, start: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Imagined lambda-returns from flattened start states, as :meth:`Behavior.actor_loss` computes them."""
    cfg, wm, beh = agent.config, agent.world_model, agent.behavior
    traj = beh.imagine(wm, start, cfg.horizon)
    feat = traj["feat"]
    reward = wm.reward(feat[1:]).float()
    cont = wm.cont(feat)
    value = beh.twohot.mean(beh.critic(feat)).float()
    returns = lambda_returns(reward, value, cont[1:], cfg.return_lambda)
    return {"return": returns[0], "value": value[0], "reward": reward, "cont": cont[1:], "entropy": traj["entropy"]}


def _real_returns(agent: Dreamer, batch: dict[str, torch.Tensor], post: dict[str, torch.Tensor]) -> torch.Tensor:
    """Real lambda-returns ``(B, T-1)`` of the replayed windows, bootstrapped with the critic on the posteriors."""
    cfg, wm, beh = agent.config, agent.world_model, agent.behavior
    value = beh.twohot.mean(beh.critic(wm.rssm.feat(post))).float()
    is_terminal = batch["is_terminal"]
    is_last = is_terminal.clone()
    is_last[:, :-1] |= batch["is_first"][:, 1:]
    return replay_lambda_returns(batch["reward"].float(), is_terminal, is_last, value, cfg.gamma, cfg.return_lambda)


def _predicted_event(imag: dict[str, torch.Tensor], gamma: float, event_reward: float | None) -> torch.Tensor:
    """``(N,)`` bool: an imagined step predicts an event (continue below half, or reward <= half the threshold)."""
    hit = imag["cont"] < 0.5 * gamma
    if event_reward is not None:
        hit |= imag["reward"] <= 0.5 * event_reward
    return hit.any(0)


def _windows(replay: Any, positions: np.ndarray, length: int) -> dict[str, np.ndarray]:
    """Windows of ``length`` stored steps ending at chronological ``positions`` (0 = oldest stored)."""
    oldest = replay.pos if replay.size == replay.capacity else 0
    chron = positions[:, None] - length + 1 + np.arange(length)[None]
    idx = (oldest + chron) % replay.capacity
    out = {k: v[idx] for k, v in replay.data.items()}
    out["index"] = idx
    return out


@torch.no_grad()
def diagnose(
    agent: Dreamer,
    rng: np.random.Generator,
    event_reward: float | None = None,
    batch: int = 16,
    starts: int = 16,
    recent_events: int = 200,
) -> dict[str, float]:
    """One diagnostics row (see the module docstring); NaN where there is nothing to measure yet.

    Args:
        agent: A Dreamer with a filled replay.
        rng: Sampler of the replayed windows (keep it separate from the agent's).
        event_reward: Rows with reward <= this (or terminal) are events; ``None``: terminals only.
        batch: Uniformly sampled windows, and at most this many event windows.
        starts: Start states per uniform window (each window holds ``starts + horizon`` trained steps).
        recent_events: Event windows are drawn from the most recent this many events (the current policy's
            drops rather than the random-action phase's).

    Returns:
        Dict of floats; keys listed in :data:`COLUMNS`.
    """
    cfg, replay = agent.config, agent.replay
    ctx, horizon = cfg.replay_context, cfg.horizon
    out = dict.fromkeys(COLUMNS, float("nan"))
    with torch.random.fork_rng(devices=[]):
        # uniform windows: return gap, imagined vs real event rate, entropy
        if len(replay) >= starts + horizon + ctx:
            sample = replay.sample(batch, starts + horizon, rng, context=ctx)
            tb, post = _observe(agent, sample)
            real = _real_returns(agent, tb, post)[:, :starts]
            start = {k: v[:, :starts].reshape(-1, v.shape[-1]) for k, v in post.items()}
            imag = _imagine(agent, start)
            gap = imag["return"] - real.reshape(-1)
            ev = event_mask(tb["reward"].numpy(), tb["is_terminal"].numpy(), event_reward)
            real_ev = real_event_within(ev, tb["is_first"].numpy(), starts, horizon).reshape(-1)
            pred_ev = _predicted_event(imag, cfg.gamma, event_reward).numpy()
            term_prob = 1.0 - torch.prod((imag["cont"] / cfg.gamma).clamp(0.0, 1.0), 0)
            feat = agent.world_model.rssm.feat(start)
            out.update(
                imag_return=float(imag["return"].mean()),
                real_return=float(real.mean()),
                return_gap=float(gap.mean()),
                critic_value=float(imag["value"].mean()),
                imag_event_frac=float(pred_ev.mean()),
                imag_term_prob=float(term_prob.mean()),
                real_event_frac=float(real_ev.mean()),
                entropy_post=float(agent.behavior.actor(feat).entropy().mean()),
                entropy_imag=float(imag["entropy"].mean()),
            )
            if real_ev.any():
                sel = torch.as_tensor(real_ev)
                out.update(
                    imag_return_pre_event_uniform=float(imag["return"][sel].mean()),
                    real_return_pre_event_uniform=float(real.reshape(-1)[sel].mean()),
                )
        # event windows: prediction at the event rows, values on the H states before them
        size = len(replay)
        oldest = replay.pos if size == replay.capacity else 0
        rows = (oldest + np.arange(size)) % replay.capacity
        ev_all = event_mask(replay.data["reward"][rows], replay.data["is_terminal"][rows], event_reward)
        length = horizon + 1 + ctx
        pos = np.flatnonzero(ev_all)
        pos = pos[pos >= length - 1][-recent_events:]
        out["events_in_replay"] = float(ev_all.sum())
        if len(pos):
            pick = rng.choice(pos, size=min(batch, len(pos)), replace=False)
            tb, post = _observe(agent, _windows(replay, pick, length))
            pred = row_prediction(agent, tb, post)
            out.update(
                event_reward_real=float(pred["reward"].mean()),
                event_reward_post=float(pred["post_reward"].mean()),
                event_reward_prior=float(pred["prior_reward"].mean()),
                event_cont_real=float(pred["cont"].mean()),
                event_cont_post=float(pred["post_cont"].mean()),
                event_cont_prior=float(pred["prior_cont"].mean()),
            )
            # the H states before each event, same episode only
            real = _real_returns(agent, tb, post)[:, :horizon]
            first = tb["is_first"].numpy()
            same = np.flip(np.cumsum(np.flip(first[:, 1:], 1), 1), 1)[:, :horizon] == 0
            start = {k: v[:, :horizon].reshape(-1, v.shape[-1]) for k, v in post.items()}
            imag = _imagine(agent, start)
            sel = torch.as_tensor(same.reshape(-1))
            if sel.any():
                term_prob = 1.0 - torch.prod((imag["cont"] / cfg.gamma).clamp(0.0, 1.0), 0)
                out.update(
                    imag_return_pre_event=float(imag["return"][sel].mean()),
                    real_return_pre_event=float(real.reshape(-1)[sel].mean()),
                    critic_value_pre_event=float(imag["value"][sel].mean()),
                    imag_event_frac_pre_event=float(
                        _predicted_event(imag, cfg.gamma, event_reward)[sel].float().mean()
                    ),
                    imag_term_prob_pre_event=float(term_prob[sel].mean()),
                )
    return out


COLUMNS = (
    "imag_return",
    "real_return",
    "return_gap",
    "critic_value",
    "imag_return_pre_event_uniform",
    "real_return_pre_event_uniform",
    "imag_event_frac",
    "imag_term_prob",
    "real_event_frac",
    "events_in_replay",
    "event_reward_real",
    "event_reward_post",
    "event_reward_prior",
    "event_cont_real",
    "event_cont_post",
    "event_cont_prior",
    "imag_return_pre_event",
    "real_return_pre_event",
    "critic_value_pre_event",
    "imag_event_frac_pre_event",
    "imag_term_prob_pre_event",
    "entropy_post",
    "entropy_imag",
)
"""Keys of :func:`diagnose`'s row, in CSV column order."""
