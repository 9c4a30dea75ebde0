"""Policy iteration hyperparameters (the ``algo_cfg`` section): value iteration's keys plus the evaluation cap."""

from typing import Annotated

from algos.ValueIteration.config import AlgoConfig as ValueIterationConfig
from joyrl.validation import at_least


class AlgoConfig(ValueIterationConfig):
    """``max_sweeps`` counts policy-evaluation sweeps, summed over all iterations."""

    eval_sweeps: Annotated[int, at_least(1)] = 1_000  # cap on evaluation sweeps per iteration; small = modified policy iteration
