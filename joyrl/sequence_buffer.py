"""Replay memory of fixed-length sequences for recurrent agents (DRQN; R2D2's burn-in windows).

Steps are written one at a time into preallocated NumPy arrays, each remembering where
its episode starts; ``end_episode`` closes the episode being written. A sample is a
batch of windows of ``burn_in + seq_len`` consecutive steps of one episode: the window
whose training part starts at step t covers steps ``t - burn_in .. t + seq_len - 1``,
and every position outside t's episode (before its first step, after its last) is
padding, zeros with ``mask = 0``. So a window never mixes two episodes, the first steps
of an episode are trained on like any other, and the padding sits only at the front of
the burn-in (before the episode starts) or at the back (after it ends).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch

OPEN = np.iinfo(np.int64).max  # episode_end of the episode still being written
ARRAYS = (  # what a checkpoint keeps of the memory
    "observations", "previous_actions", "actions", "rewards", "next_observations", "terminated", "episode_start", "episode_end",
)  # fmt: skip


class SequenceBatch(NamedTuple):
    """B windows of T = burn_in + seq_len steps; observations (B, T, *obs), the rest (B, T)."""

    observations: torch.Tensor
    previous_actions: torch.Tensor  # a_{t-1} as pushed (R2D2's input holds it); an agent's own value at episode starts
    actions: torch.Tensor
    rewards: torch.Tensor
    next_observations: torch.Tensor  # the true next observation, the final one at an episode's end
    terminated: torch.Tensor  # 1.0 where the episode really ended: no bootstrap
    mask: torch.Tensor  # 1.0 on the window's steps of its episode, 0.0 on padding


class SequenceReplayBuffer:
    """A ring of ``capacity`` steps with their episode boundaries, sampled as windows inside one episode.

    Steps are numbered from 0 over the whole run; step n lives in slot ``n % capacity``.
    ``terminated`` is stored, never ``truncated``. Once the ring wraps, an episode whose
    first steps were overwritten keeps its newer steps and counts as starting at the
    oldest one kept (the burn-in warms the hidden state there as at any other start).
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        burn_in: int,
        seq_len: int,
        obs_dtype: npt.DTypeLike = np.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        self.capacity, self.burn_in, self.seq_len = capacity, burn_in, seq_len
        self.device = torch.device(device)
        self.observations = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.next_observations = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.previous_actions = np.zeros(capacity, dtype=np.int64)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.episode_start = np.zeros(capacity, dtype=np.int64)  # number of the episode's first step
        self.episode_end = np.zeros(capacity, dtype=np.int64)  # one past its last step; OPEN while it is written
        self.steps = 0  # steps ever written; the next one is number `steps`
        self.size = 0  # steps held, at most capacity
        self.current_start = 0  # number of the first step of the episode being written

    def __len__(self) -> int:
        return self.size

    def push(self, observation, action: int, reward: float, next_observation, terminated: bool, previous_action: int = 0) -> None:
        """Append one step to the episode being written; ``previous_action``: a_{t-1}, for agents whose input holds it."""
        i = self.steps % self.capacity
        self.observations[i] = observation
        self.previous_actions[i] = previous_action
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = terminated
        self.episode_start[i] = self.current_start
        self.episode_end[i] = OPEN
        self.steps += 1
        self.size = min(self.size + 1, self.capacity)

    def end_episode(self) -> None:
        """Close the episode being written (terminated, truncated or dropped); the next push starts another."""
        kept = np.arange(max(self.current_start, self.steps - self.size), self.steps)
        self.episode_end[kept % self.capacity] = self.steps
        self.current_start = self.steps

    def sample(self, batch_size: int) -> SequenceBatch:
        """``batch_size`` windows whose training part starts at a step drawn uniformly (global NumPy RNG)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        oldest = self.steps - self.size
        starts = oldest + np.random.randint(0, self.size, size=batch_size)  # t: each window's first training step
        first = np.maximum(self.episode_start[starts % self.capacity], oldest)  # (B,) its episode's first kept step
        end = np.minimum(self.episode_end[starts % self.capacity], self.steps)  # (B,) one past its last step
        numbers = starts[:, None] + np.arange(-self.burn_in, self.seq_len)  # (B, T) step numbers, some outside
        mask = (numbers >= first[:, None]) & (numbers < end[:, None])
        slots = np.where(mask, numbers, 0) % self.capacity
        padding = ~mask
        fields = []
        for name in SequenceBatch._fields[:-1]:  # each array of the memory, in the batch's order; the mask last
            window = getattr(self, name)[slots]
            window[padding] = 0
            fields.append(self._tensor(window))
        return SequenceBatch._make([*fields, self._tensor(mask.astype(np.float32))])

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device, non_blocking=True)

    def state_dict(self) -> dict:
        """Contents, boundaries and counters as tensors and ints (for checkpoints that keep the buffer)."""
        n = self.size
        return {
            "capacity": self.capacity,
            "steps": self.steps,
            "size": n,
            "current_start": self.current_start,
            **{name: torch.from_numpy(getattr(self, name)[:n].copy()) for name in ARRAYS},
        }

    def load_state_dict(self, state: dict) -> None:
        if state["capacity"] != self.capacity:
            raise ValueError(f"the saved replay memory holds {state['capacity']} steps, this one {self.capacity} (buffer_size)")
        n = state["size"]
        for name in ARRAYS:
            getattr(self, name)[:n] = state[name].numpy()
        self.steps, self.size, self.current_start = state["steps"], n, state["current_start"]
