"""joyrl.nstep: n-step returns on a hand-computed 5-step episode, across termination and truncation."""

import io

import numpy as np
import pytest
import torch

from joyrl.nstep import NStepAccumulator
from joyrl.prioritized import PrioritizedReplayBuffer

GAMMA = 0.5
REWARDS = [1.0, 2.0, 3.0, 4.0, 5.0]  # r_0 .. r_4


def obs(i, episode=0):
    """s_i of an episode: distinct observations, different between episodes."""
    return np.array([i, episode], dtype=np.float32)


def play(accumulator, terminated_at_end, episode=0, rewards=REWARDS):
    """Push one episode (s_0 .. s_len); returns every emitted transition."""
    emitted = []
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        emitted += accumulator.push(obs(t, episode), t, reward, obs(t + 1, episode), terminated_at_end and last)
    return emitted


def as_rows(transitions):
    return [(int(t.state[0]), t.action, t.reward, int(t.next_state[0]), t.terminated, t.discount) for t in transitions]


# (s_t, a_t, R_t, bootstrap state, terminated, discount) for n = 3, γ = 0.5:
# R_0 = 1 + .5·2 + .25·3 = 2.75, R_1 = 2 + .5·3 + .25·4 = 4.5, R_2 = 3 + .5·4 + .25·5 = 6.25,
# and at the end of the episode R_3 = 4 + .5·5 = 6.5, R_4 = 5.
FULL = [(0, 0, 2.75, 3, False, 0.125), (1, 1, 4.5, 4, False, 0.125)]
TERMINATED_TAIL = [(2, 2, 6.25, 5, True, 0.125), (3, 3, 6.5, 5, True, 0.25), (4, 4, 5.0, 5, True, 0.5)]
TRUNCATED_TAIL = [(2, 2, 6.25, 5, False, 0.125), (3, 3, 6.5, 5, False, 0.25), (4, 4, 5.0, 5, False, 0.5)]


def test_three_step_returns_across_a_termination():
    accumulator = NStepAccumulator(3, GAMMA)
    emitted_per_push = [as_rows(accumulator.push(obs(t), t, r, obs(t + 1), t == 4)) for t, r in enumerate(REWARDS)]
    assert emitted_per_push == [[], [], FULL[:1], FULL[1:], TERMINATED_TAIL]  # the terminal step flushes all three
    assert accumulator.end_episode() == [] and len(accumulator) == 0


def test_three_step_returns_across_a_truncation():
    accumulator = NStepAccumulator(3, GAMMA)
    emitted = play(accumulator, terminated_at_end=False)
    assert as_rows(emitted) == FULL + TRUNCATED_TAIL[:1]
    assert len(accumulator) == 2
    assert as_rows(accumulator.end_episode()) == TRUNCATED_TAIL[1:]  # partial returns, bootstrapping from s_5 with γ^2, γ^1
    assert len(accumulator) == 0


def test_an_unannounced_new_episode_ends_the_old_one_first():
    """Without end_episode(): the first push whose state is not the last next_state flushes the old episode."""
    accumulator = NStepAccumulator(3, GAMMA)
    emitted = play(accumulator, terminated_at_end=False)
    emitted += play(accumulator, terminated_at_end=True, episode=1)
    rows = as_rows(emitted)
    assert rows[:5] == FULL + TRUNCATED_TAIL
    assert [t.state[1] for t in emitted[5:]] == [1.0] * 5  # then the second episode's own transitions
    assert rows[5:] == FULL + TERMINATED_TAIL


@pytest.mark.parametrize("announced", [True, False])
def test_no_transition_mixes_two_episodes(announced):
    accumulator = NStepAccumulator(4, 0.9)
    emitted = []
    for episode, (length, terminated) in enumerate([(2, False), (3, True), (6, False), (1, False), (5, True)]):
        emitted += play(accumulator, terminated, episode, rewards=[10.0**episode] * length)
        if announced:
            emitted += accumulator.end_episode()
    emitted += accumulator.end_episode()
    assert len(emitted) == 2 + 3 + 6 + 1 + 5  # one transition per step, none lost
    for t in emitted:
        episode = int(t.state[1])
        assert t.next_state[1] == episode
        steps = round(np.log(t.discount) / np.log(0.9))
        assert t.reward == pytest.approx(10.0**episode * sum(0.9**k for k in range(steps)))  # only its own rewards
        assert steps == min(4, int(t.next_state[0]) - int(t.state[0]))


