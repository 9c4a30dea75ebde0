"""Behaviour cloning (algos/BC): each loss by hand, masks, acting, the checkpoint, and learning on expert data."""

from __future__ import annotations

import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from algos.BC.agent import Agent
from algos.BC.config import AlgoConfig
from joyrl.buffers import ReplayBatch
from joyrl.config import defaults
from joyrl.datasets import Dataset, fill_memory
from joyrl.envs import env_info
from tests.helpers import linear_layers, saved_and_loaded, set_linear
from tests.identity_envs import TOLERANCE, register_identity_envs

register_identity_envs()


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


LINEAR_1 = [{"layer_type": "linear", "layer_size": [1], "activation": "none"}]
LINEAR_2 = [{"layer_type": "linear", "layer_size": [2], "activation": "none"}]
SMALL = [{"layer_type": "linear", "layer_size": [32], "activation": "relu"}]


def make_agent(obs_space: spaces.Space, action_space: spaces.Space, **overrides) -> Agent:
    """A BC agent for these spaces, as the framework builds it (a dataset set, train mode)."""
    info = env_info(SimpleNamespace(observation_space=obs_space, action_space=action_space))
    general = {"device": "cpu", "mode": "train", "dataset": "tasks/datasets/test", "max_env_steps": -1}
    cfg = SimpleNamespace(**{**defaults(AlgoConfig), **general, **info, "buffer_size": 1000, **overrides})
    torch.manual_seed(0)
    return Agent(cfg)


def batch(states, actions) -> ReplayBatch:
    n = len(actions)
    zeros = torch.zeros(n)
    return ReplayBatch(states, actions, zeros, states, zeros)


def log_softmax(logits: list[float], index: int) -> float:
    return logits[index] - math.log(sum(math.exp(value) for value in logits))


# ------------------------------------------------------------------ Discrete: cross-entropy


def discrete_agent() -> Agent:
    """logits(s) = W2 (W1 s) for a 2-dimensional s and 3 actions, W1 = I, W2 = [[1, 0], [0, 1], [1, 1]]."""
    agent = make_agent(spaces.Box(-1.0, 1.0, (2,), np.float32), spaces.Discrete(3), actor_layers=LINEAR_2)
    hidden, output = linear_layers(agent.policy)
    set_linear(hidden, [[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    set_linear(output, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 0.0])
    return agent


def test_cross_entropy_loss_by_hand():
    agent = discrete_agent()
    states = torch.tensor([[1.0, 0.0], [0.5, -1.0]])
    actions = torch.tensor([0, 2])
    # logits: s1 -> (1, 0, 1), s2 -> (0.5, -1, -0.5)
    expected = -(log_softmax([1.0, 0.0, 1.0], 0) + log_softmax([0.5, -1.0, -0.5], 2)) / 2
    loss = agent.imitation_loss(batch(states, actions))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert agent.predict_action(np.array([0.5, -1.0], np.float32)) == 0  # argmax of (0.5, -1, -0.5)


def test_cross_entropy_and_acting_honour_the_action_mask():
    obs_space = spaces.Dict({"obs": spaces.Box(-1.0, 1.0, (2,), np.float32), "action_mask": spaces.MultiBinary(3)})
    agent = make_agent(obs_space, spaces.Discrete(3), actor_layers={"obs": LINEAR_2})
    hidden, output = linear_layers(agent.policy)
    set_linear(hidden, [[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    set_linear(output, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, 0.0])
    states = {"obs": torch.tensor([[1.0, 0.0]]), "action_mask": torch.tensor([[False, True, True]])}
    # logits (1, 0, 1) with action 0 illegal: the softmax runs over actions 1 and 2 alone
    expected = -log_softmax([0.0, 1.0], 1)
    assert agent.imitation_loss(batch(states, torch.tensor([2]))).item() == pytest.approx(expected, rel=1e-6)
    state = {"obs": np.array([1.0, 0.0], np.float32), "action_mask": np.array([0, 1, 0], np.int8)}
    assert agent.predict_action(state) == 1  # the best logits (actions 0 and 2) are illegal
    torch.manual_seed(0)
    assert {agent.sample_action(state) for _ in range(50)} == {1}


# ------------------------------------------------------------------ Box: squared error and Gaussian likelihood

BOUNDS = spaces.Box(-2.0, 2.0, (1,), np.float32)  # the env acts in [-2, 2]; the agent in [-1, 1]


def test_mse_loss_by_hand_on_actions_mapped_to_unit_range():
    agent = make_agent(spaces.Box(-1.0, 1.0, (1,), np.float32), BOUNDS, actor_layers=LINEAR_1, loss="mse")
    hidden, output = linear_layers(agent.policy)
    set_linear(hidden, [[2.0]], [0.5])
    set_linear(output, [[0.5]], [-0.25])
    for state, env_action in ((0.5, 1.0), (-1.0, -2.0)):  # stored as 0.5 and -1.0
        agent.store_transition(np.array([state], np.float32), np.array([env_action], np.float32), 0.0, np.zeros(1), False)
    stored = torch.from_numpy(agent.memory.actions[:2])
    torch.testing.assert_close(stored, torch.tensor([[0.5], [-1.0]]))
    states = torch.from_numpy(agent.memory.states[:2])
    # mu(s) = tanh(0.5 (2 s + 0.5) - 0.25) = tanh(s): tanh(0.5), tanh(-1)
    expected = ((math.tanh(0.5) - 0.5) ** 2 + (math.tanh(-1.0) + 1.0) ** 2) / 2
    assert agent.imitation_loss(batch(states, stored)).item() == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(agent.predict_action(np.array([0.5], np.float32)), [2.0 * math.tanh(0.5)], rtol=1e-6)


def test_gaussian_negative_log_likelihood_by_hand_and_its_mean_as_the_greedy_action():
    agent = make_agent(spaces.Box(-1.0, 1.0, (1,), np.float32), BOUNDS, actor_layers=LINEAR_1, loss="gaussian")
    set_linear(agent.policy.body[0], [[1.0]], [0.0])  # features = s
    set_linear(agent.policy.mean, [[0.5]], [0.1])  # mu(s) = 0.5 s + 0.1
    set_linear(agent.policy.log_std, [[1.0]], [-1.0])  # log sigma(s) = s - 1
    states, actions = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.3], [-0.4]])

    def nll(a: float, mu: float, log_sigma: float) -> float:
        return 0.5 * ((a - mu) / math.exp(log_sigma)) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)

    expected = (nll(0.3, 0.1, -1.0) + nll(-0.4, 0.6, 0.0)) / 2
    assert agent.imitation_loss(batch(states, actions)).item() == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(agent.predict_action(np.array([1.0], np.float32)), [2.0 * 0.6], rtol=1e-6)
    torch.manual_seed(0)
    samples = np.array([agent.sample_action(np.array([0.0], np.float32)) for _ in range(2000)])
    assert samples.mean() == pytest.approx(2.0 * 0.1, abs=0.03)  # mu(0) = 0.1, sigma(0) = e^-1 in [-1, 1] units
    assert samples.std() == pytest.approx(2.0 * math.exp(-1.0), rel=0.1)


