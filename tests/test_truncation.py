"""Terminated vs truncated: the step loop stores ``terminated`` only, and DQN's target bootstraps on it."""

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch

from algos.DQN.agent import Agent as DQNAgent
from joyrl.buffers import ReplayBatch
from joyrl.cli import config_from_args
from joyrl.contracts import BaseAgent
from joyrl.envs import env_info, make_env
from joyrl.loops import StepTrainer
from tests.helpers import SMALL_NET


def env_cfg(env_id="CartPole-v1", max_step=-1):
    return SimpleNamespace(id=env_id, kwargs={}, max_step=max_step, render_mode=None, wrappers=[])


class StepLog(gym.Wrapper):
    """Remembers what each step returned."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = []

    def step(self, action):
        result = self.env.step(action)
        self.steps.append(result)
        return result


class RecordingAgent(BaseAgent):
    """Always pushes right; keeps every transition it is given."""

    def __init__(self):
        self.stored = []

    def sample_action(self, state):
        return 1

    def predict_action(self, state):
        return 1

    def store_transition(self, state, action, reward, next_state, terminated):
        self.stored.append((state, action, reward, next_state, terminated))

    def update(self):
        return None


def test_time_limit_truncation_is_stored_as_not_terminated():
    env = StepLog(make_env(env_cfg(max_step=5), seed=1))
    agent = RecordingAgent()
    result = StepTrainer().train_one_episode(env, agent, None)
    assert result == {"ep_reward": 5.0, "ep_step": 5, "n_updates": 0, "info": env.steps[-1][4]}
    _, _, terminated, truncated, _ = env.steps[-1]
    assert (terminated, truncated) == (False, True)
    assert [transition[4] for transition in agent.stored] == [False] * 5


def test_real_termination_is_stored_as_terminated():
    env = StepLog(make_env(env_cfg(), seed=1))
    agent = RecordingAgent()
    result = StepTrainer().train_one_episode(env, agent, None)
    assert result["ep_step"] < 500  # always pushing right drops the pole
    assert env.steps[-1][2] is True
    assert [transition[4] for transition in agent.stored] == [False] * (result["ep_step"] - 1) + [True]


def test_stored_next_state_of_a_truncated_step_is_the_final_observation():
    env = StepLog(make_env(env_cfg(max_step=5), seed=1))
    agent = RecordingAgent()
    StepTrainer().train_one_episode(env, agent, None)
    np.testing.assert_array_equal(agent.stored[-1][3], env.steps[-1][0])
    for (_, _, _, next_state, _), (state, *_) in zip(agent.stored, agent.stored[1:], strict=False):
        np.testing.assert_array_equal(next_state, state)


def test_make_env_max_step_replaces_the_time_limit():
    env = make_env(env_cfg("CliffWalking-v1", max_step=7), seed=1)
    env.reset()
    flags = [env.step(0)[2:4] for _ in range(7)]  # moving up from the start never ends the episode
    assert flags == [(False, False)] * 6 + [(False, True)]


def dqn_agent(*overrides):
    cfg = config_from_args([SMALL_NET, *overrides])
    cfg.n_states, cfg.n_actions = 4, 2
    return DQNAgent(cfg)


def test_dqn_agent_stores_truncation_as_not_terminated():
    env = make_env(env_cfg(max_step=5), seed=1)
    cfg = config_from_args([SMALL_NET, "algo_cfg.learning_starts=0", "algo_cfg.train_freq=1", "algo_cfg.batch_size=4"])
    for key, value in env_info(env).items():
        setattr(cfg, key, value)
    agent = DQNAgent(cfg)
    result = StepTrainer().train_one_episode(env, agent, cfg)
    assert result["ep_step"] == 5
    assert len(agent.memory) == 5
    assert agent.memory.terminated[:5].tolist() == [0.0] * 5
    assert "loss" in result


def test_dqn_target_bootstraps_unless_terminated():
    agent = dqn_agent("algo_cfg.gamma=0.9")
    torch.manual_seed(0)
    next_states = torch.randn(2, 4)
    batch = ReplayBatch(
        states=torch.randn(2, 4),
        actions=torch.tensor([0, 1]),
        rewards=torch.tensor([1.0, 2.0]),
        next_states=next_states,
        terminated=torch.tensor([0.0, 1.0]),
    )
    with torch.no_grad():
        max_next_q = agent.target_net(next_states).max(dim=1).values
    target = agent.compute_target(batch)
    assert target.shape == (2,)
    assert target[0].item() == pytest.approx(1.0 + 0.9 * max_next_q[0].item(), rel=1e-6)
    assert target[1].item() == 2.0


def test_dqn_target_uses_the_target_network():
    agent = dqn_agent()
    batch = ReplayBatch(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), torch.ones(3), torch.randn(3, 4), torch.zeros(3))
    before = agent.compute_target(batch)
    with torch.no_grad():
        for parameter in agent.policy_net.parameters():
            parameter.add_(1.0)
    torch.testing.assert_close(agent.compute_target(batch), before)


def test_dqn_learns_only_after_learning_starts_every_train_freq():
    agent = dqn_agent("algo_cfg.learning_starts=8", "algo_cfg.train_freq=4", "algo_cfg.batch_size=4")
    updates = []
    for step in range(1, 17):
        state = np.full(4, step, dtype=np.float32)
        agent.sample_action(state)
        agent.store_transition(state, 0, 1.0, state, False)
        stats = agent.update()
        if stats is not None:
            updates.append(step)
            assert {"loss", "epsilon"} <= set(stats)
            assert all(isinstance(value, float) for value in stats.values())
    assert updates == [8, 12, 16]
