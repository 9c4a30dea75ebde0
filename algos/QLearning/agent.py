"""Tabular Q-learning (Watkins, 1989; Sutton & Barto, 2018, section 6.5).

Pseudocode: pseudocodes/QLearning.md. The Q-table (joyrl/tabular.py) is a torch tensor so
that the checkpoint loads with ``weights_only=True``; the update itself is plain indexing.
Greedy ties are broken towards the lowest action index, so ``predict_action`` is
deterministic. Sarsa, Expected Sarsa and Dyna-Q subclass this agent: they change
``next_value`` (the bootstrap term) or add to ``update``.
"""

from __future__ import annotations

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
        self.epsilon = DecaySchedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay, cfg.epsilon_schedule)
        self.sample_count = 0  # env steps taken with sample_action
        self.transition: tuple | None = None  # the last (s, a, r, s', terminated): Q-learning's one-step memory

    def sample_action(self, state: int) -> int:
        """Epsilon-greedy with respect to Q (pseudocode step 4)."""
        self.sample_count += 1
        return self.q.epsilon_greedy(state, self.epsilon(self.sample_count))

    def predict_action(self, state: int) -> int:
        """Greedy action argmax_a Q(s, a)."""
        return self.q.greedy(state)

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Keep the transition the next ``update`` learns from (pseudocode step 5)."""
        self.transition = (int(state), int(action), float(reward), int(next_state), bool(terminated))

    def update(self) -> dict[str, float] | None:
        """Q(s,a) <- Q(s,a) + α [r + γ (1 - terminated) max_a' Q(s',a') - Q(s,a)]  (pseudocode step 6)."""
        if self.transition is None:
            return None
        td_error = self.td_update(*self.transition)
        self.transition = None
        return {"td_error": abs(td_error), "epsilon": self.epsilon(self.sample_count)}

    def td_update(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> float:
        """One TD(0) step on Q(s, a) towards r + γ (1 - terminated) next_value(s'); returns the TD error δ."""
        target = reward if terminated else reward + self.cfg.gamma * self.next_value(next_state)
        td_error = target - float(self.q.values[state, action])
        self.q.values[state, action] += self.cfg.lr * td_error
        return td_error

    def next_value(self, next_state: int) -> float:
        """Q-learning's bootstrap: max_a' Q(s', a'), the greedy action's value whatever is done next."""
        return self.q.max(next_state)

    weights = ("q_table",)  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        return {"q_table": self.q.tensor.clone(), "sample_count": self.sample_count}

    def load_state_dict(self, state: dict) -> None:
        self.q.load(state["q_table"])
        self.sample_count = state["sample_count"]
