"""Soft Q-learning for discrete actions, "soft DQN" (Haarnoja, Tang, Abbeel and Levine, 2017,
"Reinforcement Learning with Deep Energy-Based Policies", in its discrete-action form).

Pseudocode: pseudocodes/SoftQ.md. DQN (algos/DQN/agent.py) in the maximum-entropy framework: the
policy is the Boltzmann distribution pi(a|s) = softmax(Q(s, .) / alpha)(a), and the target's hard
max over a' becomes the soft value V(s') = alpha log sum_a' exp(Q(s', a'; theta^-) / alpha), which
tends to max_a' Q(s', a'; theta^-) as the temperature alpha -> 0. No epsilon-greedy (its config has
no epsilon keys): the agent samples from pi, with alpha annealed linearly from ``alpha_start`` to
``alpha_end`` over ``alpha_decay`` env steps (the target uses the same alpha_t). Evaluation acts
greedily, argmax_a Q(s, a). The rest is DQN's: the Huber loss, gradient-norm clipping,
``gradient_steps`` gradient steps every ``train_freq`` env steps, an annealed learning rate,
bootstrapping through truncations, and action masks: pi and the soft value range over the legal
actions only.
"""

from __future__ import annotations

import torch

from algos.DQN.agent import Agent as DQNAgent
from joyrl.acting import sample_scores
from joyrl.buffers import TransitionBatch
from joyrl.networks import legal_only
from joyrl.schedules import DecaySchedule


class Agent(DQNAgent):
    def init_exploration(self) -> None:
        """The temperature alpha_t, from alpha_start to alpha_end linearly over alpha_decay env steps (step 4)."""
        cfg = self.cfg
        self.alpha = DecaySchedule(cfg.alpha_start, cfg.alpha_end, cfg.alpha_decay, "linear")

    def exploration_epsilon(self) -> None:
        """No ε-greedy: ``choose`` samples the Boltzmann policy (step 4)."""
        return None

    def choose(self, scores: torch.Tensor) -> int:
        """Boltzmann behaviour policy: a_t ~ softmax(Q(s_t, .; theta) / alpha_t) over the legal actions (step 4)."""
        return sample_scores(scores / self.alpha(self.sample_count))

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """y = r + gamma (1 - terminated) alpha log sum_a' exp(Q(s', a'; theta^-) / alpha), a' legal (step 9); (B,)."""
        next_q = legal_only(self.target_net(batch.next_states), batch.next_states)  # (B, A)
        next_value = soft_value(next_q, self.alpha(self.sample_count))
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_value

    def extra_stats(self) -> dict[str, float]:
        """What ``update`` logs besides the loss and the step size: alpha_t."""
        return {"alpha": self.alpha(self.sample_count)}


def soft_value(q_values: torch.Tensor, alpha: float) -> torch.Tensor:
    """V(s) = alpha log sum_a exp(Q(s, a) / alpha), the soft maximum of (B, A) Q-values: (B,); -inf entries count 0."""
    return alpha * torch.logsumexp(q_values / alpha, dim=1)
