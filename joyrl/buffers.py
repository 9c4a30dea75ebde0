"""Replay memory on preallocated NumPy arrays, sampled as named batches of tensors.

Dict observations keep each part in an array of its own, in its own dtype (uint8 images
stay bytes, an action mask stays bool), and come back as dicts of tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
import torch


class ReplayBatch(NamedTuple):
    """A sampled batch; shapes: states (B, *obs), actions (B, *act), the rest (B,).

    For Dict observations, states and next_states map each kept part to its (B, *part) tensor.
    """

    states: torch.Tensor | dict[str, torch.Tensor]
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor | dict[str, torch.Tensor]
    terminated: torch.Tensor  # 1.0 where the episode really ended: no bootstrap from next_states


class TransitionBatch(Protocol):
    """What agents read from a sampled batch: ``ReplayBatch``, or ``PrioritizedBatch`` with its extra fields."""

    @property
    def states(self) -> torch.Tensor | dict[str, torch.Tensor]: ...

    @property
    def actions(self) -> torch.Tensor: ...

    @property
    def rewards(self) -> torch.Tensor: ...

    @property
    def next_states(self) -> torch.Tensor | dict[str, torch.Tensor]: ...

    @property
    def terminated(self) -> torch.Tensor: ...


class DictArray:
    """The arrays of a Dict observation's parts with one array's indexing: ``a[i]`` is a dict of rows, ``a[i] = obs`` writes each part.

    Parts of ``obs`` not among ``shapes`` are not stored.
    """

    def __init__(self, capacity: int, shapes: dict[str, tuple[int, ...]], dtypes: dict[str, Any]) -> None:
        self.parts = {name: np.zeros((capacity, *shape), dtype=dtypes[name]) for name, shape in shapes.items()}

    def __getitem__(self, index: Any) -> dict[str, np.ndarray]:
        return {name: part[index] for name, part in self.parts.items()}

    def __setitem__(self, index: Any, observation: dict[str, Any]) -> None:
        for name, part in self.parts.items():
            part[index] = observation[name]


def same_observation(first: Any, second: Any) -> bool:
    """Whether two observations (arrays, or dicts of them) are equal; NaN equals NaN."""
    if isinstance(first, dict) or isinstance(second, dict):
        return (
            isinstance(first, dict)
            and isinstance(second, dict)
            and first.keys() == second.keys()
            and all(same_observation(first[name], second[name]) for name in first)
        )
    first, second = np.asarray(first), np.asarray(second)
    return np.array_equal(first, second, equal_nan=np.issubdtype(first.dtype, np.inexact))


def observation_array(capacity: int, obs_shape: Any, dtype: Any) -> np.ndarray | DictArray:
    """Room for ``capacity`` observations: one array, or a ``DictArray`` when ``obs_shape`` maps parts to shapes."""
    if isinstance(obs_shape, dict):
        dtypes = dtype if isinstance(dtype, dict) else dict.fromkeys(obs_shape, dtype)
        return DictArray(capacity, obs_shape, dtypes)
    return np.zeros((capacity, *obs_shape), dtype=dtype)


def _each(function: Callable[[Any], Any], value: Any) -> Any:
    """``function`` on an array, or on each part of a dict of them."""
    return {name: function(part) for name, part in value.items()} if isinstance(value, dict) else function(value)


class ReplayBuffer:
    """A ring of ``capacity`` transitions; the oldest is overwritten once full.

    ``terminated`` is stored, never ``truncated``: a transition cut by a time limit
    keeps ``terminated = 0`` so its target bootstraps from the next state. For Dict
    observations ``obs_shape`` and ``obs_dtype`` map the parts to keep to their shapes and
    dtypes (``joyrl.networks.dict_format``); a next state's action mask is kept that way.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...] | dict[str, tuple[int, ...]],
        action_shape: tuple[int, ...] = (),
        obs_dtype: Any = np.float32,
        action_dtype: npt.DTypeLike = np.int64,
        device: str | torch.device = "cpu",
    ) -> None:
        self.capacity = capacity
        self.device = torch.device(device)
        self.on_cpu = self.device.type == "cpu"  # batches are the arrays' own memory: no .to() call
        self.states = observation_array(capacity, obs_shape, obs_dtype)
        self.next_states = observation_array(capacity, obs_shape, obs_dtype)
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
        self.position = i + 1 if i + 1 < self.capacity else 0
        if self.size < self.capacity:
            self.size += 1

    def push_batch(self, states, actions, rewards, next_states, terminated) -> None:
        """Store N transitions at once (first axis), wrapping around the ring."""
        n = len(rewards)
        if n > self.capacity:  # only the newest `capacity` would survive anyway
            states, actions, rewards, next_states, terminated = (
                _each(lambda array: array[-self.capacity :], x) for x in (states, actions, rewards, next_states, terminated)
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

    def sample(self, batch_size: int) -> TransitionBatch:
        """``batch_size`` transitions drawn uniformly with replacement (global NumPy RNG): a ``ReplayBatch``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = np.random.randint(0, self.size, size=batch_size)
        return ReplayBatch(
            self._observations(self.states[idx]),
            self._tensor(self.actions[idx]),
            self._tensor(self.rewards[idx]),
            self._observations(self.next_states[idx]),
            self._tensor(self.terminated[idx]),
        )

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(array)
        return tensor if self.on_cpu else tensor.to(self.device, non_blocking=True)

    def _observations(self, array: np.ndarray | dict[str, np.ndarray]) -> torch.Tensor | dict[str, torch.Tensor]:
        """``_tensor`` of a batch of observations, or of each part of Dict ones."""
        return _each(self._tensor, array)

    def state_dict(self) -> dict:
        """Contents and write position as tensors (for checkpoints that keep the buffer)."""
        n = self.size
        fields = ("states", "actions", "rewards", "next_states", "terminated")
        saved = {name: _each(lambda array: torch.from_numpy(array.copy()), getattr(self, name)[:n]) for name in fields}
        return {"position": self.position, "size": n, **saved}

    def load_state_dict(self, state: dict) -> None:
        n = state["size"]
        for name in ("states", "actions", "rewards", "next_states", "terminated"):
            getattr(self, name)[:n] = _each(torch.Tensor.numpy, state[name])
        self.size, self.position = n, state["position"]
