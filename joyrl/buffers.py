"""Replay memory on preallocated NumPy arrays, sampled as named batches of tensors."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class ReplayBatch(NamedTuple):
    """A sampled batch; shapes: states (B, *obs), actions (B, *act), the rest (B,)."""

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    terminated: torch.Tensor  # 1.0 where the episode really ended: no bootstrap from next_states


class ReplayBuffer:
    """A ring of ``capacity`` transitions; the oldest is overwritten once full.

    ``terminated`` is stored, never ``truncated``: a transition cut by a time limit
    keeps ``terminated = 0`` so its target bootstraps from the next state.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...] = (),
        obs_dtype: np.dtype = np.float32,
        action_dtype: np.dtype = np.int64,
        device: str | torch.device = "cpu",
    ) -> None:
        self.capacity = capacity
        self.device = torch.device(device)
        self.states = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.next_states = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.position = 0  # next slot to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def push(self, state, action, reward: float, next_state, terminated: bool) -> None:
        """Store one transition."""
        i = self.position
        self.states[i] = state
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_states[i] = next_state
        self.terminated[i] = terminated
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def push_batch(self, states, actions, rewards, next_states, terminated) -> None:
        """Store N transitions at once (first axis), wrapping around the ring."""
        n = len(rewards)
        if n > self.capacity:  # only the newest `capacity` would survive anyway
            states, actions, rewards, next_states, terminated = (
                x[-self.capacity :] for x in (states, actions, rewards, next_states, terminated)
            )
            n = self.capacity
        slots = (self.position + np.arange(n)) % self.capacity
        self.states[slots] = states
        self.actions[slots] = actions
        self.rewards[slots] = rewards
        self.next_states[slots] = next_states
        self.terminated[slots] = terminated
        self.position = int((self.position + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int) -> ReplayBatch:
        """``batch_size`` transitions drawn uniformly with replacement (global NumPy RNG)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = np.random.randint(0, self.size, size=batch_size)
        return ReplayBatch(
            self._tensor(self.states[idx]),
            self._tensor(self.actions[idx]),
            self._tensor(self.rewards[idx]),
            self._tensor(self.next_states[idx]),
            self._tensor(self.terminated[idx]),
        )

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device, non_blocking=True)

    def state_dict(self) -> dict:
        """Contents and write position as tensors (for checkpoints that keep the buffer)."""
        n = self.size
        return {
            "position": self.position,
            "size": n,
            "states": torch.from_numpy(self.states[:n].copy()),
            "actions": torch.from_numpy(self.actions[:n].copy()),
            "rewards": torch.from_numpy(self.rewards[:n].copy()),
            "next_states": torch.from_numpy(self.next_states[:n].copy()),
            "terminated": torch.from_numpy(self.terminated[:n].copy()),
        }

    def load_state_dict(self, state: dict) -> None:
        n = state["size"]
        for name in ("states", "actions", "rewards", "next_states", "terminated"):
            getattr(self, name)[:n] = state[name].numpy()
        self.size, self.position = n, state["position"]
