"""Value iteration hyperparameters (the ``algo_cfg`` section); the defaults solve FrozenLake-v1, CliffWalking-v1 and Taxi-v4."""

from typing import Annotated

from joyrl.validation import at_least, between, greater_than


class AlgoConfig:
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    theta: Annotated[float, greater_than(0)] = 1e-8  # planning stops once a sweep changes no V(s) by theta or more
    max_sweeps: Annotated[int, at_least(1)] = 10_000  # cap on Bellman sweeps over all states, converged or not
