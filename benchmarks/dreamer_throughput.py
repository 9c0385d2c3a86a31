"""Dreamer throughput on CPU: gradient updates/s and env steps/s at fixed preset sizes, with baselines.

    python benchmarks/dreamer_throughput.py --presets tiny small --updates 20
    python benchmarks/dreamer_throughput.py --presets small S --device cuda     # on a GPU machine

Per preset (on Pendulum-v1, one torch thread, ``--device cpu`` unless given) it measures, by default with the
process's CPU time (``--clock cpu``: with one torch thread this is the time on an idle core, and it stays
meaningful when other jobs share the cores; ``--clock wall`` for wall-clock time, the right choice on a GPU)
  * ``update/s``: full updates (world model + actor + critic) on replayed B x T batches, as implemented
    (best of ``--repeats`` interleaved measurements, robust to load from other processes);
  * ``naive update/s``: the same update with two common shortcuts undone, measured in the same run:
    world model and critic NOT frozen during imagination (their weight gradients are computed and thrown
    away) and ``torch.multinomial`` instead of inverse-CDF sampling of the categoricals;
  * ``compiled update/s`` (with ``--compile``): ``DreamerConfig(compile=True)`` after warm-up, interleaved
    with more eager measurements;
  * ``act steps/s``: policy (encoder + posterior step + actor) plus ``env.step``, no training;
  * ``train steps/s``: env steps/s while training at the preset's train ratio,
    ``1 / (1/act + (train_ratio / (B*T)) / update)``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from unittest import mock

import gymnasium as gym
import torch
from evidence import write_json

from world_models import Dreamer, DreamerConfig
from world_models import distributions as dist_mod


def _multinomial_onehot(probs: torch.Tensor, sample: bool = True) -> torch.Tensor:
    if not sample:
        return dist_mod.straight_through_onehot(probs, sample=False)
    index = torch.multinomial(probs.detach().reshape(-1, probs.shape[-1]), 1).reshape(probs.shape[:-1])
    onehot = torch.nn.functional.one_hot(index, probs.shape[-1]).to(probs.dtype)
    return onehot + probs - probs.detach()


@contextlib.contextmanager
def _no_freeze(*modules: torch.nn.Module):
    yield


DEVICE = "cpu"  # set from --device in main()
CLOCK = time.process_time  # set from --clock in main()


def _sync() -> None:
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def make_agent(preset: str, compile_: bool = False, overrides: dict | None = None) -> Dreamer:
    cfg = DreamerConfig.from_preset(
        preset, **{**(overrides or {}), "learning_starts": 10**9, "compile": compile_}
    )
    agent = Dreamer(gym.make("Pendulum-v1"), config=cfg, seed=0, device=DEVICE)
    agent.learn(max(4 * cfg.seq_len, 400), progress_bar=False)  # random data, no updates
    return agent


def time_updates(agent: Dreamer, n: int) -> float:
    """Seconds per update over ``n`` updates."""
    _sync()
    t0 = CLOCK()
    agent.train(n)
    _sync()
    return (CLOCK() - t0) / n


def naive_mode() -> contextlib.ExitStack:
    """Undo the two shortcuts (freezing during imagination, inverse-CDF sampling) while active."""
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch("world_models.behavior.frozen", _no_freeze))
    stack.enter_context(mock.patch("world_models.rssm.straight_through_onehot", _multinomial_onehot))
    return stack


def compare(agent: Dreamer, n: int, repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` updates/s of the implementation and of the naive variant, interleaved so that
    load from other processes hits both alike."""
    agent.train(2)  # warm-up
    ours, naive = [], []
    for _ in range(repeats):
        ours.append(time_updates(agent, n))
        with naive_mode():
            naive.append(time_updates(agent, n))
    return 1.0 / min(ours), 1.0 / min(naive)


def time_acting(agent: Dreamer, steps: int) -> float:
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=0)
    state = None
    t0 = CLOCK()
    for _ in range(steps):
        action, state = agent.predict(obs, state=state)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            state = None
    return steps / (CLOCK() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--updates", type=int, default=10, help="timed updates per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved measurements; the best is kept")
    parser.add_argument("--env-steps", type=int, default=1000, help="timed acting steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--override",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="DreamerConfig overrides for every preset, e.g. seq_len=64",
    )
    parser.add_argument("--compile", action="store_true", help="also measure DreamerConfig(compile=True)")
    parser.add_argument("--device", default="cpu", help='torch device: "cpu" (default), "cuda", or "auto"')
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: process CPU time (robust to other jobs on the machine); wall: elapsed time",
    )
    args = parser.parse_args()
    global DEVICE, CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    DEVICE = args.device
    if DEVICE == "auto":
        DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
    if DEVICE.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device!r}: CUDA is not available on this machine")
    torch.set_num_threads(args.threads)
    print("command: python " + " ".join(sys.argv))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, device {DEVICE}, threads {torch.get_num_threads()}, env Pendulum-v1, "
        f"clock {args.clock}, "
        f"1-min load average at start {load:.2f} on {os.cpu_count()} cores"
    )
    header = (
        f"{'preset':>6} {'params':>8} {'B x T':>7} {'update/s':>9} {'naive/s':>8} {'speedup':>7} "
        f"{'compiled/s':>10} {'act steps/s':>11} {'train steps/s':>13}"
    )
    print(header)
    rows = []
    overrides = {k: type(getattr(DreamerConfig(), k))(v) for k, v in (o.split("=", 1) for o in args.override)}
    for preset in args.presets:
        agent = make_agent(preset, overrides=overrides)
        cfg = agent.config
        params = sum(p.numel() for m in (agent.world_model, agent.behavior) for p in m.parameters())
        ups, naive = compare(agent, args.updates, args.repeats)
        compiled = "-"
        if args.compile:
            cagent = make_agent(preset, compile_=True, overrides=overrides)
            t0 = CLOCK()
            cagent.train(3)
            warm = CLOCK() - t0
            eager_s, compiled_s = [], []
            for _ in range(args.repeats):  # interleaved with eager, like the naive baseline
                eager_s.append(time_updates(agent, args.updates))
                compiled_s.append(time_updates(cagent, args.updates))
            ups = max(ups, 1.0 / min(eager_s))
            compiled = f"{1.0 / min(compiled_s):.2f} ({warm:.0f}s warm-up)"
        act = time_acting(agent, args.env_steps)
        per_step = cfg.train_ratio / (cfg.batch_size * cfg.seq_len)
        train_sps = 1.0 / (1.0 / act + per_step / ups)
        print(
            f"{preset:>6} {params / 1e6:>7.2f}M {cfg.batch_size:>3}x{cfg.seq_len:<3} {ups:>9.2f} "
            f"{naive:>8.2f} {ups / naive:>6.2f}x {compiled:>10} {act:>11.0f} {train_sps:>13.1f}",
            flush=True,
        )
        rows.append({
            "preset": preset, "params": params, "batch_size": cfg.batch_size, "seq_len": cfg.seq_len,
            "updates_per_s": ups, "naive_updates_per_s": naive, "speedup_over_naive": ups / naive,
            "compiled": compiled, "act_steps_per_s": act, "train_steps_per_s": train_sps,
        })  # fmt: skip
    if args.json:
        write_json(args.json, {
            "device": DEVICE, "threads": torch.get_num_threads(), "env": "Pendulum-v1", "clock": args.clock,
            "updates": args.updates,
            "repeats": args.repeats, "env_steps": args.env_steps, "overrides": args.override, "rows": rows,
        })  # fmt: skip


if __name__ == "__main__":
    main()
