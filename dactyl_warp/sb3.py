"""Stable-Baselines3 ``VecEnv`` adapter of :class:`~dactyl_warp.vector_env.DactylWarpVectorEnv` (numpy path)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn

from dactyl_warp.vector_env import DactylWarpVectorEnv

__all__ = ["DactylWarpSB3VecEnv"]


class DactylWarpSB3VecEnv(VecEnv):
    """SB3 view of a batched Dactyl env: numpy observations, ``dones = terminated | truncated``.

    Follows SB3's conventions: finished worlds are reset automatically (the batched env's ``SAME_STEP`` mode),
    ``infos[i]["terminal_observation"]`` holds the last observation of an ended episode and
    ``infos[i]["TimeLimit.truncated"]`` is True when it was truncated, not terminated, and ``infos[i]["adr_result"]``
    (with ``adr``) is the result of a world's ended boundary episode, as :class:`examples.ppo.callbacks.ADRCallback`
    and :meth:`wrappers.ADRState.record_infos` read it. Works with
    ``VecNormalize``, ``VecMonitor`` and sb3-contrib's ``RecurrentPPO`` (``MultiInputLstmPolicy``).

    Args:
        venv: the batched env (its ``array_type`` may be ``"torch"`` or ``"numpy"``).
    """

    def __init__(self, venv: DactylWarpVectorEnv) -> None:
        if not isinstance(venv, DactylWarpVectorEnv):
            raise ValueError(f"venv must be a DactylWarpVectorEnv, got {type(venv).__name__}")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None

    @staticmethod
    def _np(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: DactylWarpSB3VecEnv._np(v) for k, v in x.items()}
        return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)

    def reset(self) -> VecEnvObs:
        obs, _ = self.venv.reset(seed=self._seed)
        self._seed = None
        return self._np(obs)

    def seed(self, seed: int | None = None) -> Sequence[None | int]:
        self._seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, reward, terminated, truncated, info = self.venv.step(self._actions)
        obs, reward = self._np(obs), self._np(reward).astype(np.float32)
        terminated, truncated = self._np(terminated), self._np(truncated)
        info = self._np(info)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = []
        scalar_keys = ("is_success", "consecutive_successes", "rotation_error", "dropped")
        for i in range(self.num_envs):
            item: dict[str, Any] = {}
            src = info["final_info"] if dones[i] else info
            for k in scalar_keys:
                item[k] = src[k][i].item()
            if dones[i] and "adr_result" in info and info["_adr_result"][i]:  # for ADRState.record_infos
                item["adr_result"] = {k: v[i].item() if hasattr(v[i], "item") else v[i]
                                      for k, v in info["adr_result"].items()}  # fmt: skip
            if dones[i]:
                item["terminal_observation"] = {k: v[i] for k, v in info["final_obs"].items()}
                item["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            infos.append(item)
        return obs, reward, dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.venv, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        """Call the batched env's method once (it acts on every world, e.g. ``set_adr_ranges``); a result per index."""
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs
