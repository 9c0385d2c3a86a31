"""The Dreamer agent with a stable-baselines3-like API: ``learn``, ``predict``, ``save``, ``load``."""

from __future__ import annotations

import os
import pickle
import time
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from world_models.behavior import Behavior
from world_models.callbacks import CallbackAdapter
from world_models.config import DreamerConfig
from world_models.optim import LaProp
from world_models.replay import ReplayBuffer
from world_models.rssm import State
from world_models.spaces import ActionSpec, ObsSpec, describe_spaces
from world_models.world_model import WorldModel

__all__ = ["Dreamer", "RecurrentState"]

FORMAT = "world_models.Dreamer/2"
"""Checkpoint format; /2 (one LaProp optimiser, block GRU) cannot load /1 weights."""
RecurrentState = tuple[np.ndarray, np.ndarray, np.ndarray]
"""``(deter, stoch, prev_action)`` per environment, returned and accepted by :meth:`Dreamer.predict`."""


def _resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def native_bfloat16(device: str | torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CPU with AVX512-BF16 or AMX, or a CUDA GPU with bfloat16.

    Used by ``compute_dtype="auto"``; on other CPUs bfloat16 matmuls are emulated and slower than float32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)
    return False


def _atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _replay_path(path: Path) -> Path:
    return path.with_name(path.name + ".replay.npz")


