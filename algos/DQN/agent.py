"""Deep Q-Network (Mnih et al., 2015, "Human-level control through deep reinforcement learning").

Pseudocode: pseudocodes/DQN.md. Beyond the paper: the Huber loss, gradient-norm
clipping, several gradient steps every ``train_freq`` env steps (as in RL Zoo), a
learning rate annealed linearly (to 0 over the budget by default), bootstrapping
through time-limit truncations (only ``terminated`` stops the target), and Dict observations
with legal-action masks: ε-greedy and the greedy policy choose among the legal actions, and
the target's max over a' among those of s' (the ``action_mask`` part, joyrl/networks.py).

The DQN family (DoubleDQN, DuelingDQN, NoisyDQN, PER_DQN, C51, RainbowDQN, DQN_CNN) subclasses
this agent and overrides only the steps that differ: ``build_network`` (step 2), ``build_memory``
(step 1), ``init_exploration`` (step 4), ``sample_batch`` (step 8), ``compute_target`` (step 9),
``gradient_step`` (step 10) and ``extra_stats`` (what ``update`` logs besides the loss and step size).
Acting is the framework's (joyrl/acting.py, ``ScoredActions``): the agent gives its Q-values
(``action_scores``) and ε (``exploration_epsilon``); the framework masks illegal actions and picks.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from joyrl.acting import ScoredActions
from joyrl.buffers import ReplayBuffer, TransitionBatch
from joyrl.contracts import RayWorkers
from joyrl.networks import ObservationTensor, Shape, build_mlp, legal_only, observation_format
from joyrl.optim import clip_grad_norm
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update


class Agent(ScoredActions):
    supported_observation_spaces: ClassVar[tuple[str, ...]] = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete",)
    learns_offline = True  # offline DQN: update() learns as well from a memory filled from a dataset
    ray_workers: ClassVar[RayWorkers] = "transitions"  # mp_backend ray: workers stream transitions into D (joyrl/distributed.py)
    memory: ReplayBuffer  # D

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.n_actions = cfg.n_actions
        obs_shape, obs_dtype = self.observation_format()  # of the network's input and D's entries
        self.policy_net = self.build_network(obs_shape, obs_dtype).to(self.device)  # Q(s, a; θ) (step 2)
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)  # Q(s, a; θ⁻)
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=cfg.lr, fused=True)  # one kernel per step
        self.observation = ObservationTensor(obs_shape, self.device, obs_dtype)
        self.memory = self.build_memory(obs_shape, obs_dtype)  # D (step 1)
        self.init_exploration()
        # α_t: constant, or annealed linearly to lr_end over lr_decay env steps (by default the whole budget)
        lr_end, lr_decay = (cfg.lr, 1) if cfg.lr_end is None else (cfg.lr_end, cfg.lr_decay or cfg.max_env_steps)
        self.learning_rate = DecaySchedule(cfg.lr, lr_end, lr_decay, "linear")
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken

    def build_network(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> nn.Sequential:
        """Step 2: an MLP with the hidden layers of ``value_layers`` and one output per action: Q-values (B, A)."""
        return build_mlp(self.cfg.value_layers, obs_shape, self.n_actions, input_dtype=obs_dtype)

    def build_memory(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> ReplayBuffer:
        """Step 1: a uniform replay ring of ``buffer_size`` transitions."""
        return ReplayBuffer(self.cfg.buffer_size, obs_shape, obs_dtype=obs_dtype, device=self.device)

    def init_exploration(self) -> None:
        """ε_t of the ε-greedy behaviour policy (step 4), from epsilon_start to epsilon_end along epsilon_schedule."""
        cfg = self.cfg
        self.epsilon = DecaySchedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay, cfg.epsilon_schedule)

    def exploration_epsilon(self) -> float | None:
        """ε_t of the ε-greedy behaviour policy (pseudocode step 4); the framework draws a legal random action."""
        return self.epsilon(self.sample_count)

    def action_scores(self, observation: ObservationTensor, explore: bool) -> torch.Tensor:
        """Q(s, a; θ) for every action: (1, A); the framework masks the illegal ones and takes the argmax."""
        return self.policy_net(observation)

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
        total_loss: float | torch.Tensor = 0.0
        for _ in range(self.cfg.gradient_steps):
            batch = self.sample_batch()  # step 8
            total_loss += self.gradient_step(batch)  # steps 9-10
            self.update_count += 1
            if self.update_count % self.cfg.target_update == 0:
                soft_update(self.target_net, self.policy_net, self.cfg.tau)  # θ⁻ <- θ (step 11)
        return {"loss": float(total_loss) / self.cfg.gradient_steps, **self.extra_stats(), "lr": lr}

    def sample_batch(self) -> TransitionBatch:
        """Step 8: ``batch_size`` transitions from D, uniformly with replacement."""
        return self.memory.sample(self.cfg.batch_size)

    def gradient_step(self, batch: TransitionBatch) -> torch.Tensor:
        """Steps 9-10: one gradient step on the Huber loss between Q(s_j, a_j; θ) and y_j; returns the loss, detached."""
        q_values = self.policy_net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # (B,)
        loss = F.smooth_l1_loss(q_values, self.compute_target(batch))
        self.step_optimizer(loss)
        return loss.detach()

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """y = r + γ (1 - terminated) max_a' Q(s', a'; θ⁻), a' legal in s'  (pseudocode step 9); shape (B,)."""
        next_q = legal_only(self.target_net(batch.next_states), batch.next_states).max(dim=1).values
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q

    def step_optimizer(self, loss: torch.Tensor) -> None:
        """One Adam step on ``loss`` at step size α_t, the gradient's global norm clipped to ``max_grad_norm`` (step 10)."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm(self.policy_net.parameters(), self.cfg.max_grad_norm)
        self.optimizer.step()

    def extra_stats(self) -> dict[str, float]:
        """What ``update`` logs besides the loss and the step size: ε_t."""
        return {"epsilon": self.epsilon(self.sample_count)}

    def observation_format(self) -> tuple[tuple[int, ...], type] | tuple[dict, dict]:
        """Shape and dtype of one observation in the Q-network's input and in D (``joyrl.networks.observation_format``).

        Box: flat float32 (``n_states``,); Discrete and MultiDiscrete: indices in D, one-hot at the network's
        input; MultiBinary: float bits. A Dict observation keeps those ``value_layers`` names and its action mask.
        """
        return observation_format(self.cfg, keep_mask=True)

    weights = ("policy_net", "target_net")  # what a fine-tune takes from a checkpoint

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
