"""Expected Sarsa (van Seijen, van Hasselt, Whiteson & Wiering, 2009; Sutton & Barto, 2018, section 6.6).

Pseudocode: pseudocodes/ExpectedSarsa.md. Q-learning's agent (algos/QLearning/agent.py) with
one change: the target bootstraps from the expectation of Q(s', ·) under the ε-greedy
behaviour policy, Σ_a' π(a'|s') Q(s', a'), instead of its maximum. That is Sarsa's target
averaged over a', so it has Sarsa's on-policy fixed point without the variance of drawing a'.
"""

from __future__ import annotations

from algos.QLearning.agent import Agent as QLearningAgent


class Agent(QLearningAgent):
    def next_value(self, next_state: int) -> float:
        """Σ_a' π(a'|s') Q(s', a') = (1 - ε) max_a' Q(s', a') + ε mean_a' Q(s', a')  (pseudocode step 6).

        ε is the next env step's, the rate the action in s' will be drawn with.
        """
        return self.q.expectation(next_state, self.epsilon(self.sample_count + 1))
