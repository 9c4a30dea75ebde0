"""CQL (algos/CQL): the conservative penalties by hand, alpha's Lagrange step, checkpoints, and offline learning."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces

from algos.CQL.agent import Agent, ConservativeWeight, ContinuousCQL, DiscreteCQL
from algos.CQL.config import AlgoConfig
from joyrl.buffers import ReplayBatch
from joyrl.cli import config_from_args
from joyrl.config import defaults
from joyrl.datasets import Dataset, fill_memory
from joyrl.errors import ConfigError
from joyrl.policies import squashed_log_prob
from tests.helpers import saved_and_loaded
from tests.identity_envs import EPISODE_STEPS, N_TARGETS, register_identity_envs


def layers(*sizes: int) -> list[dict]:
    return [{"layer_type": "linear", "layer_size": [size], "activation": "relu"} for size in sizes]


@pytest.fixture(autouse=True)
def one_thread_and_seeded():
    """One torch thread (the machine is shared; small nets are slower on more) and fixed seeds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    torch.set_num_threads(threads)


def discrete_cfg(n_states: int = 3, n_actions: int = 3, **overrides) -> SimpleNamespace:
    """CQL's defaults for one-hot states in R^n_states and Discrete(n_actions), one hidden layer of n_states."""
    env = {"obs_space": spaces.Box(0.0, 1.0, (n_states,), np.float32), "action_space": spaces.Discrete(n_actions)}
    env |= {"n_states": n_states, "n_actions": n_actions, "device": "cpu", "max_env_steps": 1}
    keys = {"value_layers": layers(n_states), "batch_size": 8, "learning_starts": 1}
    return SimpleNamespace(**defaults(AlgoConfig) | env | keys | overrides)


def continuous_cfg(**overrides) -> SimpleNamespace:
    """CQL's defaults for states in [-1, 1]^2 and actions in [-2, 2]^2, tiny networks."""
    low, high = np.full(2, -2.0, np.float32), np.full(2, 2.0, np.float32)
    env = {"obs_space": spaces.Box(-1.0, 1.0, (2,), np.float32), "action_space": spaces.Box(low, high)}
    env |= {"n_states": 2, "n_actions": 2, "action_low": low, "action_high": high, "device": "cpu", "max_env_steps": 1}
    keys = {"actor_layers": layers(8), "critic_layers": layers(8), "batch_size": 4, "learning_starts": 1}
    return SimpleNamespace(**defaults(AlgoConfig) | env | keys | overrides)


# ---------------------------------------------------------------- the two agents behind Agent(cfg)


def test_agent_is_the_discrete_or_the_continuous_cql():
    assert type(Agent(discrete_cfg())) is DiscreteCQL
    assert type(Agent(continuous_cfg())) is ContinuousCQL


def test_cql_refuses_to_train_without_a_dataset_or_with_an_lr_annealing(cli):
    result = cli("--algo", "CQL", "--env", "CartPole-v1")  # the framework: CQL declares needs_dataset
    assert result.code == 2 and "CQL learns from a dataset only" in result.err and result.folder is None
    with pytest.raises(ConfigError, match="lr_end"):
        config_from_args(["--algo", "CQL", "--env", "CartPole-v1", "general_cfg.dataset=x", "algo_cfg.lr_end=0.0"])
    playing = SimpleNamespace(mode="test", dataset=None, lr_end=None, cql_lagrange=False, alpha=1.0)
    AlgoConfig.check(playing)  # test, render and collect play a trained run: no dataset needed


# ---------------------------------------------------------------- the discrete penalty, by hand

TABLE = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.0, 5.0, 2.0]]  # Q(s, a) of 3 one-hot states, 3 actions


def table_agent(**overrides) -> DiscreteCQL:
    """A DiscreteCQL whose Q-network (and target) is the Q-table TABLE on one-hot states."""
    agent = Agent(discrete_cfg(**overrides))
    assert isinstance(agent, DiscreteCQL)
    with torch.no_grad():
        for network in (agent.policy_net, agent.target_net):
            network[0].weight.copy_(torch.eye(3))  # hidden = relu(one-hot) = the one-hot
            network[0].bias.zero_()
            network[2].weight.copy_(torch.tensor(TABLE).T)  # Q(s, .) = TABLE[s]
            network[2].bias.zero_()
    return agent


def logsumexp_by_hand(values: list[float]) -> float:
    return math.log(sum(math.exp(value) for value in values))


