"""A pickle-free export of a trained RLlib policy, and the policy that runs it one observation at a time.

RLlib's own checkpoints (``algorithm/``, what ``--resume`` restores) are pickles; loading one runs arbitrary code,
so evaluation never reads them. Next to each checkpoint ``train_rllib.py`` writes ``policy.pt`` (the module's
``state_dict``, loaded with ``torch.load(weights_only=True)``), ``normalization.json`` (the observation filter's
running mean and standard deviation, and its clip) and ``meta.json`` (the module's ``model_config`` among the
arguments). :class:`RLlibPolicy` rebuilds the module from these and has ``reset()`` / ``act(obs)``, so
``ppo.rollout.run_episode`` (and every condition of ``evaluate.py``) runs it like an SB3 checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

__all__ = ["RLlibPolicy", "export_policy", "filter_stats"]

#: ``ray.rllib.utils.filter.MeanStdFilter``'s epsilon on the standard deviation.
SMALL_NUMBER = 1e-6


def filter_stats(algo: Any) -> dict[str, Any]:
    """Mean, std and clip of the driver's ``MeanStdFilter`` connector (the merged statistics of all env runners)."""
    from ray.rllib.connectors.env_to_module import MeanStdFilter

    pipeline = algo.env_runner._env_to_module
    pieces = [c for c in pipeline.connectors if isinstance(c, MeanStdFilter)]
    if len(pieces) != 1:
        raise ValueError(f"expected one MeanStdFilter in the env-to-module pipeline, got {pipeline.connectors}")
    state = pieces[0].get_state()[None]
    filt = pieces[0]._filters[None]  # RLlib keeps the running statistics here (one per agent; None: single agent)
    return {"mean": np.asarray(filt.running_stats.mean, dtype=float).tolist(),
            "std": np.asarray(filt.running_stats.std, dtype=float).tolist(),
            "clip": state["clip_by_value"], "count": int(filt.running_stats.num_pushes)}  # fmt: skip


def export_policy(algo: Any, directory: Path) -> None:
    """Write ``policy.pt`` and ``normalization.json`` of ``algo``'s current policy into ``directory``."""
    module = algo.get_module()
    torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, Path(directory) / "policy.pt")
    (Path(directory) / "normalization.json").write_text(json.dumps(filter_stats(algo)))


class RLlibPolicy:
    """A trained :class:`dactyl_rllib.module.AsymmetricLSTMModule` stepped one observation at a time.

    Args:
        checkpoint: a checkpoint directory of ``train_rllib.py`` (``policy.pt``, ``normalization.json``,
            ``meta.json``).
        observation_space: the (Dict) observation space of the env it acts in.
        action_space: that env's action space (must be the training one).
        deterministic: the distribution's mode (Gaussian mean; per-actuator most likely bin) instead of a sample.

    Raises:
        FileNotFoundError: a file of the export is missing (naming it).
        ValueError: the weights do not fit the module built for these spaces.
    """

    def __init__(self, checkpoint: Path, observation_space: gym.spaces.Dict, action_space: gym.Space,
                 deterministic: bool = True) -> None:  # fmt: skip
        from dactyl_rllib.module import AsymmetricLSTMModule, obs_layout

        checkpoint = Path(checkpoint)
        for name in ("policy.pt", "normalization.json", "meta.json"):
            if not (checkpoint / name).is_file():
                raise FileNotFoundError(f"{checkpoint / name}: missing (a checkpoint of examples/train_rllib.py?)")
        meta = json.loads((checkpoint / "meta.json").read_text())
        norm = json.loads((checkpoint / "normalization.json").read_text())
        self.observation_space = observation_space
        flat = gym.spaces.flatten_space(observation_space)
        cfg = {**meta["model_config"], "obs_layout": obs_layout(observation_space)}
        self.module = AsymmetricLSTMModule(observation_space=flat, action_space=action_space, model_config=cfg)
        weights = torch.load(checkpoint / "policy.pt", weights_only=True)
        try:
            self.module.load_state_dict(weights)
        except RuntimeError as err:
            raise ValueError(
                f"{checkpoint / 'policy.pt'}: weights do not fit the module for {action_space}: {err}"
            ) from err
        self.module.eval()
        self.mean, self.std = np.asarray(norm["mean"]), np.asarray(norm["std"])
        if self.mean.shape != flat.shape:
            raise ValueError(f"{checkpoint / 'normalization.json'}: statistics of shape {self.mean.shape}, the "
                             f"observation has {flat.shape}")  # fmt: skip
        self.clip = norm["clip"]
        self.action_space = action_space
        self.deterministic = deterministic
        self.reset()

    def reset(self) -> None:
        """Start a new episode: zero LSTM states."""
        self.state = {k: torch.as_tensor(v)[None] for k, v in self.module.get_initial_state().items()}

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Flatten and normalise ``obs`` as in training, step the LSTMs, return the action."""
        from ray.rllib.core.columns import Columns

        x = (gym.spaces.flatten(self.observation_space, obs) - self.mean) / (self.std + SMALL_NUMBER)
        if self.clip:
            x = np.clip(x, -self.clip, self.clip)
        out = self.module.forward_inference({Columns.OBS: torch.as_tensor(x, dtype=torch.float32)[None, None],
                                             Columns.STATE_IN: self.state})  # fmt: skip
        self.state = out[Columns.STATE_OUT]
        dist = self.module.action_dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS][0, 0])
        if self.deterministic:
            dist = dist.to_deterministic()
        action = dist.sample().numpy()
        if isinstance(self.action_space, gym.spaces.Box):
            return np.clip(action, self.action_space.low, self.action_space.high).astype(self.action_space.dtype)
        return action.astype(self.action_space.dtype)
