"""Continuous BCQ (Fujimoto, Meger and Precup, 2019, "Off-Policy Deep Reinforcement Learning without Exploration").

Pseudocode: pseudocodes/BCQ.md, steps C1-C10. Q-learning on actions close to the data's: a
conditional VAE G(s) learns to generate the data's actions at s; a perturbation model xi(s, a)
moves a generated action by at most ``phi`` (in half action ranges) towards higher Q; the policy
takes the best of ``n_action_samples`` perturbed generated actions by Q_1. The twin critics' target
is the soft clipped double Q, lmbda min_i Q'_i + (1 - lmbda) max_i Q'_i, maximised over the sampled
next actions. As the authors' code (sfujim/BCQ, continuous_BCQ): latent dimension 2 x the action
dimension, the encoder's log-std clamped to [-4, 15], latents clipped to [-0.5, 0.5] when sampling,
the KL term weighted 0.5, one Adam per model, and the greedy policy is the same sampling procedure
(it stays stochastic; the run's seed makes it reproducible).

Actions live in [-1, 1] inside the agent (joyrl.acting.ScaledActions maps them to the env's bounds);
``store_transition`` maps the data's env actions back.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from joyrl.acting import ScaledActions
from joyrl.buffers import ReplayBatch, ReplayBuffer, TransitionBatch
from joyrl.critics import Critics, frozen
from joyrl.networks import build_mlp, flat_encoder, observation_format
from joyrl.policies import ActionScaler
from joyrl.schedules import soft_update

LOG_STD_MIN, LOG_STD_MAX = -4.0, 15.0  # the clamp on the encoder's log-std (the authors' code)
LATENT_CLIP = 0.5  # latents drawn from N(0, I) are clipped to +-this when generating actions


class VAE(nn.Module):
    """The generative model G(s): an encoder E(s, a) -> (mu, sigma) of a latent z, a decoder D(s, z) -> a in [-1, 1]."""

    def __init__(self, spec: list, obs_dim: int, action_dim: int) -> None:
        super().__init__()
        self.latent_dim = 2 * action_dim
        self.encoder = build_mlp(spec, obs_dim + action_dim, 2 * self.latent_dim, key="vae_layers")  # mu and log sigma
        self.decoder = build_mlp(spec, obs_dim + self.latent_dim, action_dim, key="vae_layers")

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The reconstruction D(s, z) of a, z ~ N(mu, sigma^2) reparameterised: (B, act), with mu and sigma (B, latent)."""
        mean, log_std = self.encoder(torch.cat([states, actions], dim=1)).chunk(2, dim=1)
        std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
        return self.decode(states, mean + std * torch.randn_like(std)), mean, std

    def decode(self, states: torch.Tensor, latent: torch.Tensor | None = None) -> torch.Tensor:
        """tanh D(s, z) in [-1, 1]: (B, act); without ``latent``, z ~ N(0, I) clipped to +-0.5 (generation)."""
        if latent is None:
            latent = torch.randn(states.shape[0], self.latent_dim, device=states.device).clamp(-LATENT_CLIP, LATENT_CLIP)
        return torch.tanh(self.decoder(torch.cat([states, latent], dim=1)))


