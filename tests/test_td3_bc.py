"""TD3+BC (algos/TD3_BC): the actor loss by hand, the state normalisation, the checkpoint, and learning offline."""

from __future__ import annotations

import io
import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from algos.TD3_BC.agent import OBS_STD_EPS, Agent
from algos.TD3_BC.config import AlgoConfig
from joyrl.buffers import ReplayBatch
from joyrl.config import defaults
from joyrl.datasets import Dataset, fill_memory, load_dataset
from joyrl.envs import env_info
from joyrl.trajectories import TrajectoryWriter
from tests.helpers import linear_layers, set_linear
from tests.identity_envs import (
    EPISODE_STEPS,
    TOLERANCE,
    coded_dataset,
    coded_id,
    missed_targets,
    register_identity_envs,
)

register_identity_envs()


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


LINEAR_1 = [{"layer_type": "linear", "layer_size": [1], "activation": "none"}]
SMALL = [{"layer_type": "linear", "layer_size": [32], "activation": "relu"}]


def make_agent(obs_space: spaces.Box, action_space: spaces.Box, **overrides) -> Agent:
    """A TD3+BC agent for these spaces, as the framework builds it (a dataset set, train mode)."""
    info = env_info(SimpleNamespace(observation_space=obs_space, action_space=action_space))
    general = {"device": "cpu", "mode": "train", "dataset": "tasks/datasets/test", "max_env_steps": -1}
    keys = {"actor_layers": SMALL, "critic_layers": SMALL, "buffer_size": 1000, "batch_size": 4}
    cfg = SimpleNamespace(**{**defaults(AlgoConfig), **general, **info, **keys, **overrides})
    torch.manual_seed(0)
    return Agent(cfg)


def dataset_of(observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray | None = None) -> Dataset:
    """One episode of these (s, a) pairs; the next state is the following row (the last repeats itself)."""
    n = len(actions)
    return Dataset(
        observations=observations,
        actions=actions,
        rewards=np.zeros(n, np.float32) if rewards is None else rewards,
        next_observations=np.concatenate([observations[1:], observations[-1:]]),
        terminated=np.zeros(n, bool),
        truncated=np.arange(n) == n - 1,
        episode_starts=np.zeros(1, np.int64),
    )


# ------------------------------------------------------------------ the actor's loss


def hand_agent(alpha: float = 2.5) -> Agent:
    """pi(s) = tanh(s) and Q_1(s, a) = s + 2a + 0.5, for a 1-dimensional s and a."""
    box = spaces.Box(-1.0, 1.0, (1,), np.float32)
    agent = make_agent(box, box, actor_layers=LINEAR_1, critic_layers=LINEAR_1, alpha=alpha)
    hidden, output = linear_layers(agent.actor)
    set_linear(hidden, [[1.0]], [0.0])
    set_linear(output, [[1.0]], [0.0])
    hidden, output = linear_layers(agent.critic.members[0])
    set_linear(hidden, [[1.0, 2.0]], [0.0])  # on [s, a]
    set_linear(output, [[1.0]], [0.5])
    return agent


STATES, DATA_ACTIONS = [0.5, -1.0], [0.2, -0.5]


def hand_batch() -> ReplayBatch:
    states, actions = torch.tensor([STATES]).T, torch.tensor([DATA_ACTIONS]).T
    return ReplayBatch(states, actions, torch.zeros(2), states, torch.zeros(2))


def test_actor_loss_by_hand_with_lambda():
    agent = hand_agent()
    pi = [math.tanh(s) for s in STATES]
    q = [s + 2.0 * a + 0.5 for s, a in zip(STATES, pi, strict=True)]  # 1.924, -2.023
    lam = 2.5 / ((abs(q[0]) + abs(q[1])) / 2)
    bc = ((pi[0] - DATA_ACTIONS[0]) ** 2 + (pi[1] - DATA_ACTIONS[1]) ** 2) / 2
    expected = -lam * (q[0] + q[1]) / 2 + bc
    loss = agent.bc_actor_loss(hand_batch())
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert agent.bc_lambda.item() == pytest.approx(lam, rel=1e-6)


def test_lambda_takes_no_gradient_and_the_critic_none():
    """d loss / d b (the actor's output bias) = mean_j (1 - pi_j^2) (-lambda dQ/da + 2 (pi_j - a_j)), lambda held fixed."""
    agent = hand_agent()
    agent.bc_actor_loss(hand_batch()).backward()
    pi = [math.tanh(s) for s in STATES]
    q = [s + 2.0 * a + 0.5 for s, a in zip(STATES, pi, strict=True)]
    lam = 2.5 / ((abs(q[0]) + abs(q[1])) / 2)
    expected = sum((1 - p**2) * (-lam * 2.0 + 2 * (p - a)) for p, a in zip(pi, DATA_ACTIONS, strict=True)) / 2
    bias_gradient = linear_layers(agent.actor)[-1].bias.grad
    assert bias_gradient is not None and bias_gradient.item() == pytest.approx(expected, rel=1e-5)
    assert all(parameter.grad is None for parameter in agent.critic.parameters())