def test_an_episode_shorter_than_n():
    accumulator = NStepAccumulator(3, GAMMA)
    assert play(accumulator, terminated_at_end=False, rewards=[1.0, 2.0]) == []
    assert as_rows(accumulator.end_episode()) == [(0, 0, 2.0, 2, False, 0.25), (1, 1, 2.0, 2, False, 0.5)]
    assert as_rows(play(accumulator, terminated_at_end=True, rewards=[1.0, 2.0])) == [
        (0, 0, 2.0, 2, True, 0.25),
        (1, 1, 2.0, 2, True, 0.5),
    ]


def test_one_step_is_the_plain_transition():
    accumulator = NStepAccumulator(1, GAMMA)
    rows = as_rows(play(accumulator, terminated_at_end=True))
    assert rows == [(t, t, REWARDS[t], t + 1, t == 4, GAMMA) for t in range(5)]


def test_pushed_observations_are_copied():
    accumulator = NStepAccumulator(2, GAMMA)
    state, next_state = np.zeros(2, np.float32), np.ones(2, np.float32)
    accumulator.push(state, 0, 1.0, next_state, False)
    state += 7  # a caller reusing its arrays
    next_state += 7
    (transition,) = accumulator.push(np.ones(2, np.float32), 1, 1.0, np.full(2, 2.0, np.float32), False)
    assert transition.state.tolist() == [0.0, 0.0]


def test_state_dict_round_trip_mid_episode():
    accumulator = NStepAccumulator(3, GAMMA)
    for t in range(4):
        accumulator.push(obs(t), t, REWARDS[t], obs(t + 1), False)
    stream = io.BytesIO()
    torch.save(accumulator.state_dict(), stream)
    stream.seek(0)
    restored = NStepAccumulator(3, GAMMA)
    restored.load_state_dict(torch.load(stream, weights_only=True))
    assert as_rows(restored.push(obs(4), 4, REWARDS[4], obs(5), True)) == TERMINATED_TAIL
    empty = NStepAccumulator(3, GAMMA)
    empty.load_state_dict(NStepAccumulator(3, GAMMA).state_dict())
    assert len(empty) == 0


def test_transitions_go_into_a_prioritized_buffer_with_their_discounts():
    accumulator = NStepAccumulator(3, GAMMA)
    buffer = PrioritizedReplayBuffer(8, (2,), alpha=0.0)  # α = 0: uniform
    for transition in play(accumulator, terminated_at_end=False) + accumulator.end_episode():
        buffer.push(*transition)
    assert buffer.rewards[:5].tolist() == [2.75, 4.5, 6.25, 6.5, 5.0]
    assert buffer.discounts[:5].tolist() == [0.125, 0.125, 0.125, 0.25, 0.5]
    assert buffer.next_states[:5, 0].tolist() == [3, 4, 5, 5, 5]
    batch = buffer.sample(4)
    assert batch.discounts.tolist() == buffer.discounts[batch.indices].tolist()


def dict_obs(i, episode=0):
    """s_i as a Dict observation: an index part and a vector part."""
    return {"index": np.int64(i), "vector": obs(i, episode)}


def test_dict_observations_give_the_same_returns_and_survive_a_checkpoint():
    """A Dict observation's parts travel together: the same transitions as flat ones, a new episode detected, a round trip."""
    accumulator = NStepAccumulator(3, GAMMA)
    emitted = []
    for t in range(4):
        emitted += accumulator.push(dict_obs(t), t, REWARDS[t], dict_obs(t + 1), False)
    stream = io.BytesIO()
    torch.save(accumulator.state_dict(), stream)
    stream.seek(0)
    restored = NStepAccumulator(3, GAMMA)
    restored.load_state_dict(torch.load(stream, weights_only=True))
    emitted += restored.push(dict_obs(4), 4, REWARDS[4], dict_obs(5), True)
    rows = [(int(t.state["index"]), t.action, t.reward, int(t.next_state["index"]), t.terminated, t.discount) for t in emitted]
    assert rows == FULL + TERMINATED_TAIL
    assert all(isinstance(t.state, dict) and t.state["vector"].shape == (2,) for t in emitted)
    accumulator = NStepAccumulator(3, GAMMA)
    accumulator.push(dict_obs(0), 0, 1.0, dict_obs(1), False)
    unannounced = accumulator.push(dict_obs(0, episode=1), 0, 1.0, dict_obs(1, episode=1), False)
    assert [(int(t.state["index"]), t.next_state["vector"][1]) for t in unannounced] == [(0, 0.0)]
