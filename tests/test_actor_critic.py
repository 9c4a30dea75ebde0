"""DDPG, TD3 and SAC: squashed log-probabilities, target smoothing, action scaling, noise, targets, alpha."""

from __future__ import annotations

import importlib
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch.distributions import Normal, TanhTransform, TransformedDistribution

from joyrl.buffers import ReplayBatch
from joyrl.config import algo_config_class, defaults
from joyrl.critics import Critics, frozen
from joyrl.noise import GaussianNoise, OrnsteinUhlenbeckNoise, make_noise
from joyrl.policies import ActionScaler, SquashedGaussianActor, squashed_log_prob

TINY_LAYERS = [{"layer_type": "linear", "layer_size": [16], "activation": "relu"}]


def make_agent(algo: str, low=(-2.0,), high=(2.0,), **overrides):
    """An agent of ``algo`` for a 3-dimensional observation and a Box action within [low, high]."""
    low, high = np.asarray(low, dtype=np.float32), np.asarray(high, dtype=np.float32)
    env = {
        "obs_space": spaces.Box(-10.0, 10.0, (3,), np.float32),
        "action_space": spaces.Box(low, high, dtype=np.float32),
        "n_states": 3,
        "n_actions": len(low),
        "action_low": low,
        "action_high": high,
        "max_env_steps": 1000,
        "seed": 1,
        "device": "cpu",
    }
    keys = {"actor_layers": TINY_LAYERS, "critic_layers": TINY_LAYERS, "buffer_size": 100, "batch_size": 4}
    cfg = SimpleNamespace(**{**defaults(algo_config_class(algo)), **env, **keys, **overrides})
    torch.manual_seed(0)
    return importlib.import_module(f"algos.{algo}.agent").Agent(cfg)


def batch_of(rewards, terminated, action_dim: int = 1) -> ReplayBatch:
    n = len(rewards)
    states = torch.zeros(n, 3)
    return ReplayBatch(
        states, torch.zeros(n, action_dim), torch.tensor(rewards), states, torch.tensor(terminated, dtype=torch.float32)
    )


# ------------------------------------------------------------------ SAC's squashed Gaussian


def test_squashed_log_prob_matches_torch_tanh_transformed_normal():
    torch.manual_seed(0)
    mean, std = torch.randn(64, 3), torch.rand(64, 3) + 0.2
    normal = Normal(mean, std)
    pre_tanh = normal.sample().clamp(-4.0, 4.0)  # atanh(tanh(u)) stays exact enough for the reference
    reference = TransformedDistribution(normal, [TanhTransform()]).log_prob(torch.tanh(pre_tanh)).sum(dim=-1)
    torch.testing.assert_close(squashed_log_prob(normal, pre_tanh), reference, atol=1e-3, rtol=1e-4)


def test_squashed_density_integrates_to_one_by_change_of_variables():
    """p(a) = N(atanh a) / (1 - a^2) on a grid of a in (-1, 1): the trapezoid integral is 1."""
    normal = Normal(torch.tensor([0.7], dtype=torch.float64), torch.tensor([0.9], dtype=torch.float64))
    actions = torch.linspace(-1.0, 1.0, 200_001, dtype=torch.float64)[1:-1]
    log_density = squashed_log_prob(normal, torch.atanh(actions).unsqueeze(1))
    assert torch.trapezoid(log_density.exp(), actions).item() == pytest.approx(1.0, abs=1e-4)


def test_squashed_log_prob_stays_finite_where_tanh_saturates():
    normal = Normal(torch.zeros(1, 1), torch.ones(1, 1))
    pre_tanh = torch.tensor([[30.0]])  # tanh(u) == 1 in float32: the naive log(1 - tanh^2) is -inf
    expected = normal.log_prob(pre_tanh) - 2.0 * (math.log(2.0) - 30.0)  # softplus(-60) ~ 0
    torch.testing.assert_close(squashed_log_prob(normal, pre_tanh), expected.sum(dim=-1))


