"""Deep Deterministic Policy Gradient (Lillicrap et al., 2016, "Continuous control with deep reinforcement learning").

Pseudocode: pseudocodes/DDPG.md. An actor mu(s) in [-1, 1] and a critic Q(s, a), learned
off-policy from a replay memory against slowly moving (Polyak) target copies of both. As in
Stable-Baselines3: one learning rate for actor and critic, ``learning_starts`` steps of uniformly
random actions first, Gaussian exploration noise by default (Ornstein-Uhlenbeck with
``noise_type: ou``), no weight decay or batch normalisation, and bootstrapping through time-limit
truncations (only ``terminated`` stops the target).

Actions live in [-1, 1] inside the agent (networks, noise, replay memory): the agent supplies
``unit_action`` and the framework's acting (joyrl.acting.ScaledActions) maps it to the env's bounds
with ``ActionScaler``; ``store_transition`` maps the env's action back.

TD3 (algos/TD3/agent.py) subclasses this agent and overrides ``compute_target`` (step 9) and
``actor_update_due`` (step 11); SAC (algos/SAC/agent.py) also replaces the actor, the exploration
and the actor's loss.
"""

from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from joyrl.acting import ScaledActions
from joyrl.buffers import ReplayBuffer, TransitionBatch
from joyrl.critics import Critics, frozen
from joyrl.networks import ObservationTensor, observation_format
from joyrl.noise import make_noise
from joyrl.policies import ActionScaler, DeterministicActor
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update


