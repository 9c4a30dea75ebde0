"""Generative Adversarial Imitation Learning (Ho & Ermon, 2016, "Generative Adversarial Imitation Learning").

Pseudocode: pseudocodes/GAIL.md. The generator is PPO (algos/PPO's ``Agent``, subclassed): it trains
online, on rollouts of ``n_envs`` envs (joyrl/vector_loop.py), but the env's reward is replaced in
the rollout by the discriminator's, r(s, a) = -log(1 - D(s, a)) = softplus(logit(s, a)), where
D(s, a) = sigmoid(logit(s, a)) is the probability that the pair is the expert's. D is an MLP on the
observation concatenated with the action (one-hot for Discrete actions; for Box ones the action the env
got, mapped back to [-1, 1] by ``ActionScaler``, the units of the expert's actions too), trained with
binary cross-entropy, expert pairs labelled 1 and the rollout's pairs 0, by its own Adam. The episode
returns in res.csv and eval.csv stay the env's: the loop counts the env's rewards, not the agent's.

Choices, as OpenAI Baselines' and the imitation library's GAIL: the reward is computed when the step is
stored, with the discriminator of that moment; each update first trains D on the rollout just collected
against as many expert pairs drawn at random, then takes PPO's update on the stored rewards. D sees the
env's raw observations (not PPO's standardised ones when ``normalize_obs``), so expert and policy pairs
share units. The reward is always positive, a bonus for surviving: right where the expert keeps its
episodes going (CartPole), biased where it should end them (Kostrikov et al., 2019, "Discriminator-
Actor-Critic", sec. 4.1). Box observations only (D is an MLP on a flat vector).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from algos.PPO.agent import Agent as PPOAgent
from joyrl.datasets import Dataset
from joyrl.networks import build_mlp, flat_encoder


class Agent(PPOAgent):
    # D is an MLP on the flat observation: Discrete and MultiDiscrete ones one-hot, MultiBinary ones as bits
    supported_observation_spaces = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces: ClassVar[tuple[str, ...]] = (
        "Discrete",
        "Box",
    )  # D takes the action one-hot (Discrete) or scaled (Box)
    masks_actions = False  # Box observations carry no action mask
    needs_dataset = True  # train mode needs general_cfg.dataset: the expert's demonstrations
    learns_from_demonstrations = True  # trains online, the demonstrations beside (fit_dataset)

    def __init__(self, cfg) -> None:
        super().__init__(cfg)  # PPO's actor, critic, optimiser and rollout (step 1)
        assert not isinstance(self.obs_shape, dict)  # no Dict observations declared
        self.state_encoder, _ = flat_encoder(self.obs_shape)  # s flat: Discrete and MultiDiscrete ones one-hot
        input_size = cfg.n_states + cfg.n_actions  # [s, a]: the flat (or one-hot) observation, then one-hot or [-1, 1] action
        self.discriminator = build_mlp(cfg.discriminator_layers, (input_size,), 1, "discriminator_layers").to(self.device)
        self.discriminator_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.discriminator_lr, fused=True)
        # D's input for every step of the rollout, (n_steps, n_envs, input_size), indexed as the rollout
        self.policy_pairs = torch.zeros((cfg.n_steps, cfg.n_envs, input_size), device=self.device)
        self.expert_pairs: torch.Tensor | None = None  # (N, input_size): the demonstrations, from fit_dataset
        self.step_pairs: torch.Tensor | None = None  # (n_envs, input_size): the (s, a) of the last sample_action

    def fit_dataset(self, dataset: Dataset) -> None:
        """Step 2: the expert's (s, a) pairs as D's inputs (N, n_states + A), kept on the agent's device."""
        if isinstance(dataset.observations, dict):
            raise ValueError("GAIL's discriminator takes Box observations, but the dataset holds Dict ones")
        self.expert_pairs = self.discriminator_input(dataset.observations, dataset.actions)

    def sample_action(self, state: Any) -> np.ndarray:
        """Step 4: PPO's a ~ pi(.|s) for the ``n_envs`` observations; the pairs (s, a) kept for D, in env units."""
        env_actions = super().sample_action(state)
        self.step_pairs = self.discriminator_input(state, env_actions)
        return env_actions

    def store_transition(
        self, reward: np.ndarray, next_state: Any, terminated: np.ndarray, truncated: np.ndarray, valid: np.ndarray
    ) -> None:
        """Step 5: the env's reward replaced by r = -log(1 - D(s, a)) (0 on invalid steps), into PPO's rollout."""
        assert self.step_pairs is not None  # sample_action came first
        self.policy_pairs[self.rollout.step] = self.step_pairs
        gail_reward = self.gail_reward(self.step_pairs).cpu().numpy()
        super().store_transition(np.where(valid, gail_reward, 0.0).astype(np.float32), next_state, terminated, truncated, valid)

    def update(self) -> dict[str, float] | None:
        """Once the rollout is full: D's update on it (steps 6-7), then PPO's (GAE and its epochs, step 8)."""
        if not self.rollout.full:
            return None
        discriminator_stats = self.update_discriminator()
        stats = super().update()
        assert stats is not None  # the rollout was full
        return {**stats, **discriminator_stats}

    def update_discriminator(self) -> dict[str, float]:
        """Steps 6-7: ``discriminator_epochs`` passes over the rollout's valid pairs in minibatches, each beside as many
        expert pairs drawn uniformly (with replacement), one Adam step per minibatch."""
        assert self.expert_pairs is not None, "GAIL trains with expert demonstrations: call fit_dataset(dataset) first"
        cfg = self.cfg
        policy_pairs = self.policy_pairs.flatten(0, 1)  # flat index step * n_envs + env, as the rollout's
        rewards = self.gail_reward(policy_pairs[self.rollout.valid_indices()])  # (n_valid,): those the rollout got
        totals, n_minibatches = torch.zeros(3, device=self.device), 0
        for _ in range(cfg.discriminator_epochs):
            for indices in self.rollout.minibatches(cfg.discriminator_batch_size):
                drawn = torch.randint(len(self.expert_pairs), (len(indices),), device=self.device)
                loss, expert_probability, policy_probability = self.discriminator_loss(
                    self.expert_pairs[drawn], policy_pairs[indices]
                )
                self.discriminator_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.discriminator_optimizer.step()
                totals += torch.stack([loss.detach(), expert_probability, policy_probability])
                n_minibatches += 1
        means = (totals / n_minibatches).tolist()
        stats = dict(zip(("discriminator_loss", "expert_probability", "policy_probability"), means, strict=True))
        return {**stats, "gail_reward": rewards.mean().item()}

    def discriminator_loss(
        self, expert_pairs: torch.Tensor, policy_pairs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Step 7: -mean log D(expert pairs) - mean log(1 - D(policy pairs)), binary cross-entropy on logits;
        with the mean D of each side (detached), the probabilities D gives them of being the expert's."""
        expert_logits = self.discriminator(expert_pairs).squeeze(-1)  # (B,)
        policy_logits = self.discriminator(policy_pairs).squeeze(-1)  # (B,)
        loss = F.binary_cross_entropy_with_logits(
            expert_logits, torch.ones_like(expert_logits)
        ) + F.binary_cross_entropy_with_logits(policy_logits, torch.zeros_like(policy_logits))
        return loss, torch.sigmoid(expert_logits).mean().detach(), torch.sigmoid(policy_logits).mean().detach()

    @torch.no_grad()
    def gail_reward(self, pairs: torch.Tensor) -> torch.Tensor:
        """r(s, a) = -log(1 - sigmoid(logit)) = softplus(logit), (B,): large where D takes the pair for the expert's."""
        return F.softplus(self.discriminator(pairs).squeeze(-1))

    def discriminator_input(self, observations: Any, env_actions: np.ndarray) -> torch.Tensor:
        """D's input [s, a] (B, n_states + A): the flat observation (one-hot for Discrete and MultiDiscrete ones), then
        the one-hot action (Discrete, int64 indices) or the env action mapped to [-1, 1] by PPO's ``ActionScaler`` (Box)."""
        n = len(env_actions)
        states = self.state_encoder(torch.as_tensor(np.asarray(observations)).reshape(n, -1)).to(self.device)
        if self.continuous:
            assert self.action_scaler is not None  # made for Box actions
            actions = torch.as_tensor(self.action_scaler.from_env(env_actions).reshape(n, -1), device=self.device)
        else:
            indices = torch.as_tensor(np.asarray(env_actions, dtype=np.int64), device=self.device)
            actions = F.one_hot(indices, self.cfg.n_actions).float()
        return torch.cat([states, actions], dim=1)

    # what a fine-tune takes from a checkpoint (PPO's tuple is typed with its fixed length: hence the ignore)
    weights = ("actor", "critic", "obs_normalizer", "discriminator")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        """PPO's state, plus the discriminator and its optimiser (the demonstrations come from the dataset)."""
        return {
            **super().state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "discriminator_optimizer": self.discriminator_optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.discriminator.load_state_dict(state["discriminator"])
        self.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
