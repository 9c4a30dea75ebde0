"""DQN with prioritised experience replay (Schaul et al., 2016, "Prioritized Experience Replay", ICLR).

Pseudocode: pseudocodes/PER_DQN.md. DQN (algos/DQN/agent.py) with its uniform replay
memory replaced by the proportional prioritised one (joyrl/prioritized.py): minibatches
are drawn in proportion to p_i^α, the Huber loss is weighted by importance weights
w_i = (N P(i))^-β / max_batch w with β annealed linearly to ``beta_end``, and after every
gradient step the sampled transitions get the priority |δ_i| + ε. Everything else (the
exploration, the targets, the target network, the learning-rate annealing) is DQN's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from algos.DQN.agent import Agent as DQNAgent
from joyrl.prioritized import PrioritizedReplayBuffer
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update


class Agent(DQNAgent):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.memory = PrioritizedReplayBuffer(  # D, in place of DQN's uniform memory (step 1)
            cfg.buffer_size, (cfg.n_states,), device=self.device, alpha=cfg.alpha, eps=cfg.priority_eps
        )
        # β_t: annealed linearly from beta_start to beta_end over beta_decay env steps (by default the whole budget)
        self.beta = DecaySchedule(cfg.beta_start, cfg.beta_end, cfg.beta_decay or cfg.max_env_steps, "linear")

    def update(self) -> dict[str, float] | None:
        """DQN's update (steps 7-12) with prioritised minibatches, a weighted loss and new priorities."""
        if self.sample_count % self.cfg.train_freq != 0 or len(self.memory) < min(self.cfg.learning_starts, self.cfg.buffer_size):
            return None
        lr, beta = self.learning_rate(self.sample_count), self.beta(self.sample_count)
        set_learning_rate(self.optimizer, lr)
        total_loss = 0.0
        for _ in range(self.cfg.gradient_steps):
            batch = self.memory.sample(self.cfg.batch_size, beta)  # step 8
            q_values = self.policy_net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # (B,)
            targets = self.compute_target(batch)  # (B,), step 9
            loss = (batch.weights * F.smooth_l1_loss(q_values, targets, reduction="none")).mean()  # step 10
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy_net.parameters(), self.cfg.max_grad_norm)
            self.optimizer.step()
            self.memory.update_priorities(batch.indices, (targets - q_values).detach())  # p_j <- |δ_j| + ε (step 11)
            self.update_count += 1
            if self.update_count % self.cfg.target_update == 0:
                soft_update(self.target_net, self.policy_net, self.cfg.tau)  # θ⁻ <- θ (step 12)
            total_loss += loss.detach()
        loss = float(total_loss) / self.cfg.gradient_steps
        return {"loss": loss, "epsilon": self.epsilon(self.sample_count), "lr": lr, "beta": beta}
