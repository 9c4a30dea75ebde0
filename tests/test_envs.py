"""Env construction: ids, spaces, wrappers from the config, and the project's custom envs."""

import importlib
import os
import re
from types import SimpleNamespace

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from joyrl.contracts import BaseAgent, observation_spaces_for
from joyrl.envs import check_spaces, env_info, make_env
from joyrl.errors import ConfigError
from tests.helpers import QLEARNING_PRESET, ROOT, TINY_DQN, read_csv
from tests.identity_envs import register_identity_envs


def env_cfg(env_id, **changes):
    return SimpleNamespace(**{"id": env_id, "kwargs": {}, "max_step": -1, "render_mode": None, "wrappers": [], **changes})


def test_env_info_for_a_box_observation_and_discrete_actions():
    info = env_info(make_env(env_cfg("CartPole-v1"), seed=1))
    assert (info["n_states"], info["obs_shape"], info["n_actions"]) == (4, (4,), 2)


def test_env_info_for_discrete_observations():
    info = env_info(make_env(env_cfg("CliffWalking-v1"), seed=1))
    assert (info["n_states"], info["obs_shape"], info["n_actions"]) == (48, (), 4)


def test_env_info_gives_action_bounds_for_continuous_actions():
    info = env_info(make_env(env_cfg("Pendulum-v1"), seed=1))
    assert info["n_actions"] == 1
    assert (float(info["action_low"][0]), float(info["action_high"][0])) == (-2.0, 2.0)


def test_check_spaces_accepts_what_the_agent_supports():
    class Agent(BaseAgent):
        supported_observation_spaces = ("Box",)
        supported_action_spaces = ("Discrete",)

    check_spaces(Agent, make_env(env_cfg("CartPole-v1"), seed=1), "X", "CartPole-v1")
    with pytest.raises(ConfigError, match="X handles Discrete action spaces"):
        check_spaces(Agent, make_env(env_cfg("Pendulum-v1"), seed=1), "X", "Pendulum-v1")


@pytest.mark.parametrize("algo", ["CQL", "BCQ"])
def test_check_spaces_refuses_an_observation_kind_the_action_kind_does_not_take(algo):
    """CQL and BCQ take Dict observations with Discrete actions only (their Box-action networks read s and a
    concatenated): the pair is refused in one line that says so."""
    register_identity_envs()
    agent = importlib.import_module(f"algos.{algo}.agent").Agent
    assert observation_spaces_for(agent, "Discrete") == agent.supported_observation_spaces
    assert "Dict" not in observation_spaces_for(agent, "Box")
    check_spaces(agent, gym.make("IdentityDictToDiscrete-v0"), algo, "IdentityDictToDiscrete-v0")
    check_spaces(agent, gym.make("IdentityBoxToBox-v0"), algo, "IdentityBoxToBox-v0")
    message = f"{algo} handles Box, Discrete, MultiDiscrete or MultiBinary observation spaces with Box actions, but "
    with pytest.raises(ConfigError, match=re.escape(message) + "IdentityDictToBox-v0 has a Dict with parts"):
        check_spaces(agent, gym.make("IdentityDictToBox-v0"), algo, "IdentityDictToBox-v0")


def test_unknown_env_id_suggests_close_ids():
    with pytest.raises(ConfigError, match="did you mean CartPole-v1"):
        make_env(env_cfg("CartPole-v9"), seed=1)


def test_env_kwargs_reach_gymnasium_make():
    env = make_env(env_cfg("FrozenLake-v1", kwargs={"is_slippery": False}), seed=1)
    assert env.unwrapped.spec.kwargs["is_slippery"] is False


@pytest.mark.parametrize(
    "wrapper",
    [
        {"name": "gymnasium.wrappers:ClipReward", "kwargs": {"min_reward": -0.5, "max_reward": 0}},
        {"name": "gymnasium.wrappers.ClipReward", "kwargs": {"min_reward": -0.5, "max_reward": 0}},
    ],
)
def test_wrappers_from_the_config_are_applied(wrapper):
    env = make_env(env_cfg("CliffWalking-v1", wrappers=[wrapper]), seed=1)
    env.reset()
    assert env.step(0)[1] == -0.5


def test_wrapper_with_bad_kwargs_is_a_config_error():
    wrapper = {"name": "gymnasium.wrappers:ClipReward", "kwargs": {"bogus": 1}}
    with pytest.raises(ConfigError, match="env_cfg.wrappers: gymnasium.wrappers:ClipReward"):
        make_env(env_cfg("CliffWalking-v1", wrappers=[wrapper]), seed=1)


def test_wrappers_apply_in_a_training_run(cli):
    result = cli(
        "--yaml",
        QLEARNING_PRESET,
        "general_cfg.max_episode=3",
        "general_cfg.max_step=20",
        "env_cfg.wrappers=[{name: 'gymnasium.wrappers:ClipReward', kwargs: {min_reward: -0.5, max_reward: 0}}]",
    )
    assert result.code == 0
    for row in read_csv(result.folder / "results" / "res.csv"):
        assert float(row["reward"]) == -0.5 * int(row["length"])


def test_custom_env_passes_gymnasiums_checker():
    import envs  # noqa: F401  (registers the custom envs)

    env = gym.make("CartPoleNoVelocity-v1")
    check_env(env.unwrapped)
    assert env.observation_space.shape == (2,)
    assert env.spec.max_episode_steps == 500


def test_dqn_trains_on_the_custom_env(cli):
    result = cli(*TINY_DQN, "--env", "CartPoleNoVelocity-v1", "general_cfg.online_eval=false")
    assert result.code == 0
    assert result.folder.name.startswith("Train_CartPoleNoVelocity-v1_DQN_")


def test_relative_tasks_dir_starts_at_the_project_root(cli, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = os.path.relpath(tmp_path / "tasks", ROOT)
    result = cli(*TINY_DQN, "general_cfg.max_episode=1", "general_cfg.online_eval=false", tasks_dir=relative)
    assert result.code == 0
    (run,) = (tmp_path / "tasks").iterdir()
    assert run.name.startswith("Train_CartPole-v1_DQN_")
    assert not any(elsewhere.iterdir())
