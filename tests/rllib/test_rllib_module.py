"""The asymmetric LSTM RLModule: the actor never depends on ``state``, the value does; spaces, shapes, errors."""

import pytest

pytest.importorskip("ray.rllib", reason="Ray RLlib is not installed: pip install -e '.[rllib]' to run the RLlib tests")


import gymnasium as gym
import numpy as np
import torch
from dactyl_rllib.module import STATE_KEYS, AsymmetricLSTMModule, obs_layout
from ray.rllib.core.columns import Columns

import gym_dactyl  # noqa: F401
from gym_dactyl.constants import POLICY_KEYS

torch.set_num_threads(1)
B, T, UNITS = 3, 4, 16


def _spaces(action_type):
    env = gym.make("Dactyl-v0", action_type=action_type)
    spaces = env.observation_space, env.action_space
    env.close()
    return spaces


def _module(action_type="continuous", flat=True):
    obs_space, act_space = _spaces(action_type)
    cfg = {"dense_units": 8, "lstm_units": UNITS}
    if flat:
        cfg["obs_layout"] = obs_layout(obs_space)
        obs_space = gym.spaces.flatten_space(obs_space)
    return AsymmetricLSTMModule(observation_space=obs_space, action_space=act_space, model_config=cfg), obs_space


def _state_slice(module):
    return module.critic.slices["state"]


def _batch(obs, seed=1):
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(B, UNITS, generator=g) for k in STATE_KEYS}
    return {Columns.OBS: obs, Columns.STATE_IN: state}


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_actor_ignores_state_value_uses_it(action_type):
    module, space = _module(action_type)
    obs = torch.randn(B, T, space.shape[0], generator=torch.Generator().manual_seed(0))
    perturbed = obs.clone()
    perturbed[..., _state_slice(module)] += 10.0 * torch.randn_like(perturbed[..., _state_slice(module)])
    a, b = module.forward_train(_batch(obs)), module.forward_train(_batch(perturbed))
    torch.testing.assert_close(a[Columns.ACTION_DIST_INPUTS], b[Columns.ACTION_DIST_INPUTS], rtol=0, atol=0)
    for k in ("actor_h", "actor_c"):
        torch.testing.assert_close(a[Columns.STATE_OUT][k], b[Columns.STATE_OUT][k], rtol=0, atol=0)
    va, vb = module.compute_values(_batch(obs)), module.compute_values(_batch(perturbed))
    assert va.shape == (B, T)
    assert (va - vb).abs().max() > 1e-4  # the critic reads the state
    # ... and the policy keys do not reach the critic
    other = obs.clone()
    mask = torch.ones(space.shape[0], dtype=torch.bool)
    mask[_state_slice(module)] = False
    other[..., mask] += 10.0
    torch.testing.assert_close(module.compute_values(_batch(other)), va, rtol=0, atol=0)
    moved = module.forward_train(_batch(other))[Columns.ACTION_DIST_INPUTS] - a[Columns.ACTION_DIST_INPUTS]
    assert moved.abs().max() > 0  # the actor reads the policy keys


def test_gradients_actor_zero_on_state_value_nonzero():
    module, space = _module("continuous")
    obs = torch.randn(B, T, space.shape[0], generator=torch.Generator().manual_seed(2), requires_grad=True)
    out = module.forward_train(_batch(obs))
    (g_actor,) = torch.autograd.grad(out[Columns.ACTION_DIST_INPUTS].sum(), obs, retain_graph=True)
    assert torch.count_nonzero(g_actor[..., _state_slice(module)]) == 0
    assert torch.count_nonzero(g_actor) > 0
    (g_value,) = torch.autograd.grad(module.compute_values(_batch(obs), embeddings=out[Columns.EMBEDDINGS]).sum(), obs)
    assert torch.count_nonzero(g_value[..., _state_slice(module)]) > 0
    mask = torch.ones(space.shape[0], dtype=torch.bool)
    mask[_state_slice(module)] = False
    assert torch.count_nonzero(g_value[..., mask]) == 0
    # nothing is shared: the two branches have disjoint parameters
    actor = {id(p) for p in module.actor.parameters()} | {id(p) for p in module.pi_head.parameters()}
    critic = {id(p) for p in module.critic.parameters()} | {id(p) for p in module.vf_head.parameters()}
    assert not actor & critic


