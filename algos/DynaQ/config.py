"""Dyna-Q hyperparameters (the ``algo_cfg`` section): Q-learning's keys plus the planning ones."""

from typing import Annotated

from algos.QLearning.config import AlgoConfig as QLearningAlgoConfig
from joyrl.validation import at_least


class AlgoConfig(QLearningAlgoConfig):
    """Q-learning's keys (algos/QLearning/config.py) and two of Dyna's."""

    planning_steps: Annotated[int, at_least(0)] = 20  # n: simulated Q-learning updates from the model per real env step
    kappa: Annotated[float, at_least(0)] = 0.0  # κ of Dyna-Q+'s planning bonus κ√τ; 0 = plain Dyna-Q
