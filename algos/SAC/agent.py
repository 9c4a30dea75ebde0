"""Soft Actor-Critic (Haarnoja et al., 2018, "Soft Actor-Critic Algorithms and Applications").

Pseudocode: pseudocodes/SAC.md. Maximum-entropy off-policy actor-critic: a stochastic actor
a = tanh(u), u ~ N(mu(s), sigma(s)), whose log-probability is corrected for the tanh; twin
critics whose minimum enters both the soft target and the actor's loss; Polyak-averaged target
critics (no target actor); and the entropy coefficient alpha learned so that the policy's entropy
stays near ``target_entropy`` (``ent_coef: auto``, the second paper's automatic tuning).

It reuses DDPG's agent (algos/DDPG/agent.py) for the replay memory, the random actions of the
first ``learning_starts`` steps, the update schedule, the action scaling and the checkpoints, and
replaces the actor (step 1), the exploration (the actor's own sampling instead of added noise), the
target (step 9), the critic loss's scale (step 10), the actor's loss with alpha's update (step 11)
and the target update (step 12). As in Stable-Baselines3, the same alpha (before its update) enters
the target and the actor's loss of a gradient step.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from algos.DDPG.agent import Agent as DDPGAgent
from joyrl.buffers import TransitionBatch
from joyrl.critics import frozen
from joyrl.policies import SquashedGaussianActor
from joyrl.schedules import set_learning_rate, soft_update


class Agent(DDPGAgent):
    n_critics = 2  # Q_1, Q_2
    checkpointed = ("actor", "critic", "critic_target", "actor_optimizer", "critic_optimizer")

    def build_actor(self, obs_shape: tuple[int, ...]) -> tuple[nn.Module, None]:
        """Step 1: the squashed Gaussian actor of ``actor_layers``; SAC keeps no target actor."""
        return SquashedGaussianActor(self.cfg.actor_layers, obs_shape, self.action_dim, self.obs_dtype).to(self.device), None

    def init_exploration(self) -> None:
        """alpha = exp(log alpha): learned from 1.0 with ``ent_coef: auto``, else fixed at ``ent_coef``."""
        cfg = self.cfg
        learned = cfg.ent_coef == "auto"
        self.log_ent_coef = torch.tensor([0.0 if learned else math.log(cfg.ent_coef)], device=self.device, requires_grad=learned)
        self.ent_coef_optimizer = torch.optim.Adam([self.log_ent_coef], lr=cfg.lr) if learned else None
        self.target_entropy = float(-self.action_dim if cfg.target_entropy == "auto" else cfg.target_entropy)

    @torch.inference_mode()
    def policy_action(self, state: np.ndarray, deterministic: bool) -> np.ndarray:
        """Step 4: a = tanh(u), u ~ N(mu(s), sigma(s)); ``deterministic``: tanh(mu(s)). (act,) in [-1, 1]."""
        return self.actor(self.observation(state), deterministic)[0][0].cpu().numpy()

    def end_episode(self) -> None:
        """SAC keeps no per-episode state."""

    def update(self) -> dict[str, float] | None:
        """DDPG's schedule (steps 7-12), with alpha's step size following the others'."""
        if self.ent_coef_optimizer is not None and self.cfg.lr_end is not None:
            set_learning_rate(self.ent_coef_optimizer, self.learning_rate(self.sample_count))
        return super().update()

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 9: y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s')), a' ~ pi(.|s'); (B,)."""
        next_actions, next_log_prob = self.actor(batch.next_states)  # (B, act), (B,)
        next_q = self.critic_target(batch.next_states, next_actions).min(dim=0).values  # (B,)
        soft_value = next_q - self.log_ent_coef.exp() * next_log_prob
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * soft_value

    def critic_loss(self, q_values: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Step 10: 1/2 sum_i mean_j (Q_i(s_j, a_j) - y_j)^2 (as SB3's SAC)."""
        return 0.5 * super().critic_loss(q_values, target)

    def update_actor(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 11: one Adam step on ``policy_loss``, then alpha's; returns the loss."""
        loss, log_prob = self.policy_loss(batch)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        self.update_ent_coef(log_prob.detach())
        return loss.detach()

    def policy_loss(self, batch: TransitionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Step 11: mean_j (alpha log pi(a_j|s_j) - min_i Q_i(s_j, a_j)), a_j ~ pi(.|s_j); and log pi(a_j|s_j) (B,)."""
        actions, log_prob = self.actor(batch.states)  # reparameterised: the gradient flows through a_j
        alpha = self.log_ent_coef.detach().exp()
        with frozen(self.critic):  # gradients reach the actor through a_j only
            q_values = self.critic(batch.states, actions).min(dim=0).values  # (B,)
        return (alpha * log_prob - q_values).mean(), log_prob

    def update_ent_coef(self, log_prob: torch.Tensor) -> None:
        """Step 11, ``ent_coef: auto``: one Adam step on -mean_j log alpha (log pi(a_j|s_j) + target entropy).

        Its gradient raises alpha while the policy's entropy -log pi is below ``target_entropy`` and lowers it above.
        """
        if self.ent_coef_optimizer is None:
            return
        loss = -(self.log_ent_coef * (log_prob + self.target_entropy)).mean()
        self.ent_coef_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.ent_coef_optimizer.step()

    def update_targets(self) -> None:
        """Step 12: theta'_i <- tau theta_i + (1 - tau) theta'_i for the twin critics."""
        soft_update(self.critic_target, self.critic, self.cfg.tau)

    def extra_stats(self) -> dict[str, float]:
        """alpha, logged with the losses."""
        return {"ent_coef": float(self.log_ent_coef.detach().exp())}

    weights = ("actor", "critic", "critic_target", "log_ent_coef")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        state = {**super().state_dict(), "log_ent_coef": self.log_ent_coef.detach().clone()}
        if self.ent_coef_optimizer is not None:
            state["ent_coef_optimizer"] = self.ent_coef_optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_ent_coef.copy_(state["log_ent_coef"])
        if self.ent_coef_optimizer is not None:
            self.ent_coef_optimizer.load_state_dict(state["ent_coef_optimizer"])