def test_discrete_penalty_is_logsumexp_minus_the_data_q_value_by_hand():
    agent = table_agent()
    states, actions = torch.eye(3)[[0, 1, 2, 0]], torch.tensor([1, 0, 2, 2])
    with torch.no_grad():
        q_values = agent.policy_net(states)
        penalty = agent.conservative_penalty(q_values, q_values.gather(1, actions[:, None]).squeeze(1), states)
    assert torch.allclose(q_values, torch.tensor(TABLE)[[0, 1, 2, 0]])
    by_hand = [logsumexp_by_hand(TABLE[s]) - TABLE[s][a] for s, a in [(0, 1), (1, 0), (2, 2), (0, 2)]]
    assert by_hand[1] == pytest.approx(math.log(3))  # equal values: log |A|
    assert float(penalty) == pytest.approx(sum(by_hand) / 4, rel=1e-6)


def test_discrete_loss_is_huber_plus_alpha_times_the_penalty():
    agent = table_agent(alpha=0.5, gamma=0.9)
    batch = ReplayBatch(
        torch.eye(3)[[0, 2]], torch.tensor([2, 0]), torch.tensor([1.0, 0.0]), torch.eye(3)[[1, 2]], torch.tensor([0.0, 1.0])
    )
    # y = r + gamma (1 - terminated) max_a' TABLE[s']: 1 + 0.9 * 0 = 1 (state 1); 0 (terminated)
    q_data, targets = [TABLE[0][2], TABLE[2][0]], [1.0, 0.0]  # 3 and -1: errors 2 and 1, Huber 1.5 and 0.5
    huber = (1.5 + 0.5) / 2
    penalty = (logsumexp_by_hand(TABLE[0]) - q_data[0] + logsumexp_by_hand(TABLE[2]) - q_data[1]) / 2
    assert float(F.smooth_l1_loss(torch.tensor(q_data), torch.tensor(targets))) == pytest.approx(huber)
    assert float(agent.gradient_step(batch)) == pytest.approx(huber + 0.5 * penalty, rel=1e-6)
    assert agent.extra_stats() == pytest.approx({"cql_penalty": penalty, "cql_alpha": 0.5})


def test_the_discrete_logsumexp_leaves_out_illegal_actions():
    agent = table_agent()
    q_values = torch.tensor([[1.0, 2.0, 3.0], [4.0, -1.0, 0.5]])
    q_data = torch.tensor([1.0, -1.0])  # actions 0 and 1, both legal
    states = {"vector": torch.zeros(2, 3), "action_mask": torch.tensor([[True, False, True], [True, True, True]])}
    by_hand = (logsumexp_by_hand([1.0, 3.0]) - 1.0 + logsumexp_by_hand([4.0, -1.0, 0.5]) + 1.0) / 2
    assert float(agent.conservative_penalty(q_values, q_data, states)) == pytest.approx(by_hand, rel=1e-6)
    poisoned = q_values.clone()
    poisoned[0, 1] = 1000.0  # an illegal action's value changes nothing
    assert float(agent.conservative_penalty(poisoned, q_data, states)) == pytest.approx(by_hand, rel=1e-6)


# ---------------------------------------------------------------- the continuous penalty, against a loop


def continuous_agent(**overrides) -> ContinuousCQL:
    agent = Agent(continuous_cfg(n_action_samples=3, **overrides))
    assert isinstance(agent, ContinuousCQL)
    return agent


BATCH = ReplayBatch(
    torch.tensor([[0.1, -0.2], [0.5, 0.5], [-0.7, 0.3], [0.0, 0.9]]),
    torch.tensor([[0.2, -0.4], [0.9, 0.1], [-0.5, -0.5], [0.0, 0.3]]),
    torch.tensor([1.0, 0.0, -1.0, 0.5]),
    torch.tensor([[0.3, 0.1], [-0.5, 0.2], [0.6, -0.6], [0.2, 0.2]]),
    torch.tensor([0.0, 0.0, 1.0, 0.0]),
)


