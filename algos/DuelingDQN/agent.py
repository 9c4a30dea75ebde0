"""Dueling DQN (Wang et al., 2016, "Dueling Network Architectures for Deep Reinforcement Learning").

Pseudocode: pseudocodes/DuelingDQN.md. DQN (algos/DQN/agent.py) with a dueling Q-network: the hidden
layers of ``value_layers`` are shared, then a value stream V(s) and an advantage stream A(s, a), each
with a hidden layer of ``stream_size``, combine as Q = V + A - mean_a A (``joyrl.heads.DuelingHead``).
Only the network changes (``build_network``): the target is DQN's (no Double-DQN target), and so is
everything else.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from algos.DQN.agent import Agent as DQNAgent
from joyrl.heads import DuelingHead
from joyrl.networks import Shape, build_body


class Agent(DQNAgent):
    def build_network(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> nn.Sequential:
        """Step 2, dueling: Q(s, a; θ) = V(s) + A(s, a) - mean_a' A(s, a') on the shared hidden layers; (B, A)."""
        body, width = build_body(self.cfg.value_layers, obs_shape, input_dtype=obs_dtype)
        return nn.Sequential(body, DuelingHead(width, self.n_actions, self.cfg.stream_size))
