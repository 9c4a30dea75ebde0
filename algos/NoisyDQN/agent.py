"""NoisyNet-DQN (Fortunato et al., 2018, "Noisy Networks for Exploration").

Pseudocode: pseudocodes/NoisyDQN.md. DQN (algos/DQN/agent.py) whose last ``noisy_layers`` linear
layers (by default the last hidden layer and the output layer, as the fully connected layers of the
paper's Atari network) are ``NoisyLinear`` layers with factorised Gaussian noise (joyrl/heads.py), and
no epsilon-greedy: the agent acts greedily under noise resampled every env step, and each gradient step
resamples the noise of the online and the target network. Evaluation (``predict_action``) uses the mean
weights, without noise. DQN's extras are kept: the Huber loss, gradient-norm clipping, ``gradient_steps``
gradient steps every ``train_freq`` env steps, an annealed learning rate, bootstrapping through
truncations. A class of its own rather than a subclass of DQN's agent, whose constructor reads the
epsilon keys this one lacks.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from joyrl.buffers import ReplayBatch, ReplayBuffer
from joyrl.heads import noisy_copy, reset_noise
from joyrl.networks import ObservationTensor, build_mlp
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update


class Agent:
    supported_observation_spaces = ("Box",)
    supported_action_spaces = ("Discrete",)

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.n_actions = cfg.n_actions
        # Q(s, a, ε; ζ), ζ = (µ, σ): DQN's MLP with its last noisy_layers linear layers noisy (pseudocode step 2)
        mlp = build_mlp(cfg.value_layers, cfg.n_states, cfg.n_actions)
        self.policy_net = noisy_copy(mlp, cfg.sigma0, cfg.noisy_layers).to(self.device)
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)  # Q(s, a, ε'; ζ⁻), its own noise
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=cfg.lr, fused=True)  # one kernel per step
        self.observation = ObservationTensor((cfg.n_states,), self.device)
        self.memory = ReplayBuffer(cfg.buffer_size, (cfg.n_states,), device=self.device)  # D
        # α_t: constant, or annealed linearly to lr_end over lr_decay env steps (by default the whole budget)
        lr_end, lr_decay = (cfg.lr, 1) if cfg.lr_end is None else (cfg.lr_end, cfg.lr_decay or cfg.max_env_steps)
        self.learning_rate = DecaySchedule(cfg.lr, lr_end, lr_decay, "linear")
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken

    @torch.inference_mode()
    def sample_action(self, state: np.ndarray) -> int:
        """Behaviour policy: argmax_a Q(s, a, ε; ζ) under noise ε drawn for this step (pseudocode step 4)."""
        self.sample_count += 1
        reset_noise(self.policy_net)
        return int(self.policy_net(self.observation(state)).argmax())

    @torch.inference_mode()
    def predict_action(self, state: np.ndarray) -> int:
        """Greedy action under the mean weights, argmax_a Q(s, a; µ): deterministic, for evaluation."""
        self.policy_net.eval()  # NoisyLinear uses µ alone in eval mode
        action = int(self.policy_net(self.observation(state)).argmax())
        self.policy_net.train()
        return action

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Store (s, a, r, s', terminated) in D (pseudocode step 6)."""
        self.memory.push(state, action, reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Every ``train_freq`` steps once D holds ``learning_starts`` transitions: ``gradient_steps`` steps (7-12).

        Counting D rather than env steps makes a run resumed without its replay memory refill it first.
        """
        if self.sample_count % self.cfg.train_freq != 0 or len(self.memory) < min(self.cfg.learning_starts, self.cfg.buffer_size):
            return None
        lr = self.learning_rate(self.sample_count)
        set_learning_rate(self.optimizer, lr)
        total_loss = 0.0
        for _ in range(self.cfg.gradient_steps):
            batch = self.memory.sample(self.cfg.batch_size)
            reset_noise(self.policy_net)  # ε for the online network (step 9)
            reset_noise(self.target_net)  # ε' for the target network, independent of ε (step 9)
            q_values = self.policy_net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # (B,)
            loss = F.smooth_l1_loss(q_values, self.compute_target(batch))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy_net.parameters(), self.cfg.max_grad_norm)
            self.optimizer.step()
            self.update_count += 1
            if self.update_count % self.cfg.target_update == 0:
                soft_update(self.target_net, self.policy_net, self.cfg.tau)  # ζ⁻ <- ζ, µ and σ (step 12)
            total_loss += loss.detach()
        return {"loss": float(total_loss) / self.cfg.gradient_steps, "lr": lr, "sigma": self.mean_sigma()}

    @torch.no_grad()
    def compute_target(self, batch: ReplayBatch) -> torch.Tensor:
        """y = r + γ (1 - terminated) max_a' Q(s', a', ε'; ζ⁻)  (pseudocode step 10); shape (B,)."""
        next_q = self.target_net(batch.next_states).max(dim=1).values
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q

    @torch.no_grad()
    def mean_sigma(self) -> float:
        """Mean |σ| of the output layer's weights: how much noise the agent still explores with."""
        return float(self.policy_net[-1].weight_sigma.abs().mean())

    def state_dict(self) -> dict:
        return {
            "policy_net": self.policy_net.state_dict(),
            "target_net": self.target_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sample_count": self.sample_count,
            "update_count": self.update_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy_net.load_state_dict(state["policy_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
        set_learning_rate(self.optimizer, self.learning_rate(self.sample_count))
