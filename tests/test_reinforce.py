"""REINFORCE: returns, baseline advantages and the truncation bootstrap on hand-computed episodes;
the direction of the policy gradient and of the entropy bonus; Box actions; the rollout in checkpoints."""

import io
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from algos.REINFORCE.agent import Agent
from algos.REINFORCE.config import AlgoConfig
from algos.REINFORCE.trainer import Trainer
from joyrl.config import defaults
from tests.helpers import read_csv

SMALL = [{"layer_type": "linear", "layer_size": [8], "activation": "tanh"}]
GAMMA = 0.5


def make_agent(**overrides) -> Agent:
    torch.manual_seed(0)
    settings = defaults(AlgoConfig) | {"actor_layers": SMALL, "critic_layers": SMALL, "gamma": GAMMA} | overrides
    return Agent(SimpleNamespace(**settings, device="cpu", n_states=2, n_actions=2, action_space=spaces.Discrete(2)))


def play(agent: Agent, rewards: list[float], terminated: bool) -> None:
    """One episode of len(rewards) steps on states (t, 0), ending terminated or truncated."""
    for t, reward in enumerate(rewards):
        state = np.array([t, 0.0], dtype=np.float32)
        action = agent.sample_action(state)
        last = t == len(rewards) - 1
        agent.store_transition(state, action, reward, np.array([t + 1, 0.0], dtype=np.float32), last and terminated)
    agent.end_episode()


def constant_baseline(agent: Agent, value: float) -> None:
    """V(s) = value everywhere: the output layer's weights 0, its bias ``value``."""
    with torch.no_grad():
        agent.critic[-1].weight.zero_()
        agent.critic[-1].bias.fill_(value)


def targets(agent: Agent) -> tuple[list[float], list[float]]:
    returns, weights = agent.compute_targets(torch.as_tensor(np.array(agent.states)))
    return returns.tolist(), weights.tolist()


# Rewards 1, 2, 3 with gamma 0.5: G_2 = 3, G_1 = 2 + 0.5 * 3 = 3.5, G_0 = 1 + 0.5 * 3.5 = 2.75.
REWARDS = [1.0, 2.0, 3.0]


def test_rewards_to_go_of_a_terminated_episode():
    agent = make_agent(baseline=False)
    play(agent, REWARDS, terminated=True)
    returns, weights = targets(agent)
    assert returns == pytest.approx([2.75, 3.5, 3.0])
    assert weights == pytest.approx([2.75, 3.5, 3.0])


def test_whole_episode_return_weights_every_step():
    agent = make_agent(baseline=False, reward_to_go=False)
    play(agent, REWARDS, terminated=True)
    returns, weights = targets(agent)
    assert weights == pytest.approx([2.75, 2.75, 2.75])
    assert returns == pytest.approx([2.75, 3.5, 3.0])  # V's regression targets stay the returns from t


def test_baseline_advantages_subtract_v():
    agent = make_agent(baseline=True)
    constant_baseline(agent, 5.0)
    play(agent, REWARDS, terminated=True)
    returns, advantages = targets(agent)
    assert returns == pytest.approx([2.75, 3.5, 3.0])
    assert advantages == pytest.approx([2.75 - 5, 3.5 - 5, 3.0 - 5])


def test_truncated_episode_bootstraps_from_v_of_its_last_state():
    agent = make_agent(baseline=True)
    constant_baseline(agent, 5.0)
    play(agent, REWARDS, terminated=False)
    # G_3 = V(s_3) = 5: G_2 = 3 + 2.5 = 5.5, G_1 = 2 + 2.75 = 4.75, G_0 = 1 + 2.375 = 3.375
    returns, advantages = targets(agent)
    assert returns == pytest.approx([3.375, 4.75, 5.5])
    assert advantages == pytest.approx([3.375 - 5, 4.75 - 5, 5.5 - 5])


def test_whole_return_of_a_truncated_episode_includes_the_bootstrap():
    agent = make_agent(baseline=True, reward_to_go=False)
    constant_baseline(agent, 5.0)
    play(agent, REWARDS, terminated=False)
    _, advantages = targets(agent)
    assert advantages == pytest.approx([3.375 - 5] * 3)


def test_truncation_without_a_baseline_counts_the_tail_as_zero():
    agent = make_agent(baseline=False)
    play(agent, REWARDS, terminated=False)
    assert targets(agent)[0] == pytest.approx([2.75, 3.5, 3.0])


def test_returns_do_not_leak_across_episodes_of_one_batch():
    agent = make_agent(baseline=False, n_episodes=2)
    play(agent, REWARDS, terminated=True)
    play(agent, [10.0, 4.0], terminated=True)
    assert targets(agent)[0] == pytest.approx([2.75, 3.5, 3.0, 12.0, 4.0])


def log_prob(agent: Agent, state: torch.Tensor, action: int) -> float:
    with torch.no_grad():
        return float(torch.log_softmax(agent.actor(state), dim=1)[0, action])


