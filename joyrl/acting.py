"""The one acting path: the framework applies action masks and action scaling, around what the agent supplies.

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

An agent with Box actions that subclasses ``ScaledActions`` (DDPG, TD3, SAC) supplies
``unit_action(state, explore)``, an action in [-1, 1], exploring or deterministic; the framework's
``sample_action`` and ``predict_action`` map it to the env's bounds (``ActionScaler``, the one
place that does). The vector-env agents (PPO, A2C) act on a batch and keep their own acting, built
from the same pieces: ``joyrl.policies.categorical`` (the mask) and ``ActionScaler``.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, ClassVar, final

import numpy as np
import torch

from joyrl.contracts import BaseAgent
from joyrl.errors import ContractError
from joyrl.networks import ObservationTensor, legal_only, random_legal_action
from joyrl.policies import ActionScaler

FRAMEWORK_ACTING = ("sample_action", "predict_action")


def refuse_own_acting(cls: type, owner: str, why: str, hooks: str) -> None:
    """ContractError when ``cls`` defines the acting methods that ``owner`` (the framework's acting) keeps."""
    for name in FRAMEWORK_ACTING:
        if name in cls.__dict__:
            raise ContractError(
                f"{cls.__module__}.{cls.__name__} defines {name}, which joyrl.acting.{owner} owns ({why}); override {hooks} instead"
            )


class ScoredActions(BaseAgent, ABC):
    """Acting of a discrete-action agent from its action scores, masked by the framework."""

    masks_actions: ClassVar[bool] = True
    n_actions: int
    sample_count: int  # env steps taken with sample_action
    observation: ObservationTensor  # one observation as the networks' input

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_own_acting(cls, "ScoredActions", "it applies the action mask", "action_scores, exploration_epsilon or choose")

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
    def sample_action(self, state: Any) -> int:
        """The behaviour policy: a random legal action with probability ε, else ``choose`` among the legal scores."""
        self.sample_count += 1
        epsilon = self.exploration_epsilon()
        if epsilon is not None and random.random() < epsilon:
            # a plain observation has no mask: any action (one call less on every exploring step)
            return random_legal_action(self.n_actions, state) if type(state) is dict else random.randrange(self.n_actions)
        with torch.inference_mode():  # here, not around the method: a random action needs no torch at all
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


class ScaledActions(BaseAgent, ABC):
    """Acting of a Box-action agent whose actions live in [-1, 1]; the framework maps them to the env's bounds."""

    scaler: ActionScaler  # [-1, 1] <-> [low, high]
    sample_count: int  # env steps taken with sample_action

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_own_acting(cls, "ScaledActions", "it maps actions to the env's bounds", "unit_action")

    @abstractmethod
    def unit_action(self, state: Any, explore: bool) -> np.ndarray:
        """The action for ``state`` in [-1, 1]: the behaviour policy's (``explore``) or the deterministic one; (act,)."""

    @final
    def sample_action(self, state: Any) -> np.ndarray:
        """The behaviour policy, in env units."""
        self.sample_count += 1
        return self.scaler.to_env(self.unit_action(state, explore=True))

    @final
    def predict_action(self, state: Any) -> np.ndarray:
        """The deterministic policy, in env units."""
        return self.scaler.to_env(self.unit_action(state, explore=False))
