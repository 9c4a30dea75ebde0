"""C51 hyperparameters (the ``algo_cfg`` section): DQN's keys plus the support of the return distribution."""

from typing import Annotated

from algos.DQN.config import AlgoConfig as DQNAlgoConfig
from joyrl.validation import InvalidValue, at_least


class AlgoConfig(DQNAlgoConfig):
    """DQN's keys (algos/DQN/config.py); ``max_grad_norm`` clips the cross-entropy's gradient instead of the Huber loss's."""

    n_atoms: Annotated[int, at_least(2)] = 51  # N: atoms of the support z_i = v_min + i (v_max - v_min) / (N - 1)
    v_min: float = 0.0  # V_min: the lowest return the distribution can represent (targets below are clipped to it)
    v_max: float = 100.0  # V_max: the highest return it can represent; 1 / (1 - gamma) bounds returns of rewards in [0, 1]

    @staticmethod
    def check(cfg) -> None:
        DQNAlgoConfig.check(cfg)
        if cfg.v_min >= cfg.v_max:
            raise InvalidValue("v_max", f"({cfg.v_max}) must be above v_min ({cfg.v_min})")
