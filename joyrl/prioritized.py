"""Prioritised replay (Schaul et al., 2016, "Prioritized Experience Replay", proportional variant) on a sum tree.

``SumTree`` keeps one non-negative priority per slot and answers, for a whole batch at
once, "which slot holds the prefix sum u": B queries descend the tree together, one
NumPy step per level, so sampling costs O(B log N) with no Python loop per sample.
``PrioritizedReplayBuffer`` is a ``ReplayBuffer`` whose ``sample`` draws transition i
with probability P(i) = p_i^α / Σ_k p_k^α and returns importance weights and the slots,
which ``update_priorities`` takes back with the new TD errors.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from joyrl.buffers import ReplayBuffer


class SumTree:
    """A complete binary tree over ``capacity`` leaves (rounded up to a power of two) whose nodes hold the sums below them.

    Stored in one float64 array: the root is node 1, node k has children 2k and 2k+1,
    leaf i is node ``capacity + i``. Parents are recomputed from their children (never
    updated by differences), so no rounding error accumulates. Leaves never written are 0
    and are never found.
    """

    def __init__(self, capacity: int) -> None:
        self.depth = max(int(capacity - 1).bit_length(), 0)  # levels below the root
        self.capacity = 1 << self.depth
        self.nodes = np.zeros(2 * self.capacity, dtype=np.float64)
        self.children = self.nodes.reshape(-1, 2)  # a view: children[k] = (nodes[2k], nodes[2k + 1])

    @property
    def total(self) -> float:
        """The sum of all priorities (the root)."""
        return float(self.nodes[1])

    def get(self, indices: np.ndarray) -> np.ndarray:
        """The priorities of the leaves ``indices``."""
        return self.nodes[self.capacity + np.asarray(indices, dtype=np.int64)]

    def update(self, indices: np.ndarray, priorities: np.ndarray | float) -> None:
        """Set leaves ``indices`` to ``priorities`` (non-negative); where an index repeats, its last value wins.

        The changed leaves' ancestors are recomputed level by level (one vectorised step per level).
        """
        indices = np.asarray(indices, dtype=np.int64).ravel()
        priorities = np.broadcast_to(np.asarray(priorities, dtype=np.float64), indices.shape)
        if indices.size == 0:
            return
        if indices.min() < 0 or indices.max() >= self.capacity:
            raise IndexError(f"leaf indices must be in [0, {self.capacity}), got {indices.min()}..{indices.max()}")
        if not (priorities >= 0).all():  # NaN fails this test too
            raise ValueError(f"priorities must be non-negative numbers, got {priorities[~(priorities >= 0)][:3]}")
        if indices.size == 1:  # one leaf (every push): a walk with Python ints is ten times faster
            node = self.capacity + int(indices[0])
            self.nodes[node] = priorities[0]
            for _ in range(self.depth):
                node //= 2
                self.nodes[node] = self.nodes[2 * node] + self.nodes[2 * node + 1]
            return
        # NumPy leaves the winner of a repeated index in a fancy assignment unspecified: keep each index's last position
        _, first_in_reversed = np.unique(indices[::-1], return_index=True)
        last = indices.size - 1 - first_in_reversed
        indices, priorities = indices[last], priorities[last]
        nodes = self.capacity + indices
        self.nodes[nodes] = priorities
        for _ in range(self.depth):  # a repeated parent gets the same sum each time
            nodes //= 2
            pairs = self.children[nodes]
            self.nodes[nodes] = pairs[:, 0] + pairs[:, 1]

    def find(self, prefix_sums: np.ndarray) -> np.ndarray:
        """For each u in ``prefix_sums``, the leaf i with Σ_{k<i} p_k <= u < Σ_{k<=i} p_k; shape as ``prefix_sums``.

        All queries descend together, one level per step. A u at or beyond ``total`` (rounding)
        ends in the last leaf with a positive priority; leaves of priority 0 are never returned
        while ``total > 0``.
        """
        values = np.array(prefix_sums, dtype=np.float64)
        nodes = np.ones(values.shape, dtype=np.int64)
        for _ in range(self.depth):
            left, right = self.children[nodes].T
            go_right = (values >= left) & (right > 0)
            values -= left * go_right
            nodes = 2 * nodes + go_right
        return nodes - self.capacity


class PrioritizedBatch(NamedTuple):
    """A prioritised sample: ``ReplayBatch``'s fields, then ``discounts``, ``weights`` and ``indices``; shapes as there, the rest (B,).

    ``discounts`` is each transition's bootstrap factor as pushed (γ^k for an n-step
    transition from joyrl.nstep); agents with one fixed γ ignore it. ``indices`` (a NumPy
    int64 array) are the buffer slots, to hand back to ``update_priorities``.
    """

    states: torch.Tensor | dict[str, torch.Tensor]
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor | dict[str, torch.Tensor]
    terminated: torch.Tensor
    discounts: torch.Tensor
    weights: torch.Tensor  # importance-sampling weights w_i, at most 1
    indices: np.ndarray


class PrioritizedReplayBuffer(ReplayBuffer):
    """A replay ring sampled in proportion to p_i^α, with importance weights (Schaul et al., 2016, Algorithm 1).

    - The tree holds p_i^α. A new transition gets the largest p^α set so far (1 at first),
      so it is sampled at least once before its TD error is known.
    - ``sample`` is stratified: the total is cut into B equal segments and one u is drawn
      uniformly in each (global NumPy RNG, so seeded runs repeat).
    - Weights w_i = (N P(i))^-β are divided by the largest weight *in the batch* (as
      Dopamine does), not by the bound from the smallest priority in the buffer (as OpenAI
      baselines does): no min-tree is needed, and the largest weight of every batch is 1.
    - ``update_priorities`` sets p_i = |δ_i| + ε, stored as p_i^α.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...] | dict[str, tuple[int, ...]],
        action_shape: tuple[int, ...] = (),
        obs_dtype: Any = np.float32,
        action_dtype: npt.DTypeLike = np.int64,
        device: str | torch.device = "cpu",
        alpha: float = 0.6,
        eps: float = 1e-6,
    ) -> None:
        super().__init__(capacity, obs_shape, action_shape, obs_dtype, action_dtype, device)
        self.alpha, self.eps = alpha, eps
        self.discounts = np.ones(capacity, dtype=np.float32)
        self.tree = SumTree(capacity)
        self.max_priority = 1.0  # the largest p^α set so far, given to new transitions

    def push(self, state, action, reward: float, next_state, terminated: bool, discount: float = 1.0) -> None:
        """Store one transition at the largest priority so far; ``discount`` is its bootstrap factor (see PrioritizedBatch)."""
        slot = self.position
        super().push(state, action, reward, next_state, terminated)
        self.discounts[slot] = discount
        self.tree.update(np.array([slot]), self.max_priority)

    def push_batch(self, states, actions, rewards, next_states, terminated, discounts=1.0) -> None:
        """Store N transitions at once (first axis) at the largest priority so far."""
        n = min(len(rewards), self.capacity)
        slots = (self.position + np.arange(n)) % self.capacity
        super().push_batch(states, actions, rewards, next_states, terminated)
        self.discounts[slots] = np.broadcast_to(np.asarray(discounts, dtype=np.float32), (len(rewards),))[-n:]
        self.tree.update(slots, self.max_priority)

    def sample(self, batch_size: int, beta: float = 0.4) -> PrioritizedBatch:
        """``batch_size`` transitions, stratified in proportion to p^α, with weights (N P(i))^-β / max_batch w."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        total = self.tree.total
        segment = total / batch_size
        prefix_sums = (np.arange(batch_size) + np.random.random(batch_size)) * segment  # one u per segment
        idx = self.tree.find(prefix_sums)
        probabilities = self.tree.get(idx) / total  # P(i)
        weights = (self.size * probabilities) ** -beta
        weights /= weights.max()
        return PrioritizedBatch(
            self._observations(self.states[idx]),
            self._tensor(self.actions[idx]),
            self._tensor(self.rewards[idx]),
            self._observations(self.next_states[idx]),
            self._tensor(self.terminated[idx]),
            self._tensor(self.discounts[idx]),
            self._tensor(weights.astype(np.float32)),
            idx,
        )

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray | torch.Tensor) -> None:
        """Set the priorities of slots ``indices`` to (|δ| + ε)^α; a slot repeated in the batch keeps its last δ."""
        if isinstance(td_errors, torch.Tensor):
            td_errors = td_errors.detach().to("cpu", torch.float64).numpy()
        priorities = (np.abs(np.asarray(td_errors, dtype=np.float64)) + self.eps) ** self.alpha
        self.tree.update(indices, priorities)
        self.max_priority = max(self.max_priority, float(priorities.max(initial=0.0)))

    def state_dict(self) -> dict:
        """``ReplayBuffer.state_dict`` plus the priorities p^α, the discounts and the largest priority so far."""
        n = self.size
        return super().state_dict() | {
            "discounts": torch.from_numpy(self.discounts[:n].copy()),
            "priorities": torch.from_numpy(self.tree.get(np.arange(n))),
            "max_priority": self.max_priority,
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        n = self.size
        self.discounts[:n] = state["discounts"].numpy()
        leaves = np.zeros(self.tree.capacity)
        leaves[:n] = state["priorities"].numpy()
        self.tree.update(np.arange(self.tree.capacity), leaves)
        self.max_priority = float(state["max_priority"])
