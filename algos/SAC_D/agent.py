"""Soft Actor-Critic for discrete actions (Christodoulou, 2019, "Soft Actor-Critic for Discrete Action
Settings", arXiv:1910.07207).

Pseudocode: pseudocodes/SAC_D.md. SAC (Haarnoja et al., 2018) with a softmax policy over the actions:
the critics output Q_i(s, .) for every action at once, so the soft value and the actor's objective are
exact expectations over pi(.|s) instead of samples, and no reparameterisation is needed. Twin critics
with Polyak-averaged targets (the min of the two), and the temperature alpha tuned towards the target
entropy ``target_entropy_scale * log|A|`` (the paper uses 0.98 of the maximum, often too high).
Beyond the paper: ``gradient_steps`` gradient steps every ``train_freq`` env steps (as in RL Zoo),
a step size annealed linearly to ``lr_end`` (None: constant), the actor's loss reuses the critics' values computed for the
critic step (before it), bootstrapping through time-limit truncations (only ``terminated`` stops the
target), and Dict observations with legal-action masks: illegal actions get probability 0 in pi(.|s)
and in pi(.|s') (the ``action_mask`` part, joyrl/networks.py); the target entropy stays a fraction of
log|A|.
"""

from __future__ import annotations

import copy
import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from joyrl.acting import ScoredActions, sample_scores
from joyrl.buffers import ReplayBuffer, TransitionBatch
from joyrl.networks import ObservationTensor, build_mlp, dict_format, legal_only, observation_format
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update