@pytest.mark.parametrize(("advantage", "direction"), [(1.0, 1), (-1.0, -1)])
def test_policy_gradient_step_follows_the_sign_of_the_advantage(advantage, direction):
    agent = make_agent(baseline=False, normalize_advantage=False)
    state, action = torch.tensor([[0.3, -0.2]]), 1
    before = log_prob(agent, state, action)
    agent.gradient_step(state, torch.tensor([action]), torch.tensor([advantage]), torch.tensor([advantage]))
    assert np.sign(log_prob(agent, state, action) - before) == direction


def test_entropy_bonus_rewards_entropy():
    agent = make_agent(baseline=False, normalize_advantage=False, ent_coef=0.5, lr=0.05)
    states = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
    zeros = torch.zeros(2)
    losses = agent.losses(states, torch.tensor([0, 1]), zeros, zeros)
    assert float(losses["policy_loss"].detach()) == pytest.approx(-0.5 * float(losses["entropy"].detach()))  # loss = -ent_coef H
    with torch.no_grad():  # a confident policy, so that there is entropy to gain
        agent.actor[-1].bias.copy_(torch.tensor([3.0, -3.0]))
    entropies = [agent.gradient_step(states, torch.tensor([0, 1]), zeros, zeros)["entropy"] for _ in range(20)]
    assert entropies[-1] > entropies[0] + 0.1


def test_update_waits_for_n_episodes_then_clears_the_rollout():
    agent = make_agent(n_episodes=2)
    play(agent, REWARDS, terminated=True)
    assert agent.update() is None
    play(agent, [1.0], terminated=False)
    stats = agent.update()
    assert set(stats) == {"policy_loss", "entropy", "value_loss"}
    assert all(isinstance(value, float) for value in stats.values())
    assert agent.states == [] and agent.episode_ends == [] and agent.update_count == 1


def test_rollout_travels_in_the_state_dict():
    agent = make_agent(n_episodes=3)
    play(agent, REWARDS, terminated=False)
    play(agent, [1.0, 1.0], terminated=True)
    buffer = io.BytesIO()
    torch.save(agent.state_dict(), buffer)
    buffer.seek(0)
    restored = make_agent(n_episodes=3)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.episode_ends == [3, 5] and restored.last_terminated == [False, True]
    assert restored.actions == agent.actions and restored.rewards == agent.rewards
    for restored_values, values in zip(targets(restored), targets(agent), strict=True):  # returns, then weights
        assert restored_values == pytest.approx(values)


def test_trainer_learns_once_per_batch_of_episodes():
    cfg = SimpleNamespace(
        **(defaults(AlgoConfig) | {"actor_layers": SMALL, "critic_layers": SMALL, "n_episodes": 2}),
        device="cpu",
        n_states=4,
        n_actions=2,
        action_space=spaces.Discrete(2),
    )
    torch.manual_seed(0)
    env = gym.make("CartPole-v1")
    env.reset(seed=1)
    agent, trainer = Agent(cfg), Trainer()
    results = [trainer.train_one_episode(env, agent, cfg) for _ in range(4)]
    assert ["policy_loss" in result for result in results] == [False, True, False, True]
    env.close()


def box_agent() -> Agent:
    torch.manual_seed(0)
    action_space = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
    settings = defaults(AlgoConfig) | {"actor_layers": SMALL, "critic_layers": SMALL, "log_std_init": 1.0}
    cfg = SimpleNamespace(
        **settings,
        device="cpu",
        n_states=3,
        n_actions=2,
        action_space=action_space,
        action_low=action_space.low,
        action_high=action_space.high,
    )
    return Agent(cfg)


def test_box_actions_reach_the_env_in_bounds_and_are_stored_as_sampled():
    agent = box_agent()
    state = np.array([0.1, 0.2, 0.3], np.float32)
    for _ in range(50):
        action = agent.sample_action(state)
        assert np.all(action >= [-2.0, 0.0]) and np.all(action <= [2.0, 1.0])
        agent.store_transition(state, action, 1.0, state, False)
    raw = np.array(agent.actions)
    assert raw.shape == (50, 2) and np.abs(raw).max() > 1.0  # sigma = e: unclipped samples are kept
    mean = agent.actor.mean(torch.as_tensor(state)[None])[0].detach().numpy()
    assert agent.predict_action(state) == pytest.approx(agent.scaler.to_env(mean))


def test_box_update_raises_the_log_prob_of_a_good_action():
    agent = box_agent()
    states = torch.tensor([[0.1, 0.2, 0.3]])
    action = torch.tensor([[0.8, -0.5]])
    before = float(agent.actor(states).log_prob(action).sum().detach())
    agent.gradient_step(states, action, torch.tensor([1.0]), torch.tensor([1.0]))
    assert float(agent.actor(states).log_prob(action).sum().detach()) > before


def test_reinforce_trains_on_pendulum(cli):
    result = cli("--algo", "REINFORCE", "--env", "Pendulum-v1", "general_cfg.max_env_steps=400", "algo_cfg.n_episodes=1")
    assert result.code == 0
    rows = read_csv(result.folder / "results" / "train_stats.csv")
    assert len(rows) == 2 and all(np.isfinite(float(row["policy_loss"])) for row in rows)