def vae_loss(reconstruction: torch.Tensor, actions: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Step C5: mean (D(s, z) - a)^2 + 0.5 KL(N(mu, sigma^2) || N(0, I)), the KL averaged over batch and latent dims."""
    kl = -0.5 * (1.0 + torch.log(std.square()) - mean.square() - std.square()).mean()
    return F.mse_loss(reconstruction, actions) + 0.5 * kl


class Perturbation(nn.Module):
    """xi(s, a, Phi) = clip(a + Phi tanh(f(s, a)), -1, 1): a moved by at most Phi in each dimension."""

    def __init__(self, spec: list, obs_dim: int, action_dim: int, phi: float) -> None:
        super().__init__()
        self.net = build_mlp(spec, obs_dim + action_dim, action_dim, key="actor_layers")
        self.phi = phi

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        shift = self.phi * torch.tanh(self.net(torch.cat([states, actions], dim=1)))
        return (actions + shift).clamp(-1.0, 1.0)


def soft_clipped_double_q(q_values: torch.Tensor, lmbda: float) -> torch.Tensor:
    """lmbda min_i Q_i + (1 - lmbda) max_i Q_i over the twin critics' values (2, N): (N,) (step C6)."""
    return lmbda * q_values.min(dim=0).values + (1.0 - lmbda) * q_values.max(dim=0).values


class ContinuousBCQ(ScaledActions):
    supported_observation_spaces = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Box",)
    learns_offline = True
    memory: ReplayBuffer  # D, the dataset

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.action_dim, obs_dim = cfg.n_actions, cfg.n_states  # n_states: the one-hot width of index observations
        obs_shape, obs_dtype = observation_format(cfg, "actor_layers")  # what D keeps: indices of Discrete ones
        self.encode, _ = flat_encoder(obs_shape)  # the networks read s flat: Discrete and MultiDiscrete ones one-hot
        self.scaler = ActionScaler(cfg.action_low, cfg.action_high)  # [-1, 1] <-> [low, high]
        # step C1: G, xi and the twin critics, targets of xi and the critics; one Adam each
        self.vae = VAE(cfg.vae_layers, obs_dim, self.action_dim).to(self.device)
        self.actor = Perturbation(cfg.actor_layers, obs_dim, self.action_dim, cfg.phi).to(self.device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic = Critics(cfg.critic_layers, obs_dim, self.action_dim, n_critics=2).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.vae_optimizer = torch.optim.Adam(self.vae.parameters(), lr=cfg.lr, fused=True)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, fused=True)
        self.memory = ReplayBuffer(  # D (step C2), actions stored in [-1, 1]
            cfg.buffer_size, obs_shape, (self.action_dim,), obs_dtype, np.float32, self.device
        )
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # learning steps taken

    @torch.inference_mode()
    def unit_action(self, state: np.ndarray, explore: bool) -> np.ndarray:
        """Step C10: of n actions xi(s, G(s)), the one of highest Q_1 (the same when exploring); (act,) in [-1, 1]."""
        observation = self.encode(torch.as_tensor(np.asarray(state), device=self.device).reshape(1, -1))
        states = observation.repeat(self.cfg.n_action_samples, 1)  # (n, obs)
        actions = self.actor(states, self.vae.decode(states))  # (n, act)
        return actions[self.critic(states, actions, n=1)[0].argmax()].cpu().numpy()

    def store_transition(self, state, action: np.ndarray, reward: float, next_state, terminated: bool) -> None:
        """Step C2: (s, a, r, s', terminated) of the dataset into D, with a mapped to [-1, 1]."""
        self.memory.push(state, self.scaler.from_env(action), reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Steps C4-C9: one learning step on a batch of D, once D holds ``batch_size`` transitions."""
        if len(self.memory) < self.cfg.batch_size:
            return None
        batch = self.memory.sample(self.cfg.batch_size)  # step C4
        assert isinstance(batch.states, torch.Tensor) and isinstance(batch.next_states, torch.Tensor)  # no Dict ones
        states, next_states = self.encode(batch.states), self.encode(batch.next_states)
        batch = ReplayBatch(states, batch.actions, batch.rewards, next_states, batch.terminated)
        reconstruction, mean, std = self.vae(states, batch.actions)  # step C5
        generator_loss = vae_loss(reconstruction, batch.actions, mean, std)
        self.step(self.vae_optimizer, generator_loss)
        critic_loss = self.critic_loss(batch)  # steps C6-C7
        self.step(self.critic_optimizer, critic_loss)
        actor_loss = self.actor_loss(states)  # step C8
        self.step(self.actor_optimizer, actor_loss)
        soft_update(self.critic_target, self.critic, self.cfg.tau)  # step C9
        soft_update(self.actor_target, self.actor, self.cfg.tau)
        self.update_count += 1
        losses = torch.stack([generator_loss, critic_loss, actor_loss]).detach().tolist()  # one conversion per call
        return {"vae_loss": losses[0], "critic_loss": losses[1], "actor_loss": losses[2]}

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """Step C6: y = r + gamma (1 - terminated) max_k [soft clipped double Q'(s', a'_k)], a'_k = xi'(s', G(s')); (B,)."""
        n = self.cfg.n_action_samples
        assert isinstance(batch.next_states, torch.Tensor)  # Box observations
        next_states = batch.next_states.repeat_interleave(n, dim=0)  # (B n, obs): each s' n times in a row
        next_actions = self.actor_target(next_states, self.vae.decode(next_states))  # (B n, act)
        next_q = soft_clipped_double_q(self.critic_target(next_states, next_actions), self.cfg.lmbda)  # (B n,)
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q.view(-1, n).max(dim=1).values

    def critic_loss(self, batch: TransitionBatch) -> torch.Tensor:
        """Step C7: sum_i mean_j (Q_i(s_j, a_j) - y_j)^2."""
        q_values = self.critic(batch.states, batch.actions)  # (2, B)
        return (q_values - self.compute_target(batch)).square().mean(dim=1).sum()

    def actor_loss(self, states: torch.Tensor) -> torch.Tensor:
        """Step C8: -mean_j Q_1(s_j, xi(s_j, G(s_j))), the gradient reaching xi only."""
        with torch.no_grad():
            generated = self.vae.decode(states)  # (B, act)
        with frozen(self.critic):
            return -self.critic(states, self.actor(states, generated), n=1)[0].mean()

    @staticmethod
    def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One Adam step on ``loss``."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    weights = ("vae", "actor", "actor_target", "critic", "critic_target")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        """Networks, optimisers and counters: what a resumed run needs besides D."""
        names = (*self.weights, "vae_optimizer", "actor_optimizer", "critic_optimizer")
        state = {name: getattr(self, name).state_dict() for name in names}
        return {**state, "sample_count": self.sample_count, "update_count": self.update_count}

    def load_state_dict(self, state: dict) -> None:
        for name in (*self.weights, "vae_optimizer", "actor_optimizer", "critic_optimizer"):
            getattr(self, name).load_state_dict(state[name])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
