"""DQN converges to the hand-computed Q-values of a tiny deterministic chain."""

import random
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from algos.DQN.agent import Agent
from algos.DQN.config import AlgoConfig
from joyrl.config import defaults
from joyrl.loops import StepTrainer

GAMMA = 0.99


class Chain(gym.Env):
    """States 0..4 as one-hots; action 1 moves right, 0 left; reaching 4 pays 1 and terminates."""

    observation_space = spaces.Box(0, 1, (5,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return self._observation(), {}

    def step(self, action):
        self.position = max(0, self.position - 1) if action == 0 else self.position + 1
        done = self.position == 4
        return self._observation(), float(done), done, False, {}

    def _observation(self):
        observation = np.zeros(5, np.float32)
        observation[self.position] = 1
        return observation


def test_dqn_learns_the_bellman_values_of_a_chain():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    settings = defaults(AlgoConfig) | {
        "value_layers": [{"layer_type": "linear", "layer_size": [32], "activation": "relu"}],
        "learning_starts": 100,
        "train_freq": 2,
        "gradient_steps": 1,
        "target_update": 25,
        "epsilon_decay": 2000,
        "lr": 1e-3,
        "gamma": GAMMA,
        "lr_end": None,
    }
    cfg = SimpleNamespace(**settings, device="cpu", n_states=5, n_actions=2)
    agent, trainer = Agent(cfg), StepTrainer()
    env = gym.wrappers.TimeLimit(Chain(), max_episode_steps=50)
    env.reset(seed=0)
    for _ in range(200):
        trainer.train_one_episode(env, agent, cfg)
    with torch.no_grad():
        q_values = agent.policy_net(torch.eye(5))[:4].numpy()  # (4 non-terminal states, 2 actions)
    right = [GAMMA ** (3 - s) for s in range(4)]  # Q*(s, right) = γ^(3-s)
    left = [GAMMA * right[max(s - 1, 0)] for s in range(4)]  # Q*(s, left) = γ Q*(s-1, right), a wall at 0
    assert q_values[:, 1] == pytest.approx(right, abs=0.02)
    assert q_values[:, 0] == pytest.approx(left, abs=0.02)


@pytest.mark.parametrize(
    ("lr_end", "lr_decay", "expected"),
    [(None, None, 1e-3), (0.0, None, 5e-4), (0.0, 200, 7.5e-4), (1e-4, 50, 1e-4)],
)
def test_learning_rate_follows_its_schedule(lr_end, lr_decay, expected):
    """At env step 50 of a 100-step budget: constant, halfway to 0, a quarter of 200 steps, or already at the end."""
    settings = defaults(AlgoConfig) | {"lr": 1e-3, "lr_end": lr_end, "lr_decay": lr_decay, "learning_starts": 0, "train_freq": 50}
    settings |= {
        "gradient_steps": 1,
        "batch_size": 4,
        "value_layers": [{"layer_type": "linear", "layer_size": [8], "activation": "relu"}],
    }
    agent = Agent(SimpleNamespace(**settings, device="cpu", n_states=5, n_actions=2, max_env_steps=100))
    observation = np.zeros(5, np.float32)
    for _ in range(50):
        agent.store_transition(observation, agent.sample_action(observation), 0.0, observation, False)
    stats = agent.update()
    assert stats["lr"] == pytest.approx(expected)
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(expected)
