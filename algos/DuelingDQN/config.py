"""Dueling DQN hyperparameters (the ``algo_cfg`` section): DQN's keys, plus the width of the two streams."""

from typing import Annotated

from algos.DQN.config import AlgoConfig as DQNAlgoConfig
from joyrl.validation import at_least


class AlgoConfig(DQNAlgoConfig):
    """DQN's keys (algos/DQN/config.py); ``value_layers`` is the body the two streams share."""

    stream_size: Annotated[int, at_least(0)] = 128  # hidden width of each stream (value, advantage); 0 = one linear layer each
