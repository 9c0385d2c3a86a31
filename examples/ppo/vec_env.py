"""A SubprocVecEnv that steps several envs per worker process and returns observations through shared memory.

SB3's ``SubprocVecEnv`` runs one process per env: with 4 envs on 2 cores every vector step is 4 pipe round trips and
5 processes competing for 2 cores. :class:`MultiEnvSubprocVecEnv` splits the envs into ``n_workers`` contiguous
groups (env ``i`` stays env ``i``: same seeds, same order), each stepped in a loop by one worker; per vector step
the actions go through a shared-memory array too (Box / MultiDiscrete / MultiBinary actions; others are pickled into
the message), a worker receives one small message, reads its actions, writes its observations into a shared-memory
array (one per observation key) and sends back one message with the rewards, dones and infos. Everything else is
SB3's ``SubprocVecEnv`` contract, worker code included (auto-reset with ``info["terminal_observation"]`` and
``info["TimeLimit.truncated"]``, ``reset_infos``, seeds and options used once, ``env_method`` / ``get_attr`` /
``set_attr`` / ``env_is_wrapped`` by env index), so swapping one for the other changes no number in training
(``tests/examples/test_vec_env_equivalence.py``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from multiprocessing.sharedctypes import RawArray
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.env_util import is_wrapped
from stable_baselines3.common.vec_env.base_vec_env import (
    CloudpickleWrapper,
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)
from stable_baselines3.common.vec_env.patch_gym import _patch_env

__all__ = ["MultiEnvSubprocVecEnv", "default_workers"]

_ACTIONS = "__actions__"  # key of the shared action array among the buffers sent to a worker


def default_workers(n_envs: int) -> int:
    """One worker per core the process may use (at most one per env)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(n_envs, cores))


