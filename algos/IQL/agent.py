"""Implicit Q-Learning (Kostrikov, Nair and Levine, 2022, "Offline Reinforcement Learning with Implicit Q-Learning").

Pseudocode: pseudocodes/IQL.md. Offline RL that never evaluates an action outside the dataset:
V(s) is fitted by expectile regression to the target critics' Q(s, a) on the data's actions (an
upper expectile approximates the best value the data supports), the twin critics regress
r + gamma V(s') (no next action is chosen), and the policy is extracted by advantage-weighted
regression: the data's actions are imitated with weights exp(beta (Q(s, a) - V(s))), clipped at
``max_weight``.

As the authors' code (ikostrikov/implicit_q_learning): on each batch V is updated first, then the
actor (with the new V), then the critics (with the new V at s'), then the target critics; each has
its own Adam. The actor is a Gaussian with mean tanh(f(s)) and a state-independent log-std clipped
to [-5, 2], so the log-probability of a data action on the bounds needs no tanh correction; its step
size is cosine-decayed to 0 over ``max_updates`` (``actor_lr_schedule``). The greedy policy is the
mean. Actions live in [-1, 1] inside the agent (joyrl.acting.ScaledActions maps them to the env's
bounds); ``store_transition`` maps the data's env actions back.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch.distributions import Normal

from joyrl.acting import ScaledActions
from joyrl.buffers import ReplayBuffer, TransitionBatch
from joyrl.critics import Critics
from joyrl.networks import ObservationTensor, build_mlp, observation_format
from joyrl.policies import ActionScaler, GaussianPolicy
from joyrl.schedules import set_learning_rate, soft_update

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0  # the clip on the actor's log-std (the authors' code)


class TanhMeanGaussian(GaussianPolicy):
    """IQL's actor: N(tanh(f(s)), diag sigma^2), with log sigma one learned vector clipped to [-5, 2]."""

    def forward(self, observation: Any) -> Normal:
        mean = torch.tanh(self.mean(observation))  # (B, act), in [-1, 1]
        std = self.log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
        return Normal(mean, std.expand_as(mean), validate_args=False)


def expectile_loss(residual: torch.Tensor, expectile: float) -> torch.Tensor:
    """L2_tau(u) = |tau - 1(u < 0)| u^2, elementwise: u > 0 weighs tau, u < 0 weighs 1 - tau (step 6)."""
    weight = torch.where(residual > 0, expectile, 1.0 - expectile)
    return weight * residual.square()


def advantage_weights(advantages: torch.Tensor, beta: float, max_weight: float) -> torch.Tensor:
    """min(exp(beta A), max_weight), elementwise (step 7)."""
    return torch.exp(beta * advantages).clamp(max=max_weight)


