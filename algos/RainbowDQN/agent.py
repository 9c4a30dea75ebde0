"""Rainbow (Hessel et al., 2018, "Rainbow: Combining Improvements in Deep Reinforcement Learning", AAAI).

Pseudocode: pseudocodes/RainbowDQN.md. Six extensions of DQN (algos/DQN/agent.py) in one agent, each
from a shared piece: a dueling (``DuelingHead``), distributional (C51's atoms, ``categorical_projection``)
head whose streams are noisy linear layers (``NoisyLinear``, joyrl/heads.py); n-step returns
(``NStepAccumulator``, joyrl/nstep.py) stored in a prioritised replay memory (``PrioritizedReplayBuffer``,
joyrl/prioritized.py) whose priorities are the per-sample cross-entropy losses; and the double-DQN target
(the online network picks a*, the target network's distribution at a* is projected). No epsilon-greedy
(its config has no epsilon keys): the agent acts greedily under noise resampled every env step;
``predict_action`` uses the mean weights. DQN's update loop is kept, with its extras: gradient-norm
clipping, ``gradient_steps`` gradient steps every ``train_freq`` env steps, an annealed learning rate,
bootstrapping through time-limit truncations (n-step included).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from algos.DQN.agent import Agent as DQNAgent
from joyrl.heads import DuelingHead, NoisyLinear, categorical_projection, expected_q, noisy_forward, reset_noise
from joyrl.networks import ObservationTensor, Shape, build_body, legal_only
from joyrl.nstep import NStepAccumulator, NStepTransition
from joyrl.prioritized import PrioritizedBatch, PrioritizedReplayBuffer
from joyrl.schedules import DecaySchedule


class Agent(DQNAgent):
    memory: PrioritizedReplayBuffer  # D, prioritised, of n-step transitions
    ray_workers = "episodes"  # mp_backend ray: whole episodes, so each n-step return stays within one worker's episode

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.nstep = NStepAccumulator(cfg.n_steps, cfg.gamma)  # feeds D with n-step transitions (pseudocode step 1)
        self.support = torch.linspace(cfg.v_min, cfg.v_max, cfg.n_atoms, device=self.device)  # z_i: (N,), step 2
        # β_t: annealed linearly from beta_start to beta_end over beta_decay env steps (by default the whole budget)
        self.beta = DecaySchedule(cfg.beta_start, cfg.beta_end, cfg.beta_decay or cfg.max_env_steps, "linear")

    def build_network(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> nn.Sequential:
        """Step 2: the body, then noisy dueling streams giving atom logits (B, A, N); p_i(s, a, ε; θ) is their softmax.

        The target network, DQN's copy of it, draws noise of its own: p_i(s, a, ε'; θ⁻).
        """
        cfg = self.cfg
        body, width = build_body(cfg.value_layers, obs_shape, input_dtype=obs_dtype)
        noisy = partial(NoisyLinear, sigma0=cfg.sigma0)
        return nn.Sequential(body, DuelingHead(width, self.n_actions, cfg.stream_size, n_atoms=cfg.n_atoms, linear=noisy))

    def build_memory(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> PrioritizedReplayBuffer:
        """Step 1: D, prioritised replay of n-step transitions."""
        cfg = self.cfg
        return PrioritizedReplayBuffer(
            cfg.buffer_size, obs_shape, obs_dtype=obs_dtype, device=self.device, alpha=cfg.alpha, eps=cfg.priority_eps
        )

    def init_exploration(self) -> None:
        """No ε-greedy: the noise in the network explores (step 4)."""

    def exploration_epsilon(self) -> None:
        """No ε-greedy: the framework acts greedily on the noisy scores (step 4)."""
        return None

    def action_scores(self, observation: ObservationTensor, explore: bool) -> torch.Tensor:
        """Σ_i z_i p_i(s, a, ε; θ) under noise ε drawn for this step (step 4), or under the mean weights µ (greedy)."""
        return expected_q(noisy_forward(self.policy_net, observation, explore), self.support)

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Step 6: one step into the n-step accumulator; the n-step transitions it completes go into D."""
        self.store(self.nstep.push(state, action, reward, next_state, terminated))

    def end_episode(self) -> None:
        """Step 6 at a truncation (called by the step loop at every episode end): store the pending steps, bootstrapping."""
        self.store(self.nstep.end_episode())

    def sample_batch(self) -> PrioritizedBatch:
        """Step 8: ``batch_size`` n-step transitions drawn in proportion to p_j^α, with their weights w_j (B,)."""
        return self.memory.sample(self.cfg.batch_size, self.beta(self.sample_count))

    # narrower than DQN's hook on purpose: DQN's update passes it what sample_batch returns, a PrioritizedBatch
    def gradient_step(self, batch: PrioritizedBatch) -> torch.Tensor:  # type: ignore[override]
        """Steps 9-12: fresh noise, the weighted cross-entropy, one gradient step, then the new priorities."""
        reset_noise(self.policy_net)  # ε for the online network (step 9)
        reset_noise(self.target_net)  # ε' for the target network, independent of ε (step 9)
        rows = torch.arange(len(batch.actions), device=self.device)
        log_probs = self.policy_net(batch.states)[rows, batch.actions].log_softmax(dim=1)  # log p_i(s_j, a_j; θ): (B, N)
        losses = -(self.compute_target(batch) * log_probs).sum(dim=1)  # cross-entropy L_j = -Σ_i m_i log p_i: (B,)
        loss = (batch.weights * losses).mean()  # step 11
        self.step_optimizer(loss)
        self.memory.update_priorities(batch.indices, losses.detach())  # p_j <- L_j + ε (step 12)
        return loss.detach()

    # narrower than DQN's hook on purpose: only the gradient_step above calls it
    @torch.no_grad()
    def compute_target(self, batch: PrioritizedBatch) -> torch.Tensor:  # type: ignore[override]
        """m: R + γ^n (1 - terminated) z under θ⁻ at the online argmax a* (a legal one), projected onto the support (step 10); (B, N)."""
        next_q = legal_only(expected_q(self.policy_net(batch.next_states), self.support), batch.next_states)  # legal a' only
        next_actions = next_q.argmax(dim=1)  # a* by θ (double): (B,)
        rows = torch.arange(len(next_actions), device=self.device)
        next_probs = self.target_net(batch.next_states)[rows, next_actions].softmax(dim=1)  # p_j(s', a*; θ⁻): (B, N)
        return categorical_projection(next_probs, batch.rewards, batch.terminated, batch.discounts, self.support)

    def extra_stats(self) -> dict[str, float]:
        """β_t (no ε: the noise explores)."""
        return {"beta": self.beta(self.sample_count)}

    def store(self, transitions: list[NStepTransition]) -> None:
        """Push n-step transitions (s_t, a_t, R_t, s_{t+m}, terminated, γ^m) into D at the largest priority so far."""
        for transition in transitions:
            self.memory.push(*transition)

    def state_dict(self) -> dict:
        """DQN's, and the pending steps of an episode stopped part-way."""
        return super().state_dict() | {"nstep": self.nstep.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.nstep.load_state_dict(state["nstep"])
