"""joyrl.buffers.ReplayBuffer: the ring, push_batch, sampling and state_dict."""

import numpy as np
import pytest
import torch

from joyrl.buffers import ReplayBatch, ReplayBuffer

FIELDS = ("states", "actions", "rewards", "next_states", "terminated")


def transitions(start, n, obs_dim=3):
    """n distinct transitions numbered from ``start`` (the reward is the number)."""
    ids = np.arange(start, start + n)
    return (
        np.repeat(ids[:, None], obs_dim, axis=1).astype(np.float32),
        ids % 2,
        ids.astype(np.float32),
        np.repeat(ids[:, None] + 0.5, obs_dim, axis=1).astype(np.float32),
        (ids % 3 == 0).astype(np.float32),
    )


def push_each(buffer, start, n):
    for transition in zip(*transitions(start, n), strict=True):
        buffer.push(*transition)


def oldest_first(buffer, field):
    """The stored values of ``field`` from the oldest to the newest transition."""
    values = getattr(buffer, field)[: buffer.size]
    return np.roll(values, -buffer.position, axis=0) if buffer.size == buffer.capacity else values


def test_ring_keeps_the_newest_and_overwrites_the_oldest():
    buffer = ReplayBuffer(4, (3,))
    push_each(buffer, 0, 6)
    assert len(buffer) == 4
    assert buffer.position == 2
    assert buffer.rewards.tolist() == [4, 5, 2, 3]  # slots 0 and 1 overwritten by 4 and 5
    assert oldest_first(buffer, "rewards").tolist() == [2, 3, 4, 5]


def test_size_grows_to_capacity_and_stays():
    buffer = ReplayBuffer(5, (3,))
    sizes = []
    for i in range(8):
        push_each(buffer, i, 1)
        sizes.append(len(buffer))
    assert sizes == [1, 2, 3, 4, 5, 5, 5, 5]


def test_push_batch_without_wrap_equals_repeated_push():
    one_by_one, batched = ReplayBuffer(8, (3,)), ReplayBuffer(8, (3,))
    push_each(one_by_one, 0, 5)
    batched.push_batch(*transitions(0, 5))
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(batched, field), getattr(one_by_one, field))
    assert (batched.position, batched.size) == (one_by_one.position, one_by_one.size)


@pytest.mark.parametrize(("first", "second"), [(3, 4), (5, 5), (2, 9), (0, 13), (6, 14)])
def test_push_batch_wraparound_equals_repeated_push(first, second):
    one_by_one, batched = ReplayBuffer(5, (3,)), ReplayBuffer(5, (3,))
    push_each(one_by_one, 0, first)
    push_each(batched, 0, first)
    push_each(one_by_one, first, second)
    batched.push_batch(*transitions(first, second))
    assert len(batched) == len(one_by_one)
    for field in FIELDS:
        np.testing.assert_array_equal(oldest_first(batched, field), oldest_first(one_by_one, field))
    # the next push overwrites the same (oldest) transition in both
    push_each(one_by_one, 100, 1)
    push_each(batched, 100, 1)
    np.testing.assert_array_equal(oldest_first(batched, "rewards"), oldest_first(one_by_one, "rewards"))


def test_sample_returns_a_batch_of_tensors():
    buffer = ReplayBuffer(10, (3,))
    push_each(buffer, 0, 10)
    batch = buffer.sample(7)
    assert isinstance(batch, ReplayBatch)
    assert batch.states.shape == batch.next_states.shape == (7, 3)
    assert batch.actions.shape == batch.rewards.shape == batch.terminated.shape == (7,)
    assert batch.states.dtype == batch.rewards.dtype == batch.terminated.dtype == torch.float32
    assert batch.actions.dtype == torch.int64
    assert all(t.device == torch.device("cpu") for t in batch)


def test_sample_keeps_each_transition_together():
    buffer = ReplayBuffer(10, (3,))
    push_each(buffer, 0, 10)
    batch = buffer.sample(32)
    torch.testing.assert_close(batch.states[:, 0], batch.rewards)
    torch.testing.assert_close(batch.next_states[:, 0], batch.rewards + 0.5)
    assert torch.equal(batch.actions, batch.rewards.long() % 2)


def test_sample_draws_only_from_filled_slots():
    np.random.seed(0)
    buffer = ReplayBuffer(100, (3,))
    push_each(buffer, 1, 3)
    assert set(buffer.sample(500).rewards.tolist()) == {1.0, 2.0, 3.0}


def test_sample_from_an_empty_buffer_raises():
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4, (3,)).sample(1)


def test_sample_follows_the_numpy_seed():
    buffer = ReplayBuffer(50, (3,))
    push_each(buffer, 0, 50)
    np.random.seed(5)
    first = buffer.sample(16).rewards
    np.random.seed(5)
    assert torch.equal(buffer.sample(16).rewards, first)


@pytest.mark.parametrize("pushed", [3, 9])
def test_state_dict_round_trip(pushed):
    buffer = ReplayBuffer(6, (3,))
    push_each(buffer, 0, pushed)
    restored = ReplayBuffer(6, (3,))
    restored.load_state_dict(buffer.state_dict())
    assert (restored.size, restored.position) == (buffer.size, buffer.position)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(restored, field), getattr(buffer, field))
    push_each(buffer, 50, 2)
    push_each(restored, 50, 2)
    np.testing.assert_array_equal(restored.rewards, buffer.rewards)


def test_state_dict_holds_tensors_only():
    buffer = ReplayBuffer(4, (3,))
    push_each(buffer, 0, 2)
    state = buffer.state_dict()
    assert all(isinstance(state[field], torch.Tensor) for field in FIELDS)
    assert state["states"].shape == (2, 3)
