"""Advantage Actor-Critic, synchronous (A2C; Mnih et al., 2016, "Asynchronous Methods for Deep Reinforcement Learning").

Pseudocode: pseudocodes/A2C.md. The synchronous, batched form of A3C, as SB3's A2C: ``n_envs``
envs stepped together (joyrl/vector_loop.py), rollouts of ``n_steps`` steps, advantages from
GAE (``gae_lambda`` 1 = the paper's n-step returns bootstrapped from V(s_T)), then ONE gradient
step on the whole rollout: the policy gradient -log pi(a|s) A, minus ``ent_coef`` times the
entropy (a bonus: it rewards entropy), plus ``vf_coef`` times the value regression, with the
gradient norm clipped; RMSprop (alpha 0.99) as in the paper. Everything else (networks, acting,
rollout, normalisers, checkpoints) is PPO's agent (algos/PPO/agent.py), which this subclasses.
"""

from __future__ import annotations

import torch

from algos.PPO.agent import Agent as PPOAgent


class Agent(PPOAgent):
    def build_optimizer(self) -> torch.optim.Optimizer:
        """RMSprop (alpha 0.99, eps ``rms_prop_eps``) as SB3's A2C, or Adam when ``use_rms_prop`` is false."""
        if self.cfg.use_rms_prop:
            return torch.optim.RMSprop(self.parameters, lr=self.cfg.lr, alpha=0.99, eps=self.cfg.rms_prop_eps)
        return torch.optim.Adam(self.parameters, lr=self.cfg.lr, eps=self.cfg.rms_prop_eps, fused=True)

    def init_update_rule(self) -> None:
        """Nothing beyond the learning rate: no clipping, no KL penalty."""

    def learn(self) -> dict[str, float]:
        """Steps 6-7: one gradient step on the actor-critic loss over every valid sample of the rollout."""
        cfg = self.cfg
        batch = self.rollout.batch(self.rollout.valid_indices())
        log_probs, entropy = self.log_prob_entropy(self.distribution(batch.observations), batch.actions)
        advantages = batch.advantages
        if cfg.normalize_advantage and advantages.numel() > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        policy_loss = -(log_probs * advantages).mean()
        value_loss = ((self.critic(batch.observations).squeeze(-1) - batch.returns) ** 2).mean()
        entropy = entropy.mean()
        self.step_optimizer(policy_loss - cfg.ent_coef * entropy + cfg.vf_coef * value_loss)
        stats = torch.stack([policy_loss, value_loss, entropy]).detach().tolist()
        return dict(zip(("policy_loss", "value_loss", "entropy"), stats, strict=True))
