"""BCQ: the discrete threshold rule, target and losses by hand; the VAE loss, the perturbation and the soft clipped
double-Q target by hand; checkpoint round trips; learning from IdentityDiscrete-v0 and IdentityBox-v0 data
(pseudocodes/BCQ.md)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn
from torch.distributions import Normal, kl_divergence

from algos.BCQ.agent import Agent
from algos.BCQ.config import AlgoConfig
from algos.BCQ.continuous import VAE, ContinuousBCQ, Perturbation, soft_clipped_double_q, vae_loss
from algos.BCQ.discrete import DiscreteBCQ, allowed_scores
from joyrl.buffers import ReplayBatch
from joyrl.cli import config_from_args
from joyrl.config import defaults
from joyrl.datasets import Dataset, fill_memory
from joyrl.errors import ConfigError
from joyrl.paths import ROOT
from tests.helpers import saved_and_loaded
from tests.identity_envs import EPISODE_STEPS, N_TARGETS, TOLERANCE, register_identity_envs

TINY_LAYERS = [{"layer_type": "linear", "layer_size": [8], "activation": "relu"}]
LAYERS = [{"layer_type": "linear", "layer_size": [64], "activation": "relu"}] * 2
Q_VALUES = [1.0, 5.0, 3.0, 2.0]
BC_PROBS = [0.4, 0.1, 0.2, 0.3]  # ratios to the most probable: 1, 0.25, 0.5, 0.75


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def make_cfg(action_space: spaces.Space, obs_dim: int, **overrides) -> SimpleNamespace:
    env = {
        "obs_space": spaces.Box(-1.0, 1.0, (obs_dim,), np.float32),
        "action_space": action_space,
        "n_states": obs_dim,
        "device": "cpu",
        "dataset": "trajs_0.pkl",
    }
    if isinstance(action_space, spaces.Discrete):
        env["n_actions"] = int(action_space.n)
    else:
        env.update(n_actions=action_space.shape[0], action_low=action_space.low, action_high=action_space.high)
    layers = {key: TINY_LAYERS for key in ("value_layers", "actor_layers", "critic_layers", "vae_layers")}
    return SimpleNamespace(**{**defaults(AlgoConfig), **env, **layers, "batch_size": 4, **overrides})


def discrete_agent(n_actions: int = 4, obs_dim: int = 2, **overrides) -> DiscreteBCQ:
    torch.manual_seed(0)
    agent = Agent(make_cfg(spaces.Discrete(n_actions), obs_dim, **overrides))
    assert isinstance(agent, DiscreteBCQ)
    return agent


def continuous_agent(obs_dim: int = 2, low: float = -1.0, high: float = 1.0, **overrides) -> ContinuousBCQ:
    torch.manual_seed(0)
    action_space = spaces.Box(np.array([low], np.float32), np.array([high], np.float32))
    agent = Agent(make_cfg(action_space, obs_dim, **overrides))
    assert isinstance(agent, ContinuousBCQ)
    return agent


def constant_output(network: nn.Sequential, values: list[float]) -> None:
    """Make an MLP output ``values`` for every input: its last layer's weights 0, its bias ``values``."""
    with torch.no_grad():
        network[-1].weight.zero_()
        network[-1].bias.copy_(torch.tensor(values))


def test_agent_builds_the_bcq_of_the_action_space():
    assert Agent.supported_action_spaces == ("Discrete", "Box") and Agent.learns_offline
    assert type(discrete_agent()) is DiscreteBCQ
    assert type(continuous_agent()) is ContinuousBCQ


def test_training_without_a_dataset_or_with_a_threshold_of_one_is_refused(cli):
    result = cli("--algo", "BCQ", "--env", "CartPole-v1")  # BCQ declares needs_dataset: the framework refuses it
    assert result.code == 2 and result.folder is None and "BCQ learns from a dataset only" in result.err
    with pytest.raises(ConfigError, match="threshold"):
        config_from_args(["--algo", "BCQ", "--env", "CartPole-v1", "general_cfg.dataset=x", "algo_cfg.threshold=1.0"])


