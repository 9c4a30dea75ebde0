"""joyrl.prioritized: the sum tree, proportional sampling, importance weights, priorities; PER-DQN's β and loss."""

import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from algos.PER_DQN.agent import Agent
from algos.PER_DQN.config import AlgoConfig
from joyrl.config import defaults
from joyrl.prioritized import PrioritizedReplayBuffer, SumTree
from joyrl.validation import InvalidValue
from tests.helpers import NO_WRAPPERS, TINY_DQN, read_csv, without_seconds


def buffer_with_priorities(priorities, alpha=1.0, capacity=None):
    """A buffer of len(priorities) transitions (reward = slot) whose priorities p^α are exactly ``priorities``."""
    n = len(priorities)
    buffer = PrioritizedReplayBuffer(capacity or n, (2,), alpha=alpha, eps=0.0)
    for i in range(n):
        buffer.push(np.full(2, i, np.float32), i % 2, float(i), np.full(2, i + 0.5, np.float32), False)
    buffer.update_priorities(np.arange(n), np.asarray(priorities, dtype=np.float64) ** (1 / alpha))
    return buffer


def brute_force_nodes(leaves):
    """Every node of the tree over ``leaves`` (a power-of-two count), summed from scratch."""
    nodes = np.zeros(2 * len(leaves))
    nodes[len(leaves) :] = leaves
    for k in range(len(leaves) - 1, 0, -1):
        nodes[k] = nodes[2 * k] + nodes[2 * k + 1]
    return nodes


def test_sum_tree_of_four_leaves_holds_the_hand_computed_sums():
    tree = SumTree(4)
    tree.update(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    assert tree.nodes[1:].tolist() == [10, 3, 7, 1, 2, 3, 4]  # root, the two halves, the leaves
    assert tree.total == 10


def test_sum_tree_finds_the_leaf_of_each_prefix_sum():
    tree = SumTree(4)
    tree.update(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))  # intervals [0,1) [1,3) [3,6) [6,10)
    prefix_sums = np.array([0.0, 0.99, 1.0, 2.5, 2.99, 3.0, 5.99, 6.0, 9.99])
    assert tree.find(prefix_sums).tolist() == [0, 0, 1, 1, 1, 2, 2, 3, 3]


def test_sum_tree_rounds_the_capacity_up_to_a_power_of_two():
    assert [SumTree(capacity).capacity for capacity in (1, 2, 3, 5, 8, 9)] == [1, 2, 4, 8, 8, 16]
    single = SumTree(1)
    single.update(np.array([0]), 2.5)
    assert single.total == 2.5
    assert single.find(np.array([0.0, 2.4])).tolist() == [0, 0]


def test_sum_tree_find_agrees_with_a_search_of_the_cumulative_sums():
    rng = np.random.default_rng(1)
    priorities = rng.random(37) * (rng.random(37) > 0.3)  # some zeros
    tree = SumTree(37)
    tree.update(np.arange(37), priorities)
    prefix_sums = rng.random(1000) * priorities.sum()
    expected = np.searchsorted(np.cumsum(priorities), prefix_sums, side="right")
    assert tree.find(prefix_sums).tolist() == expected.tolist()


def test_sum_tree_never_finds_an_empty_leaf():
    tree = SumTree(5)  # 8 leaves, the last five empty
    tree.update(np.arange(3), np.array([1.0, 0.0, 3.0]))
    found = tree.find(np.array([0.0, 0.999, 1.0, 3.999, 4.0, 4.0 + 1e-9, 100.0]))
    assert found.tolist() == [0, 0, 2, 2, 2, 2, 2]  # slot 1 (priority 0) and slots 3.. are skipped, even beyond the total


def test_sum_tree_update_with_a_repeated_index_keeps_the_last_value():
    tree = SumTree(4)
    tree.update(np.arange(4), np.ones(4))
    tree.update(np.array([1, 3, 1, 1]), np.array([5.0, 7.0, 2.0, 9.0]))
    assert tree.get(np.arange(4)).tolist() == [1, 9, 1, 7]
    assert tree.nodes[1:].tolist() == [18, 10, 8, 1, 9, 1, 7]


