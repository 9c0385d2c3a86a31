"""Which of these are real vs model? Roll the real env and the world model open-loop from the same start.

    python examples/dream.py --checkpoint runs/pendulum_small/checkpoint.pt --env Pendulum-v1 --out docs

The real env runs the agent's policy for ``--context + --horizon`` steps. The world model filters the first
``--context`` real observations (posterior), then imagines the rest open-loop with the *same* actions.
Writes ``dream.mp4`` (real | model side by side; for vector observations the right panel plots predicted vs
real observation curves next to the real render), ``dream_reward.png`` (predicted vs real reward) and
``dream_frames.png`` (--strip frames of the video, evenly spaced, with their step numbers) and
``dream_rewards.json`` (the real and predicted reward per step and the open-loop reward MAE: the figures'
raw data).
Envs outside gymnasium's registry can be named as ``module:EnvId``, e.g. ``world_models.envs:PixelReach-v0``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import torch

from world_models import Dreamer
from world_models.distributions import symexp

try:  # registers Dactyl-v0 when the environment package is available
    import gym_dactyl  # noqa: F401
except ImportError:
    pass
from ppo.config import build_parser  # noqa: E402  (examples/ is on sys.path: the dataclass -> argparse bridge)


@dataclass
class Args:
    checkpoint: str = "runs/dreamer/checkpoint.pt"
    """Checkpoint written by examples/train_dreamer.py."""
    env: str = "Pendulum-v1"
    """Gymnasium environment id (must match the checkpoint's spaces)."""
    seed: int = 0
    """Seed of the real episode."""
    context: int = 5
    """Real steps the model observes before dreaming open-loop."""
    horizon: int = 60
    """Open-loop steps."""
    out: str = "runs/dream"
    """Output directory."""
    fps: int = 15
    """Video frame rate."""
    strip: int = 8
    """Frames in dream_frames.png."""
    threads: int = 1
    """torch intra-op threads."""


def parse_args() -> Args:
    return Args(**vars(build_parser(Args, __doc__).parse_args()))


def render(env: gym.Env) -> np.ndarray:
    """The env's rgb_array frame, or a grey placeholder when its renderer is missing (e.g. no pygame)."""
    try:
        frame = env.render()
    except gym.error.DependencyNotInstalled:
        frame = None
    return np.full((400, 400, 3), 200, np.uint8) if frame is None else np.asarray(frame)


def rollout_real(agent: Dreamer, env: gym.Env, steps: int, seed: int) -> dict[str, list]:
    """Run the policy; returns observations o_0..o_n, actions a_0..a_{n-1}, rewards r_1..r_n, frames."""
    obs, _ = env.reset(seed=seed)
    data: dict[str, list] = {"obs": [obs], "actions": [], "rewards": [0.0], "frames": [render(env)]}
    state = None
    for _ in range(steps):
        action, state = agent.predict(obs, state=state, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        data["obs"].append(obs)
        data["actions"].append(action)
        data["rewards"].append(float(reward))
        data["frames"].append(render(env))
        if terminated or truncated:
            break
    return data


@torch.no_grad()
def rollout_model(agent: Dreamer, real: dict[str, list], context: int) -> dict[str, np.ndarray]:
    """Filter ``context`` real steps, then predict the rest open-loop with the real actions."""
    wm, spec = agent.world_model, agent.obs_spec
    n = len(real["obs"])
    obs = [spec.to_dict(o, batched=False) for o in real["obs"][:context]]
    obs_t = {k: torch.as_tensor(np.stack([o[k][0] for o in obs]))[None].to(agent.device) for k in spec.keys}
    actions = torch.as_tensor(np.stack([agent.action_spec.from_env(a) for a in real["actions"]]))
    actions = actions[None].float().to(agent.device)
    prev = torch.cat([torch.zeros_like(actions[:, :1]), actions[:, : context - 1]], 1)
    is_first = torch.zeros(1, context, dtype=torch.bool, device=agent.device)
    is_first[:, 0] = True
    post, _, _ = wm.rssm.observe(wm.encoder(obs_t), prev, is_first)
    feats = [wm.rssm.feat(post)[0]]
    state = {k: v[:, -1] for k, v in post.items()}
    for t in range(context, n):
        state = wm.rssm.img_step(state, actions[:, t - 1], sample=False)
        feats.append(wm.rssm.feat(state))
    feat = torch.cat(feats, 0)
    decoded = wm.decoder(feat)
    dec = agent.dec_spec  # the reconstructed keys (config.decoder_keys)
    out = {k: symexp(v).cpu().numpy() for k, v in decoded.items() if k in dec.vectors}
    out.update(
        {k: ((v + 0.5).clamp(0, 1) * 255).to(torch.uint8).cpu().numpy() for k, v in decoded.items() if k in dec.images}
    )
    out["reward"] = wm.reward(feat).cpu().numpy()
    return out


def _fig_to_array(fig) -> np.ndarray:  # noqa: ANN001
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def make_frames(agent: Dreamer, real: dict[str, list], pred: dict[str, np.ndarray], context: int) -> list:
    import matplotlib.pyplot as plt

    spec = agent.dec_spec  # compare the keys the world model reconstructs
    n = len(real["obs"])
    real_dicts = [spec.to_dict(o, batched=False) for o in real["obs"]]
    frames = []
    if spec.images:  # decoded images: real | model for every image key
        for t in range(n):
            rows = [np.concatenate([real_dicts[t][k][0], pred[k][t]], 1) for k in spec.images]
            frames.append(np.concatenate(rows, 0))
        return frames
    vec = np.concatenate([np.stack([d[k][0] for d in real_dicts]) for k in spec.vectors], 1)
    vec_pred = np.concatenate([pred[k] for k in spec.vectors], 1)
    dims = min(vec.shape[1], 6)
    height = real["frames"][0].shape[0]
    fig, axes = plt.subplots(dims + 1, 1, figsize=(5, height / 100), dpi=100, sharex=True)
    for t in range(n):
        for i, ax in enumerate(axes):
            ax.clear()
            real_y, pred_y = (vec[:, i], vec_pred[:, i]) if i < dims else (np.array(real["rewards"]), pred["reward"])
            ax.plot(range(t + 1), real_y[: t + 1], color="k", lw=1, label="real")
            ax.plot(range(t + 1), pred_y[: t + 1], color="tab:red", lw=1, ls="--", label="model")
            ax.axvline(context - 0.5, color="tab:blue", lw=0.8)
            ax.set_xlim(0, n)
            lo, hi = min(real_y.min(), pred_y.min()), max(real_y.max(), pred_y.max())
            ax.set_ylim(lo - 0.1 * (hi - lo + 1e-6), hi + 0.1 * (hi - lo + 1e-6))
            ax.set_ylabel("reward" if i == dims else f"obs[{i}]", fontsize=7)
            ax.tick_params(labelsize=6)
        axes[0].legend(fontsize=6, loc="upper right")
        axes[0].set_title("left: real env | right: real (black) vs model (red); blue: dream starts", fontsize=7)
        panel = _fig_to_array(fig)
        frame = real["frames"][t]
        panel = panel[: frame.shape[0]]
        frames.append(np.concatenate([frame, panel], 1))
    plt.close(fig)
    return frames


def _pad16(frame: np.ndarray) -> np.ndarray:
    """Pad with white to multiples of 16 pixels (what video codecs want)."""
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, -h % 16), (0, -w % 16), (0, 0)), constant_values=255)


