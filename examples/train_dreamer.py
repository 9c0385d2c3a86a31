"""Train a Dreamer agent on a Gymnasium env, with atomic checkpoints, resume, CSV logs and a learning curve.

    python examples/train_dreamer.py --env Pendulum-v1 --preset small --total-timesteps 20000 --logdir runs/pendulum

Outputs in ``--logdir``: ``checkpoint.pt`` (+ ``checkpoint.pt.replay.npz``), ``episodes.csv`` (training
episodes), ``eval.csv`` (deterministic evaluation; on Dactyl-v0 also consecutive successes and drop rate),
``diagnostics.csv`` (with ``--diag-every``: imagined vs real returns, event prediction, actor entropy, see
examples/dreamer_diagnostics.py), ``learning_curve.png`` and TensorBoard events in ``tb/``.

SIGTERM or SIGINT (Ctrl-C) stops training after the current env step like the time limits do: checkpoint,
final evaluation, ``final.csv``, curve. A second signal is not caught again (it ends the process at once).
"""

from __future__ import annotations

import csv
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from world_models import PRESETS, Dreamer, DreamerConfig
from world_models.evaluation import evaluate_policy, summarize

try:  # registers Dactyl-v0 when the environment package is available
    import gym_dactyl  # noqa: F401
except ImportError:
    pass
from dreamer_diagnostics import COLUMNS as DIAG_COLUMNS  # noqa: E402
from dreamer_diagnostics import DROP_REWARD_DACTYL, diagnose  # noqa: E402
from ppo.config import build_parser  # noqa: E402  (examples/ is on sys.path: the dataclass -> argparse bridge)

import world_models.envs  # noqa: E402,F401  (registers PixelReach-v0, a cheap pixel task)


@dataclass
class Args:
    env: str = "Pendulum-v1"
    """Gymnasium environment id (e.g. Pendulum-v1, CartPole-v1, Dactyl-v0, PixelReach-v0)."""
    env_kwargs: str = "{}"
    """JSON object of keyword arguments for gym.make, e.g. '{"goal": "z", "action_type": "continuous"}'."""
    preset: str = "small"
    """DreamerConfig size preset: tiny, small or S."""
    total_timesteps: int = 20_000
    """Environment steps in total (a resumed run continues up to this count)."""
    seed: int = 0
    """Seed of torch, replay sampling and the environment."""
    logdir: str = "runs/dreamer"
    """Directory for checkpoints, CSV logs, TensorBoard events and the learning curve."""
    resume: bool = False
    """Continue the run in --logdir from its <logdir>/checkpoint.pt (weights, optimisers, counters, replay); starts
    fresh if there is none. (train_ppo.py's --resume takes a checkpoint directory instead: PPO runs keep several.)"""
    max_minutes: float = 0.0
    """Stop (and checkpoint) after this much wall-clock time; 0 means no limit."""
    max_cpu_minutes: float = 0.0
    """Stop (and checkpoint) after this process has used this much CPU time (all its threads: with --threads 1
    on a shared machine, the time it had a core); 0 means no limit. Counts this invocation only, like
    --max-minutes."""
    checkpoint_every: int = 5_000
    """Write an atomic checkpoint every this many env steps."""
    eval_every: int = 2_000
    """Evaluate the deterministic policy every this many env steps (0 disables)."""
    eval_episodes: int = 3
    """Episodes per evaluation."""
    threads: int = 1
    """torch intra-op threads."""
    train_ratio: float = 0.0
    """Override the preset's train ratio (replayed steps per env step); 0 keeps the preset's."""
    actor_grad: str = ""
    """Override the preset's actor gradient: reinforce (official), dynamics (backprop through the model)
    or auto (dynamics for Box actions); empty keeps the preset's."""
    obs_keys: str = ""
    """Comma-separated observation keys the encoder (so the actor) reads. Empty: all keys, except on
    Dactyl (an observation with the policy keys and "state"): gym_dactyl.POLICY_KEYS."""
    decoder_keys: str = ""
    """Comma-separated keys the world model reconstructs. Empty: the encoder's keys, except on Dactyl:
    the policy keys plus the privileged "state" (a world-model training target only; the actor never
    reads it)."""
    diag_every: int = 0
    """Every this many updates, append a row to <logdir>/diagnostics.csv (and TensorBoard diag/*):
    imagined vs real lambda-returns, event (drop) prediction, actor entropy and the last update's losses
    (examples/dreamer_diagnostics.py); 0 disables."""
    event_reward: str = "auto"
    """What diagnostics count as an event besides terminals: rows with reward <= this number; "auto":
    -19 on Dactyl-v0 (the -20 drop penalty), terminals only elsewhere; "none": terminals only."""
    progress_bar: bool = True
    """Show a tqdm progress bar."""


