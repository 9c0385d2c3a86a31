"""VecNormalize whose per-key observation statistics are updated and applied in one numpy pass over all keys.

SB3's ``VecNormalize`` keeps one ``RunningMeanStd`` per observation key and, every vector step, updates and applies
each separately: ~30 small numpy calls for Dactyl's five keys. :class:`FusedVecNormalize` concatenates the keys,
runs ``RunningMeanStd``'s own update and SB3's normalisation formula once, and splits the results back into the
per-key statistics, which stay the saved state (checkpoints are unchanged). Every operation is elementwise or a
reduction over the env axis, so each number is the one SB3 computes (``tests/examples/test_vec_env_equivalence.py``
compares the rollout buffers bitwise).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

__all__ = ["FusedVecNormalize"]


class FusedVecNormalize(VecNormalize):
    """``VecNormalize`` for Dict observations with the per-key work fused (same arguments, same numbers).

    Falls back to SB3's per-key code when the observations are not a dict, when some keys are not normalised, or
    when the keys' statistics have different counts (e.g. loaded from elsewhere).
    """

    def _fusable(self, obs: Any) -> bool:
        if not (self.norm_obs and isinstance(obs, dict) and isinstance(self.obs_rms, dict)):
            return False
        if list(self.obs_rms) != list(self.norm_obs_keys or []):
            return False
        counts = {float(rms.count) for rms in self.obs_rms.values()}
        return len(counts) == 1

    def _layout(self) -> list[tuple[str, int, int, tuple[int, ...]]]:
        """``(key, start, end, shape)`` of each key in the concatenation."""
        out, start = [], 0
        for key, rms in self.obs_rms.items():  # type: ignore[union-attr]
            size = int(np.prod(rms.mean.shape))
            out.append((key, start, start + size, tuple(rms.mean.shape)))
            start += size
        return out

    def _update_obs_rms(self, obs: dict[str, np.ndarray]) -> None:
        """``obs_rms[key].update(obs[key])`` for every key, as one ``RunningMeanStd.update``."""
        if not self._fusable(obs):
            for key in self.obs_rms:  # type: ignore[union-attr]
                self.obs_rms[key].update(obs[key])  # type: ignore[index]
            return
        layout = self._layout()
        n = next(iter(obs.values())).shape[0]
        joint = RunningMeanStd(shape=())
        joint.mean = np.concatenate([self.obs_rms[k].mean.reshape(-1) for k, *_ in layout])  # type: ignore[index]
        joint.var = np.concatenate([self.obs_rms[k].var.reshape(-1) for k, *_ in layout])  # type: ignore[index]
        joint.count = self.obs_rms[layout[0][0]].count  # type: ignore[index]
        joint.update(np.concatenate([obs[k].reshape(n, -1) for k, *_ in layout], axis=1))
        for key, a, b, shape in layout:
            rms = self.obs_rms[key]  # type: ignore[index]
            rms.mean, rms.var, rms.count = joint.mean[a:b].reshape(shape), joint.var[a:b].reshape(shape), joint.count

    def normalize_obs(self, obs: VecEnvObs) -> VecEnvObs:  # type: ignore[override]
        """SB3's ``normalize_obs`` (statistics not updated), all keys in one pass."""
        if not self._fusable(obs):
            return super().normalize_obs(obs)
        layout = self._layout()
        first = layout[0]
        batch_shape = obs[first[0]].shape[: obs[first[0]].ndim - len(first[3])]  # type: ignore[index]
        x = np.concatenate([obs[k].reshape((*batch_shape, -1)) for k, *_ in layout], axis=-1)  # type: ignore[index]
        mean = np.concatenate([self.obs_rms[k].mean.reshape(-1) for k, *_ in layout])  # type: ignore[index]
        var = np.concatenate([self.obs_rms[k].var.reshape(-1) for k, *_ in layout])  # type: ignore[index]
        normed = np.clip((x - mean) / np.sqrt(var + self.epsilon), -self.clip_obs, self.clip_obs).astype(np.float32)
        out = {key: value if key in self.obs_rms else deepcopy(value) for key, value in obs.items()}  # type: ignore[union-attr,operator]
        for key, a, b, shape in layout:
            out[key] = normed[..., a:b].reshape((*batch_shape, *shape))
        return type(obs)(out) if type(obs) is not dict else out  # type: ignore[call-arg]

    def step_wait(self) -> VecEnvStepReturn:
        """SB3's ``VecNormalize.step_wait`` with the fused observation update."""
        obs, rewards, dones, infos = self.venv.step_wait()
        self.old_obs = obs
        self.old_reward = rewards
        if self.training and self.norm_obs:
            if isinstance(obs, dict) and isinstance(self.obs_rms, dict):
                self._update_obs_rms(obs)
            else:
                self.obs_rms.update(obs)  # type: ignore[union-attr]
        obs = self.normalize_obs(obs)
        if self.training:
            self._update_reward(rewards)
        rewards = self.normalize_reward(rewards)
        for idx, done in enumerate(dones):
            if not done:
                continue
            if "terminal_observation" in infos[idx]:
                infos[idx]["terminal_observation"] = self.normalize_obs(infos[idx]["terminal_observation"])
        self.returns[dones] = 0
        return obs, rewards, dones, infos

    def reset(self) -> VecEnvObs:
        """SB3's ``VecNormalize.reset`` with the fused observation update."""
        obs = self.venv.reset()
        self.old_obs = obs
        self.returns = np.zeros(self.num_envs)
        if self.training and self.norm_obs:
            if isinstance(obs, dict) and isinstance(self.obs_rms, dict):
                self._update_obs_rms(obs)
            else:
                self.obs_rms.update(obs)  # type: ignore[union-attr]
        return self.normalize_obs(obs)
