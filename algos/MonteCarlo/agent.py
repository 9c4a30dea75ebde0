"""On-policy Monte Carlo control with ε-soft policies (Sutton & Barto, 2018, sections 5.3-5.4).

Pseudocode: pseudocodes/MonteCarlo.md. The agent plays a whole episode ε-greedily, then walks
it backwards computing each return G_t = r_{t+1} + γ G_{t+1} and moves Q(s_t, a_t) towards G_t:
at the first visit of each pair only (``visit: first``) or at every visit, by the sample
average (α = 1/N(s, a)) or a constant ``lr``. Learning happens at the episode's end: in
``update`` after a terminal step, in ``end_episode`` after a truncation, where the return is
cut short: ``truncation: bootstrap`` ends it in the current estimate V(s_T) = Σ_a π(a|s_T) Q(s_T, a)
of the state it was cut at, ``discard`` learns nothing from the episode. With ``exploring_starts``
the trainer starts each episode in a random state and the first action is uniformly random.
The Q-table and visit counts are tensors (checkpoints load with ``weights_only=True``).
"""

from __future__ import annotations

import random

import numpy as np
import torch

from joyrl.contracts import BaseAgent
from joyrl.schedules import DecaySchedule
from joyrl.tabular import QTable


class Agent(BaseAgent):
    supported_observation_spaces = ("Discrete", "Tuple")  # Tuple: of Discrete parts, as one index (Blackjack-v1)
    supported_action_spaces = ("Discrete",)

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.n_actions = cfg.n_actions
        self.q = QTable(cfg.n_states, cfg.n_actions, cfg.q_init)  # Q(s, a) = q_init (pseudocode step 1)
        self.visits = torch.zeros((cfg.n_states, cfg.n_actions), dtype=torch.int64)  # N(s, a): returns averaged so far
        self.visit_counts = self.visits.numpy()  # the same memory
        self.epsilon = DecaySchedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay, cfg.epsilon_schedule)
        self.sample_count = 0  # env steps taken with sample_action
        self.episode: list[tuple[int, int, float]] = []  # (s_t, a_t, r_{t+1}) of the episode so far
        self.last_state = 0  # s_T, the state the stored steps lead to
        self.terminated = False  # whether s_T is terminal

    def sample_action(self, state: int) -> int:
        """ε-greedy with respect to Q (step 4); an exploring start's first action is uniformly random (step 3)."""
        self.sample_count += 1
        if self.cfg.exploring_starts and not self.episode:
            return random.randrange(self.n_actions)
        return self.q.epsilon_greedy(state, self.epsilon(self.sample_count))

    def predict_action(self, state: int) -> int:
        """Greedy action argmax_a Q(s, a)."""
        return self.q.greedy(state)

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Append (s_t, a_t, r_{t+1}) to the episode (step 4)."""
        self.episode.append((int(state), int(action), float(reward)))
        self.last_state, self.terminated = int(next_state), bool(terminated)

    def update(self) -> dict[str, float] | None:
        """Learn from the episode once it has terminated, with G_T = 0 (steps 5-8); nothing before that."""
        if not (self.terminated and self.episode):
            return None
        return self.learn_episode(0.0)

    def end_episode(self) -> None:
        """An episode truncated (or dropped) part-way: learn from it with G_T = V(s_T), or discard it (step 5)."""
        if self.episode and self.cfg.truncation == "bootstrap":
            self.learn_episode(self.q.expectation(self.last_state, self.epsilon(self.sample_count + 1)))
        self.episode.clear()

    def learn_episode(self, final_return: float) -> dict[str, float]:
        """Walk the episode backwards: G <- γ G + r_{t+1}; Q(s_t, a_t) += α (G - Q(s_t, a_t)) at the chosen visits (steps 6-8)."""
        first_visit: dict[tuple[int, int], int] = {}
        for t, (state, action, _) in enumerate(self.episode):
            first_visit.setdefault((state, action), t)
        q, counts, gamma = self.q.values, self.visit_counts, self.cfg.gamma
        ret, errors = final_return, []  # G, from the end backwards
        for t in range(len(self.episode) - 1, -1, -1):
            state, action, reward = self.episode[t]
            ret = gamma * ret + reward  # G_t (step 6)
            if self.cfg.visit == "every" or first_visit[(state, action)] == t:  # step 7
                counts[state, action] += 1
                alpha = 1.0 / counts[state, action] if self.cfg.lr is None else self.cfg.lr
                error = ret - q[state, action]
                q[state, action] += alpha * error  # step 8
                errors.append(abs(error))
        self.episode.clear()
        return {"return_error": float(np.mean(errors)), "epsilon": self.epsilon(self.sample_count)}

    weights = ("q_table", "visits")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        states, actions, rewards = zip(*self.episode, strict=True) if self.episode else ((), (), ())
        return {
            "q_table": self.q.tensor.clone(),
            "visits": self.visits.clone(),
            "sample_count": self.sample_count,
            # the steps of an episode stopped part-way, learned from when it ends after a resume
            "episode_states": torch.tensor(states, dtype=torch.int64),
            "episode_actions": torch.tensor(actions, dtype=torch.int64),
            "episode_rewards": torch.tensor(rewards, dtype=torch.float64),
            "last_state": self.last_state,
            "terminated": self.terminated,
        }

    def load_state_dict(self, state: dict) -> None:
        self.q.load(state["q_table"])
        self.visits.copy_(state["visits"])
        self.sample_count = state["sample_count"]
        self.episode = list(
            zip(
                state["episode_states"].tolist(),
                state["episode_actions"].tolist(),
                state["episode_rewards"].tolist(),
                strict=True,
            )
        )
        self.last_state, self.terminated = state["last_state"], state["terminated"]