def test_gaussian_log_std_is_clamped_as_sacs():
    agent = make_agent(spaces.Box(-1.0, 1.0, (1,), np.float32), BOUNDS, actor_layers=LINEAR_1, loss="gaussian")
    set_linear(agent.policy.log_std, [[0.0]], [50.0])
    assert agent.gaussian_policy(torch.zeros(1, 1)).scale.item() == pytest.approx(math.exp(2.0))


# ------------------------------------------------------------------ the config, the checkpoint


def test_training_without_a_dataset_is_refused_in_one_line(cli):
    """BC declares needs_dataset: the framework refuses train mode without general_cfg.dataset."""
    result = cli("--algo", "BC", "--env", "CartPole-v1")
    assert result.code == 2 and result.folder is None and "BC learns from a dataset only" in result.err


def identity_dataset(env_id: str, episodes: int, seed: int) -> Dataset:
    """Expert episodes of an identity env: the action names the target shown (reward 1 every step)."""
    rng = np.random.default_rng(seed)
    n = episodes * 20
    if env_id == "IdentityDiscrete-v0":
        targets = rng.integers(0, 4, n + 1)
        observations, actions = np.eye(4, dtype=np.float32)[targets], targets[:-1].astype(np.int64)
    else:
        observations = rng.uniform(-1.0, 1.0, (n + 1, 1)).astype(np.float32)
        actions = observations[:-1].copy()
    ends = np.arange(n) % 20 == 19
    return Dataset(
        observations=observations[:-1],
        actions=actions,
        rewards=np.ones(n, np.float32),
        next_observations=observations[1:],
        terminated=np.zeros(n, bool),
        truncated=ends,
        episode_starts=np.arange(0, n, 20, dtype=np.int64),
    )


def identity_agent(env_id: str, **overrides) -> Agent:
    env = gym.make(env_id)
    return make_agent(env.observation_space, env.action_space, actor_layers=SMALL, lr=1e-2, batch_size=32, **overrides)


def test_checkpoint_round_trip_continues_identically():
    np.random.seed(0)
    agent = identity_agent("IdentityBox-v0", loss="gaussian")
    fill_memory(agent, identity_dataset("IdentityBox-v0", 2, seed=0))
    for _ in range(5):
        agent.update()
    copy = identity_agent("IdentityBox-v0", loss="gaussian")
    copy.load_state_dict(saved_and_loaded(agent.state_dict()))
    fill_memory(copy, identity_dataset("IdentityBox-v0", 2, seed=0))
    assert copy.update_count == 5
    state = np.array([0.3], np.float32)
    np.testing.assert_array_equal(copy.predict_action(state), agent.predict_action(state))
    results = []
    for twin in (agent, copy):  # same batches, same optimiser moments: the same steps
        np.random.seed(1)
        results.append([twin.update(), twin.update(), twin.predict_action(state).tolist()])
    assert results[0] == results[1]


def test_update_waits_for_a_batch():
    agent = identity_agent("IdentityDiscrete-v0")
    fill_memory(agent, identity_dataset("IdentityDiscrete-v0", 1, seed=0))  # 20 transitions < batch_size 32
    assert agent.update() is None


# ------------------------------------------------------------------ learning from expert data


def test_learns_the_discrete_identity_from_expert_data():
    np.random.seed(0)
    agent = identity_agent("IdentityDiscrete-v0")
    assert fill_memory(agent, identity_dataset("IdentityDiscrete-v0", 5, seed=0)) == 100
    losses = [agent.update()["loss"] for _ in range(100)]
    assert losses[-1] < 0.05 < losses[0]
    for target in range(4):
        assert agent.predict_action(np.eye(4, dtype=np.float32)[target]) == target


@pytest.mark.parametrize("loss", ["mse", "gaussian"])
def test_learns_the_box_identity_from_expert_data(loss):
    np.random.seed(0)
    agent = identity_agent("IdentityBox-v0", loss=loss)
    fill_memory(agent, identity_dataset("IdentityBox-v0", 5, seed=0))
    for _ in range(300):
        agent.update()
    held_out = np.random.default_rng(1).uniform(-1.0, 1.0, (50, 1)).astype(np.float32)  # targets not in the dataset
    errors = np.array([abs(agent.predict_action(target)[0] - target[0]) for target in held_out])
    assert errors.max() < TOLERANCE  # every greedy action is rewarded