def test_sampled_actions_are_uniform_and_the_policys_at_s_and_at_next_s_with_their_log_densities():
    agent = continuous_agent()
    actions, log_density = agent.sample_actions(BATCH.states, BATCH.next_states)
    assert actions.shape == (4, 9, 2) and log_density.shape == (4, 9)  # N = 3 of each kind
    assert actions.abs().max() <= 1.0
    assert torch.allclose(log_density[:, :3], torch.full((4, 3), math.log(0.25)))  # U(-1, 1)^2 has density 1/4
    for part, states in ((slice(3, 6), BATCH.states), (slice(6, 9), BATCH.next_states)):
        with torch.no_grad():  # the squashed Gaussian's log-density of those actions at those states
            features = agent.actor.body(states)
            normal = torch.distributions.Normal(agent.actor.mean(features), agent.actor.log_std(features).clamp(-20, 2).exp())
            expected = squashed_log_prob(_expand(normal, 3), torch.atanh(actions[:, part]))
        assert torch.allclose(log_density[:, part], expected, atol=1e-4)


def _expand(normal: torch.distributions.Normal, n: int) -> torch.distributions.Normal:
    """The per-state Gaussian (B, d), repeated for n samples per state: (B, n, d)."""
    return torch.distributions.Normal(normal.loc[:, None].expand(-1, n, -1), normal.scale[:, None].expand(-1, n, -1))


def test_continuous_penalty_matches_an_explicit_loop():
    agent = continuous_agent()
    actions, log_density = agent.sample_actions(BATCH.states, BATCH.next_states)
    with torch.no_grad():
        q_data = agent.critic(BATCH.states, BATCH.actions)  # (2, 4)
        penalty = agent.conservative_penalty(BATCH.states, q_data, actions, log_density)
        expected = [0.0, 0.0]
        for i in range(2):  # each critic
            for j in range(4):  # each state: log sum_k exp(Q_i(s_j, a_jk) - log mu(a_jk)) - Q_i(s_j, a_j)
                state = BATCH.states[j : j + 1]
                terms = [float(agent.critic(state, actions[j, k : k + 1])[i, 0] - log_density[j, k]) for k in range(9)]
                expected[i] += (logsumexp_by_hand(terms) - float(agent.critic(state, BATCH.actions[j : j + 1])[i, 0])) / 4
    assert penalty.shape == (2,)
    assert penalty.tolist() == pytest.approx(expected, abs=1e-5)


def test_continuous_critic_loss_is_sacs_plus_alpha_times_the_summed_penalties():
    agent = continuous_agent(alpha=2.0)
    torch.manual_seed(5)
    with torch.no_grad():
        q_data = agent.critic(BATCH.states, BATCH.actions)
        penalty = agent.conservative_penalty(BATCH.states, q_data, *agent.sample_actions(BATCH.states, BATCH.next_states))
        target = agent.compute_target(BATCH)  # the draws in update_critic's order: samples, then the target's
        expected = 0.5 * (q_data - target).square().mean(dim=1).sum() + 2.0 * penalty.sum()
    torch.manual_seed(5)
    assert float(agent.update_critic(BATCH)) == pytest.approx(float(expected), rel=1e-5)
    assert float(agent.penalty) == pytest.approx(float(penalty.mean()), rel=1e-5)


def test_continuous_targets_follow_every_target_update_steps():
    agent = continuous_agent(target_update=3, tau=1.0)
    agent.memory.push_batch(
        BATCH.states.numpy(), BATCH.actions.numpy(), BATCH.rewards.numpy(), BATCH.next_states.numpy(), np.zeros(4)
    )
    first = [p.clone() for p in agent.critic_target.parameters()]
    agent.update()
    agent.update()
    assert all(torch.equal(a, b) for a, b in zip(first, agent.critic_target.parameters(), strict=True))
    agent.update()  # the third gradient step: a hard copy
    assert all(torch.equal(a, b) for a, b in zip(agent.critic.parameters(), agent.critic_target.parameters(), strict=True))


# ---------------------------------------------------------------- alpha: fixed, or a Lagrange multiplier


def test_lagrange_alpha_rises_while_the_penalty_exceeds_the_gap_and_falls_below():
    cfg = SimpleNamespace(alpha=2.0, cql_lagrange=True, target_action_gap=10.0, lr=0.1)
    weight = ConservativeWeight(cfg, torch.device("cpu"))
    assert float(weight.weigh(torch.tensor([12.0, 14.0]))) == pytest.approx(2.0 * (2.0 + 4.0))  # alpha sum_i (P_i - tau)
    weight.update(torch.tensor([12.0, 14.0]))
    assert float(weight.value()) > 2.0
    risen = float(weight.value())
    weight.update(torch.tensor([3.0, 5.0]))
    assert float(weight.value()) < risen
    fixed = ConservativeWeight(
        SimpleNamespace(alpha=2.0, cql_lagrange=False, target_action_gap=10.0, lr=0.1), torch.device("cpu")
    )
    fixed.update(torch.tensor([50.0]))
    assert float(fixed.value()) == 2.0 and float(fixed.weigh(torch.tensor(3.0))) == 6.0  # no gap without Lagrange
    assert fixed.state_dict() == {}


