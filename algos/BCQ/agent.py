"""Batch-Constrained deep Q-learning: offline Q-learning that only trusts actions like the data's.

Pseudocode: pseudocodes/BCQ.md. One name for the two algorithms of the BCQ papers, picked by the
env's action space when the agent is built:

- Discrete actions: ``DiscreteBCQ`` (algos/BCQ/discrete.py; Fujimoto, Conti, Ghavamzadeh and
  Pineau, 2019), a Q-network whose argmax is restricted to the actions a behaviour-cloning network
  finds likely enough (steps D1-D9);
- Box actions: ``ContinuousBCQ`` (algos/BCQ/continuous.py; Fujimoto, Meger and Precup, 2019), a
  VAE that generates the data's actions, a small perturbation of them and twin critics (steps
  C1-C10).

``Agent(cfg)`` returns an instance of the one that fits; the class attributes below are what the
framework reads before building it (the spaces at start-up, ``--list``, the offline check).
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces

from algos.BCQ.continuous import ContinuousBCQ
from algos.BCQ.discrete import DiscreteBCQ
from joyrl.contracts import BaseAgent


class Agent(BaseAgent):
    supported_observation_spaces = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete", "Box")
    # Dict: with Discrete actions only (DiscreteBCQ); ContinuousBCQ's networks read s and a concatenated
    observation_spaces_by_action = {"Box": ("Box", "Discrete", "MultiDiscrete", "MultiBinary")}
    masks_actions = True  # DiscreteBCQ honours an action_mask part (Box actions have no mask)
    learns_offline = True
    needs_dataset = True  # train mode without general_cfg.dataset is refused by the framework

    def __new__(cls, cfg: Any) -> Any:
        """The BCQ of the env's action space: ``DiscreteBCQ(cfg)`` or ``ContinuousBCQ(cfg)``."""
        if isinstance(cfg.action_space, spaces.Discrete):
            return DiscreteBCQ(cfg)
        return ContinuousBCQ(cfg)
