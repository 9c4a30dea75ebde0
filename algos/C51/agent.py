"""C51, categorical DQN (Bellemare, Dabney and Munos, 2017, "A Distributional Perspective on Reinforcement Learning").

Pseudocode: pseudocodes/C51.md. DQN (algos/DQN/agent.py) learning the distribution of the return
instead of its mean: the network gives, for each action, probabilities p_i(s, a) over ``n_atoms``
fixed returns z_i evenly spaced on [``v_min``, ``v_max``]; the target distribution of r + γZ(s', a*)
is projected onto those atoms (``joyrl.heads.categorical_projection``) and learnt by cross-entropy.
Actions are greedy (or epsilon-greedy, as DQN's) in Q(s, a) = Σ_i z_i p_i(s, a). DQN's extras are
kept, except that the loss is the paper's cross-entropy rather than the Huber loss.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from algos.DQN.agent import Agent as DQNAgent
from joyrl.buffers import TransitionBatch
from joyrl.heads import CategoricalHead, categorical_projection, expected_q
from joyrl.networks import ObservationTensor, Shape, build_body, legal_only


class Agent(DQNAgent):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        # The support z_i (N,), from the merged config (pseudocode step 2)
        self.support = torch.linspace(cfg.v_min, cfg.v_max, cfg.n_atoms, device=self.device)

    def build_network(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> nn.Sequential:
        """Step 2, categorical: atom logits (B, A, N); the softmax over N gives p_i(s, a; θ)."""
        body, width = build_body(self.cfg.value_layers, obs_shape, input_dtype=obs_dtype)
        return nn.Sequential(body, CategoricalHead(width, self.n_actions, self.cfg.n_atoms))

    def action_scores(self, observation: ObservationTensor, explore: bool) -> torch.Tensor:
        """Q(s, a) = Σ_i z_i p_i(s, a; θ) for every action: (1, A); the framework masks and takes the argmax."""
        return expected_q(self.policy_net(observation), self.support)

    def gradient_step(self, batch: TransitionBatch) -> torch.Tensor:
        """Steps 9-10: one gradient step on the cross-entropy between m and p(s_j, a_j; θ); returns the loss, detached."""
        rows = torch.arange(len(batch.actions), device=self.device)
        log_probs = self.policy_net(batch.states)[rows, batch.actions].log_softmax(dim=1)  # log p_i(s, a; θ): (B, N)
        loss = -(self.compute_target(batch) * log_probs).sum(dim=1).mean()  # cross-entropy -Σ_i m_i log p_i (step 10)
        self.step_optimizer(loss)
        return loss.detach()

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """The target distribution m: r + γ (1 - terminated) z projected onto the support (step 9); shape (B, N)."""
        next_probs = self.target_net(batch.next_states).softmax(dim=2)  # p_j(s', a; θ⁻): (B, A, N)
        next_q = legal_only((next_probs * self.support).sum(dim=2), batch.next_states)  # Q(s', a; θ⁻), legal a: (B, A)
        next_actions = next_q.argmax(dim=1)  # a* = argmax_a Q(s', a; θ⁻): (B,)
        rows = torch.arange(len(next_actions), device=self.device)
        return categorical_projection(
            next_probs[rows, next_actions], batch.rewards, batch.terminated, self.cfg.gamma, self.support
        )