class Agent(ScaledActions):
    supported_observation_spaces: ClassVar[tuple[str, ...]] = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Box",)
    learns_offline = True  # update() learns as well from a memory filled from a dataset (offline, general_cfg.dataset)
    ray_workers = "transitions"  # mp_backend ray: workers stream transitions into D (joyrl/distributed.py)
    n_critics = 1  # Q(s, a); TD3 and SAC learn twins
    # the attributes whose state_dict() a checkpoint keeps
    checkpointed: ClassVar[tuple[str, ...]] = (
        "actor",
        "actor_target",
        "critic",
        "critic_target",
        "actor_optimizer",
        "critic_optimizer",
        "noise",
    )
    memory: ReplayBuffer  # D

    def __init__(self, cfg) -> None:
        self.build_models(cfg)
        self.init_exploration()
        lr_end = cfg.lr if cfg.lr_end is None else cfg.lr_end
        self.learning_rate = DecaySchedule(cfg.lr, lr_end, max(cfg.max_env_steps, 1), "linear")
        self.actor_loss = torch.zeros(())  # the latest actor loss, logged on the steps that do not update the actor
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken (critic updates)

    def build_models(self, cfg) -> None:
        """Steps 1-2: the actor, the critics and their targets, one Adam each, and the replay memory D."""
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.action_dim = cfg.n_actions
        self.scaler = ActionScaler(cfg.action_low, cfg.action_high)  # [-1, 1] <-> [low, high]
        # Box: as the env shapes it (the networks flatten it); Discrete, MultiDiscrete: indices, one-hot in the networks
        obs_shape, self.obs_dtype = observation_format(cfg, "actor_layers", box_shape=True)
        self.actor, self.actor_target = self.build_actor(obs_shape)  # step 1
        self.critic = Critics(cfg.critic_layers, obs_shape, self.action_dim, self.n_critics).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, fused=True)
        self.memory = ReplayBuffer(  # D (step 2), actions stored in [-1, 1]
            cfg.buffer_size, obs_shape, (self.action_dim,), self.obs_dtype, np.float32, self.device
        )
        self.observation = ObservationTensor(obs_shape, self.device, self.obs_dtype)

    def build_actor(self, obs_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module | None]:
        """Step 1: mu(s) = tanh(MLP of ``actor_layers``) and its target copy mu'."""
        cfg = self.cfg
        actor = DeterministicActor(cfg.actor_layers, obs_shape, self.action_dim, self.obs_dtype, cfg.actor_final_init)
        actor = actor.to(self.device)
        return actor, copy.deepcopy(actor).requires_grad_(False)

    def init_exploration(self) -> None:
        """The noise process N of step 4: ``noise_type`` with ``noise_std`` (and ``ou_theta``, ``ou_dt``)."""
        cfg = self.cfg
        self.noise = make_noise(cfg.noise_type, self.action_dim, cfg.noise_std, cfg.ou_theta, cfg.ou_dt)

    def unit_action(self, state: np.ndarray, explore: bool) -> np.ndarray:
        """Step 4: uniformly random for the first ``learning_starts`` steps, then clip(mu(s) + N_t, -1, 1); mu(s) when
        not exploring. In [-1, 1]: the framework's acting (joyrl.acting.ScaledActions) maps it to the env's bounds."""
        if explore and self.sample_count <= self.cfg.learning_starts:
            return np.random.uniform(-1.0, 1.0, self.action_dim)
        return self.policy_action(state, deterministic=not explore)

    @torch.inference_mode()
    def policy_action(self, state: np.ndarray, deterministic: bool) -> np.ndarray:
        """mu(s) in [-1, 1], plus the exploration noise unless ``deterministic``: (act,)."""
        action = self.actor(self.observation(state))[0].cpu().numpy()
        return action if deterministic else np.clip(action + self.noise(), -1.0, 1.0)

    def end_episode(self) -> None:
        """The episode is over: the noise process restarts (Ornstein-Uhlenbeck; Gaussian noise has no state)."""
        self.noise.reset()

    def store_transition(self, state, action: np.ndarray, reward: float, next_state, terminated: bool) -> None:
        """Step 6: (s, a, r, s', terminated) into D, with a mapped back to [-1, 1]."""
        self.memory.push(state, self.scaler.from_env(action), reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Step 7: every ``train_freq`` env steps once D holds ``learning_starts`` transitions, ``gradient_steps`` steps (8-12)."""
        cfg = self.cfg
        if self.sample_count % cfg.train_freq != 0 or len(self.memory) < min(cfg.learning_starts, cfg.buffer_size):
            return None
        lr = self.learning_rate(self.sample_count)
        if cfg.lr_end is not None:
            set_learning_rate(self.actor_optimizer, lr)
            set_learning_rate(self.critic_optimizer, lr)
        critic_loss = torch.zeros(())
        for _ in range(cfg.gradient_steps):
            batch = self.memory.sample(cfg.batch_size)  # step 8
            critic_loss += self.update_critic(batch)  # steps 9-10
            self.update_count += 1
            if self.actor_update_due():  # step 11
                self.actor_loss = self.update_actor(batch)
                self.update_targets()
        losses = torch.stack([critic_loss / cfg.gradient_steps, self.actor_loss]).tolist()  # one conversion per call
        return {"critic_loss": losses[0], "actor_loss": losses[1], **self.extra_stats(), "lr": lr}

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 9: y = r + gamma (1 - terminated) Q'(s', mu'(s')); shape (B,)."""
        assert self.actor_target is not None  # SAC, which keeps no target actor, overrides this step
        next_q = self.critic_target(batch.next_states, self.actor_target(batch.next_states))[0]  # (B,)
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q

    def update_critic(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 10: one Adam step on sum_i mean_j (Q_i(s_j, a_j) - y_j)^2; returns the loss, detached."""
        q_values = self.critic(batch.states, batch.actions)  # (n, B)
        loss = self.critic_loss(q_values, self.compute_target(batch))
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        return loss.detach()

    def critic_loss(self, q_values: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean squared errors of the n critics, summed (as SB3's DDPG and TD3)."""
        return (q_values - target).square().mean(dim=1).sum()

    def actor_update_due(self) -> bool:
        """Step 11 happens after every critic step (TD3: every ``policy_delay``-th)."""
        return True

    def update_actor(self, batch: TransitionBatch) -> torch.Tensor:
        """Step 11: one Adam step on -mean_j Q_1(s_j, mu(s_j)), the deterministic policy gradient; returns the loss."""
        with frozen(self.critic):  # the gradient reaches mu through a, no critic weight gradient is computed
            q_values = self.critic(batch.states, self.actor(batch.states), n=1)[0]  # (B,)
        loss = -q_values.mean()
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return loss.detach()

    def update_targets(self) -> None:
        """Step 12: theta' <- tau theta + (1 - tau) theta' for the critics and the actor."""
        soft_update(self.critic_target, self.critic, self.cfg.tau)
        assert self.actor_target is not None  # SAC, which keeps no target actor, overrides this step
        soft_update(self.actor_target, self.actor, self.cfg.tau)

    def extra_stats(self) -> dict[str, float]:
        """What ``update`` logs besides the losses and the step size (SAC: the entropy coefficient)."""
        return {}

    weights: ClassVar[tuple[str, ...]] = (
        "actor",
        "actor_target",
        "critic",
        "critic_target",
    )  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        """Networks, optimisers, the noise process and the counters: what a resumed run needs besides D."""
        state = {name: getattr(self, name).state_dict() for name in self.checkpointed}
        return {**state, "actor_loss": self.actor_loss, "sample_count": self.sample_count, "update_count": self.update_count}

    def load_state_dict(self, state: dict) -> None:
        for name in self.checkpointed:
            getattr(self, name).load_state_dict(state[name])
        self.actor_loss = state["actor_loss"]
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