def test_alpha_zero_is_behaviour_cloning():
    agent = hand_agent(alpha=0.0)
    pi = [math.tanh(s) for s in STATES]
    bc = ((pi[0] - DATA_ACTIONS[0]) ** 2 + (pi[1] - DATA_ACTIONS[1]) ** 2) / 2
    assert agent.bc_actor_loss(hand_batch()).item() == pytest.approx(bc, rel=1e-6)


def test_the_actor_and_the_targets_move_every_policy_delay_critic_steps():
    box = spaces.Box(-1.0, 1.0, (1,), np.float32)
    agent = make_agent(box, box)
    fill_memory(agent, dataset_of(np.linspace(-1, 1, 8, dtype=np.float32)[:, None], np.zeros((8, 1), np.float32)))
    actor = [parameter.clone() for parameter in agent.actor.parameters()]
    target = [parameter.clone() for parameter in agent.critic_target.parameters()]
    agent.update()  # critic step 1: no actor step
    assert all(torch.equal(a, b) for a, b in zip(actor, agent.actor.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(target, agent.critic_target.parameters(), strict=True))
    stats = agent.update()  # critic step 2: the actor and the targets
    assert not all(torch.equal(a, b) for a, b in zip(actor, agent.actor.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(target, agent.critic_target.parameters(), strict=True))
    assert stats is not None and set(stats) == {"critic_loss", "actor_loss", "lambda"} and stats["lambda"] > 0


# ------------------------------------------------------------------ the state normalisation

OBSERVATIONS = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]], np.float32)  # mean (2, 10), std (1.633, 0)


def normalizing_agent(**overrides) -> Agent:
    agent = make_agent(
        spaces.Box(-20.0, 20.0, (2,), np.float32), spaces.Box(-2.0, 2.0, (1,), np.float32), batch_size=3, **overrides
    )
    fill_memory(agent, dataset_of(OBSERVATIONS, np.array([[1.0], [0.0], [-2.0]], np.float32)))
    return agent


def test_statistics_come_from_the_dataset_states():
    agent = normalizing_agent()
    torch.testing.assert_close(agent.obs_mean, torch.tensor([2.0, 10.0]))
    torch.testing.assert_close(agent.obs_std, torch.tensor([math.sqrt(8.0 / 3.0) + 1e-3, 1e-3]))
    assert OBS_STD_EPS == 1e-3
    np.testing.assert_array_equal(agent.memory.states[:3], OBSERVATIONS)  # D keeps the raw states
    np.testing.assert_allclose(agent.memory.actions[:3], [[0.5], [0.0], [-1.0]])  # and actions in [-1, 1]


def test_states_and_next_states_are_normalised_in_update_and_acting():
    agent = normalizing_agent()
    states = torch.from_numpy(OBSERVATIONS)
    batch = agent.normalized(ReplayBatch(states, torch.zeros(3, 1), torch.zeros(3), states + 1.0, torch.zeros(3)))
    expected = (states - torch.tensor([2.0, 10.0])) / torch.tensor([math.sqrt(8.0 / 3.0) + 1e-3, 1e-3])
    torch.testing.assert_close(batch.states, expected)
    torch.testing.assert_close(batch.next_states, (states + 1.0 - torch.tensor([2.0, 10.0])) / agent.obs_std)
    with torch.no_grad():
        unit = agent.actor(expected[1:2])[0].numpy()
    np.testing.assert_allclose(agent.predict_action(OBSERVATIONS[1]), 2.0 * unit, rtol=1e-6)


def test_without_normalize_obs_states_are_left_alone():
    agent = normalizing_agent(normalize_obs=False)
    torch.testing.assert_close(agent.obs_mean, torch.zeros(2))
    torch.testing.assert_close(agent.obs_std, torch.ones(2))
    states = torch.from_numpy(OBSERVATIONS)
    torch.testing.assert_close(agent.normalize(states), states)


