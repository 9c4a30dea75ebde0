"""GAIL (algos/GAIL): the discriminator's loss and reward by hand, the reward in the rollout, the action
encoding of the demonstrations, the checkpoint, and learning the identity task from demonstrations."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces

from algos.GAIL.agent import Agent
from algos.GAIL.config import AlgoConfig
from joyrl.config import defaults
from joyrl.datasets import Dataset
from joyrl.envs import env_info
from tests.helpers import read_csv, train
from tests.identity_envs import EPISODE_STEPS, coded_dataset, coded_id, register_identity_envs, write_dataset

register_identity_envs()

LINEAR_1 = [{"layer_type": "linear", "layer_size": [1], "activation": "none"}]
SMALL = [{"layer_type": "linear", "layer_size": [16], "activation": "tanh"}]
DISCRETE_2D = (spaces.Box(-5.0, 5.0, (2,), np.float32), spaces.Discrete(2))


def make_agent(obs_space: spaces.Space, action_space: spaces.Space, **overrides) -> Agent:
    """A GAIL agent for these spaces, as the framework builds it (train mode, a dataset set)."""
    info = env_info(SimpleNamespace(observation_space=obs_space, action_space=action_space))
    general = {"device": "cpu", "mode": "train", "dataset": "tasks/datasets/test", "max_env_steps": 1000}
    small = {
        "actor_layers": SMALL,
        "critic_layers": SMALL,
        "discriminator_layers": SMALL,
        "n_envs": 2,
        "n_steps": 4,
        "n_epochs": 2,
    }
    cfg = SimpleNamespace(**{**defaults(AlgoConfig), **general, **info, **small, **overrides})
    torch.manual_seed(0)
    return Agent(cfg)


def dataset(observations: np.ndarray, actions: np.ndarray) -> Dataset:
    """One episode of these demonstrations (rewards and ends play no part in GAIL)."""
    n = len(actions)
    return Dataset(
        observations, actions, np.zeros(n, np.float32), observations, np.zeros(n, bool), np.ones(n, bool), np.array([0])
    )


def set_linear(layer: torch.nn.Module, weight, bias) -> None:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float32))


def hand_set_agent() -> Agent:
    """D's logit(s, a) = s0 - s1 + 2 [a = 0] + 0.5, on 2-dimensional observations and 2 actions (one-hot)."""
    agent = make_agent(*DISCRETE_2D, discriminator_layers=LINEAR_1)
    hidden, output = [layer for layer in agent.discriminator.modules() if isinstance(layer, torch.nn.Linear)]
    set_linear(hidden, [[1.0, -1.0, 2.0, 0.0]], [0.0])
    set_linear(output, [[1.0]], [0.5])
    return agent


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# ------------------------------------------------------------------ the discriminator's loss and reward