class Dreamer:
    """DreamerV3-style agent for one Gymnasium environment.

    Observations: Box or Dict of Boxes (uint8 (H, W, C) entries are images). Actions: Box, Discrete or
    MultiDiscrete.

    Args:
        env: A ``gymnasium.Env`` (single, not vectorised); ``None`` only via :meth:`load` (predict-only).
        config: A :class:`DreamerConfig`, a preset name ("tiny", "small", "S"), or ``None`` for "small".
            ``config.obs_keys`` selects what the encoder (and so the actor) reads, ``config.decoder_keys``
            what the world model reconstructs.
        seed: Seeds torch, the replay sampler, the env's first reset and its action space.
        device: "auto" (CUDA when available), "cpu", "cuda", ...
        tensorboard_log: Directory for TensorBoard event files (every loss term), or ``None``.

    Example:
        >>> import gymnasium as gym
        >>> agent = Dreamer(gym.make("Pendulum-v1"), config="tiny", seed=0)
        >>> _ = agent.learn(200, progress_bar=False)
        >>> action, state = agent.predict(agent.env.reset(seed=0)[0])
    """

    def __init__(
        self,
        env: gym.Env | None,
        config: DreamerConfig | str | None = None,
        seed: int | None = None,
        device: str | torch.device = "auto",
        tensorboard_log: str | None = None,
        _spaces: dict[str, Any] | None = None,
    ) -> None:
        if config is None:
            config = DreamerConfig.from_preset("small")
        elif isinstance(config, str):
            config = DreamerConfig.from_preset(config)
        elif not isinstance(config, DreamerConfig):
            raise ValueError(f"config={config!r} is invalid: expected a DreamerConfig, a preset name or None")
        self.config = config
        if config.torch_threads is not None:
            torch.set_num_threads(config.torch_threads)
        if env is not None and (hasattr(env, "num_envs") or not isinstance(env, gym.Env)):
            raise ValueError(
                f"Dreamer needs a single gymnasium.Env, got {type(env).__name__} "
                "(vectorised environments are not supported)"
            )
        self.env = env
        if env is not None:
            self.obs_spec = ObsSpec.from_space(env.observation_space)
            self.action_spec = ActionSpec.from_space(env.action_space)
            self.spaces = describe_spaces(env.observation_space, env.action_space)
        elif _spaces is not None:
            self.spaces = _spaces
            self.obs_spec = ObsSpec(
                vectors=dict(_spaces["obs_vectors"]),
                images={k: tuple(v) for k, v in _spaces["obs_images"].items()},
                is_dict=_spaces["obs_is_dict"],
                ndims=dict(_spaces["obs_ndims"]),
            )
            self.action_spec = _action_spec_from_description(_spaces)
        else:
            raise ValueError("Dreamer needs an env (or use Dreamer.load(path) for a predict-only agent)")
        self.action_space = _action_space(self.action_spec)
        self.observation_space = env.observation_space if env is not None else None
        self.enc_spec = self.obs_spec.subset(config.obs_keys, "obs_keys")
        dec_keys = config.decoder_keys if config.decoder_keys is not None else config.obs_keys
        self.dec_spec = self.obs_spec.subset(dec_keys, "decoder_keys")
        replay_keys = [k for k in self.obs_spec.keys if k in self.enc_spec.ndims or k in self.dec_spec.ndims]
        self.replay_spec = self.obs_spec.subset(replay_keys)
        self.seed = seed
        self.device = _resolve_device(device)
        self.tensorboard_log = tensorboard_log
        if seed is not None:
            torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.world_model = WorldModel(self.obs_spec, self.action_spec.dim, config).to(self.device)
        self.behavior = Behavior(self.world_model.rssm.feat_dim, self.action_spec, config).to(self.device)
        # one optimiser over all modules, as the official Agent.opt; a parameter group per learning rate
        self.optimizer = LaProp(
            [
                {"params": list(self.world_model.parameters()), "lr": config.model_lr},
                {"params": list(self.behavior.actor.parameters()), "lr": config.actor_lr},
                {"params": list(self.behavior.critic.parameters()), "lr": config.critic_lr},
            ],
            lr=config.model_lr,
            agc=config.agc,
            eps=config.opt_eps,
            warmup=config.warmup,
        )
        latent = (config.deter, config.stoch * config.classes) if config.replay_context else None
        self.replay = ReplayBuffer(self.replay_spec, self.action_spec.dim, config.replay_capacity, latent)
        self.num_timesteps = 0
        self.num_updates = 0
        self.update_credit = 0.0
        self.episode_log: list[tuple[int, float, int]] = []
        self.ep_info_buffer: deque[dict[str, float]] = deque(maxlen=100)
        self.logger: Any = None
        self._vec_env: Any = None
        self._writer: Any = None
        self._last_obs: dict[str, np.ndarray] | None = None
        self._native_bf16: bool | None = None
        if config.compile:
            self._compile()

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype of the training update's matmuls: ``config.compute_dtype`` with "auto" resolved for the device."""
        dtype = self.config.compute_dtype
        if dtype == "auto":
            if self._native_bf16 is None:
                self._native_bf16 = native_bfloat16(self.device)
            return torch.bfloat16 if self._native_bf16 else torch.float32
        return torch.bfloat16 if dtype == "bfloat16" else torch.float32

    def _compile(self) -> None:
        """``torch.compile`` the per-step hot spots (GRU cell, prior head, actor MLP, the imagination step).

        Measured by benchmarks/dreamer_throughput.py --compile (docs/dreamer.md, "Speed"). The compiled
        imagination step draws its latents with inductor's random numbers, not torch's (same distribution).
        """
        rssm = self.world_model.rssm
        rssm._core = torch.compile(rssm._core)  # type: ignore[method-assign]
        rssm.img_step_index = torch.compile(rssm.img_step_index)  # type: ignore[method-assign]
        rssm.prior_net.compile()
        self.behavior.actor.net.compile()

    # ------------------------------------------------------------------ acting
    def get_env(self) -> Any:
        """The training environment as a one-env SB3 ``VecEnv`` view (``DummyVecEnv``).

        Like SB3's ``BaseAlgorithm.get_env``; ``None`` without an env. The view shares the env instance; training
        steps the env itself, never through the view. Needs stable-baselines3.
        """
        if self.env is None:
            return None
        if self._vec_env is None:
            from stable_baselines3.common.vec_env import DummyVecEnv

            env = self.env
            self._vec_env = DummyVecEnv([lambda: env])
        return self._vec_env

    def get_vec_normalize_env(self) -> None:
        """No ``VecNormalize`` wrapper is used (SB3 ``EvalCallback`` compatibility): always ``None``."""
        return None

    def set_logger(self, logger: Any) -> None:
        """Set the SB3 ``Logger`` that SB3 callbacks record to (e.g. ``EvalCallback``'s ``eval/*``)."""
        self.logger = logger

    def initial_state(self, n_envs: int = 1) -> RecurrentState:
        """Zero recurrent state for ``n_envs`` environments."""
        cfg = self.config
        return (
            np.zeros((n_envs, cfg.deter), np.float32),
            np.zeros((n_envs, cfg.stoch * cfg.classes), np.float32),
            np.zeros((n_envs, self.action_spec.dim), np.float32),
        )

    def _to_torch(self, obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.as_tensor(v, device=self.device) for k, v in obs.items()}

    @torch.no_grad()
    def _act(
        self, obs: dict[str, np.ndarray], state: RecurrentState, is_first: np.ndarray, deterministic: bool
    ) -> tuple[np.ndarray, RecurrentState]:
        wm = self.world_model
        embed = wm.encoder(self._to_torch({k: obs[k] for k in self.enc_spec.keys}))
        latent = {
            "deter": torch.as_tensor(state[0], device=self.device),
            "stoch": torch.as_tensor(state[1], device=self.device),
        }
        prev = torch.as_tensor(state[2], device=self.device)
        first = torch.as_tensor(is_first, device=self.device)
        latent = wm.rssm.obs_step(latent, prev, embed, first, sample=not deterministic)
        dist = self.behavior.actor(wm.rssm.feat(latent))
        action = dist.mode if deterministic else dist.sample()
        action = action.detach()
        new_state = (
            latent["deter"].cpu().numpy(),
            latent["stoch"].detach().cpu().numpy(),
            action.cpu().numpy(),
        )
        return action.cpu().numpy(), new_state

    def predict(
        self,
        observation: Any,
        state: RecurrentState | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[Any, RecurrentState]:
        """Action for an observation, carrying the recurrent latent like sb3-contrib's RecurrentPPO.

        Args:
            observation: One env observation, or a batch with a leading env dimension.
            state: Previous recurrent state (``None``: start of an episode).
            episode_start: Bool per env; True resets that env's latent (default: ``state is None``).
            deterministic: Use the actor's mode and the posterior's mode.

        Returns:
            ``(action, state)``; the action is batched exactly when the observation is.
        """
        batched = self.enc_spec.is_batched(observation)
        obs = self.enc_spec.to_dict(observation, batched)
        n = len(next(iter(obs.values())))
        if state is None:
            state = self.initial_state(n)
            episode_start = np.ones(n, bool) if episode_start is None else episode_start
        starts = np.zeros(n, bool) if episode_start is None else np.asarray(episode_start, bool).reshape(n)
        model_action, state = self._act(obs, state, starts, deterministic)
        actions = [self.action_spec.to_env(a) for a in model_action]
        return (np.stack(actions) if batched else actions[0]), state

    # ---------------------------------------------------------------- training
    def _batch_to_torch(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.as_tensor(v, device=self.device) for k, v in batch.items() if k != "index"}

    def _split_context(self, batch: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], Any]:
        """Split off the replay context (official ``Agent._apply_replay_context``, ``replay_context: 1``).

        The first step's stored latent is the start state, its action the previous action of the first
        trained step.
        """
        if not self.config.replay_context:
            return batch, None
        start = {"deter": batch["deter"][:, 0].float(), "stoch": batch["stoch"][:, 0].float()}
        train = {k: v[:, 1:] for k, v in batch.items() if k not in ("deter", "stoch")}
        train["prev_action"] = batch["action"][:, :-1]
        return train, start

    def _repval_loss(
        self, batch: dict[str, torch.Tensor], post: State, traj: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Unscaled replay critic loss (official ``repl_loss``).

        Bootstrapped from the imagined returns of each replayed posterior; it reaches the world model
        through ``post`` only if ``repval_grad``.
        """
        wm = self.world_model
        feat = wm.rssm.feat(post if self.config.repval_grad else {k: v.detach() for k, v in post.items()})
        is_terminal = batch["is_terminal"]
        # last step of an episode: terminal, or followed by a new episode's first step
        is_last = is_terminal.clone()
        is_last[:, :-1] |= batch["is_first"][:, 1:]
        boot = traj["returns"][0].reshape(is_terminal.shape)
        return self.behavior.repval_loss(feat, batch["reward"], is_terminal, is_last, boot)

    def _train_step(self, batch: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], State]:
        """One update of all modules: one optimiser step on the summed losses.

        As the official ``Agent.train``/``Agent.loss``: world model, actor and critic on imagination from every replayed
        posterior, and the critic on replayed lambda-returns (``repval``).
        """
        cfg = self.config
        wm, beh = self.world_model, self.behavior
        batch, context = self._split_context(batch)
        bf16 = self.compute_dtype == torch.bfloat16
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
            model_loss, metrics, post = wm.loss(batch, context)
            start = {k: v.detach() for k, v in post.items()}
            actor_loss, actor_metrics, traj = beh.actor_loss(wm, start)
            critic_loss, critic_metrics = beh.critic_loss(traj)
            total = model_loss + actor_loss + critic_loss
            if cfg.repval_scale > 0:
                repval, repval_metrics = self._repval_loss(batch, post, traj)
                critic_metrics.update(repval_metrics)
                total = total + cfg.repval_scale * repval
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        beh.update_slow_critic()
        out = {
            **{f"world_model/{k}": v for k, v in metrics.items()},
            **{f"behavior/{k}": v for k, v in actor_metrics.items()},
            **{f"behavior/{k}": v for k, v in critic_metrics.items()},
        }
        return out, start

    def train(self, gradient_steps: int = 1) -> dict[str, float]:
        """Run ``gradient_steps`` updates on replayed sequences; returns the last update's metrics."""
        cfg = self.config
        metrics: dict[str, torch.Tensor] = {}
        for _ in range(gradient_steps):
            sample = self.replay.sample(cfg.batch_size, cfg.seq_len, self.rng, context=cfg.replay_context)
            metrics, post = self._train_step(self._batch_to_torch(sample))
            if cfg.replay_context:  # refresh the stored latents of the trained steps
                index = sample["index"][:, cfg.replay_context :]
                self.replay.update_latents(index, post["deter"].cpu().numpy(), post["stoch"].cpu().numpy())
            self.num_updates += 1
        return {k: float(v) for k, v in metrics.items()}

    def _reset_env(self, first: bool) -> dict[str, np.ndarray]:
        assert self.env is not None
        obs, _ = self.env.reset(seed=self.seed if first and self.seed is not None else None)
        return self.obs_spec.to_dict(obs, batched=False)

    def learn(
        self,
        total_timesteps: int,
        callback: Any = None,
        progress_bar: bool = True,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "Dreamer",
    ) -> Dreamer:
        """Collect experience and train (``train_ratio`` replayed steps per env step).

        Args:
            total_timesteps: Environment steps to take in this call.
            callback: Callable ``f(locals, globals) -> bool | None``, SB3-style callback, or a list;
                False stops training.
            progress_bar: Show a tqdm bar.
            reset_num_timesteps: Start the step counter at zero (False continues a loaded agent).
            tb_log_name: Name of the TensorBoard run directory.

        Returns:
            self.
        """
        if self.env is None:
            raise ValueError("learn() needs an env: pass one to Dreamer(...) or Dreamer.load(path, env=...)")
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, int) or total_timesteps < 0:
            raise ValueError(f"total_timesteps={total_timesteps!r} is invalid: expected an int >= 0")
        cfg = self.config
        if reset_num_timesteps:
            self.num_timesteps = 0
        target = self.num_timesteps + total_timesteps
        if self.seed is not None and self.num_timesteps == 0:
            self.env.action_space.seed(self.seed)
        self._open_writer(tb_log_name, reset_num_timesteps)
        cb = CallbackAdapter(callback, self)
        cb.on_training_start(locals(), globals())
        bar = None
        if progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(total=total_timesteps, desc="Dreamer", unit="step", dynamic_ncols=True)
        updates_per_step = cfg.train_ratio / (cfg.batch_size * cfg.seq_len)
        first_reset = self.num_timesteps == 0
        obs = self._reset_env(first_reset)
        state = self.initial_state(1)
        is_first, reward, ep_return, ep_len = True, 0.0, 0.0, 0
        pending: dict[str, list[float]] = {}
        t_start, steps_start = time.perf_counter(), self.num_timesteps
        continue_training = True
        while self.num_timesteps < target and continue_training:
            if self.num_timesteps < cfg.learning_starts:
                env_action = self.env.action_space.sample()
                model_action = self.action_spec.from_env(env_action)
                _, state = self._act(obs, state, np.array([is_first]), deterministic=False)
                state = (state[0], state[1], model_action[None].astype(np.float32))
            else:
                model_actions, state = self._act(obs, state, np.array([is_first]), deterministic=False)
                model_action = model_actions[0]
                env_action = self.action_spec.to_env(model_action)
            self.replay.add(obs, model_action, reward, is_first, False, latent=(state[0], state[1]))
            raw_obs, reward, terminated, truncated, info = self.env.step(env_action)
            reward = float(reward)
            # SB3 callback locals (one env): StopTrainingOnMaxEpisodes reads ``dones``, others ``infos``
            dones, infos, rewards = np.array([terminated or truncated]), [info], np.array([reward])
            obs = self.obs_spec.to_dict(raw_obs, batched=False)
            is_first = False
            ep_return += reward
            ep_len += 1
            self.num_timesteps += 1
            if terminated or truncated:
                self.replay.add(obs, np.zeros(self.action_spec.dim, np.float32), reward, False, bool(terminated))
                self._end_episode(ep_return, ep_len)
                obs = self._reset_env(False)
                is_first, reward, ep_return, ep_len = True, 0.0, 0.0, 0
            if self.num_timesteps >= cfg.learning_starts and len(self.replay) >= cfg.seq_len + cfg.replay_context:
                self.update_credit += updates_per_step
                n_updates = int(self.update_credit)
                if n_updates:
                    self.update_credit -= n_updates
                    for _ in range(n_updates):
                        metrics = self.train(1)
                        for k, v in metrics.items():
                            pending.setdefault(k, []).append(v)
                        if self.num_updates % cfg.log_every == 0:
                            self._log_scalars(pending, t_start, steps_start)
                            pending = {}
            if bar is not None:
                bar.update(1)
                if self.ep_info_buffer and self.num_timesteps % 200 == 0:
                    bar.set_postfix(
                        ep_rew=f"{np.mean([e['r'] for e in self.ep_info_buffer]):.1f}",
                        updates=self.num_updates,
                    )
            continue_training = cb.on_step(locals(), globals())
        cb.on_training_end()
        if bar is not None:
            bar.close()
        if self._writer is not None:
            self._writer.flush()
        return self

    def _end_episode(self, ep_return: float, ep_len: int) -> None:
        self.episode_log.append((self.num_timesteps, ep_return, ep_len))
        self.ep_info_buffer.append({"r": ep_return, "l": ep_len})
        if self._writer is not None:
            self._writer.add_scalar("rollout/ep_return", ep_return, self.num_timesteps)
            self._writer.add_scalar(
                "rollout/ep_rew_mean", np.mean([e["r"] for e in self.ep_info_buffer]), self.num_timesteps
            )
            self._writer.add_scalar("rollout/ep_len", ep_len, self.num_timesteps)

    def _open_writer(self, tb_log_name: str, new_run: bool) -> None:
        if self.tensorboard_log is None or (self._writer is not None and not new_run):
            return
        from torch.utils.tensorboard import SummaryWriter

        root = Path(self.tensorboard_log)
        run = 1
        while (root / f"{tb_log_name}_{run}").exists():
            run += 1
        if not new_run and run > 1:
            run -= 1
        self._writer = SummaryWriter(log_dir=str(root / f"{tb_log_name}_{run}"))

    def _log_scalars(self, pending: dict[str, list[float]], t_start: float, steps_start: int) -> None:
        if self._writer is None:
            return
        for key, values in pending.items():
            self._writer.add_scalar(key, float(np.mean(values)), self.num_timesteps)
        elapsed = max(time.perf_counter() - t_start, 1e-9)
        self._writer.add_scalar("time/fps", (self.num_timesteps - steps_start) / elapsed, self.num_timesteps)
        self._writer.add_scalar("time/updates", self.num_updates, self.num_timesteps)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike, include_replay: bool = False) -> None:
        """Write a checkpoint atomically (tmp file + ``os.replace``).

        The file holds plain tensors/dicts/primitives only (loadable with ``weights_only=True``): config,
        space description, world model / behaviour state dicts, optimiser states, counters and RNG states.
        With ``include_replay`` the replay goes to ``<path>.replay.npz`` (also atomic).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ckpt = {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "spaces": self.spaces,
            "world_model": self.world_model.state_dict(),
            "behavior": self.behavior.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "counters": {
                "num_timesteps": self.num_timesteps,
                "num_updates": self.num_updates,
                "update_credit": self.update_credit,
                "seed": self.seed,
            },
            "episode_log": [list(e) for e in self.episode_log],
            "rng": {"torch": torch.get_rng_state(), "numpy": repr(self.rng.bit_generator.state)},
        }
        _atomic_torch_save(ckpt, path)
        if include_replay:
            self.replay.save(_replay_path(path))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        env: gym.Env | None = None,
        device: str | torch.device = "auto",
        tensorboard_log: str | None = None,
        load_replay: bool = True,
    ) -> Dreamer:
        """Restore an agent saved by :meth:`save` (``torch.load(..., weights_only=True)``).

        Args:
            path: Checkpoint file.
            env: Environment to continue training on; its spaces must match the saved ones. ``None`` gives a
                predict-only agent.
            device: Where to put the networks.
            tensorboard_log: TensorBoard directory for further training.
            load_replay: Also restore ``<path>.replay.npz`` when present.

        Raises:
            ValueError: Not a Dreamer checkpoint (including one holding pickled code, which is never run), or
                the env's spaces differ from the saved ones.
        """
        path = Path(path)
        try:  # weights_only: tensors and plain containers only; a pickle that would import code is refused
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            detail = next((ln.strip() for ln in str(err).splitlines() if "Unsupported global" in ln), "")
            raise ValueError(
                f"{path} is not a Dreamer checkpoint: it holds pickled objects beyond tensors and plain data, "
                f"refused without running them. {detail}".strip()
            ) from None
        if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
            found = ckpt.get("format") if isinstance(ckpt, dict) else None
            raise ValueError(
                f"{path} is not a Dreamer checkpoint of format {FORMAT!r} (found format {found!r}; "
                "world_models.Dreamer/1 checkpoints predate the DreamerV3 2025 architecture and cannot be loaded)"
            )
        config = DreamerConfig.from_dict(ckpt["config"])
        saved = ckpt["spaces"]
        if env is not None:
            current = describe_spaces(env.observation_space, env.action_space)
            diff = {
                k: (saved.get(k), current.get(k)) for k in set(saved) | set(current) if saved.get(k) != current.get(k)
            }
            if diff:
                details = "; ".join(f"{k}: saved {a!r}, env {b!r}" for k, (a, b) in sorted(diff.items()))
                raise ValueError(f"env is incompatible with checkpoint {path}: {details}")
        counters = ckpt["counters"]
        agent = cls(
            env,
            config=config,
            seed=counters.get("seed"),
            device=device,
            tensorboard_log=tensorboard_log,
            _spaces=saved,
        )
        agent.world_model.load_state_dict(ckpt["world_model"])
        agent.behavior.load_state_dict(ckpt["behavior"])
        agent.optimizer.load_state_dict(ckpt["optimizer"])
        agent.num_timesteps = int(counters["num_timesteps"])
        agent.num_updates = int(counters["num_updates"])
        agent.update_credit = float(counters["update_credit"])
        agent.episode_log = [(int(a), float(b), int(c)) for a, b, c in ckpt.get("episode_log", [])]
        torch.set_rng_state(ckpt["rng"]["torch"])
        agent.rng.bit_generator.state = _literal(ckpt["rng"]["numpy"])
        if load_replay and _replay_path(path).exists():
            agent.replay.load(_replay_path(path))
        return agent


def _literal(text: str) -> Any:
    import ast

    return ast.literal_eval(text)


def _action_spec_from_description(desc: dict[str, Any]) -> ActionSpec:
    kind = desc["action_kind"]
    if kind == "box":
        return ActionSpec(
            "box",
            tuple(desc["action_shape"]),
            np.asarray(desc["action_low"], np.float32),
            np.asarray(desc["action_high"], np.float32),
        )
    return ActionSpec(kind, tuple(desc["action_shape"]), nvec=tuple(desc["action_nvec"]))


def _action_space(spec: ActionSpec) -> spaces.Space:
    if spec.kind == "box":
        assert spec.low is not None and spec.high is not None
        return spaces.Box(spec.low.reshape(spec.shape), spec.high.reshape(spec.shape), dtype=np.float32)
    if spec.kind == "discrete":
        return spaces.Discrete(spec.nvec[0])
    return spaces.MultiDiscrete(np.array(spec.nvec))
