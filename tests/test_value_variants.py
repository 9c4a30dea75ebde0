"""DQN's variants and their heads (joyrl/heads.py) on hand-computed cases."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from algos.C51.agent import Agent as C51Agent
from algos.C51.config import AlgoConfig as C51Config
from algos.DoubleDQN.agent import Agent as DoubleDQNAgent
from algos.DoubleDQN.config import AlgoConfig as DoubleDQNConfig
from algos.DQN.agent import Agent as DQNAgent
from algos.DQN.config import AlgoConfig as DQNConfig
from algos.DQN_CNN.agent import Agent as DQNCNNAgent
from algos.DuelingDQN.agent import Agent as DuelingDQNAgent
from algos.DuelingDQN.config import AlgoConfig as DuelingDQNConfig
from algos.NoisyDQN.agent import Agent as NoisyDQNAgent
from algos.NoisyDQN.config import AlgoConfig as NoisyDQNConfig
from algos.PER_DQN.agent import Agent as PERDQNAgent
from algos.RainbowDQN.agent import Agent as RainbowDQNAgent
from joyrl.buffers import ReplayBatch
from joyrl.cli import config_from_args
from joyrl.config import defaults, schema
from joyrl.errors import ConfigError
from joyrl.heads import (
    CategoricalHead,
    DuelingHead,
    NoisyLinear,
    categorical_projection,
    expected_q,
    factorised_noise,
    noisy_copy,
    reset_noise,
)
from joyrl.networks import build_mlp

SMALL = [{"layer_type": "linear", "layer_size": [8], "activation": "relu"}]


def make_cfg(config_class, **overrides):
    settings = defaults(config_class) | {"value_layers": SMALL, "learning_starts": 0, "train_freq": 1, "gradient_steps": 1}
    settings |= {"batch_size": 4, "buffer_size": 100}
    return SimpleNamespace(**(settings | overrides), device="cpu", n_states=3, n_actions=3, max_env_steps=1000)


def fill(agent, n=8):
    rng = np.random.default_rng(0)
    for _ in range(n):
        state = rng.standard_normal(3).astype(np.float32)
        agent.store_transition(state, agent.sample_action(state), 1.0, state + 0.1, False)


def fixed_q(columns):
    """A linear net without bias whose Q-values at the one-hot state e_k are ``columns[k]``."""
    net = nn.Linear(len(columns), len(columns[0]), bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor(columns, dtype=torch.float32).T)
    return net


# ---------------------------------------------------------------- the family


@pytest.mark.parametrize(
    "variant", [DoubleDQNAgent, DuelingDQNAgent, NoisyDQNAgent, PERDQNAgent, C51Agent, RainbowDQNAgent, DQNCNNAgent]
)
def test_every_variant_runs_dqns_update_loop_and_optimiser_step(variant):
    assert issubclass(variant, DQNAgent)
    assert variant.update is DQNAgent.update
    assert variant.step_optimizer is DQNAgent.step_optimizer
    assert variant.state_dict is DQNAgent.state_dict or variant is RainbowDQNAgent  # Rainbow adds its n-step steps


# ---------------------------------------------------------------- Double DQN


def test_double_dqn_target_takes_the_online_argmax_and_the_target_value():
    """Online Q(s') = [1, 3, 2] picks a* = 1; the target net values it at 2, not its own max 5."""
    torch.manual_seed(0)
    agent = DoubleDQNAgent(make_cfg(DoubleDQNConfig, gamma=0.5))
    agent.policy_net = fixed_q([[1.0, 3.0, 2.0], [0.0, 0.0, 9.0], [0.0, 0.0, 0.0]])
    agent.target_net = fixed_q([[5.0, 2.0, 4.0], [7.0, 1.0, 3.0], [0.0, 0.0, 0.0]])
    batch = ReplayBatch(
        states=torch.zeros(2, 3),
        actions=torch.zeros(2, dtype=torch.int64),
        rewards=torch.tensor([1.0, -1.0]),
        next_states=torch.eye(3)[:2],  # s' = e_0 (not terminal), e_1 (terminal)
        terminated=torch.tensor([0.0, 1.0]),
    )
    assert agent.compute_target(batch).tolist() == pytest.approx([1.0 + 0.5 * 2.0, -1.0])
    assert DQNAgent.compute_target(agent, batch).tolist() == pytest.approx([1.0 + 0.5 * 5.0, -1.0])  # DQN: max of θ⁻


def test_double_dqn_keeps_dqns_keys_and_update():
    assert schema(DoubleDQNConfig) == schema(DQNConfig)
    assert DoubleDQNAgent.update is DQNAgent.update
    agent = DoubleDQNAgent(make_cfg(DoubleDQNConfig))
    fill(agent)
    assert math.isfinite(agent.update()["loss"])


# ---------------------------------------------------------------- dueling


def test_dueling_head_subtracts_the_mean_advantage():
    """V = 1.5, A = [1, 2, 6] (mean 3): Q = V + A - 3 = [-0.5, 0.5, 4.5]."""
    head = DuelingHead(2, 3)
    with torch.no_grad():
        head.value[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        head.value[0].bias.fill_(0.5)
        head.advantage[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]))
        head.advantage[0].bias.zero_()
    q = head(torch.tensor([[1.0, 2.0]]))
    assert q.shape == (1, 3)
    assert q[0].tolist() == pytest.approx([-0.5, 0.5, 4.5])


