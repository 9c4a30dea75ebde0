"""Soft Q-learning hyperparameters (the ``algo_cfg`` section); the defaults solve CartPole-v1.

DQN's keys without the epsilon-greedy ones (``ReplayQConfig`` in algos/DQN/config.py: the Boltzmann
policy explores, and a key nobody reads is an error), plus the temperature alpha and its annealing.
"""

from typing import Annotated

from algos.DQN.config import ReplayQConfig
from joyrl.validation import at_least, greater_than


class AlgoConfig(ReplayQConfig):
    alpha_start: Annotated[float, greater_than(0)] = 0.1  # temperature alpha at step 0 (softmax(Q / alpha) behaviour policy)
    alpha_end: Annotated[float, greater_than(0)] = 0.005  # temperature after the annealing
    alpha_decay: Annotated[int, at_least(1)] = 2_000  # env steps of the linear annealing from alpha_start to alpha_end
