"""A2C hyperparameters (the ``algo_cfg`` section); the defaults are SB3's, with RL Zoo's 8 envs for CartPole-v1."""

from typing import Annotated

from algos.PPO.config import OnPolicyConfig
from joyrl.validation import at_least, between, greater_than


class AlgoConfig(OnPolicyConfig):
    """The shared on-policy keys (algos/PPO/config.py) with A2C's defaults, plus its optimiser."""

    n_steps: Annotated[int, at_least(1)] = 5  # steps per env in each rollout; one gradient step per rollout
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    gae_lambda: Annotated[float, between(0, 1)] = 1.0  # GAE's lambda; 1 = plain n-step returns, as in the paper
    normalize_advantage: bool = False  # standardise the advantages of each rollout
    use_rms_prop: bool = True  # RMSprop (alpha 0.99, as the paper and SB3); false = Adam
    rms_prop_eps: Annotated[float, greater_than(0)] = 1e-5  # epsilon of RMSprop (or Adam)
    lr: Annotated[float, greater_than(0)] = 7e-4  # learning rate at the start
    lr_end: Annotated[float, at_least(0)] | None = None  # lr annealed linearly to this over the budget; None = constant