# ------------------------------------------------------------------ discrete BCQ


def test_threshold_rule_by_hand():
    q_values, logits = torch.tensor([Q_VALUES]), torch.tensor([BC_PROBS]).log()
    allowed = torch.isfinite(allowed_scores(q_values, logits, 0.3, None))[0].tolist()
    assert allowed == [True, False, True, True]  # ratio 0.25 <= 0.3: action 1, the best by Q, is not allowed
    assert torch.isfinite(allowed_scores(q_values, logits, 0.6, None))[0].tolist() == [True, False, False, True]
    assert torch.isfinite(allowed_scores(q_values, logits, 0.0, None)).all()  # threshold 0: Q-learning
    torch.testing.assert_close(allowed_scores(q_values, logits + 7.0, 0.3, None), allowed_scores(q_values, logits, 0.3, None))


def test_threshold_rule_compares_legal_actions_with_the_most_probable_legal_one():
    q_values, logits = torch.tensor([Q_VALUES]), torch.tensor([BC_PROBS]).log()
    mask = {"action_mask": torch.tensor([[False, True, True, True]])}  # action 0, the most probable, is illegal
    allowed = torch.isfinite(allowed_scores(q_values, logits, 0.3, mask))[0].tolist()
    assert allowed == [False, True, True, True]  # ratios to pi(3) = 0.3: 1/3, 2/3, 1


def test_greedy_action_is_the_allowed_argmax():
    agent = discrete_agent(threshold=0.3)
    constant_output(agent.policy_net, Q_VALUES)
    constant_output(agent.bc_net, np.log(BC_PROBS).tolist())
    state = np.zeros(2, np.float32)
    assert agent.predict_action(state) == 2  # Q 3 among the allowed {0, 2, 3}
    assert agent.sample_action(state) == 2  # no other exploration
    agent.cfg.threshold = 0.6
    assert agent.predict_action(state) == 3
    agent.cfg.threshold = 0.0
    assert agent.predict_action(state) == 1


def test_target_takes_the_online_allowed_argmax_and_the_target_networks_value_and_the_q_loss_is_huber():
    agent = discrete_agent(threshold=0.3, gamma=0.9)
    constant_output(agent.policy_net, Q_VALUES)
    constant_output(agent.bc_net, np.log(BC_PROBS).tolist())
    constant_output(agent.target_net, [10.0, 20.0, 30.0, 40.0])
    states = torch.zeros(2, 2)
    batch = ReplayBatch(states, torch.tensor([1, 0]), torch.tensor([1.0, 2.0]), states, torch.tensor([0.0, 1.0]))
    target = agent.compute_target(batch)  # a* = 2 (allowed argmax of Q), valued 30 by the target network
    torch.testing.assert_close(target, torch.tensor([1.0 + 0.9 * 30.0, 2.0]))
    huber = [abs(d) - 0.5 if abs(d) >= 1 else 0.5 * d * d for d in (5.0 - 28.0, 1.0 - 2.0)]
    assert agent.q_loss(batch).item() == pytest.approx(sum(huber) / 2)


def test_bc_loss_is_cross_entropy_plus_the_logit_penalty_by_hand():
    agent = discrete_agent(n_actions=3, bc_logit_penalty=0.01)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    cross_entropy = [-(2.0 - math.log(math.exp(2.0) + 1.0 + math.exp(-1.0))), math.log(3.0)]  # actions 0 and 2
    penalty = 0.01 * (4.0 + 0.0 + 1.0 + 3 * 0.25) / 6
    assert agent.bc_loss(logits, torch.tensor([0, 2])).item() == pytest.approx(sum(cross_entropy) / 2 + penalty)


# ------------------------------------------------------------------ continuous BCQ


