"""Behaviour cloning: supervised learning of the dataset's actions from its states.

Pseudocode: pseudocodes/BC.md. Pomerleau (1991, "Efficient Training of Artificial Neural Networks
for Autonomous Navigation") in its modern form (d3rlpy's BC and DiscreteBC): a policy network
fitted to the (state, action) pairs of a dataset by minibatch gradient descent, with no reward
and no environment step. One agent serves both action spaces, chosen in ``__init__`` as PPO does:

- Discrete actions: logits (B, A) and the cross-entropy of the dataset's action under
  ``categorical`` (an ``action_mask`` observation part gives illegal actions probability 0); the
  greedy action is the best legal logit, the behaviour policy samples the categorical.
- Box actions, kept in [-1, 1] inside the agent (``ActionScaler``): ``loss: mse``, the squared
  error between a deterministic tanh actor and the dataset action; ``loss: gaussian``, the negative
  log-likelihood of a state-dependent Gaussian N(mu(s), sigma(s)) (the heads of
  ``SquashedGaussianActor``, here unsquashed: dataset actions on the bounds would put tanh^-1 at
  infinity); the greedy action is the mean, the behaviour policy samples the Gaussian (clipped).

Offline only (``learns_offline``): the framework fills the memory from ``general_cfg.dataset``
(joyrl/datasets.py ``fill_memory``) and calls ``update`` ``max_updates`` times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn
from torch.distributions import Normal

from joyrl.buffers import ReplayBuffer, TransitionBatch
from joyrl.contracts import BaseAgent
from joyrl.networks import ObservationTensor, Shape, build_mlp, legal_only, observation_format
from joyrl.policies import LOG_STD_MAX, LOG_STD_MIN, ActionScaler, DeterministicActor, SquashedGaussianActor, categorical


class Agent(BaseAgent):
    supported_observation_spaces = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete", "Box")
    masks_actions = True  # the categorical policy gives illegal actions probability 0 (joyrl.policies.categorical)
    learns_offline = True
    needs_dataset = True  # train mode without general_cfg.dataset is refused by the framework
    memory: ReplayBuffer  # D, the dataset's transitions
    obs_shape: Shape | dict[str, Shape]  # of one observation, or of each kept part of a Dict one
    obs_dtype: Any  # its NumPy dtype, or one per part

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.continuous = isinstance(cfg.action_space, spaces.Box)
        self.gaussian = self.continuous and cfg.loss == "gaussian"
        # a Dict observation's parts (its action mask among them); Discrete ones as indices, one-hot in the networks
        self.obs_shape, self.obs_dtype = observation_format(cfg, "actor_layers", keep_mask=True, box_shape=True)
        self.scaler = ActionScaler(cfg.action_low, cfg.action_high) if self.continuous else None  # [-1, 1] <-> [low, high]
        self.policy = self.build_policy().to(self.device)  # pi_theta (step 1)
        self.optimizer = torch.optim.AdamW(self.policy.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
        action_shape, action_dtype = ((cfg.n_actions,), np.float32) if self.continuous else ((), np.int64)
        self.memory = ReplayBuffer(cfg.buffer_size, self.obs_shape, action_shape, self.obs_dtype, action_dtype, self.device)
        self.observation = ObservationTensor(self.obs_shape, self.device, self.obs_dtype)
        self.update_count = 0  # gradient steps taken

    def build_policy(self) -> nn.Module:
        """Step 1: logits (B, A), a tanh actor in [-1, 1] (``mse``) or a mean and log-std head (``gaussian``)."""
        cfg = self.cfg
        if not self.continuous:
            return build_mlp(cfg.actor_layers, self.obs_shape, cfg.n_actions, "actor_layers", self.obs_dtype)
        if self.gaussian:
            return SquashedGaussianActor(cfg.actor_layers, self.obs_shape, cfg.n_actions, self.obs_dtype)
        return DeterministicActor(cfg.actor_layers, self.obs_shape, cfg.n_actions, self.obs_dtype)

    @torch.inference_mode()
    def sample_action(self, state: Any) -> int | np.ndarray:
        """The behaviour policy: a ~ pi(.|s) (a legal action, or the Gaussian's sample); the actor's action for ``mse``."""
        observation = self.observation(state)
        if not self.continuous:
            return int(categorical(self.policy(observation), observation).sample())
        return self.env_action(self.gaussian_policy(observation).sample() if self.gaussian else self.policy(observation))

    @torch.inference_mode()
    def predict_action(self, state: Any) -> int | np.ndarray:
        """The greedy policy: the best legal logit, the Gaussian's mean, or the deterministic actor's action."""
        observation = self.observation(state)
        if not self.continuous:
            return int(legal_only(self.policy(observation), observation).argmax())
        return self.env_action(self.gaussian_policy(observation).mean if self.gaussian else self.policy(observation))

    def store_transition(self, state, action, reward: float, next_state, terminated: bool) -> None:
        """Step 2: a transition of the dataset into D; a Box action mapped from the env's bounds to [-1, 1]."""
        if self.scaler is not None:
            action = self.scaler.from_env(action)
        self.memory.push(state, action, reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Steps 4-5: one gradient step on a batch of ``batch_size`` transitions of D, once it holds as many."""
        if len(self.memory) < self.cfg.batch_size:
            return None
        batch = self.memory.sample(self.cfg.batch_size)  # step 4
        loss = self.imitation_loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()  # step 5
        self.update_count += 1
        return {"loss": loss.item()}

    def imitation_loss(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 4, the loss of the policy on the batch's (s_j, a_j):

        - Discrete: -mean_j log pi(a_j|s_j), the cross-entropy (over the legal actions);
        - ``mse``: mean_{j,k} (mu_k(s_j) - a_jk)^2, with a_j in [-1, 1];
        - ``gaussian``: -mean_j sum_k log N(a_jk; mu_k(s_j), sigma_k(s_j)^2).
        """
        if not self.continuous:
            return -categorical(self.policy(batch.states), batch.states).log_prob(batch.actions).mean()
        if self.gaussian:
            return -self.gaussian_policy(batch.states).log_prob(batch.actions).sum(dim=-1).mean()
        return F.mse_loss(self.policy(batch.states), batch.actions)

    def gaussian_policy(self, observation: Any) -> Normal:
        """N(mu(s), sigma(s)) from the actor's body and heads, unsquashed; log sigma clamped to [-20, 2] as SAC's."""
        assert isinstance(self.policy, SquashedGaussianActor)  # built for loss: gaussian
        features = self.policy.body(observation)
        log_std = self.policy.log_std(features).clamp(LOG_STD_MIN, LOG_STD_MAX)
        return Normal(self.policy.mean(features), log_std.exp(), validate_args=False)

    def env_action(self, unit_action: torch.Tensor) -> np.ndarray:
        """A (1, act) action in [-1, 1] (clipped there) in the env's bounds: (act,)."""
        assert self.scaler is not None  # made for Box actions
        return self.scaler.to_env(unit_action[0].cpu().numpy())

    weights = ("policy",)  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        """The policy, its optimiser and the update count; D is refilled from the dataset."""
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(), "update_count": self.update_count}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.update_count = state["update_count"]
