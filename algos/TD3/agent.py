"""Twin Delayed DDPG (Fujimoto, van Hoof and Meger, 2018, "Addressing Function Approximation Error in Actor-Critic Methods").

Pseudocode: pseudocodes/TD3.md. DDPG (algos/DDPG/agent.py) with its three fixes for the critic's
overestimation: clipped double Q-learning (twin critics, the target takes their minimum), target
policy smoothing (clipped Gaussian noise on the target action), and delayed policy updates (the
actor and the target networks every ``policy_delay`` critic steps). Everything else is DDPG's.
"""

from __future__ import annotations

import torch

from algos.DDPG.agent import Agent as DDPGAgent
from joyrl.buffers import TransitionBatch


class Agent(DDPGAgent):
    n_critics = 2  # Q_1, Q_2

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 9: y = r + gamma (1 - terminated) min_i Q'_i(s', a~'), a~' the smoothed target action; shape (B,)."""
        next_q = self.critic_target(batch.next_states, self.smoothed_target_action(batch.next_states))  # (2, B)
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q.min(dim=0).values

    def smoothed_target_action(self, next_states: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """a~' = clip(mu'(s') + clip(eps, -c, c), -1, 1), eps ~ N(0, ``target_policy_noise``^2): (B, act)."""
        assert self.actor_target is not None  # built by DDPG's build_actor
        action = self.actor_target(next_states)
        noise = torch.randn_like(action) * self.cfg.target_policy_noise
        if self.cfg.target_noise_clip >= 0:
            noise = noise.clamp(-self.cfg.target_noise_clip, self.cfg.target_noise_clip)
        return (action + noise).clamp(-1.0, 1.0)

    def actor_update_due(self) -> bool:
        """Step 11 (and 12) only every ``policy_delay``-th critic step."""
        return self.update_count % self.cfg.policy_delay == 0