def test_vae_loss_is_reconstruction_plus_half_the_kl_by_hand():
    reconstruction, actions = torch.tensor([[0.5], [0.0]]), torch.tensor([[0.0], [1.0]])
    mean, std = torch.tensor([[0.0, 1.0], [0.0, 0.0]]), torch.tensor([[1.0, 2.0], [1.0, 1.0]])
    # KL(N(mu, s^2) || N(0, 1)) = -0.5 (1 + log s^2 - mu^2 - s^2) per latent: 0, 2 - log 2, 0, 0
    kl = (2.0 - math.log(2.0)) / 4
    assert vae_loss(reconstruction, actions, mean, std).item() == pytest.approx((0.25 + 1.0) / 2 + 0.5 * kl)
    reference = kl_divergence(Normal(mean, std), Normal(torch.zeros(2, 2), torch.ones(2, 2))).mean()
    assert kl == pytest.approx(reference.item())


def test_generated_actions_use_latents_clipped_to_half():
    agent = continuous_agent()
    states = torch.randn(64, 2)
    torch.manual_seed(3)
    generated = agent.vae.decode(states)
    torch.manual_seed(3)
    latent = torch.randn(64, agent.vae.latent_dim)
    assert latent.abs().max() > 0.5  # some are clipped
    torch.testing.assert_close(generated, agent.vae.decode(states, latent.clamp(-0.5, 0.5)))
    assert agent.vae.latent_dim == 2  # twice the action dimension


def test_perturbation_moves_an_action_by_at_most_phi_within_the_bounds():
    agent = continuous_agent(phi=0.05)
    with torch.no_grad():
        agent.actor.net[-1].bias.fill_(100.0)  # tanh saturates: the full shift +phi
    actions = torch.tensor([[0.0], [0.5], [0.99]])
    torch.testing.assert_close(agent.actor(torch.zeros(3, 2), actions), torch.tensor([[0.05], [0.55], [1.0]]))


def test_soft_clipped_double_q_by_hand():
    q_values = torch.tensor([[1.0, 4.0], [3.0, 2.0]])  # (critic, sample): min 1, 2; max 3, 4
    torch.testing.assert_close(soft_clipped_double_q(q_values, 0.75), torch.tensor([0.75 + 0.75, 1.5 + 1.0]))
    torch.testing.assert_close(soft_clipped_double_q(q_values, 1.0), q_values.min(dim=0).values)  # TD3's minimum


class ActionCritics(nn.Module):
    """Twin stand-in critics Q_1(s, a) = a + s_0 and Q_2(s, a) = 3 a + s_0, on one-dimensional actions."""

    def forward(self, states, actions, n=None):
        return torch.stack([actions[:, 0] + states[:, 0], 3.0 * actions[:, 0] + states[:, 0]])[:n]


def test_target_maximises_the_soft_clipped_double_q_over_each_states_own_samples():
    agent = continuous_agent(gamma=0.5, lmbda=0.75, n_action_samples=5)
    agent.critic_target = ActionCritics()
    next_states = torch.tensor([[1.0, 0.0], [-2.0, 0.5], [0.0, 0.0]])
    batch = ReplayBatch(next_states, torch.zeros(3, 1), torch.tensor([1.0, 0.0, 2.0]), next_states, torch.tensor([0.0, 0.0, 1.0]))
    torch.manual_seed(5)
    target = agent.compute_target(batch)
    torch.manual_seed(5)
    rows = next_states.repeat_interleave(5, dim=0)
    actions = agent.actor_target(rows, agent.vae.decode(rows))[:, 0].view(3, 5)  # the samples of each next state
    q1, q2 = actions + next_states[:, :1], 3.0 * actions + next_states[:, :1]
    best = (0.75 * torch.minimum(q1, q2) + 0.25 * torch.maximum(q1, q2)).max(dim=1).values
    torch.testing.assert_close(target, torch.tensor([1.0, 0.0, 2.0]) + 0.5 * torch.tensor([1.0, 1.0, 0.0]) * best)


