"""Rainbow (algos/RainbowDQN) on hand-computed cases: its target, its head, its acting and its priorities."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from algos.RainbowDQN.agent import Agent
from algos.RainbowDQN.config import AlgoConfig
from joyrl.config import defaults, schema
from joyrl.heads import DuelingHead, NoisyLinear, expected_q
from joyrl.prioritized import PrioritizedBatch

SMALL = [{"layer_type": "linear", "layer_size": [8], "activation": "relu"}]
NEVER = -1e9  # a logit whose softmax probability is exactly 0


def make_agent(**overrides) -> Agent:
    torch.manual_seed(0)
    np.random.seed(0)
    settings = defaults(AlgoConfig) | {"value_layers": SMALL, "stream_size": 0, "learning_starts": 0, "train_freq": 1}
    settings |= {"gradient_steps": 1, "batch_size": 4, "buffer_size": 100}
    cfg = SimpleNamespace(**(settings | overrides), device="cpu", n_states=4, n_actions=2, max_env_steps=1000)
    return Agent(cfg)


class FixedLogits(nn.Module):
    """Atom logits (B, A, N) looked up by one-hot state: ``table[k]`` (A, N) at the state e_k."""

    def __init__(self, table: list) -> None:
        super().__init__()
        self.register_buffer("table", torch.tensor(table, dtype=torch.float32))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bs,san->ban", states, self.table)


def delta(atom: int, n_atoms: int = 5) -> list:
    """Logits putting all the mass on one atom."""
    return [0.0 if i == atom else NEVER for i in range(n_atoms)]


def batch_of(memory, slots) -> PrioritizedBatch:
    """The transitions in ``slots`` of the memory, as a batch of weight 1."""
    tensor = memory._tensor
    return PrioritizedBatch(
        tensor(memory.states[slots]),
        tensor(memory.actions[slots]),
        tensor(memory.rewards[slots]),
        tensor(memory.next_states[slots]),
        tensor(memory.terminated[slots]),
        tensor(memory.discounts[slots]),
        torch.ones(len(slots)),
        np.asarray(slots),
    )


def test_config_has_no_epsilon_keys():
    assert not [key for key in schema(AlgoConfig) if "epsilon" in key]


def test_target_is_double_n_step_and_stops_at_termination():
    """Support z = 0..4, γ = 0.5, n = 2. At s' = e_0 the online net prefers action 1 (Q 3 > 1), the target net action 0.

    The target net's distribution at a* = 1 is half on z = 2, half on z = 4 (its own greedy action 0 is all on z = 4).
    """
    agent = make_agent(n_atoms=5, v_min=0.0, v_max=4.0, gamma=0.5, n_steps=2)
    agent.policy_net = FixedLogits([[delta(1), delta(3)], [delta(0), delta(0)], [delta(0), delta(0)], [delta(0), delta(0)]])
    half = [NEVER, NEVER, 0.0, NEVER, 0.0]
    agent.target_net = FixedLogits([[delta(4), half], [delta(0), delta(0)], [delta(0), delta(0)], [delta(0), delta(0)]])
    e = np.eye(4, dtype=np.float32)
    agent.store_transition(e[2], 0, 1.0, e[3], False)
    agent.store_transition(e[3], 1, 1.0, e[0], False)  # completes (e_2, 0, 1 + 0.5 * 1, e_0, γ²)
    agent.end_episode()  # a truncation: (e_3, 1, 1, e_0, γ) still bootstraps
    agent.store_transition(e[2], 0, 3.0, e[1], True)  # terminated: (e_2, 0, 3, e_1), no bootstrap
    assert len(agent.memory) == 3
    assert agent.memory.rewards[:3].tolist() == pytest.approx([1.5, 1.0, 3.0])
    assert agent.memory.discounts[:3].tolist() == pytest.approx([0.25, 0.5, 0.5])
    target = agent.compute_target(batch_of(agent.memory, [0, 1, 2]))
    expected = [
        [0.0, 0.0, 0.75, 0.25, 0.0],  # 1.5 + 0.25 z for z in {2, 4}: 2.0, and 2.5 split between atoms 2 and 3
        [0.0, 0.0, 0.5, 0.5, 0.0],  # 1 + 0.5 z: 2.0 and 3.0
        [0.0, 0.0, 0.0, 1.0, 0.0],  # all the mass at r = 3
    ]
    assert target.tolist() == [pytest.approx(row) for row in expected]


def test_head_is_noisy_dueling_and_categorical():
    """Per atom, logits_a = V + A_a - mean_a A; every layer of the streams is noisy."""
    agent = make_agent(n_atoms=3, v_min=0.0, v_max=2.0)
    head = agent.policy_net[1]
    assert isinstance(head, DuelingHead)
    stream_layers = [layer for layer in head.modules() if isinstance(layer, (nn.Linear, NoisyLinear))]
    assert stream_layers and all(isinstance(layer, NoisyLinear) for layer in stream_layers)
    value, advantage = head.value[0], head.advantage[0]
    with torch.no_grad():
        for layer, bias in ((value, [1.0, 2.0, 3.0]), (advantage, [0.0, 1.0, 2.0, 2.0, 1.0, 0.0])):
            layer.weight_mu.zero_()
            layer.weight_sigma.zero_()
            layer.bias_sigma.zero_()
            layer.bias_mu.copy_(torch.tensor(bias))
    logits = agent.policy_net(torch.zeros(1, 4))  # A = [[0, 1, 2], [2, 1, 0]], mean_a A = [1, 1, 1]
    assert logits.shape == (1, 2, 3)
    assert logits[0].tolist() == [pytest.approx([0.0, 2.0, 4.0]), pytest.approx([2.0, 2.0, 2.0])]
    assert expected_q(logits, agent.support)[0].tolist() == pytest.approx(
        [(np.e**2 + 2 * np.e**4) / (1 + np.e**2 + np.e**4), 1.0]
    )


def test_acting_is_greedy_under_fresh_noise_and_evaluation_is_deterministic():
    agent = make_agent(sigma0=5.0)
    states = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    greedy = [agent.predict_action(s) for s in states]
    behaviour = []
    for s in states:
        action = agent.sample_action(s)
        with torch.no_grad():  # the noise the action was chosen under is still in the layers
            assert action == int(expected_q(agent.policy_net(torch.from_numpy(s)[None]), agent.support).argmax())
        behaviour.append(action)
    assert behaviour != greedy  # the noise explores
    assert [agent.predict_action(s) for s in states] == greedy  # the mean weights: unchanged by new noise
    assert agent.sample_count == len(states)


def test_priorities_are_the_per_sample_losses():
    """After a gradient step, each sampled slot's priority is (L_j + ε)^α, L_j its cross-entropy before the step."""
    agent = make_agent(sigma0=0.0, alpha=0.5, batch_size=4)  # no noise: a copy computes the same losses
    rng = np.random.default_rng(1)
    for _ in range(10):
        state = rng.standard_normal(4).astype(np.float32)
        agent.store_transition(state, int(rng.integers(2)), 1.0, state + 0.1, bool(rng.random() < 0.3))
    before = copy.deepcopy(agent)
    batch = batch_of(agent.memory, [0, 3, 5, 7])
    agent.memory.sample = lambda batch_size, beta: batch
    stats = agent.update()
    with torch.no_grad():
        log_probs = before.policy_net(batch.states)[torch.arange(4), batch.actions].log_softmax(dim=1)
        losses = -(before.compute_target(batch) * log_probs).sum(dim=1).numpy()
    assert stats["loss"] == pytest.approx(losses.mean(), rel=1e-5)
    assert agent.memory.tree.get(batch.indices) == pytest.approx((losses + agent.cfg.priority_eps) ** 0.5, rel=1e-5)
    untouched = [i for i in range(len(agent.memory)) if i not in batch.indices]
    assert agent.memory.tree.get(untouched) == pytest.approx(np.ones(len(untouched)))  # still the first max priority, 1