def save_strip(frames: list[np.ndarray], context: int, count: int, path: Path) -> None:
    """``count`` evenly spaced frames side by side, titled with their step (``dream`` once open-loop)."""
    import matplotlib.pyplot as plt

    if count < 1:
        raise ValueError(f"--strip must be >= 1 frame, got {count}")
    idx = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int))
    h, w = frames[0].shape[:2]
    fig, axes = plt.subplots(1, len(idx), figsize=(1.9 * len(idx), 1.9 * h / w + 0.4), squeeze=False)
    for ax, t in zip(axes[0], idx, strict=True):
        ax.imshow(frames[t], interpolation="nearest")
        ax.set_title(f"t={t}" + (" (dream)" if t >= context else ""), fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reward(real: dict[str, list], pred: dict[str, np.ndarray], context: int, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(real["rewards"], color="k", label="real reward")
    ax.plot(pred["reward"], color="tab:red", ls="--", label="model reward (open loop after context)")
    ax.axvspan(0, context - 0.5, color="tab:blue", alpha=0.1, label="context (posterior)")
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """Write an mp4 through imageio-ffmpeg; without it, an animated GIF at ``path.with_suffix(".gif")``.

    Returns:
        The file written.
    """
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        gif = path.with_suffix(".gif")
        imageio.mimsave(gif, frames, duration=1000.0 / fps, loop=0)  # pillow: milliseconds per frame
        print(f"imageio-ffmpeg is not installed (pip install imageio-ffmpeg for mp4): wrote {gif} instead")
        return gif
    imageio.mimsave(path, frames, fps=fps)
    return path


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    args = parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = gym.make(args.env, render_mode="rgb_array")
    agent = Dreamer.load(args.checkpoint, env=env, load_replay=False)
    real = rollout_real(agent, env, args.context + args.horizon, args.seed)
    pred = rollout_model(agent, real, args.context)
    frames = make_frames(agent, real, pred, args.context)
    video = write_video(out / "dream.mp4", [_pad16(f) for f in frames], args.fps)
    plot_reward(real, pred, args.context, out / "dream_reward.png")
    save_strip(frames, args.context, args.strip, out / "dream_frames.png")
    err = np.abs(np.array(real["rewards"][args.context :]) - pred["reward"][args.context :])
    report = {
        "args": dataclasses.asdict(args),
        "num_timesteps": agent.num_timesteps,
        "real_reward": [float(r) for r in real["rewards"]],
        "model_reward": [float(r) for r in pred["reward"]],
        "open_loop_steps": len(err),
        "open_loop_reward_mae": float(err.mean()),
    }
    (out / "dream_rewards.json").write_text(json.dumps(report, indent=2))
    print(
        f"wrote {video} ({len(frames)} frames) and {out / 'dream_reward.png'}; "
        f"open-loop reward MAE {err.mean():.3f} over {len(err)} steps"
    )


if __name__ == "__main__":
    main()