def test_actor_loss_is_minus_q1_of_the_perturbed_generated_actions_and_trains_the_perturbation_only():
    agent = continuous_agent()
    states = torch.randn(6, 2)
    torch.manual_seed(2)
    loss = agent.actor_loss(states)
    torch.manual_seed(2)
    expected = -agent.critic(states, agent.actor(states, agent.vae.decode(states)), n=1)[0].mean()
    torch.testing.assert_close(loss, expected)
    agent.actor.zero_grad()
    loss.backward()
    assert all(p.grad is None for p in (*agent.critic.parameters(), *agent.vae.parameters()))
    assert all(p.grad is not None for p in agent.actor.parameters())


def test_acting_takes_the_sample_of_highest_q1_in_env_units():
    agent = continuous_agent(low=-2.0, high=2.0, n_action_samples=10)
    agent.critic = ActionCritics()  # Q_1 grows with a: the largest sampled action wins
    state = np.array([0.3, -0.1], np.float32)
    torch.manual_seed(4)
    action = agent.predict_action(state)
    torch.manual_seed(4)
    states = torch.from_numpy(state).repeat(10, 1)
    samples = agent.actor(states, agent.vae.decode(states))
    assert action[0] == pytest.approx(2.0 * samples.max().item(), rel=1e-5)
    agent.store_transition(state, np.array([1.0], np.float32), 0.0, state, False)
    assert agent.memory.actions[0, 0] == pytest.approx(0.5)  # env units back to [-1, 1]


# ------------------------------------------------------------------ checkpoints


@pytest.mark.parametrize("make", [discrete_agent, continuous_agent], ids=["discrete", "continuous"])
def test_checkpoint_round_trip_restores_every_network_optimiser_and_counter(make):
    agent, restored = make(), make()
    rng = np.random.default_rng(0)
    discrete = isinstance(agent, DiscreteBCQ)
    for _ in range(16):
        state = rng.uniform(-1, 1, 2).astype(np.float32)
        action = int(rng.integers(4)) if discrete else rng.uniform(-1, 1, 1).astype(np.float32)
        agent.store_transition(state, action, float(rng.random()), state, bool(rng.random() < 0.2))
    np.random.seed(0)
    for _ in range(3):
        agent.update()
    restored.load_state_dict(saved_and_loaded(agent.state_dict()))
    restored.memory.load_state_dict(agent.memory.state_dict())
    assert restored.update_count == 3
    for name in agent.weights:
        for key, tensor in getattr(agent, name).state_dict().items():
            torch.testing.assert_close(getattr(restored, name).state_dict()[key], tensor)
    np.random.seed(1)
    torch.manual_seed(1)
    next_stats = agent.update()
    np.random.seed(1)
    torch.manual_seed(1)
    assert restored.update() == next_stats  # same batch, same optimiser moments: the same step


# ------------------------------------------------------------------ learning from data


def identity_dataset(env_id: str, n_episodes: int, behaviour: Callable, seed: int = 0) -> Dataset:
    """Episodes of ``env_id`` with the actions ``behaviour(observation, rng)``."""
    register_identity_envs()
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    rows: list[tuple] = []
    observation, _ = env.reset(seed=seed)
    for _ in range(n_episodes * EPISODE_STEPS):
        action = behaviour(observation, rng)
        next_observation, reward, terminated, truncated, _ = env.step(action)
        rows.append((observation, action, reward, next_observation, terminated, truncated))
        observation = env.reset()[0] if truncated else next_observation
    observations, actions, rewards, next_observations, terminated, truncated = map(np.array, zip(*rows, strict=True))
    return Dataset(
        observations.astype(np.float32),
        actions,
        rewards.astype(np.float32),
        next_observations.astype(np.float32),
        terminated,
        truncated,
        episode_starts=np.arange(0, n_episodes * EPISODE_STEPS, EPISODE_STEPS, dtype=np.int64),
    )


