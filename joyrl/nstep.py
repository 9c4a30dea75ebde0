"""n-step returns: one-step transitions in, n-step transitions out, for any replay buffer.

``NStepAccumulator`` sits between the agent's ``store_transition`` and its replay
buffer. For each step t it emits

    (s_t, a_t, R_t = Σ_{k<m} γ^k r_{t+k}, s_{t+m}, terminated, γ^m)

with m = n, or fewer steps at the end of an episode; the target is then
R_t + γ^m (1 - terminated) max_a Q(s_{t+m}, a). Episode ends:

- termination (``terminated`` pushed): every pending step is emitted with its return cut
  at the terminal step and ``terminated = True`` (no bootstrap);
- truncation, or an episode dropped part-way: ``end_episode()`` emits every pending step
  with ``terminated = False``, bootstrapping from the last observation with γ^m.
  ``StepTrainer`` (joyrl/loops.py) calls the agent's optional ``end_episode()`` at every
  episode end, so an agent forwards it here. As a fallback for loops that do not, a push
  whose ``state`` differs from the previous push's ``next_state`` starts a new episode:
  the old one is ended first, so no return ever mixes two episodes (unless an episode
  starts exactly at the observation the last one ended at: call ``end_episode()``).
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

import numpy as np
import torch

from joyrl.buffers import same_observation
from joyrl.trajectories import stacked


class NStepTransition(NamedTuple):
    """One emitted transition, in the order of ``PrioritizedReplayBuffer.push``'s arguments."""

    state: np.ndarray  # s_t
    action: Any  # a_t
    reward: float  # R_t = Σ_{k<m} γ^k r_{t+k}
    next_state: np.ndarray  # s_{t+m}, the bootstrap state
    terminated: bool  # True when the episode terminated within the m steps: no bootstrap
    discount: float  # γ^m, the factor on the bootstrap term


class NStepAccumulator:
    """Holds the last (at most n) steps of the current episode and emits n-step transitions.

    ``push`` and ``end_episode`` return the transitions that became complete (a list,
    oldest first, often empty); the caller stores them. Observations are copied, so the
    caller may reuse its arrays.
    """

    def __init__(self, n: int, gamma: float) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n, self.gamma = n, gamma
        self.pending: deque[tuple[np.ndarray, Any, float]] = deque()  # (s, a, r) of the steps not yet emitted
        self.last_next_state: Any = None  # s_{t+1} of the newest pending step (an array, or a dict of them)

    def __len__(self) -> int:
        return len(self.pending)

    def push(self, state, action, reward: float, next_state, terminated: bool) -> list[NStepTransition]:
        """Add one step; returns the transitions it completes (those of an earlier episode first, if one is detected)."""
        state, next_state = _copy(state), _copy(next_state)
        emitted = []
        last = self.last_next_state
        if self.pending and last is not None and not same_observation(state, last):  # a new episode, not announced
            emitted = self.end_episode()
        self.pending.append((state, action, float(reward)))
        self.last_next_state = next_state
        if terminated:
            while self.pending:
                emitted.append(self._emit_oldest(terminated=True))
            self.last_next_state = None
        elif len(self.pending) == self.n:
            emitted.append(self._emit_oldest(terminated=False))
        return emitted

    def end_episode(self) -> list[NStepTransition]:
        """The episode ended without termination (truncated or dropped): emit every pending step, bootstrapping."""
        emitted = []
        while self.pending:
            emitted.append(self._emit_oldest(terminated=False))
        self.last_next_state = None
        return emitted

    def _emit_oldest(self, terminated: bool) -> NStepTransition:
        """The transition of the oldest pending step, whose return runs to the newest one; removes it."""
        rewards = np.array([reward for _, _, reward in self.pending])
        discounts = self.gamma ** np.arange(len(rewards))
        state, action, _ = self.pending.popleft()
        ret = float(rewards @ discounts)
        assert self.last_next_state is not None  # set by push whenever a step is pending
        return NStepTransition(state, action, ret, self.last_next_state, terminated, self.gamma ** len(rewards))

    def state_dict(self) -> dict:
        """The pending steps as tensors and plain types, so a checkpoint taken mid-episode loses none."""
        if not self.pending:
            return {"n_pending": 0}
        states, actions, rewards = zip(*self.pending, strict=True)
        assert self.last_next_state is not None  # set by push whenever a step is pending
        return {
            "n_pending": len(self.pending),
            "states": _as_tensors(stacked(list(states))),
            "actions": torch.from_numpy(np.stack([np.asarray(a) for a in actions])),
            "rewards": torch.tensor(rewards, dtype=torch.float64),
            "last_next_state": _as_tensors(self.last_next_state),
        }

    def load_state_dict(self, state: dict) -> None:
        self.pending.clear()
        self.last_next_state = None
        if state["n_pending"] == 0:
            return
        actions = state["actions"].numpy()
        for s, a, r in zip(_unstacked(state["states"]), actions, state["rewards"].tolist(), strict=True):
            self.pending.append((s, a.item() if a.ndim == 0 else a, r))
        last = state["last_next_state"]
        self.last_next_state = {name: part.numpy() for name, part in last.items()} if isinstance(last, dict) else last.numpy()


def _copy(observation: Any) -> Any:
    """An observation's own copy: an array, or a dict of arrays (a Dict observation's parts)."""
    if isinstance(observation, dict):
        return {name: np.array(part) for name, part in observation.items()}
    return np.array(observation)


def _as_tensors(observation: Any) -> torch.Tensor | dict[str, torch.Tensor]:
    """One observation (an array, or a dict of them) as a tensor, or a dict of tensors, of its own copy."""
    if isinstance(observation, dict):
        return {name: torch.from_numpy(np.array(part)) for name, part in observation.items()}
    return torch.from_numpy(np.array(observation))


def _unstacked(stacked: torch.Tensor | dict[str, torch.Tensor]) -> list:
    """The inverse of ``stacked``: one array, or one dict of arrays, per observation."""
    if isinstance(stacked, dict):
        parts = {name: part.numpy() for name, part in stacked.items()}
        return [{name: part[i] for name, part in parts.items()} for i in range(len(next(iter(parts.values()))))]
    return list(stacked.numpy())
