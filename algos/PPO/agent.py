"""Proximal Policy Optimization (Schulman et al., 2017, "Proximal Policy Optimization Algorithms").

Pseudocode: pseudocodes/PPO.md. An actor (policy) and a critic (state value) of their own,
trained with one Adam optimiser on rollouts of ``n_steps`` steps of ``n_envs`` envs
(joyrl/vector_loop.py), GAE advantages (joyrl/rollout.py) and ``n_epochs`` passes of
shuffled minibatches. ``ppo_type`` picks the objective: ``clip`` (the clipped surrogate,
the paper's eq. 7) or ``kl`` (the surrogate minus beta KL[pi_old, pi], beta adapted after each
update towards ``kl_dtarg``, sec. 4). As in SB3 and CleanRL: orthogonal init, advantages
standardised per minibatch, an entropy bonus, optional value clipping (PPO2's max of the
clipped and unclipped squared errors), gradient-norm clipping, the learning rate and clip
range annealed linearly over the budget, optional observation and reward normalisation
(joyrl/normalizers.py), and ``target_kl`` early stopping.

Discrete actions: a categorical policy over logits; an ``action_mask`` observation part gives
illegal actions probability 0. MultiDiscrete actions: a categorical per dimension, MultiBinary: a
Bernoulli per bit, their log-probabilities and entropies summed (``DiscretePolicyHead``). Box actions: a Gaussian with a state-independent log-std; the
sample is stored unbounded and clipped to [-1, 1] on its way to the env (``ActionScaler``), or,
with ``squash``, passed through tanh with the log-probability corrected (the pre-tanh sample is
stored). A2C (algos/A2C) subclasses this agent and replaces ``init_update_rule``,
``build_optimizer`` and ``learn``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.distributions import Distribution, Normal, kl_divergence

from joyrl.contracts import BaseAgent
from joyrl.networks import ObservationTensor, Shape, build_mlp, observation_format
from joyrl.normalizers import ObservationNormalizer, RewardScaler
from joyrl.optim import clip_grad_norm
from joyrl.policies import ActionScaler, DiscretePolicyHead, GaussianPolicy, distribution_rows, squashed_log_prob
from joyrl.rollout import RolloutBatch, RolloutStorage
from joyrl.schedules import DecaySchedule, set_learning_rate


def clipped_surrogate_loss(ratio: torch.Tensor, advantages: torch.Tensor, clip_range: float) -> torch.Tensor:
    """-E[min(rho A, clip(rho, 1 - eps, 1 + eps) A)]: the negated clipped objective L^CLIP (the paper's eq. 7)."""
    return -torch.min(ratio * advantages, ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * advantages).mean()


def adapted_kl_beta(beta: float, kl: float, kl_dtarg: float) -> float:
    """The paper's sec. 4: beta / 2 when d < d_targ / 1.5, beta x 2 when d > 1.5 d_targ, else unchanged."""
    if kl < kl_dtarg / 1.5:
        return beta / 2.0
    if kl > kl_dtarg * 1.5:
        return beta * 2.0
    return beta


def orthogonal_init(module: nn.Module, gain: float) -> None:
    """Orthogonal weights of ``gain`` and zero biases for every linear and conv2d layer of ``module``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            nn.init.orthogonal_(layer.weight, gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class Agent(BaseAgent):
    supported_observation_spaces: ClassVar[tuple[str, ...]] = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces: ClassVar[tuple[str, ...]] = ("Discrete", "MultiDiscrete", "MultiBinary", "Box")
    masks_actions = True  # the categorical policy gives illegal actions probability 0 (joyrl.policies.categorical)
    ray_workers = "rollouts"  # mp_backend ray: synchronous rounds, each worker fills its envs' part of the rollout
    obs_shape: Shape | dict[str, Shape]  # of one observation, or of each kept part of a Dict one
    obs_dtype: Any  # its NumPy dtype, or one per part

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        # logits -> pi(.|s) for the discrete kinds of actions (joyrl/policies.py); None: a Gaussian over Box actions
        self.continuous = isinstance(cfg.action_space, spaces.Box)
        self.head = None if self.continuous else DiscretePolicyHead(cfg.action_space, getattr(cfg, "obs_space", None))
        self.obs_shape, self.obs_dtype = observation_format(cfg, "actor_layers", keep_mask=True)  # one-hot: networks.py
        self.actor, self.critic = self.build_networks()  # pi_theta(a|s), V_phi(s) (step 1)
        self.parameters = [*self.actor.parameters(), *self.critic.parameters()]
        self.optimizer = self.build_optimizer()
        action_shape, action_dtype = ((cfg.n_actions,), np.float32) if self.head is None else self.head.action_format
        self.rollout = RolloutStorage(
            cfg.n_steps, cfg.n_envs, self.obs_shape, action_shape, self.obs_dtype, action_dtype, self.device
        )
        if cfg.normalize_obs and not isinstance(cfg.obs_space, spaces.Box):
            raise ValueError(
                f"normalize_obs handles Box observations only; set it to false for {type(cfg.obs_space).__name__} observations"
            )
        self.obs_normalizer = (
            ObservationNormalizer(self.obs_shape) if cfg.normalize_obs and not isinstance(self.obs_shape, dict) else None
        )
        self.reward_scaler = RewardScaler(cfg.n_envs, cfg.gamma) if cfg.normalize_reward else None
        self.action_scaler = ActionScaler(cfg.action_low, cfg.action_high) if self.continuous else None
        self.observation = ObservationTensor(self.obs_shape, self.device, self.obs_dtype)  # predict_action's input
        self.learning_rate = self.schedule(cfg.lr, cfg.lr_end)
        self.kl_beta: float | None = None
        self.init_update_rule()
        # (observations, actions, log-probs, values) of the last sample_action
        self.acted: tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.next_states: Any = None  # the observations after the last stored step, for V(s_T)
        self.sample_count = 0  # env steps taken with sample_action, over all envs
        self.update_count = 0  # updates (rollouts learned from)

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """Step 1: the actor (logits (B, head outputs), or a GaussianPolicy) and the critic (B, 1) from their layer specs."""
        cfg = self.cfg
        actor: nn.Module
        if self.head is None:
            actor = GaussianPolicy(cfg.actor_layers, self.obs_shape, cfg.n_actions, cfg.log_std_init, self.obs_dtype)
            actor_output = actor.mean[-1]
        else:
            actor = build_mlp(cfg.actor_layers, self.obs_shape, self.head.n_outputs, "actor_layers", self.obs_dtype)
            actor_output = actor[-1]
        critic = build_mlp(cfg.critic_layers, self.obs_shape, 1, "critic_layers", self.obs_dtype)
        if cfg.ortho_init:
            for network, output, gain in ((actor, actor_output, 0.01), (critic, critic[-1], 1.0)):
                orthogonal_init(network, math.sqrt(2.0))
                orthogonal_init(output, gain)
        return actor.to(self.device), critic.to(self.device)

    def build_optimizer(self) -> torch.optim.Optimizer:
        """Adam over the actor's and the critic's parameters (eps 1e-5, as SB3's PPO)."""
        return torch.optim.Adam(self.parameters, lr=self.cfg.lr, eps=1e-5, fused=True)

    def init_update_rule(self) -> None:
        """PPO's own: the clip range epsilon_t (annealed like the learning rate) and the KL penalty's beta."""
        self.clip_range = self.schedule(self.cfg.clip_range, self.cfg.clip_range_end)
        if self.cfg.ppo_type == "kl":
            self.kl_beta = self.cfg.kl_beta

    def schedule(self, start: float, end: float | None) -> DecaySchedule:
        """``start`` annealed linearly to ``end`` over the run's env-step budget; constant when ``end`` is None."""
        return DecaySchedule(start, start if end is None else end, max(self.cfg.max_env_steps, 1), "linear")

    @torch.inference_mode()
    def sample_action(self, state: Any) -> np.ndarray:
        """Step 3: a ~ pi(.|s) for the batch of ``n_envs`` observations, with log pi(a|s) and V(s); the env actions."""
        observations = self.batch_observations(state, update_stats=True)
        distribution = self.distribution(observations)
        actions = distribution.sample()
        log_probs, _ = self.log_prob_entropy(distribution, actions)
        values = self.critic(observations).squeeze(-1)
        self.acted = (observations, actions, log_probs, values)
        self.sample_count += self.cfg.n_envs
        return self.env_actions(actions)

    @torch.inference_mode()
    def predict_action(self, state: Any) -> int | np.ndarray:
        """The deterministic policy on one observation: the most probable legal action(s), or the Gaussian's mean."""
        if self.obs_normalizer is not None:
            state = self.obs_normalizer(np.asarray(state, dtype=np.float32).reshape(1, -1), update=False)[0]
        observation = self.observation(state)
        if self.head is None:
            assert isinstance(self.actor, GaussianPolicy)  # built for Box actions
            return self.env_actions(self.actor.mean(observation))[0]
        return self.head.env_action(self.head.greedy(self.actor(observation), observation))

    def store_transition(
        self, reward: np.ndarray, next_state: Any, terminated: np.ndarray, truncated: np.ndarray, valid: np.ndarray
    ) -> None:
        """Step 4: the envs' answer to the last ``sample_action``, into the rollout (rewards scaled when normalize_reward)."""
        if self.reward_scaler is not None:
            reward = self.reward_scaler(reward, terminated | truncated, valid)
        assert self.acted is not None  # sample_action came first
        self.rollout.add(*self.acted, reward, terminated, truncated, valid)
        self.next_states = next_state

    def update(self) -> dict[str, float] | None:
        """Once the rollout is full: GAE (step 5), then ``learn`` (steps 6-9); a new rollout starts."""
        if not self.rollout.full:
            return None
        with torch.inference_mode():
            last_values = self.critic(self.batch_observations(self.next_states, update_stats=False)).squeeze(-1)
        self.rollout.compute_gae(last_values, self.cfg.gamma, self.cfg.gae_lambda)
        lr = self.learning_rate(self.sample_count)
        set_learning_rate(self.optimizer, lr)
        stats = self.learn()
        self.rollout.reset()
        self.update_count += 1
        return {**stats, "lr": lr}

    def learn(self) -> dict[str, float]:
        """Steps 6-9: ``n_epochs`` passes of minibatches of ``batch_size`` on the PPO loss; then beta adapts (kl)."""
        cfg = self.cfg
        clip_range = self.clip_range(self.sample_count)
        old_policy = self.rollout_distribution() if cfg.ppo_type == "kl" else None
        totals, n_minibatches, early_stop = torch.zeros(5), 0, False
        for _ in range(cfg.n_epochs):
            if early_stop:
                break
            for indices in self.rollout.minibatches(cfg.batch_size):
                batch = self.rollout.batch(indices)
                distribution = self.distribution(batch.observations)
                log_probs, entropy = self.log_prob_entropy(distribution, batch.actions)
                log_ratio = log_probs - batch.log_probs
                ratio = log_ratio.exp()  # rho_t = pi(a|s) / pi_old(a|s)
                advantages = batch.advantages
                if cfg.normalize_advantage and advantages.numel() > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                kl = None if old_policy is None else self.kl(distribution_rows(old_policy, indices), distribution)
                policy_loss = self.policy_loss(ratio, advantages, clip_range, kl)
                value_loss = self.value_loss(self.critic(batch.observations).squeeze(-1), batch)
                entropy = entropy.mean()
                self.step_optimizer(policy_loss - cfg.ent_coef * entropy + cfg.vf_coef * value_loss)  # step 8
                with torch.no_grad():
                    approx_kl = ((ratio - 1.0) - log_ratio).mean()  # an estimate of KL[pi_old, pi] >= 0
                    clipped = ((ratio - 1.0).abs() > clip_range).float().mean()
                    totals += torch.stack([policy_loss.detach(), value_loss.detach(), entropy.detach(), approx_kl, clipped])
                n_minibatches += 1
                early_stop = cfg.target_kl is not None and approx_kl.item() > 1.5 * cfg.target_kl
                if early_stop:  # the policy moved too far from pi_old: no more minibatches this update
                    break
        means = (totals / n_minibatches).tolist()
        stats = dict(zip(("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"), means, strict=True))
        if old_policy is not None:  # step 9
            stats.update(self.adapt_kl_beta(old_policy))
        return {**stats, "clip_range": clip_range}

    def adapt_kl_beta(self, old_policy: Distribution) -> dict[str, float]:
        """Step 9 (ppo_type kl): beta adapted to the KL between pi_old and pi over the whole update."""
        valid = self.rollout.valid_indices()
        update_kl = self.kl(distribution_rows(old_policy, valid), distribution_rows(self.rollout_distribution(), valid)).item()
        assert self.kl_beta is not None  # set by init_update_rule for ppo_type kl
        self.kl_beta = adapted_kl_beta(self.kl_beta, update_kl, self.cfg.kl_dtarg)
        return {"kl": update_kl, "kl_beta": self.kl_beta}

    def policy_loss(
        self, ratio: torch.Tensor, advantages: torch.Tensor, clip_range: float, kl: torch.Tensor | None
    ) -> torch.Tensor:
        """Step 7, the policy's loss: -L^CLIP (ppo_type clip), or -(E[rho A] - beta KL[pi_old, pi]) (ppo_type kl)."""
        if self.cfg.ppo_type == "clip":
            return clipped_surrogate_loss(ratio, advantages, clip_range)
        assert self.kl_beta is not None and kl is not None  # ppo_type kl
        return -(ratio * advantages).mean() + self.kl_beta * kl

    def value_loss(self, values: torch.Tensor, batch: RolloutBatch) -> torch.Tensor:
        """(V(s) - R)^2 averaged; with ``clip_range_vf``, the max of it and that of V_old + clip(V - V_old)."""
        loss = (values - batch.returns) ** 2
        if self.cfg.clip_range_vf is not None:
            clipped = batch.values + (values - batch.values).clamp(-self.cfg.clip_range_vf, self.cfg.clip_range_vf)
            loss = torch.max(loss, (clipped - batch.returns) ** 2)
        return loss.mean()

    def step_optimizer(self, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss``, the gradient's global norm clipped to ``max_grad_norm``."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm(self.parameters, self.cfg.max_grad_norm)
        self.optimizer.step()

    def distribution(self, observations: Any) -> Distribution:
        """pi(.|s): categorical(s) over the legal actions, Bernoullis (``DiscretePolicyHead``), or the Gaussian N(mu(s), sigma)."""
        if self.head is None:
            return self.actor(observations)
        return self.head.distribution(self.actor(observations), observations)

    def log_prob_entropy(self, distribution: Distribution, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) (B,) and the entropy (B,); squashed Gaussians have no closed form: -log pi(a|s) estimates it."""
        if self.head is not None:  # summed over dimensions already
            return distribution.log_prob(actions), distribution.entropy()
        assert isinstance(distribution, Normal)  # Box actions: the GaussianPolicy's
        if self.cfg.squash:
            log_probs = squashed_log_prob(distribution, actions)
            return log_probs, -log_probs
        return distribution.log_prob(actions).sum(-1), distribution.entropy().sum(-1)

    @staticmethod
    def kl(old: Distribution, new: Distribution) -> torch.Tensor:
        """E_s KL[pi_old(.|s), pi(.|s)], exact (for squashed Gaussians too: tanh is invertible)."""
        kl = kl_divergence(old, new)
        return (kl.sum(-1) if kl.dim() > 1 else kl).mean()

    @torch.no_grad()
    def rollout_distribution(self) -> Distribution:
        """pi(.|s) for every sample of the rollout, flattened (index step * n_envs + env), for the KL penalty."""
        return self.distribution(self.rollout.flat_observations())

    def env_actions(self, actions: torch.Tensor) -> np.ndarray:
        """What the envs get: the discrete actions (``DiscretePolicyHead.to_env``), or the Gaussian sample (tanh-ed when
        squash) scaled to the bounds."""
        if self.head is not None:
            return self.head.to_env(actions)
        if self.cfg.squash:
            actions = torch.tanh(actions)
        assert self.action_scaler is not None  # made for Box actions
        return self.action_scaler.to_env(actions.cpu().numpy())  # clipped to [-1, 1], then to [low, high]

    def batch_observations(self, states: Any, update_stats: bool) -> Any:
        """The envs' (n_envs, ...) observations as the networks' input, normalised when normalize_obs."""
        if isinstance(self.obs_shape, dict):
            return {
                name: torch.as_tensor(np.asarray(states[name], dtype=self.obs_dtype[name]), device=self.device)
                for name in self.obs_shape
            }
        states = np.asarray(states, dtype=self.obs_dtype).reshape(self.cfg.n_envs, *self.obs_shape)
        if self.obs_normalizer is not None:
            states = self.obs_normalizer(states, update=update_stats)
        return torch.as_tensor(states, device=self.device)

    def drop_rollout(self) -> None:
        """Forget the unfinished rollout (its episodes were lost to an env failure)."""
        self.rollout.reset()
        if self.reward_scaler is not None:
            self.reward_scaler.returns[:] = 0.0

    weights: ClassVar[tuple[str, ...]] = ("actor", "critic", "obs_normalizer")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        """Networks, optimiser, normalisers and counters; an unfinished rollout is not kept (a resumed run starts one)."""
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "obs_normalizer": None if self.obs_normalizer is None else self.obs_normalizer.state_dict(),
            "reward_scaler": None if self.reward_scaler is None else self.reward_scaler.state_dict(),
            "kl_beta": self.kl_beta,
            "sample_count": self.sample_count,
            "update_count": self.update_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.obs_normalizer is not None:
            self.obs_normalizer.load_state_dict(state["obs_normalizer"])
        if self.reward_scaler is not None:
            self.reward_scaler.load_state_dict(state["reward_scaler"])
        self.kl_beta = state["kl_beta"]
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
        self.rollout.reset()
        set_learning_rate(self.optimizer, self.learning_rate(self.sample_count))
