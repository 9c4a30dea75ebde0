"""Rainbow (Hessel et al., 2018, "Rainbow: Combining Improvements in Deep Reinforcement Learning", AAAI).

Pseudocode: pseudocodes/RainbowDQN.md. Six extensions of DQN in one agent, each from a shared piece:
a dueling (``DuelingHead``), distributional (C51's atoms, ``categorical_projection``) head whose streams
are noisy linear layers (``NoisyLinear``, joyrl/heads.py); n-step returns (``NStepAccumulator``,
joyrl/nstep.py) stored in a prioritised replay memory (``PrioritizedReplayBuffer``, joyrl/prioritized.py)
whose priorities are the per-sample cross-entropy losses; and the double-DQN target (the online network
picks a*, the target network's distribution at a* is projected). No epsilon-greedy: the agent acts
greedily under noise resampled every env step; ``predict_action`` uses the mean weights. Beyond the
paper, DQN's extras: gradient-norm clipping, ``gradient_steps`` gradient steps every ``train_freq`` env
steps, an annealed learning rate, bootstrapping through time-limit truncations (n-step included).
A class of its own rather than a subclass of DQN's agent, whose constructor reads the epsilon keys.
"""

from __future__ import annotations

import copy
from functools import partial

import numpy as np
import torch
from torch import nn

from joyrl.heads import DuelingHead, NoisyLinear, categorical_projection, expected_q, reset_noise
from joyrl.networks import ObservationTensor, build_body
from joyrl.nstep import NStepAccumulator, NStepTransition
from joyrl.prioritized import PrioritizedBatch, PrioritizedReplayBuffer
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update


