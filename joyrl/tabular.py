"""What the tabular agents share: the Q-table with its greedy and ε-greedy policies, and exploring starts.

The Q-table is a ``float64`` torch tensor, so checkpoints load with ``weights_only=True``;
the agents read and write it through a NumPy view of the same memory, since indexing one
entry of a NumPy array costs a tenth of what it costs in torch. Greedy ties go to the lowest
action index, so greedy actions are deterministic.

Exploring starts (tabular Monte Carlo): an env supports them when its unwrapped class says
``supports_start_state = True`` and ``reset(options={"start_state": s})`` then starts the
episode in state ``s``. The states it accepts come from the unwrapped env's ``valid_states()``
method or its ``nonterminal_states`` sequence; with neither, every state in ``0..n_states-1``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch
from gymnasium.envs.registration import load_env_creator

from joyrl.envs import registered_spec


class QTable:
    """Q(s, a) for ``n_states`` x ``n_actions`` pairs, all starting at ``q_init``."""

    def __init__(self, n_states: int, n_actions: int, q_init: float) -> None:
        self.n_actions = n_actions
        self.tensor = torch.full((n_states, n_actions), q_init, dtype=torch.float64)  # Q(s, a): (S, A), what checkpoints hold
        self.values = self.tensor.numpy()  # the same memory, for fast reads and writes

    def greedy(self, state: int) -> int:
        """argmax_a Q(s, a), the lowest index among ties."""
        return int(self.values[state].argmax())

    def epsilon_greedy(self, state: int, epsilon: float) -> int:
        """With probability ε a uniformly random action, otherwise the greedy one."""
        if random.random() < epsilon:
            return random.randrange(self.n_actions)
        return self.greedy(state)

    def max(self, state: int) -> float:
        """max_a Q(s, a)."""
        return max(self.values[state].tolist())  # a Python max over a short row is 3x faster than NumPy's

    def expectation(self, state: int, epsilon: float) -> float:
        """Σ_a π(a|s) Q(s, a) under the ε-greedy π: (1 - ε) max_a Q(s, a) + ε mean_a Q(s, a).

        π gives ε/|A| to every action and 1 - ε more to the greedy one; which of several tied
        greedy actions gets it does not change the sum.
        """
        row = self.values[state].tolist()
        return (1.0 - epsilon) * max(row) + epsilon * sum(row) / len(row)

    def load(self, tensor: torch.Tensor) -> None:
        """Copy a checkpoint's table in place (the NumPy view stays valid)."""
        if tensor.shape != self.tensor.shape:
            raise ValueError(f"Q-table shape {tuple(tensor.shape)} does not match this env's {tuple(self.tensor.shape)}")
        self.tensor.copy_(tensor)


def supports_start_state(env_id: str) -> bool:
    """Whether the env registered as ``env_id`` declares ``supports_start_state = True`` on its class."""
    spec = registered_spec(env_id)  # a ``module:EnvId`` id included
    if spec is None:
        return False
    entry_point = spec.entry_point
    assert entry_point is not None  # every env gym.make can build has one
    creator = entry_point if callable(entry_point) else load_env_creator(entry_point)
    return getattr(creator, "supports_start_state", False) is True


def start_states(env: gym.Env, n_states: int) -> Sequence[int]:
    """The states ``env`` can start an episode in: ``valid_states()``, ``nonterminal_states``, or all of them."""
    unwrapped = env.unwrapped
    valid_states = getattr(unwrapped, "valid_states", None)
    if callable(valid_states):
        return [int(state) for state in np.asarray(valid_states()).ravel()]
    nonterminal_states = getattr(unwrapped, "nonterminal_states", None)
    if nonterminal_states is not None:
        return [int(state) for state in nonterminal_states]
    return range(n_states)