def parse_args() -> Args:
    return Args(**vars(build_parser(Args, __doc__, choices={"preset": tuple(PRESETS)}).parse_args()))


def parse_env_kwargs(text: str) -> dict[str, object]:
    """Parse ``--env-kwargs``: a JSON object with string keys."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f'--env-kwargs must be a JSON object such as \'{{"goal": "z"}}\', got {text!r} ({err})'
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"--env-kwargs must be a JSON object (a dict of keyword arguments), got {text!r}")
    return value


def evaluate(agent: Dreamer, env: gym.Env, episodes: int, seed: int) -> float:
    """Mean return of the deterministic policy over ``episodes`` episodes reset with ``seed + i``."""
    return evaluate_episodes(agent, env, episodes, seed)["mean_return"]


def evaluate_episodes(agent: Dreamer, env: gym.Env, episodes: int, seed: int) -> dict[str, float]:
    """Deterministic evaluation (``world_models.evaluation``): ``mean_return``, and on Dactyl-v0
    (``info["consecutive_successes"]``) ``consecutive_successes`` (mean) and ``drop_rate``."""
    summary = summarize(evaluate_policy(env, agent, episodes, seed, deterministic=True))
    out = {"mean_return": summary["return_mean"]}
    if "consecutive_successes_mean" in summary:
        out.update(consecutive_successes=summary["consecutive_successes_mean"], drop_rate=summary["drop_rate"])
    return out


def resolve_event_reward(text: str, env_id: str) -> float | None:
    """``--event-reward``: a number, "none", or "auto" (-19 on Dactyl-v0, else None)."""
    if text == "auto":
        return DROP_REWARD_DACTYL if env_id.split(":")[-1].startswith("Dactyl") else None
    if text == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise ValueError(f'--event-reward must be a finite number, "auto" or "none", got {text!r}')
    return value


# losses of the last update copied into diagnostics.csv (TensorBoard has them all, averaged)
TRAIN_KEYS = (
    "world_model/reward",
    "world_model/cont",
    "world_model/recon",
    "world_model/kl",
    "behavior/entropy",
    "behavior/imag_return",
    "behavior/return_scale",
    "behavior/critic_loss",
    "behavior/repval_return",
)


class TrainingMonitor:
    """Callback: CSV logs, periodic evaluation and checkpoints, wall-clock and CPU-time limits."""

    def __init__(self, args: Args, logdir: Path, eval_env: gym.Env, t0: float) -> None:
        self.args, self.logdir, self.eval_env, self.t0 = args, logdir, eval_env, t0
        self.model: Dreamer | None = None
        self.episodes_seen = 0
        self.event_reward = resolve_event_reward(args.event_reward, args.env)
        self.diag_rng = np.random.default_rng(args.seed + 7919)
        self.next_diag = 0
        self.last_metrics: dict[str, float] = {}
        self.stop_signal = 0

    def request_stop(self, signum: int, frame: object) -> None:
        """Signal handler: stop (and checkpoint) at the next env step; restores the default handlers."""
        self.stop_signal = signum
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def init_callback(self, model: Dreamer) -> None:
        self.model = model
        self.episodes_seen = len(model.episode_log)
        if self.args.diag_every:
            every = self.args.diag_every
            self.next_diag = max(every, -(-model.num_updates // every) * every)

    def update_locals(self, locals_: dict[str, object]) -> None:
        """Keep the metrics of the last update (``learn``'s local ``metrics``) for diagnostics.csv."""
        metrics = locals_.get("metrics")
        if isinstance(metrics, dict) and metrics:
            self.last_metrics = metrics  # type: ignore[assignment]

    def diagnostics(self, step: int, elapsed: float) -> None:
        """Append one diagnostics row (its own CPU cost in ``diag_cpu_s``)."""
        agent = self.model
        assert agent is not None
        c0 = time.process_time()
        row = diagnose(agent, self.diag_rng, event_reward=self.event_reward)
        cost = time.process_time() - c0
        train = {k: self.last_metrics.get(k, float("nan")) for k in TRAIN_KEYS}
        header = ["timesteps", "updates", "wall_s", "cpu_s", "diag_cpu_s", *DIAG_COLUMNS]
        header += ["train_" + k.split("/")[1] for k in TRAIN_KEYS]
        values = [row[k] for k in DIAG_COLUMNS] + [train[k] for k in TRAIN_KEYS]
        _append_csv(
            self.logdir / "diagnostics.csv",
            header,
            [step, agent.num_updates, f"{elapsed:.1f}", f"{time.process_time():.1f}", f"{cost:.2f}"]
            + [f"{v:.5g}" for v in values],
        )
        writer = getattr(agent, "_writer", None)
        if writer is not None:
            for key, value in row.items():
                if np.isfinite(value):
                    writer.add_scalar(f"diag/{key}", value, step)

    def on_step(self) -> bool:
        agent = self.model
        assert agent is not None
        step = agent.num_timesteps
        elapsed = time.time() - self.t0
        cpu = time.process_time()
        for t, ret, length in agent.episode_log[self.episodes_seen :]:
            _append_csv(
                self.logdir / "episodes.csv",
                ["timesteps", "return", "length", "wall_s", "updates", "cpu_s"],
                [t, f"{ret:.3f}", length, f"{elapsed:.1f}", agent.num_updates, f"{cpu:.1f}"],
            )
        self.episodes_seen = len(agent.episode_log)
        if self.args.diag_every and agent.num_updates >= self.next_diag:
            self.diagnostics(step, elapsed)
            self.next_diag += self.args.diag_every
        if self.args.eval_every and step % self.args.eval_every == 0:
            result = evaluate_episodes(agent, self.eval_env, self.args.eval_episodes, seed=10_000)
            score = result["mean_return"]
            header = ["timesteps", "mean_return", "wall_s", "updates", "cpu_s"]
            row: list[object] = [step, f"{score:.3f}", f"{elapsed:.1f}", agent.num_updates, f"{cpu:.1f}"]
            extra = ""
            if "consecutive_successes" in result:  # Dactyl-v0
                header += ["consecutive_successes", "drop_rate"]
                row += [f"{result['consecutive_successes']:.3f}", f"{result['drop_rate']:.3f}"]
                extra = f", successes {result['consecutive_successes']:.2f}, drops {result['drop_rate']:.2f}"
            _append_csv(self.logdir / "eval.csv", header, row)
            print(
                f"[eval] step {step} updates {agent.num_updates} wall {elapsed:.0f}s cpu {cpu:.0f}s "
                f"mean return {score:.1f}{extra}",
                flush=True,
            )
        if step % self.args.checkpoint_every == 0:
            agent.save(self.logdir / "checkpoint.pt", include_replay=True)
        if self.stop_signal:
            print(f"[stop] signal {signal.Signals(self.stop_signal).name} at step {step}", flush=True)
            return False
        if self.args.max_minutes and elapsed > 60 * self.args.max_minutes:
            print(f"[stop] wall-clock limit of {self.args.max_minutes} min reached at step {step}", flush=True)
            return False
        if self.args.max_cpu_minutes and cpu > 60 * self.args.max_cpu_minutes:
            print(f"[stop] CPU-time limit of {self.args.max_cpu_minutes} min reached at step {step}", flush=True)
            return False
        return True


def _append_csv(path: Path, header: list[str], row: list[object]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(header)
        writer.writerow(row)


def plot_curve(logdir: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, ycol, label in (
        ("episodes.csv", "return", "training episode (stochastic)"),
        ("eval.csv", "mean_return", "evaluation (deterministic)"),
    ):
        path = logdir / name
        if path.exists():
            with open(path) as f:
                rows = list(csv.DictReader(f))
            if rows:
                ax.plot(
                    [int(r["timesteps"]) for r in rows],
                    [float(r[ycol]) for r in rows],
                    marker="o" if name == "eval.csv" else None,
                    ms=3,
                    label=label,
                )
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = logdir / "learning_curve.tmp.png"
    fig.savefig(tmp, dpi=120)
    tmp.replace(logdir / "learning_curve.png")
    plt.close(fig)


def default_keys(space: gym.Space, obs_keys: str, decoder_keys: str) -> dict[str, tuple[str, ...]]:
    """``obs_keys``/``decoder_keys`` config overrides from the CLI strings and the Dactyl defaults."""
    out: dict[str, tuple[str, ...]] = {}
    keys = tuple(getattr(space, "spaces", {}))
    policy_keys: tuple[str, ...] = ()
    try:
        from gym_dactyl import POLICY_KEYS

        if "state" in keys and set(POLICY_KEYS) <= set(keys):
            policy_keys = tuple(POLICY_KEYS)
    except ImportError:
        pass
    if obs_keys:
        out["obs_keys"] = tuple(k.strip() for k in obs_keys.split(",") if k.strip())
    elif policy_keys:
        out["obs_keys"] = policy_keys
    if decoder_keys:
        out["decoder_keys"] = tuple(k.strip() for k in decoder_keys.split(",") if k.strip())
    elif policy_keys and not obs_keys:
        out["decoder_keys"] = (*policy_keys, "state")
    return out


def main() -> None:
    args = parse_args()
    resolve_event_reward(args.event_reward, args.env)  # ValueError before any work
    if args.diag_every < 0:
        raise ValueError(f"--diag-every must be >= 0 (0: no diagnostics), got {args.diag_every}")
    for name in ("max_minutes", "max_cpu_minutes"):
        value = getattr(args, name)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be a finite number >= 0 (0: no limit), got {value}")
    torch.set_num_threads(args.threads)
    logdir = Path(args.logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    t0 = time.time()
    env = gym.make(args.env, **env_kwargs)
    eval_env = gym.make(args.env, **env_kwargs)
    checkpoint = logdir / "checkpoint.pt"
    if args.resume and checkpoint.exists():
        agent = Dreamer.load(checkpoint, env=env, tensorboard_log=str(logdir / "tb"))
        print(f"resumed from {checkpoint} at step {agent.num_timesteps} ({len(agent.replay)} replayed steps)")
    else:
        if args.resume:
            print(f"no checkpoint at {checkpoint}; starting fresh")
        overrides: dict[str, object] = {"train_ratio": args.train_ratio} if args.train_ratio else {}
        if args.actor_grad:
            overrides["actor_grad"] = args.actor_grad
        overrides.update(default_keys(env.observation_space, args.obs_keys, args.decoder_keys))
        config = DreamerConfig.from_preset(args.preset, **overrides)
        agent = Dreamer(env, config=config, seed=args.seed, tensorboard_log=str(logdir / "tb"))
    print(f"env {args.env} kwargs {env_kwargs} preset {args.preset} config {agent.config}")
    remaining = max(0, args.total_timesteps - agent.num_timesteps)
    monitor = TrainingMonitor(args, logdir, eval_env, t0)
    signal.signal(signal.SIGTERM, monitor.request_stop)
    signal.signal(signal.SIGINT, monitor.request_stop)
    agent.learn(
        remaining,
        callback=monitor,
        progress_bar=args.progress_bar,
        reset_num_timesteps=agent.num_timesteps == 0,
    )
    agent.save(checkpoint, include_replay=True)
    final = evaluate(agent, eval_env, 10, seed=20_000)
    _append_csv(
        logdir / "final.csv",
        ["timesteps", "updates", "wall_s", "eval_10_episodes_mean_return", "cpu_s"],
        [
            agent.num_timesteps,
            agent.num_updates,
            f"{time.time() - t0:.1f}",
            f"{final:.3f}",
            f"{time.process_time():.1f}",
        ],
    )
    plot_curve(logdir, f"Dreamer ({args.preset}) on {args.env}")
    print(
        f"done: {agent.num_timesteps} env steps, {agent.num_updates} updates, {time.time() - t0:.0f}s wall, "
        f"final deterministic return over 10 episodes {final:.1f}"
    )


if __name__ == "__main__":
    main()