def test_dueling_head_with_hidden_streams_and_atoms():
    torch.manual_seed(0)
    head = DuelingHead(4, 3, hidden_size=16)
    assert [type(layer) for layer in head.value] == [nn.Linear, nn.ReLU, nn.Linear]
    assert head(torch.randn(5, 4)).shape == (5, 3)
    atoms = DuelingHead(4, 3, n_atoms=7)
    features = torch.randn(5, 4)
    logits = atoms(features)  # (B, A, N)
    assert logits.shape == (5, 3, 7)
    value = atoms.value(features).view(5, 1, 7)
    torch.testing.assert_close((logits - value).mean(dim=1), torch.zeros(5, 7))  # mean advantage 0 per atom


def test_dueling_head_takes_noisy_layers():
    head = DuelingHead(4, 3, hidden_size=8, linear=NoisyLinear)
    assert sum(isinstance(layer, NoisyLinear) for layer in head.modules()) == 4


def test_dueling_dqn_builds_a_dueling_network():
    agent = DuelingDQNAgent(make_cfg(DuelingDQNConfig, stream_size=16))
    assert isinstance(agent.policy_net[-1], DuelingHead)
    assert isinstance(agent.target_net[-1], DuelingHead)
    assert agent.policy_net(torch.zeros(5, 3)).shape == (5, 3)
    assert {id(p) for p in agent.optimizer.param_groups[0]["params"]} == {id(p) for p in agent.policy_net.parameters()}
    assert DuelingDQNAgent.compute_target is DQNAgent.compute_target  # pure dueling: DQN's target
    fill(agent)
    assert math.isfinite(agent.update()["loss"])


# ---------------------------------------------------------------- noisy


def test_noisy_linear_parameter_shapes_and_initialisation():
    torch.manual_seed(0)
    layer = NoisyLinear(16, 4, sigma0=0.5)
    shapes = {name: tuple(p.shape) for name, p in layer.named_parameters()}
    assert shapes == {"weight_mu": (4, 16), "weight_sigma": (4, 16), "bias_mu": (4,), "bias_sigma": (4,)}
    assert tuple(layer.weight_epsilon.shape) == (4, 16) and tuple(layer.bias_epsilon.shape) == (4,)
    assert torch.all(layer.weight_sigma == 0.5 / 4) and torch.all(layer.bias_sigma == 0.5 / 4)  # σ₀ / sqrt(16)
    assert layer.weight_mu.abs().max() <= 1 / 4 and layer.bias_mu.abs().max() <= 1 / 4


def test_factorised_noise_is_an_outer_product_of_signed_square_roots():
    torch.manual_seed(3)
    layer = NoisyLinear(5, 3)
    torch.manual_seed(7)
    layer.reset_noise()
    torch.manual_seed(7)
    noise_in, noise_out = torch.randn(5), torch.randn(3)
    f_in, f_out = noise_in.sign() * noise_in.abs().sqrt(), noise_out.sign() * noise_out.abs().sqrt()
    assert torch.equal(layer.weight_epsilon, torch.outer(f_out, f_in))
    assert torch.equal(layer.bias_epsilon, f_out)
    torch.manual_seed(7)
    assert torch.equal(factorised_noise(5), f_in)


