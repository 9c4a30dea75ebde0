"""Double DQN hyperparameters (the ``algo_cfg`` section): DQN's keys and defaults, unchanged."""

from algos.DQN.config import AlgoConfig as DQNAlgoConfig


class AlgoConfig(DQNAlgoConfig):
    """Double DQN changes the target only; every key is DQN's (algos/DQN/config.py)."""
