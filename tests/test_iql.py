"""IQL: the expectile loss, the clipped advantage weights, the three losses by hand, the cosine step size,
the checkpoint round trip, and learning from IdentityBox-v0 data (pseudocodes/IQL.md)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from algos.IQL.agent import Agent, advantage_weights, expectile_loss
from algos.IQL.config import AlgoConfig
from joyrl.buffers import ReplayBatch
from joyrl.config import defaults
from joyrl.datasets import Dataset, fill_memory
from tests.helpers import saved_and_loaded
from tests.identity_envs import EPISODE_STEPS, TOLERANCE, register_identity_envs

TINY_LAYERS = [{"layer_type": "linear", "layer_size": [8], "activation": "relu"}]
LAYERS = [{"layer_type": "linear", "layer_size": [64], "activation": "relu"}] * 2


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def make_agent(obs_dim: int = 1, low: float = -1.0, high: float = 1.0, **overrides) -> Agent:
    """An IQL agent for a Box(-1, 1, (obs_dim,)) observation and a one-dimensional action in [low, high]."""
    action_low, action_high = np.array([low], np.float32), np.array([high], np.float32)
    env = {
        "obs_space": spaces.Box(-1.0, 1.0, (obs_dim,), np.float32),
        "action_space": spaces.Box(action_low, action_high, dtype=np.float32),
        "n_states": obs_dim,
        "n_actions": 1,
        "action_low": action_low,
        "action_high": action_high,
        "device": "cpu",
        "max_updates": 1_000,
        "dataset": "trajs_0.pkl",
    }
    keys = {"actor_layers": TINY_LAYERS, "critic_layers": TINY_LAYERS, "value_layers": TINY_LAYERS, "batch_size": 4}
    cfg = SimpleNamespace(**{**defaults(AlgoConfig), **env, **keys, **overrides})
    torch.manual_seed(0)
    return Agent(cfg)


def constant_output(network: nn.Sequential, value: float) -> None:
    """Make an MLP output ``value`` for every input: its last layer's weights 0, its bias ``value``."""
    with torch.no_grad():
        network[-1].weight.zero_()
        network[-1].bias.fill_(value)


def batch_of(actions, rewards=None, terminated=None) -> ReplayBatch:
    n = len(actions)
    states = torch.linspace(-1.0, 1.0, n).unsqueeze(1)
    rewards = torch.zeros(n) if rewards is None else torch.tensor(rewards)
    terminated = torch.zeros(n) if terminated is None else torch.tensor(terminated)
    return ReplayBatch(states, torch.tensor(actions).reshape(n, 1), rewards, states.flip(0), terminated)


# ------------------------------------------------------------------ the losses


def test_expectile_loss_weighs_positive_residuals_tau_and_negative_ones_one_minus_tau():
    residuals = torch.tensor([2.0, -3.0, 0.0, 0.5])
    expected = torch.tensor([0.7 * 4.0, 0.3 * 9.0, 0.0, 0.7 * 0.25])
    torch.testing.assert_close(expectile_loss(residuals, 0.7), expected)
    torch.testing.assert_close(expectile_loss(residuals, 0.5), 0.5 * residuals.square())  # tau = 0.5: half the MSE


def test_value_loss_is_the_mean_expectile_loss_of_target_q_minus_v():
    agent = make_agent(expectile=0.9)
    constant_output(agent.value, 1.0)  # V(s) = 1
    target_q = torch.tensor([3.0, 0.0, 1.0, -1.0])  # residuals 2, -1, 0, -2
    expected = (0.9 * 4.0 + 0.1 * 1.0 + 0.0 + 0.1 * 4.0) / 4
    assert agent.value_loss(batch_of([0.0] * 4).states, target_q).item() == pytest.approx(expected)


def test_advantage_weights_are_exp_beta_a_clipped_at_max_weight():
    advantages = torch.tensor([0.0, 1.0, 2.0, -1.0])
    weights = advantage_weights(advantages, beta=3.0, max_weight=100.0)
    torch.testing.assert_close(weights, torch.tensor([1.0, math.exp(3.0), 100.0, math.exp(-3.0)]))  # exp(6) = 403 is clipped
    torch.testing.assert_close(advantage_weights(advantages, beta=0.0, max_weight=100.0), torch.ones(4))  # beta 0: cloning


