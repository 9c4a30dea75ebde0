"""PER-DQN hyperparameters: DQN's (algos/DQN/config.py) plus those of prioritised replay."""

from typing import Annotated

from algos.DQN.config import AlgoConfig as DQNAlgoConfig
from joyrl.validation import InvalidValue, at_least, between, greater_than


class AlgoConfig(DQNAlgoConfig):
    alpha: Annotated[float, at_least(0)] = 0.6  # priority exponent: P(i) ∝ p_i^alpha; 0 = uniform sampling
    beta_start: Annotated[float, between(0, 1)] = 0.4  # importance-sampling exponent at step 0
    beta_end: Annotated[float, between(0, 1)] = 1.0  # importance-sampling exponent at the end of its annealing
    beta_decay: Annotated[int, at_least(1)] | None = None  # env steps of the annealing; None = the budget (max_env_steps)
    priority_eps: Annotated[float, greater_than(0)] = 1e-6  # added to |TD error| so no transition has priority 0

    @staticmethod
    def check(cfg) -> None:
        DQNAlgoConfig.check(cfg)
        if cfg.beta_decay is None and cfg.max_env_steps == -1:
            raise InvalidValue(
                "beta_decay", "is None (anneal over the budget) but max_env_steps is -1; set beta_decay to a number of env steps"
            )