def test_discriminator_loss_by_hand():
    agent = hand_set_agent()
    expert = agent.discriminator_input(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([0, 1]))  # logits 3.5, 0.5
    policy = agent.discriminator_input(np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([1, 0]))  # logits -0.5, 4.5
    loss, expert_probability, policy_probability = agent.discriminator_loss(expert, policy)
    # expert pairs labelled 1: -log sigmoid(x) = softplus(-x); policy pairs labelled 0: -log(1 - sigmoid(x)) = softplus(x)
    expected = (softplus(-3.5) + softplus(-0.5)) / 2 + (softplus(-0.5) + softplus(4.5)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert expert_probability.item() == pytest.approx((sigmoid(3.5) + sigmoid(0.5)) / 2, rel=1e-6)
    assert policy_probability.item() == pytest.approx((sigmoid(-0.5) + sigmoid(4.5)) / 2, rel=1e-6)


def test_one_discriminator_step_raises_the_expert_pairs_and_lowers_the_policy_ones():
    agent = hand_set_agent()
    expert = agent.discriminator_input(np.array([[1.0, 0.0]]), np.array([0]))
    policy = agent.discriminator_input(np.array([[0.0, 1.0]]), np.array([1]))
    before = agent.gail_reward(torch.cat([expert, policy]))
    loss, *_ = agent.discriminator_loss(expert, policy)
    loss.backward()
    agent.discriminator_optimizer.step()
    after = agent.gail_reward(torch.cat([expert, policy]))
    assert after[0] > before[0] and after[1] < before[1]


def test_reward_is_minus_log_one_minus_d_and_stays_finite():
    agent = hand_set_agent()
    pairs = agent.discriminator_input(np.array([[1.0, 0.0], [0.0, 1.0], [60.0, -40.0], [-60.0, 40.0]]), np.array([0, 1, 0, 1]))
    logits = [3.5, -0.5, 102.5, -99.5]
    rewards = agent.gail_reward(pairs)
    d = [sigmoid(x) for x in logits[:2]]
    assert rewards[:2].tolist() == pytest.approx([-math.log(1.0 - p) for p in d], rel=1e-6)
    assert rewards[2].item() == pytest.approx(102.5)  # -log(1 - D) where 1 - D underflows in float32
    assert 0.0 <= rewards[3].item() < 1e-30  # D ~ 0: no reward, and no NaN
    assert torch.isfinite(rewards).all()


# ------------------------------------------------------------------ the rollout gets D's reward, not the env's


def test_store_transition_replaces_the_env_reward_with_the_discriminators():
    agent = hand_set_agent()
    observations = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    actions = agent.sample_action(observations)
    expected_pairs = agent.discriminator_input(observations, actions)
    env_rewards = np.array([7.0, 7.0], np.float32)
    valid = np.array([True, False])  # env 1 was only reset at this step: no reward, no sample
    agent.store_transition(env_rewards, observations, np.zeros(2, bool), np.zeros(2, bool), valid)
    logit = 1.0 + 2.0 * (actions[0] == 0) + 0.5  # env 0: s = (1, 0)
    assert agent.rollout.rewards[0].tolist() == pytest.approx([softplus(logit), 0.0], rel=1e-6)
    assert torch.equal(agent.policy_pairs[0], expected_pairs)
    assert agent.rollout.step == 1 and agent.rollout.valid[0].tolist() == [True, False]


def test_update_trains_the_discriminator_then_ppo_on_a_full_rollout():
    agent = make_agent(*DISCRETE_2D, discriminator_epochs=3, discriminator_batch_size=4)
    agent.fit_dataset(dataset(np.array([[1.0, 0.0], [0.0, 1.0]], np.float32), np.array([0, 1])))
    rng = np.random.default_rng(0)
    flags = np.zeros(2, bool)
    before = [parameter.clone() for parameter in agent.discriminator.parameters()]
    for _ in range(4):
        assert agent.update() is None  # nothing to learn before the rollout is full
        agent.sample_action(rng.normal(size=(2, 2)).astype(np.float32))
        agent.store_transition(np.ones(2, np.float32), rng.normal(size=(2, 2)), flags, flags, ~flags)
    stats = agent.update()
    assert stats is not None
    assert {"discriminator_loss", "expert_probability", "policy_probability", "gail_reward", "policy_loss"} <= set(stats)
    assert all(not torch.equal(old, new) for old, new in zip(before, agent.discriminator.parameters(), strict=True))
    assert agent.rollout.step == 0 and agent.update_count == 1


# ------------------------------------------------------------------ the demonstrations' encoding


def test_fit_dataset_one_hot_encodes_discrete_actions():
    agent = make_agent(spaces.Box(-1.0, 1.0, (2,), np.float32), spaces.Discrete(3))
    observations = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], np.float32)
    agent.fit_dataset(dataset(observations, np.array([2, 0, 1], np.int64)))
    assert agent.expert_pairs is not None
    expected = [[0.1, 0.2, 0, 0, 1], [0.3, 0.4, 1, 0, 0], [0.5, 0.6, 0, 1, 0]]
    np.testing.assert_allclose(agent.expert_pairs.numpy(), expected, rtol=1e-6)