def test_noisy_linear_noise_in_train_mode_mean_weights_in_eval_mode():
    torch.manual_seed(0)
    layer = NoisyLinear(6, 3)
    x = torch.randn(2, 6)
    mean_output = x @ layer.weight_mu.T + layer.bias_mu
    first = layer(x)
    assert not torch.allclose(first, mean_output)  # noise changes the output
    assert torch.equal(layer(x), first)  # fixed until resampled
    layer.reset_noise()
    assert not torch.allclose(layer(x), first)  # resampling changes it
    layer.eval()
    evaluated = layer(x)
    assert torch.allclose(evaluated, mean_output)
    layer.reset_noise()
    assert torch.equal(layer(x), evaluated)  # eval ignores the noise


def test_noisy_linear_learns_its_noise_scale():
    layer = NoisyLinear(4, 2)
    layer(torch.ones(3, 4)).sum().backward()
    assert layer.weight_sigma.grad is not None and layer.weight_sigma.grad.abs().sum() > 0


def test_noisy_copy_and_reset_noise_reach_every_linear_layer():
    torch.manual_seed(0)
    net = noisy_copy(build_mlp(SMALL * 2, 3, 2), sigma0=0.4)
    noisy = [layer for layer in net if isinstance(layer, NoisyLinear)]
    assert [(layer.in_features, layer.out_features) for layer in noisy] == [(3, 8), (8, 8), (8, 2)]
    assert not any(isinstance(layer, nn.Linear) for layer in net)
    last_two = noisy_copy(build_mlp(SMALL * 2, 3, 2), n_layers=2)
    assert [type(layer) for layer in last_two] == [nn.Linear, nn.ReLU, NoisyLinear, nn.ReLU, NoisyLinear]
    before = [layer.weight_epsilon.clone() for layer in noisy]
    reset_noise(net)
    assert all(not torch.equal(layer.weight_epsilon, old) for layer, old in zip(noisy, before, strict=True))


def test_noisy_dqn_has_no_epsilon_keys():
    assert not [key for key in schema(NoisyDQNConfig) if key.startswith("epsilon")]
    assert schema(NoisyDQNConfig)["sigma0"] is not None


def test_noisy_dqn_resamples_noise_to_act_and_to_learn_and_evaluates_without_it():
    torch.manual_seed(0)
    agent = NoisyDQNAgent(make_cfg(NoisyDQNConfig))
    state = np.ones(3, np.float32)
    output = agent.policy_net[-1]
    before = output.weight_epsilon.clone()
    agent.sample_action(state)
    assert not torch.equal(output.weight_epsilon, before)  # new noise every env step
    fill(agent)
    policy_noise, target_noise = output.weight_epsilon.clone(), agent.target_net[-1].weight_epsilon.clone()
    stats = agent.update()
    assert not torch.equal(output.weight_epsilon, policy_noise)  # and every gradient step, online ...
    assert not torch.equal(agent.target_net[-1].weight_epsilon, target_noise)  # ... and target
    assert math.isfinite(stats["loss"]) and "epsilon" not in stats and stats["sigma"] > 0
    assert not hasattr(agent, "epsilon")  # no ε-greedy schedule at all
    with torch.no_grad():
        mean_action = int(agent.policy_net.eval()(torch.ones(1, 3)).argmax())
    agent.policy_net.train()
    actions = set()
    for _ in range(5):
        reset_noise(agent.policy_net)
        actions.add(agent.predict_action(state))
    assert actions == {mean_action}
    assert agent.policy_net.training  # acting and learning stay noisy


# ---------------------------------------------------------------- C51

SUPPORT = torch.linspace(-2.0, 2.0, 5)  # z = [-2, -1, 0, 1, 2], Δz = 1


def test_categorical_projection_by_hand():
    """5 atoms on [-2, 2], r = 0.5, γ = 0.9.

    Not terminal: T̂z = 0.5 + 0.9 z = [-1.3, -0.4, 0.5, 1.4, 2.3 -> 2 (clipped at v_max)], so b = [0.7, 1.6, 2.5, 3.4, 4]:
    p = [.1, .2, .3, .25, .15] splits into m = [.1*.3, .1*.7 + .2*.4, .2*.6 + .3*.5, .3*.5 + .25*.6, .25*.4 + .15].
    Terminal: all the mass at r = 0.5, b = 2.5: half to z_2, half to z_3.
    Terminal with r = 1: lands exactly on z_3, which gets all of it; r = 2 lands on v_max; r = -7 is clipped to v_min.
    """
    probs = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])
    target = categorical_projection(
        probs.expand(5, 5),
        rewards=torch.tensor([0.5, 0.5, 1.0, 2.0, -7.0]),
        terminated=torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0]),
        gamma=0.9,
        support=SUPPORT,
    )
    expected = [
        [0.03, 0.15, 0.27, 0.30, 0.25],
        [0.0, 0.0, 0.5, 0.5, 0.0],
        [0.0, 0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0, 0.0, 0.0],
    ]
    assert target.tolist() == [pytest.approx(row, abs=1e-6) for row in expected]


