"""DRQN: the sequence replay memory, the hidden states when acting, the masked burn-in loss, and a CLI smoke run."""

import copy
import random
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import envs  # noqa: F401  (registers CartPoleNoVelocity-v1)
from algos.DRQN.agent import Agent, masked_huber_loss
from algos.DRQN.config import AlgoConfig
from algos.DRQN.trainer import Trainer
from joyrl.config import defaults
from joyrl.sequence_buffer import SequenceBatch, SequenceReplayBuffer
from tests.helpers import ROOT, read_csv

PRESET = ROOT / "config" / "presets" / "CartPoleNoVelocity-v1_DRQN.yaml"
TINY = ["algo_cfg.value_layers=[{layer_type: linear, layer_size: [8], activation: relu}]", "algo_cfg.hidden_size=8"]


def fill(buffer, lengths, terminal=True):
    """Episodes of the given lengths, step n observing (n + 1, -(n + 1)) so padding (zeros) stands out; reward n."""
    n = 0
    for length in lengths:
        for k in range(length):
            last = k == length - 1
            buffer.push([n + 1, -(n + 1)], n % 2, float(n), [n + 2, -(n + 2)], terminal and last)
            n += 1
        buffer.end_episode()


def steps_of(batch):
    """The step number in each window position, -1 on padding: (B, T)."""
    return batch.observations[..., 0].long() - 1


def test_sample_has_burn_in_plus_seq_len_steps_of_each_field():
    buffer = SequenceReplayBuffer(100, (2,), burn_in=3, seq_len=4)
    fill(buffer, [10, 7])
    batch = buffer.sample(5)
    assert batch.observations.shape == batch.next_observations.shape == (5, 7, 2)
    for field in (batch.previous_actions, batch.actions, batch.rewards, batch.terminated, batch.mask):
        assert field.shape == (5, 7)
    assert batch.actions.dtype == batch.previous_actions.dtype == torch.int64
    assert batch.mask.dtype == batch.rewards.dtype == torch.float32


def test_windows_of_two_short_episodes_have_the_hand_computed_masks():
    """Episode A is steps 0-2 (terminated), episode B steps 3-6 (still open); burn_in 2, seq_len 3."""
    buffer = SequenceReplayBuffer(100, (2,), burn_in=2, seq_len=3)
    fill(buffer, [3])
    for n in range(3, 7):
        buffer.push([n + 1, -(n + 1)], 0, float(n), [n + 2, -(n + 2)], False)
    expected = {  # training start t -> (mask, step in each position), windows t-2 .. t+2
        0: ([0, 0, 1, 1, 1], [-1, -1, 0, 1, 2]),
        1: ([0, 1, 1, 1, 0], [-1, 0, 1, 2, -1]),
        2: ([1, 1, 1, 0, 0], [0, 1, 2, -1, -1]),
        3: ([0, 0, 1, 1, 1], [-1, -1, 3, 4, 5]),
        4: ([0, 1, 1, 1, 1], [-1, 3, 4, 5, 6]),
        5: ([1, 1, 1, 1, 0], [3, 4, 5, 6, -1]),
        6: ([1, 1, 1, 0, 0], [4, 5, 6, -1, -1]),
    }
    np.random.seed(0)
    batch = buffer.sample(200)
    starts = steps_of(batch)[:, 2]
    assert set(starts.tolist()) == set(expected)
    for j, t in enumerate(starts.tolist()):
        mask, steps = expected[t]
        assert batch.mask[j].tolist() == mask
        assert steps_of(batch)[j].tolist() == steps
    padding = batch.mask == 0
    for field in (batch.actions, batch.rewards, batch.terminated, batch.next_observations[..., 0]):
        assert (field[padding] == 0).all()
    assert (batch.terminated[steps_of(batch) == 2] == 1).all() and batch.terminated[steps_of(batch) != 2].sum() == 0


