"""DQN with prioritised experience replay (Schaul et al., 2016, "Prioritized Experience Replay", ICLR).

Pseudocode: pseudocodes/PER_DQN.md. DQN (algos/DQN/agent.py) with its uniform replay
memory replaced by the proportional prioritised one (joyrl/prioritized.py): minibatches
are drawn in proportion to p_i^α, the Huber loss is weighted by importance weights
w_i = (N P(i))^-β / max_batch w with β annealed linearly to ``beta_end``, and after every
gradient step the sampled transitions get the priority |δ_i| + ε. Everything else (the
exploration, the targets, the target network, the learning-rate annealing) is DQN's.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from algos.DQN.agent import Agent as DQNAgent
from joyrl.networks import Shape
from joyrl.prioritized import PrioritizedBatch, PrioritizedReplayBuffer
from joyrl.schedules import DecaySchedule


class Agent(DQNAgent):
    memory: PrioritizedReplayBuffer  # D, prioritised

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        # β_t: annealed linearly from beta_start to beta_end over beta_decay env steps (by default the whole budget)
        self.beta = DecaySchedule(cfg.beta_start, cfg.beta_end, cfg.beta_decay or cfg.max_env_steps, "linear")

    def build_memory(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> PrioritizedReplayBuffer:
        """Step 1: D, prioritised: a replay ring with a sum tree of the priorities p_i^α."""
        cfg = self.cfg
        return PrioritizedReplayBuffer(
            cfg.buffer_size, obs_shape, obs_dtype=obs_dtype, device=self.device, alpha=cfg.alpha, eps=cfg.priority_eps
        )

    def sample_batch(self) -> PrioritizedBatch:
        """Step 8: ``batch_size`` transitions drawn in proportion to p_j^α, with their importance weights w_j (B,)."""
        return self.memory.sample(self.cfg.batch_size, self.beta(self.sample_count))

    # narrower than DQN's hook on purpose: DQN's update passes it what sample_batch returns, a PrioritizedBatch
    def gradient_step(self, batch: PrioritizedBatch) -> torch.Tensor:  # type: ignore[override]
        """Steps 9-11: the importance-weighted Huber loss, one gradient step, then the new priorities."""
        q_values = self.policy_net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # (B,)
        targets = self.compute_target(batch)  # (B,), step 9
        loss = (batch.weights * F.smooth_l1_loss(q_values, targets, reduction="none")).mean()  # step 10
        self.step_optimizer(loss)
        self.memory.update_priorities(batch.indices, (targets - q_values).detach())  # p_j <- |δ_j| + ε (step 11)
        return loss.detach()

    def extra_stats(self) -> dict[str, float]:
        """DQN's ε_t, and β_t."""
        return super().extra_stats() | {"beta": self.beta(self.sample_count)}
