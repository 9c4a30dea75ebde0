"""Discrete SAC and soft Q-learning: their soft targets, SAC's actor and temperature losses on
hand-computed cases with 2-3 actions, the temperature's direction, and legal-action masks."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from algos.SAC_D.agent import Agent as SACDAgent
from algos.SAC_D.config import AlgoConfig as SACDConfig
from algos.SoftQ.agent import Agent as SoftQAgent
from algos.SoftQ.agent import soft_value
from algos.SoftQ.config import AlgoConfig as SoftQConfig
from joyrl.buffers import ReplayBatch
from joyrl.config import defaults

SMALL = [{"layer_type": "linear", "layer_size": [16], "activation": "relu"}]


class Constant(nn.Module):
    """A stand-in network: the same output row for every input, (B, A)."""

    def __init__(self, row: list[float]) -> None:
        super().__init__()
        self.row = torch.tensor(row)

    def forward(self, observation) -> torch.Tensor:
        batch = next(iter(observation.values())) if isinstance(observation, dict) else observation
        return self.row.expand(batch.shape[0], -1)


def sac_agent(n_actions: int = 3, **overrides) -> SACDAgent:
    torch.manual_seed(0)
    settings = defaults(SACDConfig) | {"actor_layers": SMALL, "critic_layers": SMALL, "gamma": 0.9} | overrides
    return SACDAgent(SimpleNamespace(**settings, device="cpu", n_states=2, n_actions=n_actions, max_env_steps=1000))


def batch(rewards: list[float], terminated: list[float]) -> ReplayBatch:
    n = len(rewards)
    states = torch.zeros(n, 2)
    return ReplayBatch(states, torch.zeros(n, dtype=torch.int64), torch.tensor(rewards), states, torch.tensor(terminated))


# pi(.|s') = (1/2, 1/4, 1/4); the target critics give (1, 2, 3) and (2, 1, 4): min = (1, 1, 3).
PI = [0.5, 0.25, 0.25]
ENTROPY = 1.5 * math.log(2)  # -(1/2 log 1/2 + 2 * 1/4 log 1/4)
ALPHA = 0.5
SOFT_V = 0.5 * 1 + 0.25 * 1 + 0.25 * 3 + ALPHA * ENTROPY  # sum pi (min Q - alpha log pi) = E_pi[min Q] + alpha H


def test_sac_d_soft_target_is_the_expectation_over_next_actions():
    agent = sac_agent()
    agent.actor = Constant([math.log(p) for p in PI])
    agent.critic_targets = nn.ModuleList([Constant([1.0, 2.0, 3.0]), Constant([2.0, 1.0, 4.0])])
    target = agent.compute_target(batch([1.0, 1.0], [0.0, 1.0]), torch.tensor(ALPHA))
    assert target.tolist() == pytest.approx([1.0 + 0.9 * SOFT_V, 1.0])  # terminated: no bootstrap


def test_sac_d_actor_loss_on_a_hand_computed_case():
    probs = torch.tensor([PI])
    min_q = torch.tensor([[1.0, 1.0, 3.0]])
    loss = SACDAgent.actor_loss(probs, probs.log(), min_q, torch.tensor(ALPHA))
    assert float(loss) == pytest.approx(-SOFT_V)  # sum pi (alpha log pi - Q) = -(E_pi[Q] + alpha H)


def test_sac_d_actor_step_moves_probability_to_the_best_action():
    agent = sac_agent(n_actions=2, lr=1e-2)
    states = torch.randn(32, 2)
    q_values = torch.tensor([0.0, 1.0]).expand(32, 2)
    before = float(agent.policy(states)[0][:, 1].mean().detach())
    for _ in range(10):
        probs, log_probs = agent.policy(states)
        agent.step(agent.actor_optimizer, agent.actor_loss(probs, log_probs, q_values, torch.tensor(0.1)))
    assert float(agent.policy(states)[0][:, 1].mean().detach()) > before + 0.1


@pytest.mark.parametrize(("entropy", "grows"), [(0.1, True), (1.0, False)])
def test_sac_d_alpha_grows_while_the_entropy_is_below_its_target(entropy, grows):
    agent = sac_agent(n_actions=3, target_entropy_scale=0.5)  # target 0.5 log 3 = 0.55
    before = float(agent.log_alpha.detach())
    loss = agent.alpha_loss(torch.tensor(entropy))
    assert float(loss.detach()) == pytest.approx(before * (entropy - 0.5 * math.log(3)))
    agent.step(agent.alpha_optimizer, loss)
    assert (float(agent.log_alpha.detach()) > before) == grows


def test_sac_d_fixed_alpha_without_autotune():
    agent = sac_agent(n_actions=2, autotune=False, ent_coef=0.3, learning_starts=10, train_freq=10, gradient_steps=2)
    for _ in range(10):
        state = np.random.randn(2).astype(np.float32)
        agent.sample_action(state)
        agent.store_transition(state, 0, 1.0, state, False)
    stats = agent.update()
    assert stats["alpha"] == pytest.approx(0.3)
    assert {"critic_loss", "actor_loss", "alpha_loss", "entropy", "lr"} <= set(stats)


def masked_sac_agent() -> SACDAgent:
    obs_space = spaces.Dict({"obs": spaces.Box(-1, 1, (2,), np.float32), "action_mask": spaces.Box(0, 1, (3,), np.int8)})
    return sac_agent(
        actor_layers={"obs": SMALL},
        critic_layers={"obs": SMALL},
        obs_space=obs_space,
        learning_starts=16,
        train_freq=16,
        gradient_steps=4,
        batch_size=8,
    )


def test_sac_d_gives_illegal_actions_probability_zero_and_stays_finite():
    agent = masked_sac_agent()
    mask = np.array([1, 0, 1], np.int8)
    chosen = set()
    for i in range(16):
        state = {"obs": np.full(2, i / 16, np.float32), "action_mask": mask}
        action = agent.sample_action(state)
        chosen.add(action)
        agent.store_transition(state, action, 1.0, state, False)
    assert chosen <= {0, 2}
    stats = agent.update()
    assert all(math.isfinite(value) for value in stats.values())
    assert all(torch.isfinite(p).all() for p in agent.actor.parameters())
    observation = {"obs": torch.zeros(1, 2), "action_mask": torch.as_tensor(mask[None])}
    with torch.no_grad():
        probs, log_probs = agent.policy(observation)
    assert float(probs[0, 1]) == 0.0 and float(log_probs[0, 1]) == 0.0
    assert agent.predict_action({"obs": np.zeros(2, np.float32), "action_mask": mask}) in (0, 2)


def test_soft_value_is_alpha_logsumexp():
    q_values = torch.tensor([[1.0, 2.0]])
    assert float(soft_value(q_values, 1.0)) == pytest.approx(2 + math.log(1 + math.exp(-1)))  # log(e + e^2)
    assert float(soft_value(q_values, 0.5)) == pytest.approx(2 + 0.5 * math.log(1 + math.exp(-2)))


def test_soft_value_tends_to_the_max_as_alpha_goes_to_zero():
    q_values = torch.tensor([[1.0, 2.0, 1.9], [-3.0, 0.5, 0.4]])
    gaps = [float((soft_value(q_values, alpha) - q_values.max(dim=1).values).max()) for alpha in (1.0, 0.1, 0.01, 1e-3)]
    assert all(gap >= 0 for gap in gaps)  # never below the max
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-3


def softq_agent(**overrides) -> SoftQAgent:
    torch.manual_seed(0)
    settings = defaults(SoftQConfig) | {"value_layers": SMALL, "gamma": 0.9} | overrides
    return SoftQAgent(SimpleNamespace(**settings, device="cpu", n_states=2, n_actions=2, max_env_steps=1000))


def test_soft_q_target_on_a_hand_computed_case():
    agent = softq_agent(alpha_start=0.5, alpha_end=0.5)
    agent.target_net = Constant([1.0, 2.0])
    target = agent.compute_target(batch([1.0, 1.0], [0.0, 1.0]))
    expected = 1.0 + 0.9 * (2 + 0.5 * math.log(1 + math.exp(-2)))  # r + gamma alpha log(e^(1/alpha) + e^(2/alpha))
    assert target.tolist() == pytest.approx([expected, 1.0])


def test_soft_q_target_ignores_illegal_next_actions():
    obs_space = spaces.Dict({"obs": spaces.Box(-1, 1, (2,), np.float32), "action_mask": spaces.Box(0, 1, (2,), np.int8)})
    agent = softq_agent(value_layers={"obs": SMALL}, obs_space=obs_space, alpha_start=0.5, alpha_end=0.5)
    agent.target_net = Constant([1.0, 5.0])
    states = {"obs": torch.zeros(2, 2), "action_mask": torch.tensor([[1, 0], [1, 1]], dtype=torch.bool)}
    masked = ReplayBatch(states, torch.zeros(2, dtype=torch.int64), torch.zeros(2), states, torch.zeros(2))
    expected_all = 5 + 0.5 * math.log(1 + math.exp(-8))
    assert agent.compute_target(masked).tolist() == pytest.approx([0.9 * 1.0, 0.9 * expected_all])  # only a' = 0 legal
    chosen = {agent.sample_action({"obs": np.zeros(2, np.float32), "action_mask": np.array([1, 0], np.int8)}) for _ in range(20)}
    assert chosen == {0}


def test_soft_q_samples_the_boltzmann_policy_and_anneals_alpha():
    agent = softq_agent(alpha_start=1.0, alpha_end=0.1, alpha_decay=4000)
    agent.policy_net = Constant([0.0, math.log(3.0)])  # softmax(Q / 1) = (1/4, 3/4) while alpha is about 1
    actions = [agent.sample_action(np.zeros(2, np.float32)) for _ in range(400)]
    assert np.mean(actions) == pytest.approx(0.75, abs=0.07)
    assert agent.extra_stats()["alpha"] == pytest.approx(1.0 - 0.9 * 400 / 4000)
    assert agent.predict_action(np.zeros(2, np.float32)) == 1