def test_categorical_projection_atoms_landing_on_atoms_keep_their_mass():
    """r = 1, γ = 1, not terminal: T̂z = z + 1 = [-1, 0, 1, 2, 3 -> 2]; each atom moves up one, the top two merge."""
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.25, 0.15]])
    target = categorical_projection(probs, torch.tensor([1.0]), torch.tensor([0.0]), 1.0, SUPPORT)
    assert target[0].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_categorical_projection_keeps_mass_and_mean_and_takes_per_sample_discounts():
    generator = torch.Generator().manual_seed(0)
    support = torch.linspace(-10.0, 10.0, 21)
    probs = torch.rand(6, 21, generator=generator).softmax(dim=1)
    rewards = torch.rand(6, generator=generator) - 0.5
    terminated = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    target = categorical_projection(probs, rewards, terminated, 0.5, support)  # |r + γz| <= 5.5: nothing clipped
    torch.testing.assert_close(target.sum(dim=1), torch.ones(6))
    mean = rewards + 0.5 * (1 - terminated) * (probs * support).sum(dim=1)
    torch.testing.assert_close((target * support).sum(dim=1), mean)  # linear interpolation keeps the mean
    per_sample = categorical_projection(probs, rewards, terminated, torch.full((6,), 0.5), support)
    assert torch.allclose(per_sample, target)


def test_expected_q_and_categorical_head():
    probs = torch.tensor([[[0.5, 0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.5]]])  # (1, 2 actions, 5 atoms)
    assert expected_q(probs.log(), SUPPORT)[0].tolist() == pytest.approx([-1.5, 1.5])
    head = CategoricalHead(4, 3, 5)
    assert head(torch.zeros(2, 4)).shape == (2, 3, 5)
    assert isinstance(CategoricalHead(4, 3, 5, linear=NoisyLinear).logits, NoisyLinear)


def test_c51_support_follows_the_config():
    cfg = config_from_args(["--algo", "C51", "algo_cfg.n_atoms=5", "algo_cfg.v_min=-2", "algo_cfg.v_max=2"])
    cfg.n_states, cfg.n_actions = 3, 2
    agent = C51Agent(cfg)
    assert agent.support.tolist() == SUPPORT.tolist()
    assert agent.policy_net(torch.zeros(1, 3)).shape == (1, 2, 5)
    default = C51Agent(make_cfg(C51Config))
    assert default.support.tolist() == pytest.approx(torch.linspace(C51Config.v_min, C51Config.v_max, C51Config.n_atoms).tolist())


def test_c51_rejects_an_empty_support():
    with pytest.raises(ConfigError, match="v_max"):
        config_from_args(["--algo", "C51", "algo_cfg.v_min=3", "algo_cfg.v_max=1"])


def test_c51_acts_on_the_expected_return_and_learns_the_projected_target():
    torch.manual_seed(0)
    agent = C51Agent(make_cfg(C51Config, n_atoms=5, v_min=-2.0, v_max=2.0, gamma=0.9))
    head = agent.policy_net[-1].logits
    with torch.no_grad():  # action 0 has the largest logit, action 1 the highest mean return
        head.weight.zero_()
        head.bias.copy_(torch.tensor([[0.0, 0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 0.0, 0.0, 0.0]]).flatten())
    state = np.zeros(3, np.float32)
    assert agent.predict_action(state) == 1
    agent.target_net.load_state_dict(agent.policy_net.state_dict())
    batch = ReplayBatch(
        torch.zeros(1, 3), torch.zeros(1, dtype=torch.int64), torch.tensor([0.5]), torch.zeros(1, 3), torch.ones(1)
    )
    assert agent.compute_target(batch)[0].tolist() == pytest.approx([0.0, 0.0, 0.5, 0.5, 0.0])
    fill(agent)
    assert math.isfinite(agent.update()["loss"])