def test_fit_dataset_maps_box_actions_to_the_policys_units():
    action_space = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 10.0], np.float32))
    agent = make_agent(spaces.Box(-1.0, 1.0, (1,), np.float32), action_space)
    agent.fit_dataset(dataset(np.array([[0.5], [-0.5]], np.float32), np.array([[2.0, 0.0], [-1.0, 5.0]], np.float32)))
    assert agent.expert_pairs is not None
    np.testing.assert_allclose(agent.expert_pairs.numpy(), [[0.5, 1.0, -1.0], [-0.5, -0.5, 0.0]], rtol=1e-6)
    # the policy's pairs hold the action the env got, mapped back the same way: within [-1, 1]
    env_actions = agent.sample_action(np.zeros((2, 1), np.float32))
    assert agent.step_pairs is not None
    np.testing.assert_allclose(agent.step_pairs[:, 1:].numpy(), agent.action_scaler.from_env(env_actions), rtol=1e-6)
    assert agent.step_pairs[:, 1:].abs().max() <= 1.0


def test_fit_dataset_refuses_dict_observations():
    agent = make_agent(*DISCRETE_2D)
    parts = {"observation": np.zeros((2, 2), np.float32)}
    with pytest.raises(ValueError, match="Box observations"):
        agent.fit_dataset(dataset(parts, np.array([0, 1])))


# ------------------------------------------------------------------ checkpoint


def test_checkpoint_round_trip_keeps_the_discriminator_and_its_optimiser():
    agent = make_agent(*DISCRETE_2D)
    agent.fit_dataset(dataset(np.array([[1.0, 0.0], [0.0, 1.0]], np.float32), np.array([0, 1])))
    rng = np.random.default_rng(1)
    flags = np.zeros(2, bool)
    for _ in range(4):
        agent.sample_action(rng.normal(size=(2, 2)).astype(np.float32))
        agent.store_transition(np.ones(2, np.float32), rng.normal(size=(2, 2)), flags, flags, ~flags)
    agent.update()
    state = agent.state_dict()
    assert set(Agent.weights) <= set(state) and "discriminator_optimizer" in state
    restored = make_agent(*DISCRETE_2D)
    restored.load_state_dict(state)
    pairs = agent.discriminator_input(rng.normal(size=(8, 2)), rng.integers(0, 2, 8))
    assert torch.equal(restored.gail_reward(pairs), agent.gail_reward(pairs))
    moments = restored.discriminator_optimizer.state_dict()["state"]
    assert all(torch.equal(moments[k]["exp_avg"], v["exp_avg"]) for k, v in state["discriminator_optimizer"]["state"].items())
    observations = rng.normal(size=(20, 2)).astype(np.float32)
    assert [restored.predict_action(o) for o in observations] == [agent.predict_action(o) for o in observations]
    assert restored.update_count == agent.update_count == 1


# ------------------------------------------------------------------ learning from demonstrations


def test_the_results_keep_the_env_rewards_not_the_discriminators(tmp_path):
    """GAIL learns from D's rewards (its learning is tested in tests/test_identity_learning.py); res.csv and the
    evaluations keep the env's 0/1 rewards."""
    env_id = coded_id("Box", "Discrete")
    write_dataset(coded_dataset("Box", 5), tmp_path / "expert", env_id)
    folder = train(
        [
            "--algo", "GAIL", "--env", env_id, "--seed", "1", f"general_cfg.dataset={tmp_path / 'expert'}",
            "general_cfg.max_env_steps=600", "general_cfg.save_fig=false", "general_cfg.online_eval_episode=2",
            "general_cfg.eval_per_episode=10",
        ],
        tmp_path / "tasks",
    )  # fmt: skip
    returns = [float(row["reward"]) for row in read_csv(folder / "results" / "res.csv")]
    returns += [float(row["eval_mean"]) * 2 for row in read_csv(folder / "results" / "eval.csv")]  # sums of 2 returns
    assert all(value.is_integer() and 0 <= value <= 2 * EPISODE_STEPS for value in returns)