def test_sum_tree_batched_updates_equal_one_at_a_time_updates():
    rng = np.random.default_rng(0)
    batched, one_by_one = SumTree(13), SumTree(13)
    for _ in range(20):
        indices, priorities = rng.integers(0, 13, size=9), rng.random(9)
        batched.update(indices, priorities)
        for index, priority in zip(indices, priorities, strict=True):
            one_by_one.update(np.array([index]), priority)
        np.testing.assert_array_equal(batched.nodes, one_by_one.nodes)
        np.testing.assert_allclose(batched.nodes[1:], brute_force_nodes(batched.nodes[batched.capacity :])[1:])


def test_sum_tree_rejects_negative_or_nan_priorities():
    tree = SumTree(4)
    for bad in (-1.0, np.nan):
        with pytest.raises(ValueError, match="non-negative"):
            tree.update(np.array([0, 1]), np.array([1.0, bad]))
    with pytest.raises(IndexError):
        tree.update(np.array([4]), 1.0)


def test_sampling_frequencies_follow_the_priorities():
    buffer = buffer_with_priorities([1.0, 2.0, 3.0, 4.0])
    np.random.seed(0)
    drawn = np.concatenate([buffer.sample(64, beta=0.4).indices for _ in range(3125)])  # 200,000 draws
    frequencies = np.bincount(drawn, minlength=4) / len(drawn)
    np.testing.assert_allclose(frequencies, [0.1, 0.2, 0.3, 0.4], atol=0.003)


def test_sampling_is_reproducible_with_the_global_seed():
    buffer = buffer_with_priorities([1.0, 2.0, 3.0, 4.0, 0.5])
    np.random.seed(3)
    first = [buffer.sample(8).indices.tolist() for _ in range(5)]
    np.random.seed(3)
    assert [buffer.sample(8).indices.tolist() for _ in range(5)] == first


def test_sampling_is_stratified_one_draw_per_segment():
    """Priorities 1, 2, 3, 4 (total 10) in 10 segments of width 1: each segment lies in one leaf's interval."""
    buffer = buffer_with_priorities([1.0, 2.0, 3.0, 4.0])
    np.random.seed(0)
    assert buffer.sample(10).indices.tolist() == [0, 1, 1, 2, 2, 2, 3, 3, 3, 3]


def test_importance_weights_are_hand_computed_and_normalised_by_the_batch_max():
    """N = 4, P = (.1, .2, .3, .4), β = 0.5: w_i = (N P_i)^-β = (0.4, 0.8, 1.2, 1.6)^-0.5, the largest (slot 0) is 1/√0.4."""
    buffer = buffer_with_priorities([1.0, 2.0, 3.0, 4.0])
    batch = buffer.sample(10, beta=0.5)  # slots 0, 1, 1, 2, 2, 2, 3, 3, 3, 3 (see above)
    unnormalised = {0: 0.4**-0.5, 1: 0.8**-0.5, 2: 1.2**-0.5, 3: 1.6**-0.5}
    expected = [unnormalised[i] / unnormalised[0] for i in batch.indices.tolist()]
    assert batch.weights.tolist() == pytest.approx(expected)
    assert batch.weights.tolist() == pytest.approx([1, 0.5**0.5, 0.5**0.5, *[3**-0.5] * 3, *[0.5] * 4])
    assert buffer.sample(10, beta=0.0).weights.tolist() == [1.0] * 10  # β = 0: no correction


def test_batch_carries_the_sampled_transitions_as_tensors():
    buffer = buffer_with_priorities([1.0, 2.0, 3.0, 4.0])
    batch = buffer.sample(10)
    assert batch.rewards.tolist() == batch.indices.astype(float).tolist()  # the reward is the slot
    assert batch.states.shape == (10, 2) and batch.states.dtype == torch.float32
    assert batch.weights.dtype == torch.float32 and batch.discounts.tolist() == [1.0] * 10