def saved_and_loaded(state: dict) -> dict:
    """``state`` through torch.save and torch.load, as a checkpoint file takes it (no tensor shared with the agent)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer)


def test_checkpoint_keeps_the_statistics_and_continues_identically():
    agent = normalizing_agent()
    np.random.seed(0)
    for _ in range(3):
        agent.update()
    copy = make_agent(spaces.Box(-20.0, 20.0, (2,), np.float32), spaces.Box(-2.0, 2.0, (1,), np.float32), batch_size=3)
    copy.load_state_dict(saved_and_loaded(agent.state_dict()))
    torch.testing.assert_close(copy.obs_std, agent.obs_std)
    np.testing.assert_array_equal(copy.predict_action(OBSERVATIONS[0]), agent.predict_action(OBSERVATIONS[0]))
    fill_memory(copy, dataset_of(OBSERVATIONS, np.array([[1.0], [0.0], [-2.0]], np.float32)))
    results = []
    for twin in (agent, copy):
        torch.manual_seed(1)
        np.random.seed(1)
        results.append([twin.update(), twin.update(), twin.predict_action(OBSERVATIONS[2]).tolist()])
    assert results[0] == results[1] and copy.update_count == 5
    assert {"obs_mean", "obs_std"} <= set(Agent.weights)


def test_training_without_a_dataset_is_refused_in_one_line(cli):
    """TD3_BC declares needs_dataset: the framework refuses train mode without general_cfg.dataset."""
    result = cli("--algo", "TD3_BC", "--env", "Pendulum-v1")
    assert result.code == 2 and result.folder is None and "TD3_BC learns from a dataset only" in result.err


# ------------------------------------------------------------------ learning offline


def write_noisy_expert_data(folder, episodes: int, noise: float, seed: int) -> None:
    """IdentityBox-v0 episodes of an expert (a = the target shown) whose actions carry N(0, noise^2), clipped to [-1, 1].

    Rewards follow the env's rule (1 within TOLERANCE of the target), so the critic learns which actions pay.
    """
    rng = np.random.default_rng(seed)
    writer = TrajectoryWriter(folder)
    for _ in range(episodes):
        observations = rng.uniform(-1.0, 1.0, (EPISODE_STEPS + 1, 1)).astype(np.float32)
        actions = np.clip(observations[:-1] + rng.normal(0.0, noise, (EPISODE_STEPS, 1)), -1.0, 1.0).astype(np.float32)
        hits = np.abs(actions - observations[:-1])[:, 0] < TOLERANCE
        ends = np.arange(EPISODE_STEPS) == EPISODE_STEPS - 1
        writer.add(
            {
                "states": observations[:-1],
                "actions": actions,
                "rewards": hits.astype(np.float32),
                "next_states": observations[1:],
                "terminated": np.zeros(EPISODE_STEPS, bool),
                "truncated": ends,
            }
        )
    writer.flush()


def greedy_errors(dataset: Dataset, alpha: float) -> np.ndarray:
    """|pi(s) - s| on 50 held-out targets after 300 updates on the dataset (tiny networks, a short gamma)."""
    env = gym.make("IdentityBox-v0")
    agent = make_agent(env.observation_space, env.action_space, lr=1e-2, gamma=0.5, batch_size=64, alpha=alpha)
    np.random.seed(0)
    assert fill_memory(agent, dataset) == 200
    for _ in range(300):
        agent.update()
    held_out = np.random.default_rng(100).uniform(-1.0, 1.0, (50, 1)).astype(np.float32)  # targets not in the dataset
    return np.array([abs(agent.predict_action(target)[0] - target[0]) for target in held_out])


def test_learns_the_box_identity_from_noisy_expert_data(tmp_path):
    write_noisy_expert_data(tmp_path / "traj", episodes=10, noise=0.3, seed=0)
    dataset = load_dataset(str(tmp_path), tmp_path)
    assert 0.5 < dataset.rewards.mean() < 0.8  # a third of the data's actions miss
    errors = greedy_errors(dataset, alpha=2.5)
    assert errors.max() < TOLERANCE  # every greedy action is rewarded
    cloning_errors = greedy_errors(dataset, alpha=0.0)  # lambda = 0: the BC term alone
    assert errors.mean() < 0.8 * cloning_errors.mean()  # the critic's term pulls pi towards the rewarded actions


@pytest.mark.parametrize("kind", ["Discrete", "MultiDiscrete", "MultiBinary"])
def test_learns_from_discrete_observations_which_normalize_obs_leaves_alone(kind):
    """The target shown as an index, two digits or two bits (one-hot or bits in the networks); normalize_obs (on by
    default) standardises Box states only, so the indices reach the one-hot encoding as they are."""
    register_identity_envs()
    env = gym.make(coded_id(kind, "Box"))
    agent = make_agent(env.observation_space, env.action_space, lr=1e-2, gamma=0.5, batch_size=64)
    assert agent.cfg.normalize_obs and not agent.standardize
    np.random.seed(0)
    assert fill_memory(agent, coded_dataset(kind, 10, action="Box")) == 200
    for _ in range(300):
        agent.update()
    assert missed_targets(agent, env) == []  # every greedy action is rewarded: within the env's 0.5 of the target's value