def _buffer_layout(space: spaces.Space) -> dict[str | None, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each observation array: a Dict space's keys, or ``None`` for a Box."""
    subspaces = space.spaces if isinstance(space, spaces.Dict) else {None: space}
    layout = {}
    for key, sub in subspaces.items():
        if not isinstance(sub, spaces.Box):
            raise ValueError(f"MultiEnvSubprocVecEnv needs Box observations (or a Dict of them), got {key}: {sub}")
        layout[key] = (tuple(sub.shape), np.dtype(sub.dtype))
    return layout


def _views(
    buffers: dict[str | None, Any], layout: dict[str | None, tuple[tuple[int, ...], np.dtype]], n_envs: int
) -> dict[str | None, np.ndarray]:
    """numpy views ``(n_envs, *shape)`` on the shared buffers."""
    out = {}
    for key, (shape, dtype) in layout.items():
        out[key] = np.frombuffer(buffers[key], dtype=dtype).reshape((n_envs, *shape))
    return out


def _action_layout(space: spaces.Space) -> tuple[tuple[int, ...], np.dtype] | None:
    """Shape and dtype of one env's action when actions can travel through shared memory (array spaces)."""
    if isinstance(space, spaces.Box | spaces.MultiDiscrete | spaces.MultiBinary):
        return tuple(space.shape), np.dtype(space.dtype)
    return None


def _write(views: dict[str | None, np.ndarray], index: int, obs: Any) -> None:
    if None in views:
        views[None][index] = obs
    else:
        for key, view in views.items():
            view[index] = obs[key]


class _EnvGroup:
    """Envs ``first, first + 1, ...`` of the vector env, stepped in a loop; SB3's ``_worker`` commands per env.

    Used by each worker process and, for the envs stepped by the training process, by the vector env itself: the
    same code either way.
    """

    def __init__(
        self, envs: list[gym.Env], views: dict[str | None, np.ndarray], first: int, actions: np.ndarray | None = None
    ) -> None:
        self.envs = envs
        self.views = views
        self.first = first
        #: the vector env's shared action array ``(n_envs, *action shape)``, read when ``step`` comes without actions
        self.actions = actions
        self.reset_infos: list[dict[str, Any]] = [{} for _ in envs]

    def step(self, actions: Sequence[Any]) -> tuple[list[Any], list[bool], list[dict[str, Any]], list[dict[str, Any]]]:
        """Step every env (auto-reset, ``terminal_observation``, ``TimeLimit.truncated``), observations to views."""
        rewards, dones, infos = [], [], []
        for j, env in enumerate(self.envs):
            observation, reward, terminated, truncated, info = env.step(actions[j])
            done = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            if done:
                info["terminal_observation"] = observation
                observation, self.reset_infos[j] = env.reset()
            _write(self.views, self.first + j, observation)
            rewards.append(reward)
            dones.append(done)
            infos.append(info)
        return rewards, dones, infos, self.reset_infos

    def handle(self, cmd: str, data: Any) -> Any:  # noqa: C901  (one branch per command, as SB3's worker)
        """The reply to one of SB3's worker commands (``close``: closes the envs, replies None)."""
        envs = self.envs
        if cmd == "step":
            if data is None:  # the actions are in shared memory: a copy of each row, as unpickling would give
                data = [self.actions[self.first + j].copy() for j in range(len(envs))]  # type: ignore[index]
            return self.step(data)
        if cmd == "reset":
            for j, (env, (seed, options)) in enumerate(zip(envs, data, strict=True)):
                maybe_options = {"options": options} if options else {}
                observation, self.reset_infos[j] = env.reset(seed=seed, **maybe_options)
                _write(self.views, self.first + j, observation)
            return list(self.reset_infos)
        if cmd == "render":
            return [envs[j].render() for j in data]
        if cmd == "close":
            for env in envs:
                env.close()
            return None
        if cmd == "get_spaces":
            return envs[0].observation_space, envs[0].action_space
        if cmd == "env_method":
            name, args, kwargs, local = data
            return [envs[j].get_wrapper_attr(name)(*args, **kwargs) for j in local]
        if cmd == "get_attr":
            name, local = data
            return [envs[j].get_wrapper_attr(name) for j in local]
        if cmd == "has_attr":
            out = True
            for env in envs:
                try:
                    env.get_wrapper_attr(data)
                except AttributeError:
                    out = False
            return out
        if cmd == "set_attr":
            name, value, local = data
            for j in local:
                setattr(envs[j], name, value)
            return None
        if cmd == "is_wrapped":
            wrapper_class, local = data
            return [is_wrapped(envs[j], wrapper_class) for j in local]
        raise NotImplementedError(f"`{cmd}` is not implemented in the worker")


def _worker(
    remote: Any,
    parent_remote: Any,
    env_fns: CloudpickleWrapper,
    first: int,
    buffers: dict[str | None, Any],
    layout: dict[str | None, tuple[tuple[int, ...], np.dtype]],
    n_envs: int,
) -> None:
    """Step the envs ``first, first + 1, ...`` of the vector env; SB3's ``_worker`` per env.

    ``buffers`` and ``layout`` hold the observation arrays and, under the key ``"__actions__"`` when actions travel
    through shared memory, the action array.
    """
    parent_remote.close()
    buffers, layout = dict(buffers), dict(layout)
    actions = None
    if _ACTIONS in buffers:
        actions = _views({None: buffers.pop(_ACTIONS)}, {None: layout.pop(_ACTIONS)}, n_envs)[None]
    group = _EnvGroup([_patch_env(fn()) for fn in env_fns.var], _views(buffers, layout, n_envs), first, actions)
    while True:
        try:
            cmd, data = remote.recv()
            reply = group.handle(cmd, data)
            if cmd == "close":
                remote.close()
                break
            remote.send(reply)
        except (EOFError, KeyboardInterrupt):
            break


class MultiEnvSubprocVecEnv(VecEnv):
    """SB3 ``VecEnv``: ``len(env_fns)`` envs in ``n_workers`` processes, observations through shared memory.

    With ``in_process`` = k > 0 the first k envs are stepped by the training process itself, inside ``step_wait``,
    while the workers step the others: no IPC for them, and one process fewer competing for the cores (on 2 cores:
    one worker and the training process, each stepping half the envs).

    Args:
        env_fns: one picklable thunk per env (as for ``SubprocVecEnv``); env ``i`` is built by ``env_fns[i]``.
        n_workers: worker processes for the envs not stepped in-process (default: one per usable core, at most one
            per env, minus one when ``in_process`` > 0, at least one while envs are left); those envs are split
            into contiguous groups of sizes differing by at most one.
        start_method: multiprocessing start method (default ``forkserver`` where available, else ``spawn``, as
            SB3).
        in_process: the number of envs (the first ones) stepped by this process (default 0).
        shared_actions: send array actions (Box, MultiDiscrete, MultiBinary) to the workers through shared memory
            (default); ``False`` pickles them into the step message, as before (``benchmarks/vec_env_overhead.py``
            compares the two).

    Raises:
        ValueError: no env, ``in_process`` outside ``[0, len(env_fns)]``, ``n_workers`` outside
            ``[1, len(env_fns) - in_process]`` (``0`` exactly when every env is in-process), or observations that are
            not Box / Dict of Box.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        n_workers: int | None = None,
        start_method: str | None = None,
        in_process: int = 0,
        shared_actions: bool = True,
    ) -> None:
        n_envs = len(env_fns)
        if n_envs < 1:
            raise ValueError("env_fns must hold at least one env thunk, got none")
        if not 0 <= in_process <= n_envs:
            raise ValueError(f"in_process must be in [0, {n_envs}] (the number of envs), got {in_process}")
        remote_envs = n_envs - in_process
        if n_workers is None:
            n_workers = min(remote_envs, max(1, default_workers(n_envs) - (in_process > 0)))
        low = 1 if remote_envs else 0
        if not low <= n_workers <= remote_envs:
            raise ValueError(f"n_workers must be in [{low}, {remote_envs}] (the envs not stepped in-process), "
                             f"got {n_workers}")  # fmt: skip
        self.waiting = False
        self.closed = False
        bounds = in_process + np.linspace(0, remote_envs, n_workers + 1).round().astype(int)
        worker_groups = [range(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        #: env index ranges, the in-process group (if any) first
        self.groups: list[range] = ([range(0, in_process)] if in_process else []) + worker_groups
        self._worker_of = np.concatenate([np.full(len(g), w) for w, g in enumerate(self.groups)])

        # The observation space comes from a probe env in this process: the shared buffers are sized before the
        # workers start.
        probe = env_fns[0]()
        observation_space, action_space = probe.observation_space, probe.action_space
        probe.close()
        self._layout = _buffer_layout(observation_space)
        ctx = mp.get_context(start_method or ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"))
        self._buffers = {
            key: RawArray("b", int(np.prod((n_envs, *shape))) * dtype.itemsize)
            for key, (shape, dtype) in self._layout.items()
        }
        self._obs = _views(self._buffers, self._layout, n_envs)
        # Actions of array spaces go to the workers through shared memory: the vector env writes them before it
        # sends "step" with no data, the workers read (copy) their rows; it writes again only after every reply.
        action_layout = _action_layout(action_space) if worker_groups and shared_actions else None
        self._action_view: np.ndarray | None = None
        worker_buffers, worker_layout = dict(self._buffers), dict(self._layout)
        if action_layout is not None:
            shape, dtype = action_layout
            worker_buffers[_ACTIONS] = RawArray("b", int(np.prod((n_envs, *shape))) * dtype.itemsize)
            worker_layout[_ACTIONS] = action_layout
            self._action_view = _views({None: worker_buffers[_ACTIONS]}, {None: action_layout}, n_envs)[None]

        self.remotes: list[Any] = []
        self.processes = []
        for group in worker_groups:
            remote, work_remote = ctx.Pipe()
            fns = CloudpickleWrapper([env_fns[i] for i in group])
            args = (work_remote, remote, fns, group.start, worker_buffers, worker_layout, n_envs)
            process = ctx.Process(target=_worker, args=args, daemon=True)  # type: ignore[attr-defined]
            process.start()
            self.processes.append(process)
            work_remote.close()
            self.remotes.append(remote)
        self._local = (_EnvGroup([_patch_env(env_fns[i]()) for i in range(in_process)], self._obs, 0)
                       if in_process else None)  # fmt: skip
        #: per group: None for the in-process group, else its worker's pipe
        self._targets: list[Any] = ([None] if in_process else []) + self.remotes
        self._actions: np.ndarray | None = None
        super().__init__(n_envs, observation_space, action_space)

    @property
    def n_workers(self) -> int:
        """Number of worker processes."""
        return len(self.processes)

    @property
    def in_process(self) -> int:
        """Number of envs stepped by this process."""
        return 0 if self._local is None else len(self._local.envs)

    def _copy_obs(self) -> VecEnvObs:
        if None in self._obs:
            return self._obs[None].copy()
        return {key: view.copy() for key, view in self._obs.items()}

    def _send(self, group: int, cmd: str, data: Any) -> None:
        if self._targets[group] is not None:
            self._targets[group].send((cmd, data))

    def _recv(self, group: int, cmd: str, data: Any) -> Any:
        """The reply of ``group`` to ``(cmd, data)``: from its worker (sent before), or computed here."""
        target = self._targets[group]
        return self._local.handle(cmd, data) if target is None else target.recv()  # type: ignore[union-attr]

    def step_async(self, actions: np.ndarray) -> None:
        view = self._action_view
        shared = (view is not None and isinstance(actions, np.ndarray) and actions.shape == view.shape
                  and actions.dtype == view.dtype)  # fmt: skip
        if shared:
            view[:] = actions  # type: ignore[index]
        for remote, group in zip(self.remotes, self.groups[len(self.groups) - len(self.remotes) :], strict=True):
            remote.send(("step", None if shared else [actions[i] for i in group]))
        self._actions = actions
        self.waiting = True

    def step_wait(self) -> VecEnvStepReturn:
        results = []
        if self._local is not None:  # stepped here while the workers step theirs
            results.append(self._local.step([self._actions[i] for i in self.groups[0]]))  # type: ignore[index]
        results += [remote.recv() for remote in self.remotes]
        self.waiting = False
        self._actions = None
        rewards = [r for res in results for r in res[0]]
        dones = [d for res in results for d in res[1]]
        infos = tuple(i for res in results for i in res[2])
        self.reset_infos = [i for res in results for i in res[3]]
        return self._copy_obs(), np.stack(rewards), np.stack(dones), infos  # type: ignore[return-value]

    def reset(self) -> VecEnvObs:
        data = [[(self._seeds[i], self._options[i]) for i in group] for group in self.groups]
        for g in range(len(self.groups)):
            self._send(g, "reset", data[g])
        self.reset_infos = [i for g in range(len(self.groups)) for i in self._recv(g, "reset", data[g])]
        self._reset_seeds()
        self._reset_options()
        return self._copy_obs()

    def close(self) -> None:
        if self.closed:
            return
        if self.waiting:
            for remote in self.remotes:
                remote.recv()
        for remote in self.remotes:
            remote.send(("close", None))
        if self._local is not None:
            self._local.handle("close", None)
        for process in self.processes:
            process.join()
        for remote in self.remotes:
            remote.close()
        self.closed = True

    def _by_worker(self, indices: VecEnvIndices) -> list[tuple[int, list[int]]]:
        """``(group, [local index, ...])`` for the envs of ``indices``, in the order of ``indices``' groups."""
        out: dict[int, list[int]] = {}
        for i in self._get_indices(indices):
            w = int(self._worker_of[i])
            out.setdefault(w, []).append(i - self.groups[w].start)
        return list(out.items())

    def _call(self, indices: VecEnvIndices, cmd: str, *data: Any) -> list[Any]:
        """Send ``cmd`` to the groups of ``indices``; the results in the order of ``indices``."""
        targets = self._by_worker(indices)
        for w, local in targets:
            self._send(w, cmd, (*data, local))
        by_env = {}
        for w, local in targets:
            for j, value in zip(local, self._recv(w, cmd, (*data, local)), strict=True):
                by_env[self.groups[w].start + j] = value
        return [by_env[i] for i in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            return [None] * self.num_envs
        data = [list(range(len(group))) for group in self.groups]
        for g in range(len(self.groups)):
            self._send(g, "render", data[g])
        return [image for g in range(len(self.groups)) for image in self._recv(g, "render", data[g])]

    def has_attr(self, attr_name: str) -> bool:
        for g in range(len(self.groups)):
            self._send(g, "has_attr", attr_name)
        return all([self._recv(g, "has_attr", attr_name) for g in range(len(self.groups))])

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._call(indices, "get_attr", attr_name)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        targets = self._by_worker(indices)
        for w, local in targets:
            self._send(w, "set_attr", (attr_name, value, local))
        for w, local in targets:
            self._recv(w, "set_attr", (attr_name, value, local))

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        return self._call(indices, "env_method", method_name, method_args, method_kwargs)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return self._call(indices, "is_wrapped", wrapper_class)