def test_windows_never_cross_episodes_and_skip_overwritten_steps():
    buffer = SequenceReplayBuffer(40, (2,), burn_in=4, seq_len=6)
    lengths = [1, 5, 2, 9, 3, 12, 1, 7, 8, 4]  # 52 steps: the ring has wrapped, inside the 4th episode
    fill(buffer, lengths)
    episode_of = np.repeat(np.arange(len(lengths)), lengths)
    np.random.seed(1)
    batch = buffer.sample(500)
    steps, mask = steps_of(batch).numpy(), batch.mask.numpy().astype(bool)
    assert (steps[mask] >= 52 - 40).all()  # only kept steps
    for row, valid in zip(steps, mask, strict=True):
        real = row[valid]
        assert len(set(episode_of[real])) == 1
        assert (np.diff(real) == 1).all()  # consecutive, one block
        assert (row[~valid] == -1).all()


def test_buffer_state_dict_round_trip_samples_the_same_windows():
    buffer = SequenceReplayBuffer(30, (2,), burn_in=2, seq_len=3)
    fill(buffer, [8, 9, 20])
    buffer.push([99, -99], 1, 0.0, [100, -100], False)  # an open episode
    restored = SequenceReplayBuffer(30, (2,), burn_in=2, seq_len=3)
    restored.load_state_dict(copy.deepcopy(buffer.state_dict()))
    np.random.seed(3)
    first = buffer.sample(16)
    np.random.seed(3)
    second = restored.sample(16)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="buffer_size"):
        SequenceReplayBuffer(31, (2,), burn_in=2, seq_len=3).load_state_dict(buffer.state_dict())


def make_agent(**overrides):
    torch.manual_seed(0)
    settings = defaults(AlgoConfig) | {
        "value_layers": [{"layer_type": "linear", "layer_size": [8], "activation": "relu"}],
        "hidden_size": 8,
        "burn_in": 2,
        "seq_len": 3,
        "epsilon_start": 0.5,
        "epsilon_end": 0.5,
        "max_env_steps": 1000,
    }
    return Agent(SimpleNamespace(**(settings | overrides), device="cpu", n_states=2, n_actions=2))


def test_end_episode_zeroes_the_training_hidden_state_and_closes_the_stored_episode():
    agent = make_agent()
    observation = np.array([0.1, -0.2], np.float32)
    for _ in range(3):
        agent.store_transition(observation, agent.sample_action(observation), 1.0, observation, False)
    assert agent.hidden is not None and agent.prev_action in (0, 1)
    agent.end_episode()
    assert agent.hidden is None and agent.prev_action == 2  # none
    assert agent.memory.current_start == agent.memory.steps == 3
    assert agent.memory.episode_end[:3].tolist() == [3, 3, 3]


class ActionLog(gym.Wrapper):
    def reset(self, **kwargs):
        self.actions = []
        return self.env.reset(**kwargs)

    def step(self, action):
        self.actions.append(action)
        return self.env.step(action)


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_evaluation_hidden_state_starts_at_zero_and_leaves_the_training_one_alone(rnn_type):
    agent, trainer = make_agent(rnn_type=rnn_type), Trainer()
    train_env = gym.make("CartPoleNoVelocity-v1")
    state, _ = train_env.reset(seed=0)
    for _ in range(5):  # the middle of a training episode
        state, *_ = train_env.step(agent.sample_action(state))
    hidden = copy.deepcopy(agent.hidden)
    eval_env = ActionLog(gym.make("CartPoleNoVelocity-v1", max_episode_steps=30))
    agent.eval_hidden = copy.deepcopy(agent.hidden)  # left over from somewhere: the Trainer must reset it
    eval_env.reset(seed=7)
    trainer.test_one_episode(eval_env, agent, None)
    first = eval_env.actions
    eval_env.reset(seed=7)
    trainer.test_one_episode(eval_env, agent, None)
    assert eval_env.actions == first  # each test episode starts from zeros, whatever came before
    fresh = copy.deepcopy(agent)
    fresh.eval_hidden = None
    state, _ = eval_env.reset(seed=7)
    assert [fresh.predict_action(state)] == first[:1]
    for a, b in zip(
        agent.hidden if rnn_type == "lstm" else [agent.hidden], hidden if rnn_type == "lstm" else [hidden], strict=True
    ):
        assert torch.equal(a, b)  # the evaluation did not touch the training episode's hidden state


