"""Deep Q-Network (Mnih et al., 2015, "Human-level control through deep reinforcement learning").

Pseudocode: pseudocodes/DQN.md. Beyond the paper: the Huber loss, gradient-norm
clipping, several gradient steps every ``train_freq`` env steps (as in RL Zoo), a
learning rate annealed linearly (to 0 over the budget by default), and bootstrapping
through time-limit truncations (only ``terminated`` stops the target).
"""

from __future__ import annotations

import copy
import random

import numpy as np
import torch
import torch.nn.functional as F

from joyrl.buffers import ReplayBatch, ReplayBuffer
from joyrl.networks import ObservationTensor, build_mlp
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update


class Agent:
    supported_observation_spaces = ("Box",)
    supported_action_spaces = ("Discrete",)

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.n_actions = cfg.n_actions
        obs_shape, obs_dtype = self.observation_format()  # of the network's input and D's entries
        self.policy_net = build_mlp(cfg.value_layers, obs_shape, cfg.n_actions, input_dtype=obs_dtype)  # Q(s, a; θ)
        self.policy_net.to(self.device)
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)  # Q(s, a; θ⁻)
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=cfg.lr, fused=True)  # one kernel per step
        self.observation = ObservationTensor(obs_shape, self.device, obs_dtype)
        self.memory = ReplayBuffer(cfg.buffer_size, obs_shape, obs_dtype=obs_dtype, device=self.device)  # D
        self.epsilon = DecaySchedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay, cfg.epsilon_schedule)
        # α_t: constant, or annealed linearly to lr_end over lr_decay env steps (by default the whole budget)
        lr_end, lr_decay = (cfg.lr, 1) if cfg.lr_end is None else (cfg.lr_end, cfg.lr_decay or cfg.max_env_steps)
        self.learning_rate = DecaySchedule(cfg.lr, lr_end, lr_decay, "linear")
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken

    def sample_action(self, state: np.ndarray) -> int:
        """Epsilon-greedy behaviour policy (pseudocode step 4)."""
        self.sample_count += 1
        if random.random() < self.epsilon(self.sample_count):
            return random.randrange(self.n_actions)
        return self.predict_action(state)

    @torch.inference_mode()
    def predict_action(self, state: np.ndarray) -> int:
        """Greedy action argmax_a Q(s, a; θ)."""
        return int(self.policy_net(self.observation(state)).argmax())

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Store (s, a, r, s', terminated) in D (pseudocode step 6)."""
        self.memory.push(state, action, reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Every ``train_freq`` steps once D holds ``learning_starts`` transitions: ``gradient_steps`` steps (7-11).

        Counting D rather than env steps makes a run resumed without its replay memory refill it first.
        """
        if self.sample_count % self.cfg.train_freq != 0 or len(self.memory) < min(self.cfg.learning_starts, self.cfg.buffer_size):
            return None
        lr = self.learning_rate(self.sample_count)
        set_learning_rate(self.optimizer, lr)
        total_loss = 0.0
        for _ in range(self.cfg.gradient_steps):
            batch = self.memory.sample(self.cfg.batch_size)
            q_values = self.policy_net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # (B,)
            loss = F.smooth_l1_loss(q_values, self.compute_target(batch))
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
        """y = r + γ (1 - terminated) max_a' Q(s', a'; θ⁻)  (pseudocode step 9); shape (B,)."""
        next_q = self.target_net(batch.next_states).max(dim=1).values
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q

    def observation_format(self) -> tuple[tuple[int, ...], type]:
        """Shape and dtype of one observation in the Q-network's input and in D: flat float32 (``n_states``,)."""
        return (self.cfg.n_states,), np.float32

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