def test_dict_observations_match_flat():
    flat_module, flat_space = _module("continuous", flat=True)
    dict_module, dict_space = _module("continuous", flat=False)
    dict_module.load_state_dict(flat_module.state_dict())
    samples = [[dict_space.sample() for _ in range(T)] for _ in range(B)]
    obs_dict = {k: torch.as_tensor(np.array([[s[k] for s in row] for row in samples]), dtype=torch.float32)
                for k in dict_space.spaces}
    obs_flat = torch.as_tensor(np.array([[gym.spaces.flatten(dict_space, s) for s in row] for row in samples]),
                               dtype=torch.float32)
    a, b = flat_module.forward_train(_batch(obs_flat)), dict_module.forward_train(_batch(obs_dict))
    torch.testing.assert_close(a[Columns.ACTION_DIST_INPUTS], b[Columns.ACTION_DIST_INPUTS])
    values = flat_module.compute_values(_batch(obs_flat))
    torch.testing.assert_close(values, dict_module.compute_values(_batch(obs_dict)))


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_actions_fit_the_space_and_state_carries(action_type):
    module, space = _module(action_type)
    _, act_space = _spaces(action_type)
    obs = torch.randn(B, 1, space.shape[0])
    out = module.forward_exploration(_batch(obs))
    dist = module.action_dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
    action = dist.sample()
    assert action.shape == (B, 1, *act_space.shape)
    if action_type == "discrete":
        assert int(action.min()) >= 0 and int(action.max()) <= 10
        assert out[Columns.ACTION_DIST_INPUTS].shape[-1] == 11 * act_space.shape[0]
    # one step from the output state == the second step of a two-step sequence
    two = torch.randn(B, 2, space.shape[0])
    batch = _batch(two)
    full = module.forward_train(batch)
    first = module.forward_train({Columns.OBS: two[:, :1], Columns.STATE_IN: batch[Columns.STATE_IN]})
    second = module.forward_train({Columns.OBS: two[:, 1:], Columns.STATE_IN: first[Columns.STATE_OUT]})
    torch.testing.assert_close(full[Columns.ACTION_DIST_INPUTS][:, 1:], second[Columns.ACTION_DIST_INPUTS])
    step = {Columns.OBS: two[:, 1:], Columns.STATE_IN: first[Columns.STATE_OUT]}
    torch.testing.assert_close(module.compute_values(batch)[:, 1:], module.compute_values(step))


def test_paper_sizes_and_initial_state():
    obs_space, act_space = _spaces("discrete")
    module = AsymmetricLSTMModule(observation_space=obs_space, action_space=act_space,
                                  model_config={"dense_units": 1024, "lstm_units": 512})
    assert module.actor.dense[0].out_features == 1024 and module.critic.lstm.hidden_size == 512
    assert set(module.get_initial_state()) == set(STATE_KEYS)
    assert all(v.shape == (512,) for v in module.get_initial_state().values())


def test_bad_configuration_raises():
    obs_space, act_space = _spaces("continuous")
    with pytest.raises(ValueError, match="actor_keys must not contain 'state'"):
        AsymmetricLSTMModule(observation_space=obs_space, action_space=act_space,
                             model_config={"actor_keys": (*POLICY_KEYS, "state")})
    with pytest.raises(ValueError, match="obs_layout"):
        AsymmetricLSTMModule(observation_space=gym.spaces.flatten_space(obs_space), action_space=act_space,
                             model_config={})
    with pytest.raises(ValueError, match="sums to"):
        AsymmetricLSTMModule(observation_space=gym.spaces.flatten_space(obs_space), action_space=act_space,
                             model_config={"obs_layout": [("state", 3)]})
    with pytest.raises(ValueError, match="no key"):
        AsymmetricLSTMModule(observation_space=obs_space, action_space=act_space, model_config={"critic_keys": ("x",)})
    with pytest.raises(ValueError, match="lstm_units"):
        AsymmetricLSTMModule(observation_space=obs_space, action_space=act_space, model_config={"lstm_units": 0})
    with pytest.raises(ValueError, match="action_space"):
        AsymmetricLSTMModule(observation_space=obs_space, action_space=gym.spaces.Discrete(3), model_config={})
