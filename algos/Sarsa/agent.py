"""Sarsa: on-policy TD(0) control (Rummery & Niranjan, 1994; Sutton & Barto, 2018, section 6.4).

Pseudocode: pseudocodes/Sarsa.md. Q-learning's agent (algos/QLearning/agent.py) with one
change: the target bootstraps from Q(s', a') for the action a' the agent will really take
next, drawn ε-greedily when the transition is stored, instead of max_a' Q(s', a'). The step
loop is the framework's: ``store_transition`` draws a', ``update`` learns from it and the
next ``sample_action`` returns it. At a truncation a' is drawn for the bootstrap and then
dropped by ``end_episode``; a terminal transition draws none.
"""

from __future__ import annotations

from algos.QLearning.agent import Agent as QLearningAgent


class Agent(QLearningAgent):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.next_action: int | None = None  # a', drawn in s' by store_transition, taken by the next sample_action

    def sample_action(self, state: int) -> int:
        """a' when one is pending (pseudocode step 8), else ε-greedy in the episode's first state (step 4)."""
        self.sample_count += 1
        if self.next_action is not None:
            action, self.next_action = self.next_action, None
            return action
        return self.q.epsilon_greedy(state, self.epsilon(self.sample_count))

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Keep (s, a, r, s', terminated) and draw a' ε-greedily in s' unless s' is terminal (steps 5-6).

        a' is taken at the next env step, so it is drawn with that step's ε.
        """
        super().store_transition(state, action, reward, next_state, terminated)
        if not terminated:
            self.next_action = self.q.epsilon_greedy(int(next_state), self.epsilon(self.sample_count + 1))

    def next_value(self, next_state: int) -> float:
        """Sarsa's bootstrap: Q(s', a') for the a' drawn in ``store_transition`` (step 7)."""
        return float(self.q.values[next_state, self.next_action])

    def end_episode(self) -> None:
        """Drop the a' drawn for a truncated (or dropped) episode's last state: the next episode starts afresh."""
        self.next_action = None

    def state_dict(self) -> dict:
        next_action = -1 if self.next_action is None else self.next_action  # an episode stopped part-way keeps its a'
        return {**super().state_dict(), "next_action": next_action}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.next_action = None if state["next_action"] < 0 else int(state["next_action"])