# ---------------------------------------------------------------- checkpoints


def transitions(agent: DiscreteCQL | ContinuousCQL, n: int = 64) -> None:
    rng = np.random.default_rng(0)
    for _ in range(n):
        if isinstance(agent, DiscreteCQL):
            state, action = np.eye(3, dtype=np.float32)[rng.integers(3)], int(rng.integers(3))
        else:
            state, action = rng.uniform(-1, 1, 2).astype(np.float32), rng.uniform(-2, 2, 2).astype(np.float32)
        agent.store_transition(state, action, float(rng.random()), state, False)


@pytest.mark.parametrize("make_cfg", [discrete_cfg, continuous_cfg], ids=["discrete", "continuous"])
def test_checkpoint_round_trip_continues_identically(make_cfg):
    """With a learned alpha; a fresh agent (other weights) loads the state and continues as the original does."""
    agent, restored = Agent(make_cfg(cql_lagrange=True)), Agent(make_cfg(cql_lagrange=True))
    transitions(agent)
    for _ in range(5):
        agent.update()
    restored.load_state_dict(saved_and_loaded(agent.state_dict()))  # as the framework loads checkpoints
    restored.memory.load_state_dict(agent.memory.state_dict())
    assert "cql_log_alpha" in agent.state_dict()
    torch.manual_seed(1)
    np.random.seed(1)
    after = agent.update()
    torch.manual_seed(1)
    np.random.seed(1)
    assert restored.update() == after
    state = np.eye(3, dtype=np.float32)[1] if isinstance(agent, DiscreteCQL) else np.array([0.2, -0.3], np.float32)
    assert np.array_equal(np.asarray(restored.predict_action(state)), np.asarray(agent.predict_action(state)))


# ---------------------------------------------------------------- learning from a dataset


def identity_dataset(n_episodes: int, right: float, seed: int, wrong_actions: tuple[int, ...] | None = None) -> Dataset:
    """IdentityDiscrete-v0 episodes (one-hot target shown, reward 1 for naming it) from a noisy expert: the right
    action with probability ``right``, else a wrong one (uniformly, or ``wrong_actions[target]``)."""
    rng = np.random.default_rng(seed)
    n = n_episodes * EPISODE_STEPS
    targets = rng.integers(N_TARGETS, size=n + 1)
    wrong = (targets[:n] + rng.integers(1, N_TARGETS, size=n)) % N_TARGETS
    if wrong_actions is not None:
        wrong = np.asarray(wrong_actions)[targets[:n]]
    actions = np.where(rng.random(n) < right, targets[:n], wrong).astype(np.int64)
    eye = np.eye(N_TARGETS, dtype=np.float32)
    last = (np.arange(n) % EPISODE_STEPS) == EPISODE_STEPS - 1
    return Dataset(
        observations=eye[targets[:n]],
        actions=actions,
        rewards=(actions == targets[:n]).astype(np.float32),
        next_observations=eye[targets[1:]],
        terminated=np.zeros(n, bool),
        truncated=last,
        episode_starts=np.arange(0, n, EPISODE_STEPS),
    )


def offline_discrete(dataset: Dataset, updates: int, **overrides) -> DiscreteCQL:
    settings = {"value_layers": layers(32), "batch_size": 64, "lr": 3e-3, "gamma": 0.5, "tau": 1.0, "target_update": 50}
    agent = Agent(discrete_cfg(N_TARGETS, N_TARGETS, **settings | {"buffer_size": dataset.n_transitions} | overrides))
    assert isinstance(agent, DiscreteCQL)
    assert fill_memory(agent, dataset) == dataset.n_transitions
    for _ in range(updates):
        assert agent.update() is not None
    return agent


