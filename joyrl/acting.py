"""The one acting path of agents that score discrete actions: the framework applies the mask.

An agent that subclasses ``ScoredActions`` (the DQN family, SoftQ, SAC_D) supplies its scores
and its exploration; ``sample_action`` and ``predict_action`` are the framework's:

- ``action_scores(observation, explore)``: (1, A) scores of one observation (Q-values, expected
  Q-values, logits); ``explore`` tells a noisy network to draw fresh noise or to use its mean;
- ``exploration_epsilon()``: the probability of a uniformly random legal action this step
  (ε-greedy), or None for an agent that explores otherwise (no random draw is made);
- ``choose(scores)``: the exploring choice among the masked scores (default: the best one;
  Boltzmann or categorical sampling in SoftQ and SAC_D).

Illegal actions (an ``action_mask`` observation part, joyrl/networks.py) get the score -inf
before ``choose`` and the greedy argmax see them, and ε's random action is a legal one. A
subclass that defines ``sample_action`` or ``predict_action`` itself is refused when its class
is created, so no variant can act around the mask.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, ClassVar, final

import torch

from joyrl.contracts import BaseAgent
from joyrl.errors import ContractError
from joyrl.networks import ObservationTensor, legal_only, random_legal_action

FRAMEWORK_ACTING = ("sample_action", "predict_action")


class ScoredActions(BaseAgent, ABC):
    """Acting of a discrete-action agent from its action scores, masked by the framework."""

    masks_actions: ClassVar[bool] = True
    n_actions: int
    sample_count: int  # env steps taken with sample_action
    observation: ObservationTensor  # one observation as the networks' input

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in FRAMEWORK_ACTING:
            if name in cls.__dict__:
                raise ContractError(
                    f"{cls.__module__}.{cls.__name__} defines {name}, which joyrl.acting.ScoredActions owns "
                    "(it applies the action mask); override action_scores, exploration_epsilon or choose instead"
                )

    @abstractmethod
    def action_scores(self, observation: Any, explore: bool) -> torch.Tensor:
        """(1, A) scores of one observation, higher is better."""

    def exploration_epsilon(self) -> float | None:
        """ε of ε-greedy at this step, or None when the agent explores through ``choose`` or its network."""
        return None

    def choose(self, scores: torch.Tensor) -> int:
        """The exploring choice among (1, A) masked scores: by default the best legal action."""
        return int(scores.argmax())

    @final
    @torch.inference_mode()
    def sample_action(self, state: Any) -> int:
        """The behaviour policy: a random legal action with probability ε, else ``choose`` among the legal scores."""
        self.sample_count += 1
        epsilon = self.exploration_epsilon()
        if epsilon is not None and random.random() < epsilon:
            return random_legal_action(self.n_actions, state)
        observation = self.observation(state)
        return self.choose(legal_only(self.action_scores(observation, explore=True), observation))

    @final
    @torch.inference_mode()
    def predict_action(self, state: Any) -> int:
        """The greedy policy: the best-scored legal action."""
        observation = self.observation(state)
        return int(legal_only(self.action_scores(observation, explore=False), observation).argmax())


def sample_scores(scores: torch.Tensor) -> int:
    """An action drawn in proportion to softmax(scores) (1, A); -inf scores are never drawn."""
    return int(torch.multinomial(torch.softmax(scores, dim=1), 1))
