"""Tabular Q-learning (Watkins, 1989; Sutton & Barto, 2018, section 6.5).

Pseudocode: pseudocodes/QLearning.md. The Q-table is a torch tensor so that the
checkpoint loads with ``weights_only=True``; the update itself is plain indexing.
Greedy ties are broken towards the lowest action index, so ``predict_action`` is
deterministic.
"""

from __future__ import annotations

import random

import torch

from joyrl.schedules import DecaySchedule


class Agent:
    supported_observation_spaces = ("Discrete",)
    supported_action_spaces = ("Discrete",)

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.n_actions = cfg.n_actions
        self.q_table = torch.full((cfg.n_states, cfg.n_actions), cfg.q_init, dtype=torch.float64)  # Q(s, a)
        self.epsilon = DecaySchedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay, cfg.epsilon_schedule)
        self.sample_count = 0  # env steps taken with sample_action
        self.transition: tuple | None = None  # the last (s, a, r, s', terminated): Q-learning's one-step memory

    def sample_action(self, state: int) -> int:
        """Epsilon-greedy with respect to Q (pseudocode step 4)."""
        self.sample_count += 1
        if random.random() < self.epsilon(self.sample_count):
            return random.randrange(self.n_actions)
        return self.predict_action(state)

    def predict_action(self, state: int) -> int:
        """Greedy action argmax_a Q(s, a)."""
        return int(self.q_table[int(state)].argmax())

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Keep the transition the next ``update`` learns from (pseudocode step 5)."""
        self.transition = (int(state), int(action), float(reward), int(next_state), bool(terminated))

    def update(self) -> dict[str, float] | None:
        """Q(s,a) <- Q(s,a) + α [r + γ (1 - terminated) max_a' Q(s',a') - Q(s,a)]  (pseudocode step 6)."""
        if self.transition is None:
            return None
        state, action, reward, next_state, terminated = self.transition
        self.transition = None
        target = reward if terminated else reward + self.cfg.gamma * float(self.q_table[next_state].max())
        td_error = target - float(self.q_table[state, action])
        self.q_table[state, action] += self.cfg.lr * td_error
        return {"td_error": abs(td_error), "epsilon": self.epsilon(self.sample_count)}

    def state_dict(self) -> dict:
        return {"q_table": self.q_table.clone(), "sample_count": self.sample_count}

    def load_state_dict(self, state: dict) -> None:
        if state["q_table"].shape != self.q_table.shape:
            raise ValueError(
                f"Q-table shape {tuple(state['q_table'].shape)} does not match this env's {tuple(self.q_table.shape)}"
            )
        self.q_table = state["q_table"].clone()
        self.sample_count = state["sample_count"]