class Agent(ScoredActions):
    supported_observation_spaces = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete",)
    learns_offline = True  # update() learns as well from a memory filled from a dataset (offline, general_cfg.dataset)
    ray_workers = "transitions"  # mp_backend ray: workers stream transitions into D (joyrl/distributed.py)
    memory: ReplayBuffer  # D

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.n_actions = cfg.n_actions
        obs_shape, obs_dtype = self.observation_format()
        # pi_phi(.|s): logits (B, A) (step 2)
        self.actor = build_mlp(cfg.actor_layers, obs_shape, self.n_actions, "actor_layers", obs_dtype).to(self.device)
        # Q_theta1, Q_theta2: (B, A) each, and their targets (step 2)
        self.critics = nn.ModuleList(
            build_mlp(cfg.critic_layers, obs_shape, self.n_actions, "critic_layers", obs_dtype) for _ in range(2)
        ).to(self.device)
        self.critic_targets = copy.deepcopy(self.critics).requires_grad_(False)
        self.log_alpha = torch.tensor(math.log(cfg.ent_coef), device=self.device, requires_grad=cfg.autotune)
        self.target_entropy = cfg.target_entropy_scale * math.log(self.n_actions)  # H-bar (step 2)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), lr=cfg.lr, fused=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=cfg.lr)
        self.optimizers = (self.actor_optimizer, self.critic_optimizer, self.alpha_optimizer)
        self.observation = ObservationTensor(obs_shape, self.device, obs_dtype)
        self.memory = ReplayBuffer(cfg.buffer_size, obs_shape, obs_dtype=obs_dtype, device=self.device)  # D (step 1)
        lr_end = cfg.lr if cfg.lr_end is None else cfg.lr_end
        self.learning_rate = DecaySchedule(cfg.lr, lr_end, max(cfg.max_env_steps, 1), "linear")
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken

    def action_scores(self, observation: ObservationTensor, explore: bool) -> torch.Tensor:
        """The policy's logits (1, A); the framework masks the illegal actions (probability 0)."""
        return self.actor(observation)

    def choose(self, scores: torch.Tensor) -> int:
        """a_t ~ pi(.|s_t) (step 4); the greedy policy, the framework's, takes the most likely action."""
        return sample_scores(scores)

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Store (s, a, r, s', terminated) in D (step 6)."""
        self.memory.push(state, action, reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Every ``train_freq`` steps once D holds ``learning_starts`` transitions: ``gradient_steps`` steps (7-13)."""
        if self.sample_count % self.cfg.train_freq != 0 or len(self.memory) < min(self.cfg.learning_starts, self.cfg.buffer_size):
            return None
        lr = self.learning_rate(self.sample_count)
        for optimizer in self.optimizers:
            set_learning_rate(optimizer, lr)
        totals = torch.zeros(4)
        for _ in range(self.cfg.gradient_steps):
            totals += self.gradient_step(self.memory.sample(self.cfg.batch_size))  # steps 8-13
            self.update_count += 1
        critic_loss, actor_loss, alpha_loss, entropy = (totals / self.cfg.gradient_steps).tolist()
        return {
            "critic_loss": critic_loss,
            "actor_loss": actor_loss,
            "alpha_loss": alpha_loss,
            "entropy": entropy,
            "alpha": float(self.log_alpha.detach().exp()),
            "lr": lr,
        }

    def gradient_step(self, batch: TransitionBatch) -> torch.Tensor:
        """Steps 9-13 on one minibatch; returns the critic, actor and alpha losses and the entropy, detached: (4,)."""
        alpha = self.log_alpha.exp().detach()
        target = self.compute_target(batch, alpha)  # y (step 9)
        q_values = [critic(batch.states) for critic in self.critics]  # Q_i(s, .): (B, A) each
        actions = batch.actions.unsqueeze(1)
        # step 10; a tensor: sum returns its start, 0, only when there is no critic
        critic_loss = cast(torch.Tensor, sum(F.mse_loss(q.gather(1, actions).squeeze(1), target) for q in q_values))
        self.step(self.critic_optimizer, critic_loss)
        probs, log_probs = self.policy(batch.states)
        min_q = torch.min(q_values[0], q_values[1]).detach()  # (B, A)
        actor_loss = self.actor_loss(probs, log_probs, min_q, alpha)  # step 11
        self.step(self.actor_optimizer, actor_loss)
        entropy = -(probs.detach() * log_probs.detach()).sum(dim=1).mean()  # H(pi(.|s)), batch mean
        alpha_loss = self.alpha_loss(entropy)  # step 12
        if self.cfg.autotune:
            self.step(self.alpha_optimizer, alpha_loss)
        soft_update(self.critic_targets, self.critics, self.cfg.tau)  # step 13
        return torch.stack([critic_loss.detach(), actor_loss.detach(), alpha_loss.detach(), entropy])

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch, alpha: torch.Tensor) -> torch.Tensor:
        """y = r + gamma (1 - terminated) sum_a' pi(a'|s') [min_i Q_targ,i(s', a') - alpha log pi(a'|s')] (step 9); (B,)."""
        next_probs, next_log_probs = self.policy(batch.next_states)
        next_q = torch.min(*(critic(batch.next_states) for critic in self.critic_targets))  # (B, A)
        next_value = (next_probs * (next_q - alpha * next_log_probs)).sum(dim=1)  # V(s'): (B,)
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_value

    @staticmethod
    def actor_loss(probs: torch.Tensor, log_probs: torch.Tensor, min_q: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """J_pi = mean_s sum_a pi(a|s) [alpha log pi(a|s) - min_i Q_i(s, a)] (step 11)."""
        return (probs * (alpha * log_probs - min_q)).sum(dim=1).mean()

    def alpha_loss(self, entropy: torch.Tensor) -> torch.Tensor:
        """J(alpha) = log(alpha) (H(pi) - H-bar): alpha grows while the entropy is below the target (step 12)."""
        return self.log_alpha * (entropy - self.target_entropy)

    def policy(self, observation) -> tuple[torch.Tensor, torch.Tensor]:
        """pi(.|s) and log pi(.|s), (B, A) each; an illegal action has probability 0 and log-probability 0 (so 0 log 0 = 0)."""
        logits = self.actor(observation)
        legal_logits = legal_only(logits, observation)
        log_probs = torch.log_softmax(legal_logits, dim=1)
        probs = log_probs.exp()
        if legal_logits is not logits:
            log_probs = log_probs.masked_fill(legal_logits == -torch.inf, 0.0)
        return probs, log_probs

    @staticmethod
    def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def observation_format(self) -> tuple[tuple[int, ...], type] | tuple[dict, dict]:
        """``joyrl.networks.observation_format`` (one-hot Discrete, float bits, flat Box); a Dict observation keeps the
        parts either network reads and its action mask."""
        actor, critic = (
            dict_format(self.cfg, "actor_layers", keep_mask=True),
            dict_format(self.cfg, "critic_layers", keep_mask=True),
        )
        if actor is None or critic is None:
            return observation_format(self.cfg, "actor_layers")
        return {**actor[0], **critic[0]}, {**actor[1], **critic[1]}

    weights = ("actor", "critics", "critic_targets", "log_alpha")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        return {
            "actor": self.actor.state_dict(),
            "critics": self.critics.state_dict(),
            "critic_targets": self.critic_targets.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "alpha_optimizer": self.alpha_optimizer.state_dict(),
            "sample_count": self.sample_count,
            "update_count": self.update_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critics.load_state_dict(state["critics"])
        self.critic_targets.load_state_dict(state["critic_targets"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
