"""DQN on images (Mnih et al., 2015, "Human-level control through deep reinforcement learning").

Pseudocode: pseudocodes/DQN_CNN.md. DQN (algos/DQN/agent.py) whose Q-network takes the observation
in the env's own shape, (C, H, W), through the ``conv2d`` layers of ``value_layers`` (by default the
paper's CNN), and whose replay memory keeps uint8 frames as bytes, a quarter of float32's size: the
network scales them to [0, 1] itself (``ScaleUint8`` in joyrl/networks.py). As in the paper, rewards
are clipped to [-1, 1] when stored (``clip_reward``). The loss, target and DQN's extras are unchanged.
Atari games get the paper's preprocessing from ``envs.atari:atari_wrappers``: (4, 84, 84) frames.
"""

from __future__ import annotations

import numpy as np

from algos.DQN.agent import Agent as DQNAgent


class Agent(DQNAgent):
    supported_observation_spaces = ("Box",)  # images, (C, H, W)
    image_observations = True  # needs (C, H, W) observations: the test suite picks an image env for it

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Store (s, a, r, s', terminated) in D with r clipped to [-1, 1] when ``clip_reward`` (pseudocode step 6)."""
        if self.cfg.clip_reward:
            reward = min(max(reward, -1.0), 1.0)
        super().store_transition(state, action, reward, next_state, terminated)

    def observation_format(self) -> tuple[tuple[int, ...], type]:
        """The env's shape, (C, H, W) for conv2d layers; uint8 observations stay uint8, others become float32."""
        return self.cfg.obs_shape, np.uint8 if self.cfg.obs_space.dtype == np.uint8 else np.float32