def test_squashed_gaussian_actor_returns_bounded_actions_and_their_log_prob():
    torch.manual_seed(0)
    actor = SquashedGaussianActor(TINY_LAYERS, (3,), 2)
    states = torch.randn(32, 3)
    torch.manual_seed(1)
    actions, log_prob = actor(states)
    assert actions.shape == (32, 2) and log_prob.shape == (32,)
    assert actions.abs().max() <= 1.0
    features = actor.body(states)
    log_std = actor.log_std(features).clamp(-20.0, 2.0)
    normal = Normal(actor.mean(features), log_std.exp())
    reference = TransformedDistribution(normal, [TanhTransform(cache_size=1)]).log_prob(actions).sum(dim=-1)
    torch.testing.assert_close(log_prob, reference, atol=1e-3, rtol=1e-3)
    deterministic, zeros = actor(states, deterministic=True)
    torch.testing.assert_close(deterministic, torch.tanh(actor.mean(features)))
    assert not zeros.any()


def test_n_samples_per_state_from_one_pass_equal_the_samples_of_each_state_repeated():
    """CQL's proposal draws n actions per state: one pass of the network on B states gives what a pass on the
    states repeated n times gives, from the same random draws, in (B, n, act) and (B, n)."""
    torch.manual_seed(0)
    actor = SquashedGaussianActor(TINY_LAYERS, (3,), 2)
    states = torch.randn(4, 3)
    torch.manual_seed(1)
    actions, log_prob = actor(states, n_samples=5)
    torch.manual_seed(1)
    repeated_actions, repeated_log_prob = actor(states.repeat_interleave(5, dim=0))
    assert actions.shape == (4, 5, 2) and log_prob.shape == (4, 5)
    torch.testing.assert_close(actions, repeated_actions.view(4, 5, 2))
    torch.testing.assert_close(log_prob, repeated_log_prob.view(4, 5))
    assert actions[0].std(dim=0).min() > 0  # the n actions of a state differ


# ------------------------------------------------------------------ action scaling


def test_action_scaler_round_trip_on_asymmetric_bounds():
    scaler = ActionScaler(np.array([-2.0, 0.0]), np.array([1.0, 10.0]))
    np.testing.assert_allclose(scaler.to_env(np.array([-1.0, -1.0])), [-2.0, 0.0])
    np.testing.assert_allclose(scaler.to_env(np.array([1.0, 1.0])), [1.0, 10.0])
    np.testing.assert_allclose(scaler.to_env(np.array([0.0, 0.5])), [-0.5, 7.5])
    actions = np.random.default_rng(0).uniform(-1.0, 1.0, (100, 2)).astype(np.float32)
    np.testing.assert_allclose(scaler.from_env(scaler.to_env(actions)), actions, atol=1e-6)
    assert scaler.to_env(actions).dtype == np.float32


def test_action_scaler_clips_to_the_bounds_and_leaves_unbounded_actions_alone():
    scaler = ActionScaler(np.array([-2.0, 0.0]), np.array([1.0, 10.0]))
    np.testing.assert_allclose(scaler.to_env(np.array([5.0, -3.0])), [1.0, 0.0])
    with np.errstate(all="raise"):  # no inf - inf on the way
        unbounded = ActionScaler(np.array([-np.inf]), np.array([np.inf]))
    np.testing.assert_allclose(unbounded.to_env(np.array([3.5])), [3.5])


def test_agent_acts_in_env_units_and_stores_actions_in_unit_range():
    agent = make_agent("DDPG", low=(0.0, -1.0), high=(4.0, 3.0), learning_starts=2)
    state = np.ones(3, dtype=np.float32)
    for _ in range(4):  # two uniformly random actions, then mu(s) + noise
        action = agent.sample_action(state)
        assert action.dtype == np.float32 and np.all(action >= [0.0, -1.0]) and np.all(action <= [4.0, 3.0])
        agent.store_transition(state, action, 0.0, state, False)
        stored = agent.memory.actions[agent.memory.position - 1]
        np.testing.assert_allclose(stored, (action - [2.0, 1.0]) / 2.0, atol=1e-6)
    greedy = agent.predict_action(state)
    np.testing.assert_allclose(greedy, agent.predict_action(state))  # deterministic


# ------------------------------------------------------------------ exploration noise


def test_ou_noise_reverts_to_its_mean_without_diffusion():
    noise = OrnsteinUhlenbeckNoise(2, sigma=0.0, theta=0.15, dt=0.01)
    noise.x = np.array([5.0, -2.0], dtype=np.float32)
    for _ in range(100):
        value = noise()
    np.testing.assert_allclose(value, np.array([5.0, -2.0]) * (1 - 0.15 * 0.01) ** 100, rtol=1e-4)
    noise.reset()
    np.testing.assert_array_equal(noise.x, [0.0, 0.0])


