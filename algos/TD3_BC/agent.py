"""TD3+BC (Fujimoto and Gu, 2021, "A Minimalist Approach to Offline Reinforcement Learning").

Pseudocode: pseudocodes/TD3_BC.md. TD3 (algos/TD3/agent.py) learned from a fixed dataset, with two
changes: the actor's loss adds a behaviour-cloning term and scales Q so that both terms weigh alike,
``-lambda mean_j Q_1(s_j, pi(s_j)) + mean_j (pi(s_j) - a_j)^2`` with ``lambda = alpha / mean_j |Q_1(s_j,
pi(s_j))|`` (detached), and the states are standardised with the dataset's mean and std (+ 1e-3), taken
in ``fit_dataset``, kept in the checkpoint and applied to states and next states in every update and
to the observation when acting. The critics' update (target policy smoothing, clipped double Q) and
the delayed actor and target updates are TD3's.

Unlike TD3's online schedule, each ``update`` call is one critic step (no ``learning_starts``,
``train_freq`` or learning-rate annealing): the framework calls it ``max_updates`` times on the
memory it filled from ``general_cfg.dataset``. Actions live in [-1, 1] inside the agent (the paper's
D4RL tasks act in [-1, 1] already); ``sample_action``, for acting online, adds Gaussian noise of
``noise_std`` to the deterministic policy.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from algos.TD3.agent import Agent as TD3Agent
from joyrl.buffers import ReplayBatch, TransitionBatch
from joyrl.critics import frozen
from joyrl.datasets import Dataset
from joyrl.noise import GaussianNoise

OBS_STD_EPS = 1e-3  # added to the dataset's std, as the paper's code does


class Agent(TD3Agent):
    learns_offline = True
    needs_dataset = True  # train mode without general_cfg.dataset is refused by the framework

    def __init__(self, cfg) -> None:
        """DDPG's networks, optimisers and memory (D: raw states, actions in [-1, 1]), without its online schedule
        (learning_starts, an annealed lr)."""
        self.build_models(cfg)
        obs_shape = tuple(cfg.obs_space.shape)
        # standardise Box observations only: Discrete and MultiDiscrete indices (one-hot in the networks) and bits pass as they are
        self.standardize = cfg.normalize_obs and isinstance(cfg.obs_space, spaces.Box)
        self.noise = GaussianNoise(self.action_dim, cfg.noise_std)  # sample_action's exploration, online only
        self.obs_mean = torch.zeros(obs_shape, device=self.device)  # mu_s of step 2 (0 without normalize_obs)
        self.obs_std = torch.ones(obs_shape, device=self.device)  # sigma_s + 1e-3 of step 2 (1 without normalize_obs)
        self.actor_loss = torch.zeros(())  # the latest actor loss, logged on the steps that do not update the actor
        self.bc_lambda = torch.zeros(())  # the latest lambda
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken (critic updates)

    def fit_dataset(self, dataset: Dataset) -> None:
        """Step 2: the per-dimension mean and std (+ 1e-3) of the dataset's states, with ``normalize_obs`` (Box states)."""
        if not self.standardize:
            return
        states = np.asarray(dataset.observations, dtype=np.float64)  # (N, *obs)
        self.obs_mean = torch.as_tensor(states.mean(axis=0), dtype=torch.float32, device=self.device)
        self.obs_std = torch.as_tensor(states.std(axis=0) + OBS_STD_EPS, dtype=torch.float32, device=self.device)

    def unit_action(self, state: np.ndarray, explore: bool) -> np.ndarray:
        """pi((s - mu_s) / sigma_s) in [-1, 1]; when exploring (online), plus N(0, ``noise_std``^2), clipped."""
        return self.policy_action(state, deterministic=not explore)

    @torch.inference_mode()
    def policy_action(self, state: np.ndarray, deterministic: bool) -> np.ndarray:
        """The actor on the normalised state, plus the exploration noise unless ``deterministic``: (act,)."""
        action = self.actor(self.normalize(self.observation(state)))[0].cpu().numpy()
        return action if deterministic else np.clip(action + self.noise(), -1.0, 1.0)

    def update(self) -> dict[str, float] | None:
        """Steps 4-9: one critic step on a batch of D, normalised; the actor and the targets every ``policy_delay``."""
        if len(self.memory) < self.cfg.batch_size:
            return None
        batch = self.normalized(self.memory.sample(self.cfg.batch_size))  # step 4
        critic_loss = self.update_critic(batch)  # steps 5-6
        self.update_count += 1
        if self.actor_update_due():  # step 7
            self.actor_loss = self.update_actor(batch)  # step 8
            self.update_targets()  # step 9
        stats = torch.stack([critic_loss, self.actor_loss, self.bc_lambda]).tolist()  # one conversion per call
        return dict(zip(("critic_loss", "actor_loss", "lambda"), stats, strict=True))

    def normalized(self, batch: TransitionBatch) -> ReplayBatch:
        """The batch with its states and next states standardised (step 4)."""
        return ReplayBatch(
            self.normalize(batch.states), batch.actions, batch.rewards, self.normalize(batch.next_states), batch.terminated
        )

    def normalize(self, states: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """(s - mu_s) / sigma_s: (B, *obs); other observations than Box unchanged."""
        assert isinstance(states, torch.Tensor)  # no Dict observations
        return (states - self.obs_mean) / self.obs_std if self.standardize else states

    def update_actor(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 8: one Adam step on ``bc_actor_loss``; returns the loss, detached."""
        loss = self.bc_actor_loss(batch)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return loss.detach()

    def bc_actor_loss(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 8: -lambda mean_j Q_1(s_j, pi(s_j)) + mean_{j,k} (pi_k(s_j) - a_jk)^2, lambda = alpha / mean_j |Q_1| (no gradient)."""
        actions = self.actor(batch.states)  # pi(s_j): (B, act)
        with frozen(self.critic):  # the gradient reaches pi through its action, no critic weight gradient is computed
            q_values = self.critic(batch.states, actions, n=1)[0]  # (B,)
        self.bc_lambda = self.cfg.alpha / q_values.abs().mean().detach()
        return -self.bc_lambda * q_values.mean() + (actions - batch.actions).square().mean()

    weights = ("actor", "actor_target", "critic", "critic_target", "obs_mean", "obs_std")  # what a fine-tune takes

    def state_dict(self) -> dict:
        """TD3's (networks, optimisers, counters) plus the state statistics and the latest lambda."""
        return {**super().state_dict(), "obs_mean": self.obs_mean, "obs_std": self.obs_std, "bc_lambda": self.bc_lambda}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.obs_mean = state["obs_mean"].to(self.device)
        self.obs_std = state["obs_std"].to(self.device)
        self.bc_lambda = state["bc_lambda"]