def noisy_expert(observation: np.ndarray, rng: np.random.Generator) -> int:
    """The target shown with probability 0.7, else a uniformly random action."""
    return int(observation.argmax()) if rng.random() < 0.7 else int(rng.integers(N_TARGETS))


def misleading_behaviour(observation: np.ndarray, rng: np.random.Generator) -> int:
    """The target with probability 0.3, the next action (never rewarded) with 0.5, else uniform: pi_bc's favourite is wrong."""
    target, draw = int(observation.argmax()), rng.random()
    if draw < 0.3:
        return target
    return (target + 1) % N_TARGETS if draw < 0.8 else int(rng.integers(N_TARGETS))


def greedy_return(agent, env_id: str, seed: int = 123) -> float:
    env = gym.make(env_id)
    observation, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(agent.predict_action(observation))
        total, done = total + float(reward), terminated or truncated
    return total


def learned_discrete(dataset: Dataset, updates: int, **overrides) -> DiscreteBCQ:
    agent = discrete_agent(obs_dim=N_TARGETS, value_layers=LAYERS, batch_size=64, lr=1e-3, **overrides)
    assert fill_memory(agent, dataset) == dataset.n_transitions
    np.random.seed(0)
    for _ in range(updates):
        agent.update()
    return agent


def test_discrete_bcq_learns_identity_discrete_from_noisy_expert_data():
    agent = learned_discrete(identity_dataset("IdentityDiscrete-v0", 20, noisy_expert), updates=150)
    for target in range(N_TARGETS):  # every observation, greedy
        assert agent.predict_action(np.eye(N_TARGETS, dtype=np.float32)[target]) == target
    assert greedy_return(agent, "IdentityDiscrete-v0") == EPISODE_STEPS


def test_discrete_bcq_picks_the_best_allowed_action_not_the_most_frequent_one():
    """pi_bc favours a wrong action; the right one passes threshold 0.3 (ratio 0.35 / 0.55) and Q prefers it.
    With threshold 0.7 only the favourite is allowed, and the policy is mostly wrong."""
    dataset = identity_dataset("IdentityDiscrete-v0", 20, misleading_behaviour)
    assert greedy_return(learned_discrete(dataset, updates=150, threshold=0.3), "IdentityDiscrete-v0") == EPISODE_STEPS
    assert greedy_return(learned_discrete(dataset, updates=150, threshold=0.7), "IdentityDiscrete-v0") < EPISODE_STEPS / 2


def test_continuous_bcq_learns_identity_box_from_expert_data():
    dataset = identity_dataset("IdentityBox-v0", 10, lambda observation, rng: observation.copy())
    keys = {key: LAYERS for key in ("actor_layers", "critic_layers", "vae_layers")}
    agent = continuous_agent(obs_dim=1, batch_size=64, lr=3e-3, **keys)
    assert fill_memory(agent, dataset) == dataset.n_transitions
    np.random.seed(0)
    for _ in range(150):
        agent.update()
    targets = np.linspace(-0.97, 0.97, 40, dtype=np.float32) + 0.01  # not the data's observations
    actions = np.array([agent.predict_action(np.array([target]))[0] for target in targets])
    assert np.all(np.abs(actions - targets) < TOLERANCE)


def test_the_pseudocode_page_cites_methods_that_exist():
    page = (ROOT / "pseudocodes" / "BCQ.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(DiscreteBCQ|ContinuousBCQ|VAE|Perturbation)\.(\w+)`", page)
    assert cited
    classes = {"DiscreteBCQ": DiscreteBCQ, "ContinuousBCQ": ContinuousBCQ, "VAE": VAE, "Perturbation": Perturbation}
    for owner, method in cited:
        assert hasattr(classes[owner], method), f"pseudocodes/BCQ.md cites {owner}.{method}, which does not exist"