class Agent:
    supported_observation_spaces = ("Box",)
    supported_action_spaces = ("Discrete",)

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.n_actions = cfg.n_actions
        # D: prioritised replay of n-step transitions, fed by the n-step accumulator (pseudocode step 1)
        self.memory = PrioritizedReplayBuffer(
            cfg.buffer_size, (cfg.n_states,), device=self.device, alpha=cfg.alpha, eps=cfg.priority_eps
        )
        self.nstep = NStepAccumulator(cfg.n_steps, cfg.gamma)
        # Step 2: the support z_i (N,) and the network: body, then noisy dueling streams giving atom logits (B, A, N)
        self.support = torch.linspace(cfg.v_min, cfg.v_max, cfg.n_atoms, device=self.device)
        body, width = build_body(cfg.value_layers, cfg.n_states)
        noisy = partial(NoisyLinear, sigma0=cfg.sigma0)
        head = DuelingHead(width, cfg.n_actions, cfg.stream_size, n_atoms=cfg.n_atoms, linear=noisy)
        self.policy_net = nn.Sequential(body, head).to(self.device)  # p_i(s, a, ε; θ) = softmax_i of the logits
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)  # p_i(s, a, ε'; θ⁻), its own noise
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=cfg.lr, fused=True)  # one kernel per step
        self.observation = ObservationTensor((cfg.n_states,), self.device)
        # α_t: constant, or annealed linearly to lr_end over lr_decay env steps (by default the whole budget)
        lr_end, lr_decay = (cfg.lr, 1) if cfg.lr_end is None else (cfg.lr_end, cfg.lr_decay or cfg.max_env_steps)
        self.learning_rate = DecaySchedule(cfg.lr, lr_end, lr_decay, "linear")
        # β_t: annealed linearly from beta_start to beta_end over beta_decay env steps (by default the whole budget)
        self.beta = DecaySchedule(cfg.beta_start, cfg.beta_end, cfg.beta_decay or cfg.max_env_steps, "linear")
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken

    @torch.inference_mode()
    def sample_action(self, state: np.ndarray) -> int:
        """Behaviour policy: argmax_a Σ_i z_i p_i(s, a, ε; θ) under noise ε drawn for this step (pseudocode step 4)."""
        self.sample_count += 1
        reset_noise(self.policy_net)
        return int(expected_q(self.policy_net(self.observation(state)), self.support).argmax())

    @torch.inference_mode()
    def predict_action(self, state: np.ndarray) -> int:
        """Greedy action under the mean weights, argmax_a Σ_i z_i p_i(s, a; µ): deterministic, for evaluation."""
        self.policy_net.eval()  # NoisyLinear uses µ alone in eval mode
        action = int(expected_q(self.policy_net(self.observation(state)), self.support).argmax())
        self.policy_net.train()
        return action

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Step 6: one step into the n-step accumulator; the n-step transitions it completes go into D."""
        self.store(self.nstep.push(state, action, reward, next_state, terminated))

    def end_episode(self) -> None:
        """Step 6 at a truncation (called by the step loop at every episode end): store the pending steps, bootstrapping."""
        self.store(self.nstep.end_episode())

    def update(self) -> dict[str, float] | None:
        """Every ``train_freq`` steps once D holds ``learning_starts`` transitions: ``gradient_steps`` steps (7-13).

        Counting D rather than env steps makes a run resumed without its replay memory refill it first.
        """
        if self.sample_count % self.cfg.train_freq != 0 or len(self.memory) < min(self.cfg.learning_starts, self.cfg.buffer_size):
            return None
        lr, beta = self.learning_rate(self.sample_count), self.beta(self.sample_count)
        set_learning_rate(self.optimizer, lr)
        total_loss = 0.0
        for _ in range(self.cfg.gradient_steps):
            batch = self.memory.sample(self.cfg.batch_size, beta)  # step 8, with weights w_j: (B,)
            reset_noise(self.policy_net)  # ε for the online network (step 9)
            reset_noise(self.target_net)  # ε' for the target network, independent of ε (step 9)
            rows = torch.arange(len(batch.actions), device=self.device)
            log_probs = self.policy_net(batch.states)[rows, batch.actions].log_softmax(dim=1)  # log p_i(s_j, a_j; θ): (B, N)
            losses = -(self.compute_target(batch) * log_probs).sum(dim=1)  # cross-entropy L_j = -Σ_i m_i log p_i: (B,)
            loss = (batch.weights * losses).mean()  # step 11
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy_net.parameters(), self.cfg.max_grad_norm)
            self.optimizer.step()
            self.memory.update_priorities(batch.indices, losses.detach())  # p_j <- L_j + ε (step 12)
            self.update_count += 1
            if self.update_count % self.cfg.target_update == 0:
                soft_update(self.target_net, self.policy_net, self.cfg.tau)  # θ⁻ <- θ, µ and σ (step 13)
            total_loss += loss.detach()
        return {"loss": float(total_loss) / self.cfg.gradient_steps, "lr": lr, "beta": beta}

    @torch.no_grad()
    def compute_target(self, batch: PrioritizedBatch) -> torch.Tensor:
        """m: R + γ^n (1 - terminated) z under θ⁻ at the online argmax a*, projected onto the support (step 10); (B, N)."""
        next_actions = expected_q(self.policy_net(batch.next_states), self.support).argmax(dim=1)  # a* by θ (double): (B,)
        rows = torch.arange(len(next_actions), device=self.device)
        next_probs = self.target_net(batch.next_states)[rows, next_actions].softmax(dim=1)  # p_j(s', a*; θ⁻): (B, N)
        return categorical_projection(next_probs, batch.rewards, batch.terminated, batch.discounts, self.support)

    def store(self, transitions: list[NStepTransition]) -> None:
        """Push n-step transitions (s_t, a_t, R_t, s_{t+m}, terminated, γ^m) into D at the largest priority so far."""
        for transition in transitions:
            self.memory.push(*transition)

    def state_dict(self) -> dict:
        return {
            "policy_net": self.policy_net.state_dict(),
            "target_net": self.target_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "nstep": self.nstep.state_dict(),  # the pending steps of an episode stopped part-way
            "sample_count": self.sample_count,
            "update_count": self.update_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy_net.load_state_dict(state["policy_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.nstep.load_state_dict(state["nstep"])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
        set_learning_rate(self.optimizer, self.learning_rate(self.sample_count))