class Agent(ScaledActions):
    supported_observation_spaces = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Box",)
    learns_offline = True
    needs_dataset = True  # train mode without general_cfg.dataset is refused by the framework
    memory: ReplayBuffer  # D, the dataset

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.action_dim = cfg.n_actions
        self.scaler = ActionScaler(cfg.action_low, cfg.action_high)  # [-1, 1] <-> [low, high]
        # Box: as the env shapes it (the networks flatten it); Discrete, MultiDiscrete: indices, one-hot in the networks
        obs_shape, obs_dtype = observation_format(cfg, "actor_layers", box_shape=True)
        # step 1: pi_phi, Q_theta1 and Q_theta2 with their targets, V_psi; one Adam each
        self.actor = TanhMeanGaussian(cfg.actor_layers, obs_shape, self.action_dim, input_dtype=obs_dtype).to(self.device)
        self.critic = Critics(cfg.critic_layers, obs_shape, self.action_dim, n_critics=2).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.value = build_mlp(cfg.value_layers, obs_shape, 1, "value_layers", obs_dtype).to(self.device)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, fused=True)
        self.value_optimizer = torch.optim.Adam(self.value.parameters(), lr=cfg.lr, fused=True)
        self.memory = ReplayBuffer(  # D (step 2), actions stored in [-1, 1]
            cfg.buffer_size, obs_shape, (self.action_dim,), obs_dtype, np.float32, self.device
        )
        self.observation = ObservationTensor(obs_shape, self.device, obs_dtype)
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # learning steps taken

    @torch.inference_mode()
    def unit_action(self, state: np.ndarray, explore: bool) -> np.ndarray:
        """Step 11: the mean tanh(f(s)) (greedy), or a draw from pi(.|s) clipped to [-1, 1] (exploring); (act,)."""
        policy = self.actor(self.observation(state))
        action = policy.sample() if explore else policy.mean
        return action[0].clamp(-1.0, 1.0).cpu().numpy()

    def store_transition(self, state, action: np.ndarray, reward: float, next_state, terminated: bool) -> None:
        """Step 2: (s, a, r, s', terminated) of the dataset into D, with a mapped to [-1, 1]."""
        self.memory.push(state, self.scaler.from_env(action), reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Steps 4-10: one learning step on a batch of D, once D holds ``batch_size`` transitions."""
        if len(self.memory) < self.cfg.batch_size:
            return None
        batch = self.memory.sample(self.cfg.batch_size)  # step 4
        with torch.no_grad():  # step 5: min_i Q_target_i(s, a) on the data's actions, (B,)
            target_q = self.critic_target(batch.states, batch.actions).min(dim=0).values
        value_loss = self.value_loss(batch.states, target_q)  # step 6
        self.step(self.value_optimizer, value_loss)
        actor_lr = self.actor_learning_rate()
        set_learning_rate(self.actor_optimizer, actor_lr)
        actor_loss = self.actor_loss(batch, target_q)  # step 7, with the new V
        self.step(self.actor_optimizer, actor_loss)
        critic_loss = self.critic_loss(batch)  # steps 8-9, with the new V at s'
        self.step(self.critic_optimizer, critic_loss)
        soft_update(self.critic_target, self.critic, self.cfg.tau)  # step 10
        self.update_count += 1
        losses = torch.stack([value_loss, actor_loss, critic_loss]).tolist()  # one conversion per call
        return {"value_loss": losses[0], "actor_loss": losses[1], "critic_loss": losses[2], "actor_lr": actor_lr}

    def value_loss(self, states: Any, target_q: torch.Tensor) -> torch.Tensor:
        """Step 6: mean_j L2_tau(Q(s_j, a_j) - V(s_j)), tau = ``expectile``."""
        values = self.value(states).squeeze(1)  # (B,)
        return expectile_loss(target_q - values, self.cfg.expectile).mean()

    def actor_loss(self, batch: TransitionBatch, target_q: torch.Tensor) -> torch.Tensor:
        """Step 7: -mean_j min(exp(beta (Q(s_j, a_j) - V(s_j))), max_weight) log pi(a_j|s_j)."""
        with torch.no_grad():
            advantages = target_q - self.value(batch.states).squeeze(1)  # (B,)
            weights = advantage_weights(advantages, self.cfg.beta, self.cfg.max_weight)
        log_prob = self.actor(batch.states).log_prob(batch.actions).sum(dim=-1)  # (B,)
        return -(weights * log_prob).mean()

    def critic_loss(self, batch: TransitionBatch) -> torch.Tensor:
        """Steps 8-9: y = r + gamma (1 - terminated) V(s'); sum_i mean_j (Q_i(s_j, a_j) - y_j)^2."""
        with torch.no_grad():
            next_values = self.value(batch.next_states).squeeze(1)  # (B,)
            target = batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_values
        q_values = self.critic(batch.states, batch.actions)  # (2, B)
        return (q_values - target).square().mean(dim=1).sum()

    @staticmethod
    def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One Adam step on ``loss``."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def actor_learning_rate(self) -> float:
        """The actor's step size at this update: ``lr``, or lr (1 + cos(pi t / T)) / 2 with T = ``max_updates``."""
        if self.cfg.actor_lr_schedule == "constant":
            return self.cfg.lr
        progress = min(self.update_count / self.cfg.max_updates, 1.0)
        return self.cfg.lr * 0.5 * (1.0 + math.cos(math.pi * progress))

    weights = ("actor", "critic", "critic_target", "value")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        """Networks, optimisers and counters: what a resumed run needs besides D."""
        names = (*self.weights, "actor_optimizer", "critic_optimizer", "value_optimizer")
        state = {name: getattr(self, name).state_dict() for name in names}
        return {**state, "sample_count": self.sample_count, "update_count": self.update_count}

    def load_state_dict(self, state: dict) -> None:
        for name in (*self.weights, "actor_optimizer", "critic_optimizer", "value_optimizer"):
            getattr(self, name).load_state_dict(state[name])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
