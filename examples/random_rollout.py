"""Roll out a random policy in Dactyl-v0, write a video and print episode statistics.

    python examples/random_rollout.py --episodes 3 --video runs/random.mp4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np

import gym_dactyl  # noqa: F401  (registers Dactyl-v0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=3, help="episodes to roll out")
    parser.add_argument("--goal", choices=("parallel", "z", "xyz"), default="parallel")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--video", type=Path, default=Path("runs/random_rollout.mp4"), help="mp4 of the first episode")
    parser.add_argument("--size", type=int, default=320, help="video frame size in pixels")
    args = parser.parse_args()
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")

    env = gym.make("Dactyl-v0", goal=args.goal, render_mode="rgb_array", width=args.size, height=args.size)
    env.action_space.seed(args.seed)
    args.video.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    print(f"{'episode':>7} {'steps':>6} {'return':>8} {'successes':>9} {'end':>10} {'final error (rad)':>17}")
    for ep in range(args.episodes):
        obs, info = env.reset(seed=args.seed + ep)
        ret, steps, done = 0.0, 0, False
        while not done:
            if ep == 0:
                frames.append(env.render())
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            ret += reward
            steps += 1
            done = terminated or truncated
        end = "dropped" if info["dropped"] else "timeout" if truncated else "max succ."
        print(f"{ep:>7} {steps:>6} {ret:>8.2f} {info['consecutive_successes']:>9} {end:>10} "
              f"{info['rotation_error']:>17.3f}")
    fps = env.metadata["render_fps"]
    imageio.mimwrite(args.video, np.asarray(frames), fps=fps, macro_block_size=1)
    print(f"video of episode 0 ({len(frames)} frames at {fps} fps): {args.video}")
    env.close()


if __name__ == "__main__":
    main()
