"""Tabular Q-learning hyperparameters (the ``algo_cfg`` section); the defaults solve CliffWalking-v1."""

from typing import Annotated, Literal

from joyrl.validation import between, greater_than


class AlgoConfig:
    lr: Annotated[float, between(0, 1)] = 0.1  # step size α of the TD update
    gamma: Annotated[float, between(0, 1)] = 0.9  # discount factor
    epsilon_start: Annotated[float, between(0, 1)] = 0.95  # exploration rate at step 0
    epsilon_end: Annotated[float, between(0, 1)] = 0.01  # exploration rate in the long run
    epsilon_decay: Annotated[float, greater_than(0)] = 300  # time constant (exponential) or length (linear), in env steps
    epsilon_schedule: Literal["linear", "exponential"] = "exponential"  # shape of the epsilon decay
    q_init: float = 0.0  # initial value of every Q(s, a); optimistic values explore more

    @staticmethod
    def check(cfg) -> None:
        if cfg.epsilon_end > cfg.epsilon_start:
            raise ValueError(
                f"epsilon_end ({cfg.epsilon_end}) is above epsilon_start ({cfg.epsilon_start}); epsilon decays from start to end"
            )
