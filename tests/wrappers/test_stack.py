"""The full paper stack: composition, ablation switches, seeding, vector envs, registration."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import gym_dactyl  # noqa: F401
from wrappers import (
    GROUPS,
    ActionDelay,
    DiscretizeActions,
    MarkerFreeze,
    ObservationNoise,
    PhysicsRandomization,
    VisualRandomization,
    dactyl_randomization,
)


def base(**kwargs):
    return gym.make("Dactyl-v0", action_type="continuous", **kwargs)


def wrapper_types(env) -> list[type]:
    out = []
    while isinstance(env, gym.Wrapper):
        out.append(type(env))
        env = env.env
    return out


def rollout(env, seed: int, steps: int = 60) -> list[np.ndarray]:
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    out = [obs["fingertip_pos"], obs["state"]]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        out += [obs["fingertip_pos"], obs["object_quat"], obs["state"], np.array([r])]
        if term or trunc:
            obs, info = env.reset()
    return out


def test_full_stack_has_every_wrapper_in_order():
    env = dactyl_randomization(base(), discrete_actions=True)
    types = wrapper_types(env)
    names = [t.__name__ for t in types]
    assert names.index("DiscretizeActions") < names.index("MarkerFreeze") < names.index("ObservationNoise")
    assert names.index("ActionDelay") < names.index("ActionNoise") < names.index("Backlash")
    assert names.index("RandomForces") < names.index("TimestepRandomization") < names.index("PhysicsRandomization")
    assert VisualRandomization not in types  # vision group is opt-in
    assert env.action_space == gym.spaces.MultiDiscrete([11] * 20)
    assert env.observation_space == base().observation_space


@pytest.mark.parametrize("group", ["observation", "physics", "unmodeled"])
def test_each_ablation_is_one_flag(group):
    env = dactyl_randomization(base(), **{group: False})
    names = {t.__name__ for t in wrapper_types(env)}
    for wrapper_name in GROUPS[group]:
        cls_name = "".join(part.title() for part in wrapper_name.split("_"))
        assert cls_name not in names
    assert len(names) > 2


def test_overrides_pass_arguments_and_switch_wrappers_off():
    env = dactyl_randomization(
        base(), action_delay={"probability": 1.0}, marker_freeze=False, visual_randomization=True
    )
    types = wrapper_types(env)
    assert MarkerFreeze not in types and VisualRandomization in types
    delay = next(w for w in _wrappers(env) if isinstance(w, ActionDelay))
    env.reset(seed=0)
    assert delay.delay_mask.all()


def _wrappers(env):
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env


def test_same_seed_same_trajectory_different_seed_different_physics():
    a = rollout(dactyl_randomization(base(), discrete_actions=True), seed=3)
    b = rollout(dactyl_randomization(base(), discrete_actions=True), seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))

    def physics(seed):
        env = dactyl_randomization(base())
        _, info = env.reset(seed=seed)
        return info["physics"], float(env.unwrapped.model.opt.timestep)

    (p1, t1), (p2, t2) = physics(1), physics(2)
    assert t1 != t2
    assert any(not np.array_equal(np.asarray(p1[k]), np.asarray(p2[k])) for k in p1)


def test_scale_zero_is_nominal_physics():
    env = dactyl_randomization(base(), scale=0.0, unmodeled=False)
    bare = base()
    env.reset(seed=5)
    bare.reset(seed=5)
    for field in ("body_mass", "geom_friction", "dof_damping", "actuator_gainprm", "jnt_range"):
        np.testing.assert_array_equal(getattr(env.unwrapped.model, field), getattr(bare.unwrapped.model, field))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"physics_randomisation": {}}, "unknown wrapper"), ({"scale": -1.0}, "scale"), ({"backlash": 3}, "backlash")],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dactyl_randomization(base(), **kwargs)


def test_discrete_base_env_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="action_type='continuous'"):
        dactyl_randomization(gym.make("Dactyl-v0"))


def test_registered_id_and_env_checker():
    from gymnasium.utils.env_checker import check_env

    env = gym.make("DactylRandomized-v0")
    assert isinstance(env.action_space, gym.spaces.MultiDiscrete)
    assert isinstance(env.unwrapped, gym_dactyl.DactylEnv)
    assert any(isinstance(w, PhysicsRandomization) for w in _wrappers(env))
    cont = gym.make("DactylRandomized-v0", action_type="continuous", goal="z", randomization={"observation": False})
    assert not any(isinstance(w, (DiscretizeActions, ObservationNoise)) for w in _wrappers(cont))
    assert cont.unwrapped.goal_type == "z"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(dactyl_randomization(base(), discrete_actions=True))


def test_async_vector_env_gets_different_physics_per_sub_env():
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("DactylRandomized-v0") for _ in range(2)])
    try:
        _, infos = envs.reset(seed=10)
        masses = np.asarray(infos["physics"]["mass_scale"])
        assert masses.shape[0] == 2 and not np.array_equal(masses[0], masses[1])
        envs.step(envs.action_space.sample())
    finally:
        envs.close()


def test_sb3_subproc_vec_env_gets_different_physics_per_sub_env():
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    # "module:id" makes each fresh worker process import gym_dactyl (which registers the id) before gym.make.
    envs = make_vec_env("gym_dactyl:DactylRandomized-v0", n_envs=2, seed=3, vec_env_cls=SubprocVecEnv,
                        vec_env_kwargs={"start_method": "forkserver"})  # fmt: skip
    try:
        envs.reset()
        physics = envs.get_attr("sampled")
        masses = [np.asarray(p["mass_scale"]) for p in physics]
        assert not np.array_equal(masses[0], masses[1])
        envs.step(np.stack([envs.action_space.sample() for _ in range(2)]))
    finally:
        envs.close()


def test_policy_only_observation_for_symmetric_learners():
    """critic_state=False: no clean state in the observation, through the whole stack and the module:id form."""
    env = gym.make("gym_dactyl:DactylRandomized-v0", critic_state=False)
    obs, _ = env.reset(seed=0)
    assert "state" not in obs and "state" not in env.observation_space.spaces
    assert set(obs) == set(gym_dactyl.POLICY_KEYS)
    marker = env.unwrapped
    assert not marker.critic_state
    freeze = next(w for w in _chain(env) if isinstance(w, MarkerFreeze))
    assert not freeze.use_state  # occlusion from the observed positions instead
    for _ in range(5):
        obs, *_ = env.step(env.action_space.sample())
        assert set(obs) == set(gym_dactyl.POLICY_KEYS) and env.observation_space.contains(obs)
    flat = gym.wrappers.FlattenObservation(gym.make("gym_dactyl:Dactyl-v0", critic_state=False))
    assert flat.observation_space.shape == (15 + 3 + 4 + 4,)
    with pytest.raises(ValueError, match="critic_state"):
        gym.make("Dactyl-v0", critic_state="no")


def _chain(env):
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env
