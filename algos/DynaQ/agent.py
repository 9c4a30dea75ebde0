"""Dyna-Q and Dyna-Q+ (Sutton, 1990; Sutton & Barto, 2018, sections 8.2-8.3).

Pseudocode: pseudocodes/DynaQ.md. Q-learning's agent (algos/QLearning/agent.py) plus a
learned model of the env and ``planning_steps`` simulated Q-learning updates from it after
every real step. The model is deterministic: a dict (s, a) -> (r, s', terminated) keeping the
last outcome seen; on a stochastic env (slippery FrozenLake) it plans with whichever outcome
came last, a noisy stand-in for the true distribution. ``kappa`` > 0 makes it Dyna-Q+: planning
adds κ√τ to the reward, τ the real env steps since (s, a) was last tried, and may also pick the
untried actions of an observed state, modelled as leading back to the same state with reward 0.
Checkpoints hold the model as tensors, in the order it was learned, so they load with
``weights_only=True`` and a resumed run plans exactly as the uninterrupted one.
"""

from __future__ import annotations

import math
import random

import torch

from algos.QLearning.agent import Agent as QLearningAgent


class Agent(QLearningAgent):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.model: dict[tuple[int, int], tuple[float, int, bool]] = {}  # Model(s, a) = (r, s', terminated) (step 1)
        self.last_tried: dict[tuple[int, int], int] = {}  # the real env step (s, a) was last tried at: τ's origin
        self.observed_states: list[int] = []  # states in the model, in the order first seen
        self.actions_taken: dict[int, list[int]] = {}  # s -> the actions in the model for s, in the order first seen

    def update(self) -> dict[str, float] | None:
        """Direct Q-learning update (step 5), model learning (step 6), then ``planning_steps`` planning updates (step 7)."""
        if self.transition is None:
            return None
        transition = self.transition
        stats = super().update()
        self.learn_model(*transition)
        for _ in range(self.cfg.planning_steps):
            self.plan()
        return stats

    def learn_model(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> None:
        """Model(s, a) <- r, s', terminated: the last outcome replaces any earlier one (step 6)."""
        if state not in self.actions_taken and self.cfg.kappa > 0:
            for untried in range(self.n_actions):  # Dyna-Q+: every action of s may be planned, untried ones as self-loops
                self.remember(state, untried, (0.0, state, False), last_tried=0)
        self.remember(state, action, (reward, next_state, terminated), last_tried=self.sample_count)

    def plan(self) -> None:
        """One planning update: a random observed s, a random a taken in s, Q-learning on Model(s, a) (step 7)."""
        state = random.choice(self.observed_states)
        action = random.choice(self.actions_taken[state])
        reward, next_state, terminated = self.model[state, action]
        if self.cfg.kappa > 0:  # Dyna-Q+'s bonus κ√τ
            reward += self.cfg.kappa * math.sqrt(self.sample_count - self.last_tried[state, action])
        self.td_update(state, action, reward, next_state, terminated)

    def remember(self, state: int, action: int, outcome: tuple[float, int, bool], last_tried: int) -> None:
        """Write Model(s, a) and τ's origin, keeping the lists planning draws from."""
        if state not in self.actions_taken:
            self.observed_states.append(state)
            self.actions_taken[state] = []
        if (state, action) not in self.model:
            self.actions_taken[state].append(action)
        self.model[state, action] = outcome
        self.last_tried[state, action] = last_tried

    def state_dict(self) -> dict:
        pairs = list(self.model)  # in the order learned, which fixes the planning lists' order
        outcomes = [self.model[pair] for pair in pairs]
        return {
            **super().state_dict(),
            "model_pairs": torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2),  # (K, 2): s, a
            "model_rewards": torch.tensor([reward for reward, _, _ in outcomes], dtype=torch.float64),
            "model_next_states": torch.tensor([next_state for _, next_state, _ in outcomes], dtype=torch.int64),
            "model_terminated": torch.tensor([terminated for _, _, terminated in outcomes], dtype=torch.bool),
            "model_last_tried": torch.tensor([self.last_tried[pair] for pair in pairs], dtype=torch.int64),
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.model, self.last_tried, self.observed_states, self.actions_taken = {}, {}, [], {}
        rows = zip(
            state["model_pairs"].tolist(),
            state["model_rewards"].tolist(),
            state["model_next_states"].tolist(),
            state["model_terminated"].tolist(),
            state["model_last_tried"].tolist(),
            strict=True,
        )
        for (s, a), reward, next_state, terminated, last_tried in rows:
            self.remember(s, a, (reward, next_state, terminated), last_tried)
