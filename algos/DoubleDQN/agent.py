"""Double DQN (van Hasselt, Guez and Silver, 2016, "Deep Reinforcement Learning with Double Q-learning").

Pseudocode: pseudocodes/DoubleDQN.md. DQN (algos/DQN/agent.py) with one change: the target's
next action is chosen by the online network and evaluated by the target network, which removes
most of Q-learning's overestimation. Everything else, extras included, is DQN's.
"""

from __future__ import annotations

import torch

from algos.DQN.agent import Agent as DQNAgent
from joyrl.buffers import TransitionBatch
from joyrl.networks import legal_only


class Agent(DQNAgent):
    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """y = r + γ (1 - terminated) Q(s', argmax_a' Q(s', a'; θ); θ⁻)  (pseudocode step 9); shape (B,)."""
        online_q = legal_only(self.policy_net(batch.next_states), batch.next_states)  # legal a' only, when masked
        next_actions = online_q.argmax(dim=1, keepdim=True)  # a* by the online net: (B, 1)
        next_q = self.target_net(batch.next_states).gather(1, next_actions).squeeze(1)  # evaluated by θ⁻: (B,)
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q