def test_masked_huber_loss_by_hand():
    q_values = torch.tensor([[1.0, 2.0, 3.0], [0.0, 5.0, -7.0]])
    targets = torch.tensor([[1.5, 0.0, 100.0], [0.0, 5.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    # 0.5 * 0.5² = 0.125, |2| - 0.5 = 1.5, 0 for the third valid step; the mean over 3 valid steps
    assert masked_huber_loss(q_values, targets, mask).item() == pytest.approx((0.125 + 1.5 + 0.0) / 3)


def hand_built_batch(junk: float) -> SequenceBatch:
    """Two windows (burn_in 2, seq_len 3): one padded in front (its episode starts at position 1), one ending
    at position 3 by a truncation; ``junk`` fills every padded step."""
    generator = torch.Generator().manual_seed(5)
    observations = torch.randn(2, 5, 2, generator=generator)  # o_t; any values will do
    next_observations = torch.cat([observations[:, 1:], torch.randn(2, 1, 2, generator=generator)], dim=1)
    next_observations[1, 3] = torch.tensor([0.3, -0.4])  # the final observation of the truncated episode
    mask = torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.float32)
    batch = SequenceBatch(
        observations,
        torch.tensor([[0, 2, 0, 1, 1], [2, 0, 1, 1, 0]]),  # a_{t-1} (the actions one step on); 2: none, at an episode start
        torch.tensor([[1, 0, 1, 1, 0], [0, 1, 1, 0, 1]]),
        torch.tensor([[0.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 0.0]]),
        next_observations,
        torch.tensor([[0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]]),
        mask,
    )
    padding = mask == 0
    batch.observations[padding] = junk
    batch.next_observations[padding] = junk
    batch.rewards[padding] = junk
    batch.terminated[padding] = 1.0 if junk else 0.0
    batch.actions[padding] = 1 if junk else 0
    batch.previous_actions[padding] = 1 if junk else 0
    return batch


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_padded_steps_change_neither_the_loss_nor_its_gradient(rnn_type):
    agent = make_agent(rnn_type=rnn_type)
    agent.target_net.load_state_dict(make_agent(rnn_type=rnn_type, hidden_size=8).policy_net.state_dict())
    results = []
    for junk in (0.0, 1e3):
        agent.policy_net.zero_grad()
        loss = agent.compute_loss(hand_built_batch(junk))
        loss.backward()
        results.append((loss.item(), [p.grad.clone() for p in agent.policy_net.parameters()]))
    assert results[0][0] == pytest.approx(results[1][0], abs=1e-6)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b)


def reference_loss(agent, batch):
    """The same loss, one window and one step at a time: every hidden state run from the episode's first step."""

    def q(net, steps):  # Q-values after the given inputs, from zeros: (A,)
        return net(agent.normalize(torch.stack(steps))[None])[0][0, -1]

    b, gamma, losses = agent.cfg.burn_in, agent.cfg.gamma, []
    inputs = agent.inputs(batch.observations, batch.previous_actions)  # x_k = (o_k, a_{k-1})
    next_inputs = agent.inputs(batch.next_observations, batch.actions)  # x_{k+1} = (o_{k+1}, a_k)
    with torch.no_grad():
        for j in range(len(batch.mask)):
            valid = [k for k in range(len(batch.mask[j])) if batch.mask[j, k]]
            history = []
            for k in valid:
                history.append(inputs[j, k])
                if k < b:
                    continue
                following = [*history, next_inputs[j, k]]
                next_action = q(agent.policy_net, following).argmax()
                target = batch.rewards[j, k] + gamma * (1 - batch.terminated[j, k]) * q(agent.target_net, following)[next_action]
                losses.append(F.smooth_l1_loss(q(agent.policy_net, history)[batch.actions[j, k]], target))
    return torch.stack(losses).mean()


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_loss_equals_a_step_by_step_reference(rnn_type):
    agent = make_agent(rnn_type=rnn_type)
    agent.target_net.load_state_dict(make_agent(rnn_type=rnn_type).policy_net.state_dict())
    with torch.no_grad():
        for p in agent.target_net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    batch = hand_built_batch(0.0)
    assert agent.compute_loss(batch).item() == pytest.approx(reference_loss(agent, batch).item(), rel=1e-5)
    random.seed(0)
    np.random.seed(0)
    for length in (1, 4, 6):  # through the agent: inputs with previous actions, running statistics
        observations = np.random.randn(length + 1, 2) * [1.0, 0.05]
        for k in range(length):
            action = agent.sample_action(observations[k])
            agent.store_transition(observations[k], action, 1.0, observations[k + 1], k == length - 1 and length != 4)
        agent.end_episode()
    assert agent.input_stats.count == 11
    batch = agent.memory.sample(12)
    assert agent.compute_loss(batch).item() == pytest.approx(reference_loss(agent, batch).item(), rel=1e-5)


def test_inputs_carry_the_previous_action_and_are_normalized_as_stored():
    agent = make_agent()
    observations = np.array([[0.5, 0.01], [0.7, 0.03], [0.2, -0.02], [0.1, 0.0]], np.float32)
    actions = [1, 0, 1]
    for k in range(3):
        agent.sample_action(observations[k])
        agent.store_transition(observations[k], actions[k], 1.0, observations[k + 1], False)
    memory = agent.memory
    assert memory.observations[:3].tolist() == observations[:3].tolist()  # o_t as it came, and a_{t-1} apart
    assert memory.previous_actions[:3].tolist() == [2, 1, 0]  # 2: no previous action at the episode's first step
    as_batch = [torch.from_numpy(array[None, :3]) for array in (memory.observations, memory.previous_actions)]
    stored = agent.inputs(*as_batch)[0].numpy()  # x_t = (o_t, one-hot a_{t-1})
    assert stored[:, :2].tolist() == observations[:3].tolist()
    assert stored[0, 2:].tolist() == [0, 0]
    assert [int(row[2:].argmax()) for row in stored[1:]] == actions[:2]
    np.testing.assert_allclose(agent.input_stats.mean, stored.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(agent.input_stats.std(), stored.std(axis=0), rtol=1e-4)
    expected = (stored - stored.mean(axis=0)) / stored.std(axis=0)
    np.testing.assert_allclose(agent.normalize(torch.from_numpy(stored)).numpy(), expected, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(agent.normalized_input(observations[1], actions[0]), expected[1], rtol=1e-3, atol=1e-4)
    unnormalized = make_agent(normalize_inputs=False)
    unnormalized.store_transition(observations[0], 1, 1.0, observations[1], False)
    assert unnormalized.input_stats.count == 0
    assert unnormalized.normalized_input(observations[0], 1).tolist() == [0.5, pytest.approx(0.01), 0.0, 1.0]


def test_cli_smoke_run_trains_and_tests(cli):
    args = ["--yaml", PRESET, "general_cfg.max_env_steps=300", "general_cfg.eval_per_episode=5"]
    args += ["general_cfg.online_eval_episode=2", "algo_cfg.learning_starts=50", "algo_cfg.train_freq=4", "algo_cfg.batch_size=4"]
    result = cli(*args, *TINY)
    assert result.code == 0
    assert (result.folder / "models" / "last.pt").is_file()
    assert int(read_csv(result.folder / "results" / "res.csv")[-1]["env_steps"]) >= 300
    assert any(row.get("loss") for row in read_csv(result.folder / "results" / "train_stats.csv"))
    tested = cli(*args, *TINY, "--mode", "test", "--load", result.folder, "general_cfg.play_episodes=2")
    assert tested.code == 0
    assert len(read_csv(tested.folder / "results" / "res.csv")) == 2