def test_ou_noise_has_the_stationary_statistics_and_correlation_of_the_process():
    np.random.seed(0)
    theta, dt, sigma = 1.0, 0.1, 0.3
    noise = OrnsteinUhlenbeckNoise(1, sigma=sigma, theta=theta, dt=dt)
    samples = np.array([noise()[0] for _ in range(40_000)])[1_000:]
    decay = 1.0 - theta * dt  # x_{t+1} = decay x_t + sigma sqrt(dt) eps
    assert samples.mean() == pytest.approx(0.0, abs=0.03)
    assert samples.std() == pytest.approx(sigma * math.sqrt(dt / (1.0 - decay**2)), rel=0.05)
    assert np.corrcoef(samples[:-1], samples[1:])[0, 1] == pytest.approx(decay, abs=0.01)


def test_gaussian_noise_statistics_and_factory():
    np.random.seed(0)
    noise = make_noise("normal", 3, 0.1)
    assert isinstance(noise, GaussianNoise)
    samples = np.stack([noise() for _ in range(5_000)])
    assert samples.shape == (5_000, 3) and samples.dtype == np.float32
    assert samples.std() == pytest.approx(0.1, rel=0.05)
    assert isinstance(make_noise("ou", 3, 0.2, 0.15, 0.01), OrnsteinUhlenbeckNoise)


def test_ddpg_resets_its_ou_noise_at_the_end_of_an_episode_and_checkpoints_it():
    agent = make_agent("DDPG", noise_type="ou", noise_std=0.5)
    for _ in range(5):
        agent.noise()
    restored = make_agent("DDPG", noise_type="ou", noise_std=0.5)
    restored.load_state_dict(agent.state_dict())
    np.testing.assert_array_equal(restored.noise.x, agent.noise.x)
    agent.end_episode()
    np.testing.assert_array_equal(agent.noise.x, [0.0])


# ------------------------------------------------------------------ critics and targets


def test_critics_evaluate_each_member_on_state_and_action_concatenated():
    torch.manual_seed(0)
    critics = Critics(TINY_LAYERS, 3, 2, n_critics=2)
    states, actions = torch.randn(5, 3), torch.randn(5, 2)
    values = critics(states, actions)
    assert values.shape == (2, 5)
    inputs = torch.cat([states, actions], dim=1)
    torch.testing.assert_close(values[1], critics.members[1](inputs).squeeze(1))
    torch.testing.assert_close(critics(states, actions, n=1), values[:1])


def test_frozen_critics_pass_gradients_to_the_action_only():
    critics = Critics(TINY_LAYERS, 3, 1, n_critics=2)
    action = torch.zeros(4, 1, requires_grad=True)
    with frozen(critics):
        critics(torch.randn(4, 3), action).sum().backward()
    assert action.grad is not None and action.grad.abs().sum() > 0
    assert all(parameter.grad is None and parameter.requires_grad for parameter in critics.parameters())


def test_ddpg_target_on_a_hand_computed_case():
    agent = make_agent("DDPG", gamma=0.9)
    agent.actor_target = lambda states: torch.zeros(len(states), 1)
    agent.critic_target = lambda states, actions, n=None: torch.tensor([[2.0, -1.0]])  # Q'(s', mu'(s')): (1, B)
    target = agent.compute_target(batch_of([1.0, 0.5], [0.0, 1.0]))
    torch.testing.assert_close(target, torch.tensor([1.0 + 0.9 * 2.0, 0.5]))  # terminated: r only


def test_td3_target_takes_the_minimum_of_the_twin_target_critics():
    agent = make_agent("TD3", gamma=0.9)
    agent.critic_target = lambda states, actions, n=None: torch.tensor([[2.0, -1.0], [3.0, -4.0]])  # (2, B)
    target = agent.compute_target(batch_of([1.0, 0.5], [0.0, 0.0]))
    torch.testing.assert_close(target, torch.tensor([1.0 + 0.9 * 2.0, 0.5 + 0.9 * -4.0]))


def test_sac_target_is_the_soft_clipped_double_q_value():
    agent = make_agent("SAC", gamma=0.9, ent_coef=0.2)
    agent.actor = lambda states, deterministic=False: (torch.zeros(len(states), 1), torch.tensor([0.5, -1.0]))
    agent.critic_target = lambda states, actions, n=None: torch.tensor([[2.0, -1.0], [3.0, -4.0]])
    target = agent.compute_target(batch_of([1.0, 0.5], [0.0, 1.0]))
    soft_value = torch.tensor([2.0 - 0.2 * 0.5, -4.0 - 0.2 * -1.0])
    torch.testing.assert_close(target, torch.tensor([1.0 + 0.9 * soft_value[0], 0.5]))


