"""C51, categorical DQN (Bellemare, Dabney and Munos, 2017, "A Distributional Perspective on Reinforcement Learning").

Pseudocode: pseudocodes/C51.md. DQN (algos/DQN/agent.py) learning the distribution of the return
instead of its mean: the network gives, for each action, probabilities p_i(s, a) over ``n_atoms``
fixed returns z_i evenly spaced on [``v_min``, ``v_max``]; the target distribution of r + γZ(s', a*)
is projected onto those atoms (``joyrl.heads.categorical_projection``) and learnt by cross-entropy.
Actions are greedy (or epsilon-greedy, as DQN's) in Q(s, a) = Σ_i z_i p_i(s, a). DQN's extras are
kept, except that the loss is the paper's cross-entropy rather than the Huber loss.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from algos.DQN.agent import Agent as DQNAgent
from joyrl.buffers import ReplayBatch
from joyrl.heads import CategoricalHead, categorical_projection, expected_q
from joyrl.networks import build_body
from joyrl.schedules import set_learning_rate, soft_update


class Agent(DQNAgent):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        # The support z_i (N,), from the merged config (pseudocode step 2)
        self.support = torch.linspace(cfg.v_min, cfg.v_max, cfg.n_atoms, device=self.device)
        # Step 2 with a categorical network in place of DQN's MLP: atom logits (B, A, N), softmax over N gives p_i(s, a)
        obs_shape, obs_dtype = self.observation_format()  # DQN's: the network's input
        body, width = build_body(cfg.value_layers, obs_shape, input_dtype=obs_dtype)
        self.policy_net = nn.Sequential(body, CategoricalHead(width, cfg.n_actions, cfg.n_atoms)).to(self.device)
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)  # p_i(s, a; θ⁻)
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=cfg.lr, fused=True)

    @torch.inference_mode()
    def predict_action(self, state: np.ndarray) -> int:
        """Greedy action argmax_a Σ_i z_i p_i(s, a; θ)."""
        return int(expected_q(self.policy_net(self.observation(state)), self.support).argmax())

    def update(self) -> dict[str, float] | None:
        """Every ``train_freq`` steps once D holds ``learning_starts`` transitions: ``gradient_steps`` steps (7-11)."""
        if self.sample_count % self.cfg.train_freq != 0 or len(self.memory) < min(self.cfg.learning_starts, self.cfg.buffer_size):
            return None
        lr = self.learning_rate(self.sample_count)
        set_learning_rate(self.optimizer, lr)
        total_loss = 0.0
        for _ in range(self.cfg.gradient_steps):
            batch = self.memory.sample(self.cfg.batch_size)
            rows = torch.arange(len(batch.actions), device=self.device)
            log_probs = self.policy_net(batch.states)[rows, batch.actions].log_softmax(dim=1)  # log p_i(s, a; θ): (B, N)
            loss = -(self.compute_target(batch) * log_probs).sum(dim=1).mean()  # cross-entropy -Σ_i m_i log p_i (step 10)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy_net.parameters(), self.cfg.max_grad_norm)
            self.optimizer.step()
            self.update_count += 1
            if self.update_count % self.cfg.target_update == 0:
                soft_update(self.target_net, self.policy_net, self.cfg.tau)  # θ⁻ <- θ (step 11)
            total_loss += loss.detach()
        return {"loss": float(total_loss) / self.cfg.gradient_steps, "epsilon": self.epsilon(self.sample_count), "lr": lr}

    @torch.no_grad()
    def compute_target(self, batch: ReplayBatch) -> torch.Tensor:
        """The target distribution m: r + γ (1 - terminated) z projected onto the support (step 9); shape (B, N)."""
        next_probs = self.target_net(batch.next_states).softmax(dim=2)  # p_j(s', a; θ⁻): (B, A, N)
        next_actions = (next_probs * self.support).sum(dim=2).argmax(dim=1)  # a* = argmax_a Q(s', a; θ⁻): (B,)
        rows = torch.arange(len(next_actions), device=self.device)
        return categorical_projection(
            next_probs[rows, next_actions], batch.rewards, batch.terminated, self.cfg.gamma, self.support
        )
