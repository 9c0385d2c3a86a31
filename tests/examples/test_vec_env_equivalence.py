"""The optimised training pipeline changes no number in training.

A short seeded run of the pipeline (``MultiEnvSubprocVecEnv``: several envs per worker, shared-memory observations,
optionally some envs stepped by the training process; ``FusedVecNormalize``: all keys normalised in one pass;
``OverlappedRecurrentPPO``: the critic evaluated while the envs step, inference mode, no distribution checks, the
lean rollout inference of ``ppo.lean.LeanRollout`` or sb3-contrib's calls) and of the straightforward one (SB3's
``SubprocVecEnv``, one process per env; ``VecNormalize``; sb3-contrib's ``RecurrentPPO``) must fill bitwise the same
rollout buffers (observations, actions, rewards, episode starts, values, log-probabilities, LSTM states) for two
rollouts, i.e. also after one PPO update, and end with the same weights. Episodes are 0.4 s (5 steps) long so
auto-resets, terminal observations and the timeout bootstrap happen inside the rollouts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from ppo.config import TrainArgs, apply_preset
from ppo.envs import make_train_env_fn
from ppo.lean import LeanRollout
from ppo.pipeline import (
    OverlappedRecurrentPPO,
    UpdateThreads,
    make_model,
    make_vec_env,
    make_vecnormalize,
    no_distribution_validation,
)
from ppo.vec_env import MultiEnvSubprocVecEnv, default_workers
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor

N_ENVS = 3  # two workers: groups of 2 and 1


class _RecordRollouts(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.rollouts: list[dict[str, np.ndarray]] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buf = self.model.rollout_buffer
        out = {f"obs/{k}": v.copy() for k, v in buf.observations.items()}
        for name in ("actions", "rewards", "episode_starts", "values", "log_probs", "hidden_states_pi",
                     "cell_states_pi", "hidden_states_vf", "cell_states_vf"):  # fmt: skip
            out[name] = getattr(buf, name).copy()
        self.rollouts.append(out)


def _args(action_type: str) -> TrainArgs:
    return apply_preset(TrainArgs(
        preset="quick", seed=7, n_envs=N_ENVS, n_steps=16, batch_size=24, n_epochs=2, dense_units=16, lstm_units=16,
        goal_timeout_s=0.4, action_type=action_type, randomization="all",
    ))  # fmt: skip


def _run(
    optimised: bool, action_type: str, in_process: bool = False, lean: bool = True, workers: int = 2,
    local: int | None = None,
) -> tuple[list[dict[str, np.ndarray]], dict[str, th.Tensor]]:  # fmt: skip
    args = _args(action_type)
    fns = [
        make_train_env_fn(rank, args.seed, goal=args.goal, action_type=args.action_type,
                          goal_timeout_s=args.goal_timeout_s, groups={"observation": True, "physics": True,
                                                                      "unmodeled": True}, scale=1.0)
        for rank in range(args.n_envs)
    ]  # fmt: skip
    kind = "dummy" if in_process else "batched" if optimised else "subproc"
    raw = make_vec_env(fns, workers=workers, kind=kind, in_process=local)
    try:
        model = make_model(args, make_vecnormalize(raw, args, fused=optimised), overlapped=optimised,
                           lean_inference=lean)  # fmt: skip
        assert isinstance(model, OverlappedRecurrentPPO) == optimised
        assert not optimised or model._overlappable()  # the overlapped rollout, not RecurrentPPO's fallback
        assert not optimised or LeanRollout.supports(model.policy)  # lean=True takes the lean path
        record = _RecordRollouts()
        model.learn(2 * args.n_steps * args.n_envs, callback=record)
        return record.rollouts, model.policy.state_dict()
    finally:
        raw.close()


_REFERENCE: dict[tuple[str, bool], tuple[list[dict[str, np.ndarray]], dict[str, th.Tensor]]] = {}


def _reference(action_type: str, in_process: bool = False) -> tuple[list[dict[str, np.ndarray]], dict[str, th.Tensor]]:
    """The straightforward run (computed once per module)."""
    key = (action_type, in_process)
    if key not in _REFERENCE:
        _REFERENCE[key] = _run(False, action_type, in_process=in_process)
    return _REFERENCE[key]


def _assert_same(
    new: list[dict[str, np.ndarray]], new_weights: dict[str, th.Tensor], old: list[dict[str, np.ndarray]],
    old_weights: dict[str, th.Tensor],
) -> None:  # fmt: skip
    assert len(new) == len(old) == 2
    assert any(r["episode_starts"][1:].any() for r in old)  # episodes ended inside the rollouts
    for a, b in zip(new, old, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype, key
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for name, tensor in old_weights.items():
        assert th.equal(new_weights[name], tensor), name


@pytest.mark.parametrize(
    ("workers", "local", "lean"),
    [
        (2, None, True),  # two workers (groups of 2 and 1), lean inference: the pipeline of 3 envs on 2 cores
        (2, None, False),  # the same with sb3-contrib's inference calls
        (1, 1, True),  # env 0 stepped by the training process, envs 1-2 by one worker
        (0, None, True),  # every env stepped by the training process, no worker
    ],
)
def test_optimised_pipeline_gives_the_same_rollouts_and_update(workers: int, local: int | None, lean: bool) -> None:
    th.set_num_threads(1)
    _assert_same(*_run(True, "continuous", lean=lean, workers=workers, local=local), *_reference("continuous"))


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
@pytest.mark.parametrize("lean", [True, False])
def test_overlapped_rollouts_match_recurrent_ppo(action_type: str, lean: bool) -> None:
    """Envs in this process: OverlappedRecurrentPPO + FusedVecNormalize against RecurrentPPO + VecNormalize."""
    th.set_num_threads(1)
    _assert_same(*_run(True, action_type, in_process=True, lean=lean), *_reference(action_type, in_process=True))


def test_lean_rollout_matches_sb3_calls_and_refuses_other_policies() -> None:
    """LeanRollout's actor and critic against sb3-contrib's forward pass, bitwise, with mid-batch episode starts;
    a policy with a shared extractor is not supported and refused by name."""
    from sb3_contrib import RecurrentPPO

    args = _args("continuous")
    venv = make_vecnormalize(make_vec_env([_tagged_env_fn(r) for r in range(N_ENVS)], workers=0), args)
    try:
        model = make_model(args, venv)
        policy = model.policy
        policy.set_training_mode(False)
        obs = venv.reset()
        for _ in range(3):
            obs = venv.step(np.full((N_ENVS, 20), 0.3, dtype=np.float32))[0]
        states = (th.randn(1, N_ENVS, 16), th.randn(1, N_ENVS, 16))
        starts = th.tensor([1.0, 0.0, 1.0])
        lean = LeanRollout(policy)
        with th.inference_mode(), no_distribution_validation():
            obs_t = policy.obs_to_tensor(obs)[0]
            th.manual_seed(3)
            actions, values, log_probs, (pi_states, vf_states) = policy.forward(
                obs_t, RNNStates(states, states), starts)  # fmt: skip
            th.manual_seed(3)
            lean_actions, lean_log_probs, lean_pi = lean.actor(obs_t, states, starts)
            lean_values, lean_vf = lean.critic(obs_t, states, starts)
        for a, b in [(actions, lean_actions), (log_probs, lean_log_probs), (values, lean_values),
                     (pi_states[0], lean_pi[0]), (pi_states[1], lean_pi[1]), (vf_states[0], lean_vf[0]),
                     (vf_states[1], lean_vf[1])]:  # fmt: skip
            assert th.equal(a, b)
        assert not th.equal(lean_pi[0][:, 0], states[0][:, 0])  # the LSTM ran
        shared = RecurrentPPO("MultiInputLstmPolicy", venv, n_steps=8, batch_size=8,
                              policy_kwargs={"lstm_hidden_size": 8})  # fmt: skip
        assert not LeanRollout.supports(shared.policy)  # one features extractor for actor and critic
        with pytest.raises(ValueError, match="LeanRollout needs .* got RecurrentMultiInputActorCriticPolicy"):
            LeanRollout(shared.policy)
    finally:
        venv.close()


def _tagged_env_fn(rank: int):
    def _init():
        import gymnasium as gym

        env = Monitor(gym.make("gym_dactyl:Dactyl-v0", action_type="continuous", goal="z", goal_timeout_s=0.4))
        env.rank = rank  # type: ignore[attr-defined]
        return env

    return _init


@pytest.mark.parametrize(("in_process", "sizes"), [(0, [2, 3]), (2, [2, 2, 1]), (5, [5])])
def test_env_indices_map_to_the_right_worker(in_process: int, sizes: list[int]) -> None:
    """Env i is env i whichever process steps it: 2 workers; 2 envs here + 2 workers; all 5 here (no worker)."""
    workers = 0 if in_process == 5 else 2
    venv = MultiEnvSubprocVecEnv([_tagged_env_fn(r) for r in range(5)], n_workers=workers, in_process=in_process)
    try:
        assert venv.n_workers == workers and venv.in_process == in_process
        assert [len(g) for g in venv.groups] == sizes
        assert venv.get_attr("rank") == [0, 1, 2, 3, 4]
        assert venv.get_attr("rank", indices=[4, 0, 2]) == [4, 0, 2]
        venv.set_attr("rank", 40, indices=[4])
        assert venv.get_attr("rank") == [0, 1, 2, 3, 40]
        assert venv.env_is_wrapped(Monitor) == [True] * 5
        venv.seed(3)
        obs = venv.reset()
        assert obs["state"].shape == (5, 84) and len(venv.reset_infos) == 5
        obs2, rewards, dones, infos = venv.step(np.zeros((5, 20), dtype=np.float32))
        assert rewards.shape == (5,) and dones.dtype == bool and len(infos) == 5
        obs2["state"][:] = np.nan  # the returned arrays are copies, not views on the shared buffers
        assert np.isfinite(venv.step(np.zeros((5, 20), dtype=np.float32))[0]["state"]).all()
    finally:
        venv.close()


def _recording_env_fn(space_kind: str):
    """A toy env that keeps every action it was given (``seen``); a Box or a MultiDiscrete action space."""

    def _init():
        import gymnasium as gym
        import numpy as np
        from gymnasium import spaces

        class Recorder(gym.Env):
            observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
            action_space = (
                spaces.Box(-1.0, 1.0, (3,), np.float32) if space_kind == "box" else spaces.MultiDiscrete([5, 5])
            )

            def __init__(self) -> None:
                self.seen: list = []

            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return np.zeros(2, np.float32), {}

            def step(self, action):
                self.seen.append(action)  # kept, as an action-delay wrapper keeps it
                return np.zeros(2, np.float32), 0.0, False, False, {}

        return Recorder()

    return _init


@pytest.mark.parametrize("space_kind", ["box", "multidiscrete"])
def test_actions_reach_the_workers_as_fresh_arrays(space_kind: str) -> None:
    """Array actions of the space's dtype travel through shared memory (another dtype is pickled, as before): each
    env gets a fresh array of the sent dtype and values, which later steps do not overwrite."""
    venv = MultiEnvSubprocVecEnv([_recording_env_fn(space_kind) for _ in range(3)], n_workers=2)
    try:
        assert venv._action_view is not None and venv._action_view.shape == (3, *venv.action_space.shape)
        venv.reset()
        rng = np.random.default_rng(0)
        shape = (3, *venv.action_space.shape)
        if space_kind == "box":  # float32 (shared memory), then float64 (pickled)
            sent = [rng.uniform(-1, 1, shape).astype(dtype) for dtype in (np.float32,) * 3 + (np.float64,) * 2]
        else:
            sent = [rng.integers(0, 5, shape) for _ in range(4)]
        for actions in sent:
            venv.step(actions)
        for i, seen in enumerate(venv.get_attr("seen")):
            assert len(seen) == len(sent)
            for got, actions in zip(seen, sent, strict=True):
                assert type(got) is np.ndarray and got.dtype == actions.dtype and got.shape == actions[i].shape
                np.testing.assert_array_equal(got, actions[i])
    finally:
        venv.close()


def test_bad_worker_counts_are_value_errors() -> None:
    fns = [_tagged_env_fn(r) for r in range(2)]
    with pytest.raises(ValueError, match="n_workers must be in \\[1, 2\\].*got 3"):
        MultiEnvSubprocVecEnv(fns, n_workers=3)
    with pytest.raises(ValueError, match="workers must be in \\[0, 2\\].*got -1"):
        make_vec_env(fns, workers=-1)
    with pytest.raises(ValueError, match="in_process must be in \\[0, 2\\].*got 3"):
        MultiEnvSubprocVecEnv(fns, in_process=3)
    with pytest.raises(ValueError, match="n_workers must be in \\[1, 1\\].*not stepped in-process.*got 2"):
        MultiEnvSubprocVecEnv(fns, n_workers=2, in_process=1)
    with pytest.raises(ValueError, match="n_workers must be in \\[0, 0\\].*got 1"):
        MultiEnvSubprocVecEnv(fns, n_workers=1, in_process=2)
    with pytest.raises(ValueError, match="workers=0 steps all 2 envs in this process: in_process must be None or 2, "
                       "got 1"):  # fmt: skip
        make_vec_env(fns, workers=0, in_process=1)
    with pytest.raises(ValueError, match="in_process=2 leaves no env for workers=1"):
        make_vec_env(fns, workers=1, in_process=2)
    with pytest.raises(ValueError, match="in_process must be in \\[0, 2\\].*got -1"):
        make_vec_env(fns, in_process=-1)
    with pytest.raises(ValueError, match="kind must be one of"):
        make_vec_env(fns, kind="threads")
    with pytest.raises(ValueError, match="--env-workers must be in \\[0, n_envs=2\\], got 3"):
        apply_preset(TrainArgs(preset="quick", n_envs=2, env_workers=3))
    with pytest.raises(ValueError, match="--env-in-process must be in \\[0, n_envs=2\\], got 3"):
        apply_preset(TrainArgs(preset="quick", n_envs=2, env_in_process=3))


def test_in_process_layout_of_make_vec_env() -> None:
    """``in_process=k``: the first k envs here, one worker per other core; default: a worker's share here."""
    fns = [_tagged_env_fn(r) for r in range(4)]
    cores = default_workers(4)
    venv = make_vec_env(fns, in_process=2)
    try:
        assert venv.in_process == 2 and venv.n_workers == min(2, max(1, cores - 1))
        assert venv.get_attr("rank") == [0, 1, 2, 3]
    finally:
        venv.close()
    venv = make_vec_env(fns)  # default: a worker's share here, the rest in one worker per other core
    try:
        if cores == 1:
            assert venv.in_process == 4 and venv.n_workers == 0
        else:
            assert venv.in_process == 4 // cores and venv.n_workers == cores - 1
        assert venv.get_attr("rank") == [0, 1, 2, 3]
    finally:
        venv.close()
    venv = make_vec_env(fns, in_process=0)
    try:
        assert venv.in_process == 0 and venv.n_workers == cores
    finally:
        venv.close()


def test_update_threads_switches_around_the_update() -> None:
    before = th.get_num_threads()
    try:
        cb = UpdateThreads(update_threads=2, rollout_threads=1)
        cb._on_rollout_end()
        assert th.get_num_threads() == 2
        cb._on_rollout_start()
        assert th.get_num_threads() == 1
        with pytest.raises(ValueError, match="update_threads must be >= 1, got 0"):
            UpdateThreads(update_threads=0)
        with pytest.raises(ValueError, match="--update-threads must be >= 1, got 0"):
            apply_preset(TrainArgs(preset="quick", update_threads=0))
        assert apply_preset(TrainArgs(preset="quick", torch_threads=2)).update_threads == 2  # default: torch threads
    finally:
        th.set_num_threads(before)