def test_td3_smoothed_target_actions_stay_within_bounds_and_the_noise_within_its_clip():
    agent = make_agent("TD3", target_policy_noise=3.0, target_noise_clip=0.5)
    agent.actor_target = lambda states: torch.linspace(-1.0, 1.0, len(states)).unsqueeze(1)  # mu'(s'), saturated at the ends
    states = torch.zeros(2_001, 3)
    torch.manual_seed(0)
    target_actions = agent.actor_target(states)
    smoothed = agent.smoothed_target_action(states)
    assert smoothed.abs().max() <= 1.0
    assert (smoothed - target_actions).abs().max() <= 0.5 + 1e-6
    interior = target_actions.abs() < 0.5  # where clipping to [-1, 1] cannot hide the noise
    clipped = (smoothed - target_actions)[interior].abs() > 0.5 - 1e-6
    assert clipped.float().mean() > 0.8  # P(|N(0, 3^2)| > 0.5) = 0.87: most of the noise hits the clip
    assert (smoothed.abs() == 1.0).any()


def test_td3_updates_the_actor_and_targets_every_policy_delay_critic_steps():
    agent = make_agent("TD3", learning_starts=4, policy_delay=3)
    state = np.zeros(3, dtype=np.float32)
    actor_before = [p.clone() for p in agent.actor_target.parameters()]
    for step in range(1, 8):
        agent.store_transition(state, agent.sample_action(state), 1.0, state, False)
        stats = agent.update()
        assert (stats is None) == (step < 4)
        moved = any(not torch.equal(a, b) for a, b in zip(actor_before, agent.actor_target.parameters(), strict=True))
        assert moved == (agent.update_count >= 3)


def test_actor_update_leaves_the_critics_untouched():
    for algo in ("DDPG", "TD3", "SAC"):
        agent = make_agent(algo)
        batch = batch_of([0.0] * 4, [0.0] * 4)
        before = [p.clone() for p in agent.critic.parameters()]
        agent.update_actor(batch)
        assert all(torch.equal(a, b) for a, b in zip(before, agent.critic.parameters(), strict=True))
        assert all(p.grad is None and p.requires_grad for p in agent.critic.parameters())


# ------------------------------------------------------------------ SAC's entropy coefficient


@pytest.mark.parametrize(("log_prob", "direction"), [(5.0, 1.0), (-5.0, -1.0)])
def test_sac_alpha_rises_when_entropy_is_below_target_and_falls_above(log_prob, direction):
    agent = make_agent("SAC", target_entropy=-1.0)  # one action dimension: the "auto" target as well
    before = agent.log_ent_coef.item()
    agent.update_ent_coef(torch.full((8,), log_prob))  # entropy -log pi = -5 (below -1) or 5 (above)
    assert math.copysign(1.0, agent.log_ent_coef.item() - before) == direction
    assert agent.log_ent_coef.item() != before


def test_sac_fixed_entropy_coefficient_is_not_learned_and_auto_targets_minus_action_dim():
    fixed = make_agent("SAC", ent_coef=0.3)
    fixed.update_ent_coef(torch.full((8,), 5.0))
    assert fixed.log_ent_coef.exp().item() == pytest.approx(0.3)
    assert make_agent("SAC", low=(-1.0, -1.0), high=(1.0, 1.0)).target_entropy == -2.0


def test_agents_learn_and_restore_their_state():
    for algo in ("DDPG", "TD3", "SAC"):
        agent = make_agent(algo, learning_starts=5)
        np.random.seed(0)
        state = np.zeros(3, dtype=np.float32)
        for _ in range(10):
            next_state = np.random.standard_normal(3).astype(np.float32)
            agent.store_transition(state, agent.sample_action(state), float(-state @ state), next_state, False)
            stats = agent.update()
            state = next_state
        assert stats and all(math.isfinite(value) for value in stats.values())
        restored = make_agent(algo, learning_starts=5)
        restored.load_state_dict(agent.state_dict())
        assert restored.update_count == agent.update_count == 6
        np.testing.assert_array_equal(restored.predict_action(state), agent.predict_action(state))