def gaussian_log_density(x: float, mean: float, std: float) -> float:
    return -math.log(std) - 0.5 * math.log(2.0 * math.pi) - 0.5 * ((x - mean) / std) ** 2


def test_actor_loss_by_hand_and_no_gradient_into_v():
    agent = make_agent(beta=2.0, max_weight=5.0)
    constant_output(agent.actor.mean, 0.4)  # the mean is tanh(0.4)
    with torch.no_grad():
        agent.actor.log_std.fill_(math.log(0.5))
    constant_output(agent.value, 1.0)
    batch = batch_of([0.5, -1.0, 1.0])
    target_q = torch.tensor([1.0, 1.5, 3.0])  # advantages 0, 0.5, 2: weights 1, e, min(e^4, 5) = 5
    mean = math.tanh(0.4)
    weighted = [w * gaussian_log_density(a, mean, 0.5) for w, a in zip((1.0, math.e, 5.0), (0.5, -1.0, 1.0), strict=True)]
    loss = agent.actor_loss(batch, target_q)
    assert loss.item() == pytest.approx(-sum(weighted) / 3, rel=1e-5)
    loss.backward()
    assert all(parameter.grad is None for parameter in agent.value.parameters())
    assert agent.actor.log_std.grad is not None


def test_actor_log_std_is_clipped_to_minus_five_and_two():
    agent = make_agent()
    states = torch.zeros(2, 1)
    with torch.no_grad():
        agent.actor.log_std.fill_(-10.0)
    torch.testing.assert_close(agent.actor(states).stddev, torch.full((2, 1), math.exp(-5.0)))
    with torch.no_grad():
        agent.actor.log_std.fill_(3.0)
    torch.testing.assert_close(agent.actor(states).stddev, torch.full((2, 1), math.exp(2.0)))


def test_critic_loss_by_hand_regresses_both_critics_on_r_plus_gamma_v_next():
    agent = make_agent(gamma=0.5)
    constant_output(agent.critic.members[0], 1.0)
    constant_output(agent.critic.members[1], 3.0)
    constant_output(agent.value, 2.0)
    batch = batch_of([0.0, 0.0], rewards=[1.0, 0.0], terminated=[0.0, 1.0])  # y = 1 + 0.5 * 2 = 2, and 0
    expected = ((1 - 2) ** 2 + (1 - 0) ** 2) / 2 + ((3 - 2) ** 2 + (3 - 0) ** 2) / 2
    assert agent.critic_loss(batch).item() == pytest.approx(expected)


def test_update_fits_v_to_the_target_critics_minimum():
    """Step 5: V regresses min_i Q_target_i(s, a), not the online critics."""
    agent = make_agent()
    constant_output(agent.critic_target.members[0], 2.0)
    constant_output(agent.critic_target.members[1], 5.0)
    constant_output(agent.critic.members[0], 100.0)
    seen, value_loss = [], agent.value_loss

    def recording(states, target_q):
        seen.append(target_q)
        return value_loss(states, target_q)

    agent.value_loss = recording
    for _ in range(4):
        agent.store_transition(np.zeros(1, np.float32), np.zeros(1, np.float32), 0.0, np.zeros(1, np.float32), False)
    agent.update()
    torch.testing.assert_close(seen[0], torch.full((4,), 2.0))


def test_actor_step_size_follows_a_cosine_to_zero_over_max_updates():
    agent = make_agent(lr=1e-3, max_updates=100)
    for count, expected in ((0, 1e-3), (50, 5e-4), (25, 1e-3 * (1 + math.cos(math.pi / 4)) / 2), (100, 0.0), (150, 0.0)):
        agent.update_count = count
        assert agent.actor_learning_rate() == pytest.approx(expected)
    agent.cfg.actor_lr_schedule = "constant"
    assert agent.actor_learning_rate() == 1e-3


def test_training_without_a_dataset_is_refused_in_one_line(cli):
    """IQL declares needs_dataset: the framework refuses train mode without general_cfg.dataset."""
    result = cli("--algo", "IQL", "--env", "Pendulum-v1")
    assert result.code == 2 and result.folder is None and "IQL learns from a dataset only" in result.err


# ------------------------------------------------------------------ memory and checkpoints


