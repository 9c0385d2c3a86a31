"""Dreamer throughput: CPU seconds per gradient update and env steps/s at fixed preset sizes, with baselines.

    python benchmarks/dreamer_throughput.py --presets tiny small --updates 20
    python benchmarks/dreamer_throughput.py --presets S --updates 2 --repeats 3 --ablate   # which shortcut buys what
    python benchmarks/dreamer_throughput.py --presets small S --device cuda --clock wall   # on a GPU machine

Per preset (on Pendulum-v1, one torch thread, ``--device cpu`` unless given) it measures, by default with the
process's CPU time (``--clock cpu``: with one torch thread this is the time on an idle core, and it stays
meaningful when other jobs share the cores; ``--clock wall`` for wall-clock time, the right choice on a GPU)
  * ``s/update`` and ``update/s``: full updates (world model + actor + critic + repval) on replayed B x T
    batches, as implemented (median of ``--repeats`` measurements of ``--updates`` updates each);
  * ``naive``: the project's own straightforward update, measured in the same run, interleaved with the
    above so that load from other processes hits both alike: every shortcut below undone --
    ``freeze`` (world model and critic not frozen during imagination: their weight gradients are computed
    and thrown away), ``sampling`` (``torch.multinomial`` instead of inverse-CDF sampling of the
    categoricals), ``gather`` (``DreamerConfig.onehot_gather=False``: dense matmuls on the imagined one-hot
    latents), ``bf16`` (float32 matmuls where the preset's ``compute_dtype`` resolves to bfloat16);
  * with ``--ablate``: the update with each shortcut undone alone (same interleaving), i.e. what each buys,
    and ``previous``: ``gather`` and ``bf16`` undone together (the update before issue 14 §5);
  * ``compiled`` (with ``--compile``): ``DreamerConfig(compile=True)`` after warm-up, interleaved with more
    measurements of the eager update;
  * ``act steps/s``: policy (encoder + posterior step + actor) plus ``env.step``, no training;
  * ``train steps/s``: env steps/s while training at the preset's train ratio,
    ``1 / (1/act + (train_ratio / (B*T)) / update)``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
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


def _multinomial_index(probs: torch.Tensor, sample: bool = True) -> torch.Tensor:
    if not sample:
        return probs.argmax(-1)
    return torch.multinomial(probs.detach().reshape(-1, probs.shape[-1]), 1).reshape(probs.shape[:-1])


@contextlib.contextmanager
def _no_freeze(*modules: torch.nn.Module):
    yield


DEVICE = "cpu"  # set from --device in main()
CLOCK = time.process_time  # set from --clock in main()
SHORTCUTS = ("freeze", "sampling", "gather", "bf16")
"""What the straightforward ("naive") update undoes; see the module docstring."""


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


def undo(agent: Dreamer, shortcuts: tuple[str, ...] = SHORTCUTS) -> contextlib.ExitStack:
    """Undo the given shortcuts (names from ``SHORTCUTS``) while the returned context is active."""
    stack = contextlib.ExitStack()
    if "freeze" in shortcuts:
        stack.enter_context(mock.patch("world_models.behavior.frozen", _no_freeze))
    if "sampling" in shortcuts:
        stack.enter_context(mock.patch("world_models.rssm.straight_through_onehot", _multinomial_onehot))
        stack.enter_context(mock.patch("world_models.rssm.sample_index", _multinomial_index))
    if "gather" in shortcuts:
        stack.enter_context(mock.patch.object(agent.config, "onehot_gather", False))
    if "bf16" in shortcuts:
        stack.enter_context(mock.patch.object(agent.config, "compute_dtype", "float32"))
    return stack


def applicable(agent: Dreamer) -> tuple[str, ...]:
    """The shortcuts in effect for this agent (bf16 only where the preset computes in bfloat16; freezing only
    on the dense path: the gather path runs the model's parts without autograd instead)."""
    gather = agent.config.onehot_gather and agent.behavior.actor_grad != "dynamics"
    on = ["sampling", "gather"] if gather else ["freeze", "sampling"]
    if agent.compute_dtype == torch.bfloat16:
        on.append("bf16")
    return tuple(on)


def compare(agent: Dreamer, n: int, repeats: int, ablate: bool) -> dict[str, list[float]]:
    """Seconds per update of the implementation (``ours``), the naive update and, with ``ablate``, each
    shortcut undone alone: ``repeats`` measurements each, interleaved so that load from other processes
    hits all alike."""
    on = applicable(agent)
    variants: dict[str, tuple[str, ...]] = {"ours": (), "naive": tuple(dict.fromkeys(("freeze", *on)))}
    if ablate:
        variants.update({f"without {name}": (name,) for name in on})
        # the update as it was before issue 14 §5 (dense one-hot matmuls, float32)
        variants["previous"] = tuple(name for name in on if name in ("gather", "bf16"))
    agent.train(1)  # warm-up
    with undo(agent, on):
        agent.train(1)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, shortcuts in variants.items():
            with undo(agent, shortcuts):
                samples[name].append(time_updates(agent, n))
    return samples


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
    parser.add_argument("--repeats", type=int, default=3, help="interleaved measurements; the median is kept")
    parser.add_argument("--ablate", action="store_true", help="also time each shortcut undone alone")
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
        f"{'preset':>6} {'params':>8} {'B x T':>7} {'dtype':>8} {'s/update':>9} {'update/s':>9} {'naive s':>8} "
        f"{'speedup':>7} {'compiled s':>10} {'act steps/s':>11} {'train steps/s':>13}"
    )
    print(header, flush=True)
    rows = []
    overrides = {k: _parse(k, v) for k, v in (o.split("=", 1) for o in args.override)}
    for preset in args.presets:
        agent = make_agent(preset, overrides=overrides)
        cfg = agent.config
        params = sum(p.numel() for m in (agent.world_model, agent.behavior) for p in m.parameters())
        samples = compare(agent, args.updates, args.repeats, args.ablate)
        compiled = "-"
        if args.compile:
            cagent = make_agent(preset, compile_=True, overrides=overrides)
            t0 = CLOCK()
            cagent.train(3)
            warm = CLOCK() - t0
            samples["compiled"] = []
            for _ in range(args.repeats):  # interleaved with eager, like the naive baseline
                samples["ours"].append(time_updates(agent, args.updates))
                samples["compiled"].append(time_updates(cagent, args.updates))
            compiled = f"{statistics.median(samples['compiled']):.3f} ({warm:.0f}s warm-up)"
        median = {name: statistics.median(v) for name, v in samples.items()}
        dtype = str(agent.compute_dtype).removeprefix("torch.")
        sec, naive = median["ours"], median["naive"]
        act = time_acting(agent, args.env_steps)
        per_step = cfg.train_ratio / (cfg.batch_size * cfg.seq_len)
        train_sps = 1.0 / (1.0 / act + per_step * sec)
        print(
            f"{preset:>6} {params / 1e6:>7.2f}M {cfg.batch_size:>3}x{cfg.seq_len:<3} {dtype:>8} "
            f"{sec:>9.3f} {1 / sec:>9.2f} {naive:>8.3f} {naive / sec:>6.2f}x {compiled:>10} {act:>11.0f} "
            f"{train_sps:>13.1f}",
            flush=True,
        )
        for name, value in median.items():
            if name.startswith("without") or name == "previous":
                print(f"{'':>6} {name:>24}: {value:.3f} s/update ({value / sec:.2f}x ours)", flush=True)
        rows.append({
            "preset": preset, "params": params, "batch_size": cfg.batch_size, "seq_len": cfg.seq_len,
            "compute_dtype": cfg.compute_dtype, "resolved_dtype": dtype, "shortcuts": list(applicable(agent)),
            "seconds_per_update": sec, "updates_per_s": 1 / sec, "naive_seconds_per_update": naive,
            "naive_updates_per_s": 1 / naive, "speedup_over_naive": naive / sec,
            "median_seconds_per_update": median, "samples_seconds_per_update": samples,
            "compiled": compiled, "act_steps_per_s": act, "train_steps_per_s": train_sps,
        })  # fmt: skip
    if args.json:
        write_json(args.json, {
            "device": DEVICE, "threads": torch.get_num_threads(), "env": "Pendulum-v1", "clock": args.clock,
            "updates": args.updates, "statistic": "median of repeats",
            "repeats": args.repeats, "env_steps": args.env_steps, "overrides": args.override, "rows": rows,
        })  # fmt: skip


def _parse(field: str, value: str) -> object:
    default = getattr(DreamerConfig(), field)
    if isinstance(default, bool):
        if value not in ("True", "False"):
            raise SystemExit(f"--override {field}={value!r}: expected True or False")
        return value == "True"
    return type(default)(value)


if __name__ == "__main__":
    main()