def test_update_priorities_uses_abs_td_plus_eps_to_the_alpha():
    buffer = PrioritizedReplayBuffer(4, (1,), alpha=0.5, eps=0.01)
    for _ in range(3):
        buffer.push(np.zeros(1), 0, 0.0, np.zeros(1), False)
    buffer.update_priorities(np.array([0, 2]), torch.tensor([-3.0, 0.0]))
    assert buffer.tree.get(np.arange(4)).tolist() == pytest.approx([3.01**0.5, 1.0, 0.1, 0.0])


def test_update_priorities_with_a_repeated_index_keeps_the_last_td_error():
    buffer = PrioritizedReplayBuffer(4, (1,), alpha=1.0, eps=0.0)
    for _ in range(4):
        buffer.push(np.zeros(1), 0, 0.0, np.zeros(1), False)
    buffer.update_priorities(np.array([2, 0, 2]), np.array([5.0, 3.0, 0.5]))
    assert buffer.tree.get(np.arange(4)).tolist() == [3.0, 1.0, 0.5, 1.0]
    assert buffer.tree.total == 5.5
    assert buffer.max_priority == 5.0  # the largest priority ever set, the overwritten one included


def test_new_transitions_get_the_largest_priority_so_far():
    buffer = PrioritizedReplayBuffer(3, (1,), alpha=1.0, eps=0.0)
    buffer.push(np.zeros(1), 0, 0.0, np.zeros(1), False)
    assert buffer.tree.get([0]).tolist() == [1.0]  # 1 at first
    buffer.update_priorities(np.array([0]), np.array([6.0]))
    buffer.update_priorities(np.array([0]), np.array([2.0]))  # lower again: the maximum so far stays 6
    buffer.push(np.zeros(1), 0, 0.0, np.zeros(1), False)
    buffer.push_batch(np.zeros((3, 1)), np.zeros(3), np.zeros(3), np.zeros((3, 1)), np.zeros(3))  # wraps around
    assert buffer.tree.get(np.arange(3)).tolist() == [6.0, 6.0, 6.0]
    assert buffer.tree.total == 18.0


def test_push_batch_stores_discounts_and_wraps_like_push():
    batched = PrioritizedReplayBuffer(4, (1,))
    batched.push_batch(np.zeros((6, 1)), np.zeros(6), np.arange(6.0), np.zeros((6, 1)), np.zeros(6), np.arange(6.0) / 10)
    assert batched.rewards.tolist() == [2, 3, 4, 5]  # the newest four, as ReplayBuffer.push_batch keeps them
    assert batched.discounts.tolist() == pytest.approx([0.2, 0.3, 0.4, 0.5])
    assert batched.tree.total == 4.0


def test_state_dict_round_trip_keeps_priorities_and_sampling():
    buffer = buffer_with_priorities([1.0, 5.0, 0.5, 2.0], capacity=6)
    stream = io.BytesIO()
    torch.save(buffer.state_dict(), stream)
    stream.seek(0)
    restored = PrioritizedReplayBuffer(6, (2,), alpha=1.0, eps=0.0)
    restored.push(np.ones(2), 1, 9.0, np.ones(2), True)  # content that loading replaces
    restored.load_state_dict(torch.load(stream, weights_only=True))
    np.testing.assert_array_equal(restored.tree.nodes, buffer.tree.nodes)
    assert restored.max_priority == buffer.max_priority
    np.random.seed(5)
    expected = buffer.sample(16, beta=0.7)
    np.random.seed(5)
    got = restored.sample(16, beta=0.7)
    assert got.indices.tolist() == expected.indices.tolist()
    assert torch.equal(got.weights, expected.weights) and torch.equal(got.states, expected.states)