def test_stored_actions_are_mapped_to_the_unit_range_and_acting_back_to_the_bounds():
    agent = make_agent(low=-2.0, high=2.0)
    agent.store_transition(np.zeros(1, np.float32), np.array([1.0], np.float32), 0.0, np.zeros(1, np.float32), False)
    assert agent.memory.actions[0, 0] == pytest.approx(0.5)
    constant_output(agent.actor.mean, 0.3)
    assert agent.predict_action(np.zeros(1, np.float32))[0] == pytest.approx(2.0 * math.tanh(0.3), rel=1e-5)
    for _ in range(20):
        assert -2.0 <= agent.sample_action(np.zeros(1, np.float32))[0] <= 2.0


def test_checkpoint_round_trip_restores_every_network_optimiser_and_counter():
    agent = make_agent(max_updates=10)
    rng = np.random.default_rng(0)
    for _ in range(16):
        state, action = rng.uniform(-1, 1, 1).astype(np.float32), rng.uniform(-1, 1, 1).astype(np.float32)
        agent.store_transition(state, action, float(rng.random()), state, False)
    np.random.seed(0)
    for _ in range(3):
        agent.update()
    restored = make_agent(max_updates=10)
    restored.memory.load_state_dict(agent.memory.state_dict())
    restored.load_state_dict(saved_and_loaded(agent.state_dict()))
    assert restored.update_count == 3
    for name in Agent.weights:
        for key, tensor in getattr(agent, name).state_dict().items():
            torch.testing.assert_close(getattr(restored, name).state_dict()[key], tensor)
    np.random.seed(1)
    next_stats = agent.update()
    np.random.seed(1)
    assert restored.update() == next_stats  # same batch, same optimiser moments and step size: the same step


# ------------------------------------------------------------------ learning from data


def identity_box_dataset(n_episodes: int, expert_share: float, seed: int = 0) -> Dataset:
    """IdentityBox-v0 episodes: the expert's action (the target shown) with probability ``expert_share``, else uniform."""
    register_identity_envs()
    env = gym.make("IdentityBox-v0")
    rng = np.random.default_rng(seed)
    columns: dict[str, list] = {name: [] for name in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
    observation, _ = env.reset(seed=seed)
    for _ in range(n_episodes * EPISODE_STEPS):
        expert = rng.random() < expert_share
        action = observation.copy() if expert else rng.uniform(-1.0, 1.0, 1).astype(np.float32)
        next_observation, reward, terminated, truncated, _ = env.step(action)
        for name, value in zip(columns, (observation, action, reward, next_observation, terminated, truncated), strict=True):
            columns[name].append(value)
        observation = env.reset()[0] if truncated else next_observation
    return Dataset(
        observations=np.array(columns["obs"], np.float32),
        actions=np.array(columns["actions"], np.float32),
        rewards=np.array(columns["rewards"], np.float32),
        next_observations=np.array(columns["next_obs"], np.float32),
        terminated=np.array(columns["terminated"], bool),
        truncated=np.array(columns["truncated"], bool),
        episode_starts=np.arange(0, n_episodes * EPISODE_STEPS, EPISODE_STEPS, dtype=np.int64),
    )


def learned_hits(dataset: Dataset, updates: int, **overrides) -> float:
    """The share of held-out targets whose greedy action lands within the env's tolerance, after ``updates`` steps."""
    keys = {"actor_layers": LAYERS, "critic_layers": LAYERS, "value_layers": LAYERS, "batch_size": 64, "lr": 3e-3}
    agent = make_agent(max_updates=updates, **{**keys, **overrides})
    assert fill_memory(agent, dataset) == dataset.n_transitions
    np.random.seed(0)
    for _ in range(updates):
        agent.update()
    targets = np.linspace(-0.97, 0.97, 40, dtype=np.float32) + 0.01  # not the data's observations
    actions = np.array([agent.predict_action(np.array([target]))[0] for target in targets])
    return float(np.mean(np.abs(actions - targets) < TOLERANCE))


def test_iql_imitates_expert_identity_box_data():
    assert learned_hits(identity_box_dataset(10, expert_share=1.0), updates=150) == 1.0


def test_the_advantage_weights_pick_the_expert_out_of_mixed_data():
    """Half the actions are uniform: cloning them all (beta 0) misses the outer targets, IQL's weights do not."""
    dataset = identity_box_dataset(20, expert_share=0.5)
    assert learned_hits(dataset, updates=250, gamma=0.0, beta=0.0) < 0.6
    assert learned_hits(dataset, updates=250, gamma=0.0, beta=10.0) == 1.0