def greedy_return(agent: DiscreteCQL, seed: int) -> float:
    """One IdentityDiscrete-v0 episode of the greedy policy, on observations the dataset did not hold."""
    register_identity_envs()
    env = gym.make("IdentityDiscrete-v0")
    state, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        state, reward, terminated, truncated, _ = env.step(agent.predict_action(state))
        total, done = total + float(reward), terminated or truncated
    return total


def test_cql_learns_the_right_actions_from_a_noisy_expert():
    """70% right actions, 30% uniformly wrong ones; 400 updates. The greedy policy names every target."""
    agent = offline_discrete(identity_dataset(25, right=0.7, seed=1), updates=400, alpha=1.0)
    assert [agent.predict_action(np.eye(N_TARGETS, dtype=np.float32)[k]) for k in range(N_TARGETS)] == list(range(N_TARGETS))
    assert greedy_return(agent, seed=123) == EPISODE_STEPS


def test_the_penalty_corrects_an_action_the_data_never_took():
    """The expert (70% right) errs only with action (target + 1) % 4, and the Q-network starts out valuing action
    (target + 2) % 4, never taken, 3 above the others. Offline DQN (alpha = 0) bootstraps from that error and picks
    the unseen action (its Q grows to about 6); CQL pushes it down and picks the right one."""
    dataset = identity_dataset(25, right=0.7, seed=2, wrong_actions=tuple((k + 1) % N_TARGETS for k in range(N_TARGETS)))
    observations = np.eye(N_TARGETS, dtype=np.float32)

    def greedy_actions(alpha: float) -> list[int]:
        torch.manual_seed(0)
        agent = offline_discrete(dataset, updates=0, alpha=alpha)
        with torch.no_grad():  # output weights + dW with dW h_k = 3 e_(k+2): Q(e_k, (k + 2) % 4) += 3
            for network in (agent.policy_net, agent.target_net):
                features = network[:2](torch.from_numpy(observations))  # h_k: (4, hidden)
                network[2].weight += 3.0 * torch.eye(N_TARGETS).roll(2, dims=0) @ torch.linalg.pinv(features.T)
        for _ in range(400):
            agent.update()
        return [agent.predict_action(observations[k]) for k in range(N_TARGETS)]

    assert greedy_actions(0.0) == [(k + 2) % N_TARGETS for k in range(N_TARGETS)]
    assert greedy_actions(1.0) == list(range(N_TARGETS))


def test_bc_warmup_actor_loss_is_alpha_log_pi_minus_the_data_log_likelihood_then_sacs():
    agent = continuous_agent(bc_warmup_updates=2)
    with torch.no_grad():  # log pi(a_j|s_j) of the data's actions, by hand from the actor's Gaussian
        features = agent.actor.body(BATCH.states)
        normal = torch.distributions.Normal(agent.actor.mean(features), agent.actor.log_std(features).clamp(-20, 2).exp())
        data_log_prob = squashed_log_prob(normal, torch.atanh(BATCH.actions))
    assert torch.allclose(agent.actor.log_prob_of(BATCH.states, BATCH.actions), data_log_prob, atol=1e-5)
    alpha = float(agent.log_ent_coef.detach().exp())
    torch.manual_seed(3)
    with torch.no_grad():
        _, log_prob = agent.actor(BATCH.states)
    expected = float((alpha * log_prob - data_log_prob).mean())
    torch.manual_seed(3)
    agent.update_count = 1  # the first gradient step: cloning
    assert float(agent.update_actor(BATCH)) == pytest.approx(expected, rel=1e-5)
    agent.update_count = 3  # past the warm-up: SAC's loss, whose Q term the cloning loss lacks
    torch.manual_seed(3)
    with torch.no_grad():
        actions, log_prob = agent.actor(BATCH.states)
        sac = float((agent.log_ent_coef.exp() * log_prob - agent.critic(BATCH.states, actions).min(dim=0).values).mean())
    torch.manual_seed(3)
    assert float(agent.update_actor(BATCH)) == pytest.approx(sac, rel=1e-5)


def test_bc_warmup_raises_the_likelihood_of_the_data_actions():
    agent = continuous_agent(bc_warmup_updates=200, actor_lr=1e-2)
    with torch.no_grad():
        before = float(agent.actor.log_prob_of(BATCH.states, BATCH.actions).mean())
    for count in range(1, 101):
        agent.update_count = count
        agent.update_actor(BATCH)
    with torch.no_grad():
        assert float(agent.actor.log_prob_of(BATCH.states, BATCH.actions).mean()) > before + 1.0
