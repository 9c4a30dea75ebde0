"""Sarsa hyperparameters (the ``algo_cfg`` section): Q-learning's keys and defaults, unchanged."""

from algos.QLearning.config import AlgoConfig as QLearningAlgoConfig


class AlgoConfig(QLearningAlgoConfig):
    """Sarsa changes the target only; every key is Q-learning's (algos/QLearning/config.py)."""