def per_agent(**overrides):
    settings = defaults(AlgoConfig) | {
        "value_layers": [{"layer_type": "linear", "layer_size": [8], "activation": "relu"}],
        "learning_starts": 0,
        "train_freq": 50,
        "gradient_steps": 2,
        "batch_size": 4,
    }
    return Agent(SimpleNamespace(**(settings | overrides), device="cpu", n_states=3, n_actions=2, max_env_steps=100))


@pytest.mark.parametrize(
    ("beta_decay", "beta_end", "expected"), [(None, 1.0, 0.7), (200, 1.0, 0.55), (25, 1.0, 1.0), (None, 0.4, 0.4)]
)
def test_beta_anneals_linearly_from_beta_start(beta_decay, beta_end, expected):
    """At env step 50 of a 100-step budget, from 0.4: halfway to 1, a quarter of 200 steps, done after 25, or constant."""
    torch.manual_seed(0)
    np.random.seed(0)
    agent = per_agent(beta_start=0.4, beta_end=beta_end, beta_decay=beta_decay)
    rng = np.random.default_rng(0)
    for _ in range(50):
        observation = rng.random(3).astype(np.float32)
        agent.store_transition(observation, agent.sample_action(observation), float(rng.random()), observation, False)
    stats = agent.update()
    assert stats["beta"] == pytest.approx(expected)


def test_per_dqn_update_refreshes_the_sampled_priorities_from_td_errors():
    torch.manual_seed(0)
    np.random.seed(0)
    agent = per_agent(gradient_steps=1, alpha=1.0, priority_eps=1e-3)
    rng = np.random.default_rng(0)
    for _ in range(50):
        observation = rng.random(3).astype(np.float32)
        agent.store_transition(observation, int(rng.integers(2)), float(rng.random()), observation, False)
        agent.sample_count += 1
    np.random.seed(1)
    batch = agent.memory.sample(4, 0.4)  # the batch update() will draw
    with torch.no_grad():
        td = agent.compute_target(batch) - agent.policy_net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)
    np.random.seed(1)
    agent.update()
    assert agent.memory.tree.get(batch.indices).tolist() == pytest.approx((td.abs() + 1e-3).tolist(), rel=1e-5)
    untouched = np.setdiff1d(np.arange(50), batch.indices)
    assert agent.memory.tree.get(untouched).tolist() == [1.0] * len(untouched)


def test_beta_decay_none_needs_a_step_budget():
    cfg = SimpleNamespace(**defaults(AlgoConfig) | {"lr_end": None}, max_env_steps=-1)
    with pytest.raises(InvalidValue, match="max_env_steps is -1") as error:
        AlgoConfig.check(cfg)
    assert error.value.key == "beta_decay"


def test_a_per_dqn_run_stopped_and_resumed_with_its_buffer_matches_the_uninterrupted_one(cli):
    """save_buffer keeps the priorities: the resumed run samples, and so learns, exactly as the uninterrupted one."""
    args = [*TINY_DQN, "--algo", "PER_DQN", "general_cfg.max_env_steps=500", "general_cfg.save_buffer=true"]
    uninterrupted = cli(*args)
    stopped = cli(*args, "env_cfg.wrappers=[{name: 'tests.faulty_env:SignalAtStep', kwargs: {step: 300, signum: 2}}]")
    assert stopped.code == 130
    memory = torch.load(stopped.folder / "models" / "last.pt", weights_only=True)["memory"]
    assert len(memory["priorities"]) == 300 and len(set(memory["priorities"].tolist())) > 2  # refreshed by learning
    # the loaded run's env_cfg comes with it: drop the wrapper that stopped it
    resumed = cli(*args, "general_cfg.load_checkpoint=true", "--load", stopped.folder, NO_WRAPPERS)
    assert resumed.code == 0
    for name in ("res.csv", "eval.csv", "train_stats.csv"):
        expected = without_seconds(read_csv(uninterrupted.folder / "results" / name))
        assert without_seconds(read_csv(resumed.folder / "results" / name)) == expected, name
