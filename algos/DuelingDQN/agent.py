"""Dueling DQN (Wang et al., 2016, "Dueling Network Architectures for Deep Reinforcement Learning").

Pseudocode: pseudocodes/DuelingDQN.md. DQN (algos/DQN/agent.py) with a dueling Q-network: the hidden
layers of ``value_layers`` are shared, then a value stream V(s) and an advantage stream A(s, a), each
with a hidden layer of ``stream_size``, combine as Q = V + A - mean_a A (``joyrl.heads.DuelingHead``).
Only the network changes: the target is DQN's (no Double-DQN target), and so is everything else.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from algos.DQN.agent import Agent as DQNAgent
from joyrl.heads import DuelingHead
from joyrl.networks import build_body


class Agent(DQNAgent):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        # Step 2 with a dueling network in place of DQN's MLP: Q(s, a; θ) = V(s) + A(s, a) - mean_a' A(s, a'), (B, A)
        obs_shape, obs_dtype = self.observation_format()  # DQN's: the network's input
        body, width = build_body(cfg.value_layers, obs_shape, input_dtype=obs_dtype)
        self.policy_net = nn.Sequential(body, DuelingHead(width, cfg.n_actions, cfg.stream_size)).to(self.device)
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)  # Q(s, a; θ⁻)
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=cfg.lr, fused=True)
