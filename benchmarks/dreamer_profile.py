"""Where a Dreamer update spends its time: process CPU seconds per phase, and the top torch operators.

    python benchmarks/dreamer_profile.py --preset S --updates 2
    python benchmarks/dreamer_profile.py --preset S --updates 2 --override compute_dtype=bfloat16 --ops
    python benchmarks/dreamer_profile.py --preset S --updates 3 --ops --json docs/benchmarks/dreamer_profile_S.json

Phases (one torch thread, Pendulum-v1 data, the agent's own update split into its parts; the world-model
loss is also run once more on its own to time the sequential RSSM loop separately, and the imagination loop
without the heads that read it): batch assembly, encoder, RSSM observe loop, world-model loss, imagination +
actor loss, critic + repval losses, backward of the summed loss, optimiser step. CPU time
(``time.process_time``) is used so that the figures stay meaningful when other jobs share the machine.
``--ops`` adds a ``torch.profiler`` table of one update; ``--json`` writes the figures (and the top operators).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

import gymnasium as gym
import torch
from dreamer_throughput import _parse  # benchmarks/ is on sys.path when run as a script

from world_models import Dreamer, DreamerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--updates", type=int, default=3, help="profiled updates (after one warm-up)")
    parser.add_argument("--override", nargs="*", default=[], metavar="FIELD=VALUE", help="DreamerConfig overrides")
    parser.add_argument("--ops", action="store_true", help="also print the top torch operators of one update")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = {k: _parse(k, v) for k, v in (o.split("=", 1) for o in args.override)}
    cfg = DreamerConfig.from_preset(args.preset, **{**overrides, "learning_starts": 10**9})
    agent = Dreamer(gym.make("Pendulum-v1"), config=cfg, seed=0, device="cpu")
    agent.learn(max(4 * cfg.seq_len, 400), progress_bar=False)
    agent.train(1)
    print("command: python " + " ".join(sys.argv))
    print(
        f"torch {torch.__version__}, preset {args.preset}, compute_dtype {cfg.compute_dtype} ({agent.compute_dtype}), "
        f"B x T "
        f"{cfg.batch_size} x {cfg.seq_len}, process CPU seconds per update (mean of {args.updates})"
    )
    wm, beh = agent.world_model, agent.behavior
    phases: dict[str, float] = defaultdict(float)
    bf16 = agent.compute_dtype == torch.bfloat16
    for _ in range(args.updates):
        t = time.process_time()
        sample = agent.replay.sample(cfg.batch_size, cfg.seq_len, agent.rng, context=cfg.replay_context)
        batch, start = agent._split_context(agent._batch_to_torch(sample))
        phases["batch assembly"] += time.process_time() - t
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            t = time.process_time()
            embed = wm.encoder({k: batch[k] for k in wm.encoder.spec.keys})
            phases["encoder (separately)"] += time.process_time() - t
            t = time.process_time()
            prev = batch.get("prev_action", batch["action"])
            wm.rssm.observe(embed, prev, batch["is_first"], start)
            phases["RSSM observe loop (separately)"] += time.process_time() - t
            t = time.process_time()
            model_loss, _, post = wm.loss(batch, start)
            phases["world-model loss (forward)"] += time.process_time() - t
            start_states = {k: v.detach().reshape(-1, v.shape[-1]) for k, v in post.items()}
            t = time.process_time()
            with torch.no_grad():
                beh.imagine(wm, start_states, cfg.horizon)
            phases["imagination loop, no heads (separately)"] += time.process_time() - t
            t = time.process_time()
            actor_loss, _, traj = beh.actor_loss(wm, start_states)
            phases["imagination + actor loss"] += time.process_time() - t
            t = time.process_time()
            critic_loss, _ = beh.critic_loss(traj)
            repval, _ = agent._repval_loss(batch, post, traj)
            phases["critic + repval losses"] += time.process_time() - t
        t = time.process_time()
        agent.optimizer.zero_grad(set_to_none=True)
        (model_loss + actor_loss + critic_loss + cfg.repval_scale * repval).backward()
        phases["backward"] += time.process_time() - t
        t = time.process_time()
        agent.optimizer.step()
        beh.update_slow_critic()
        phases["optimiser + slow critic"] += time.process_time() - t
    total = sum(v for k, v in phases.items() if "separately" not in k) / args.updates
    for name, value in phases.items():
        print(f"{name:40s} {value / args.updates:8.3f} s")
    print(f"{'update (sum without the separate runs)':40s} {total:8.3f} s")
    ops = []
    if args.ops:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            agent.train(1)
        averages = prof.key_averages()
        print(averages.table(sort_by="self_cpu_time_total", row_limit=15))
        all_self = sum(e.self_cpu_time_total for e in averages)
        top = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
        ops = [
            {"op": e.key, "calls": e.count, "self_cpu_s": e.self_cpu_time_total / 1e6,
             "self_cpu_share": e.self_cpu_time_total / all_self}
            for e in top
        ]  # fmt: skip
    if args.json:
        from evidence import write_json

        write_json(args.json, {
            "preset": args.preset, "compute_dtype": cfg.compute_dtype, "resolved_dtype": str(agent.compute_dtype),
            "batch_size": cfg.batch_size,
            "seq_len": cfg.seq_len, "updates": args.updates, "overrides": args.override, "clock": "cpu",
            "phases_cpu_s_per_update": {k: v / args.updates for k, v in phases.items()},
            "update_cpu_s": total, "top_ops_one_update": ops,
        })  # fmt: skip


if __name__ == "__main__":
    main()
