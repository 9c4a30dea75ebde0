"""GAIL hyperparameters (the ``algo_cfg`` section): PPO's keys for the generator, plus the discriminator's.

The discriminator's defaults are those of Kostrikov's pytorch-a2c-ppo-acktr-gail: two hidden layers
of 100 tanh units, Adam at 1e-3, minibatches of 128, several passes per rollout.
"""

from typing import Annotated, Any

from algos.PPO.config import AlgoConfig as PPOConfig
from joyrl.validation import at_least, greater_than


class AlgoConfig(PPOConfig):
    """PPO's keys (inherited, with PPO's defaults and checks) and the discriminator D(s, a)."""

    discriminator_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [100], "activation": "tanh"},
        {"layer_type": "linear", "layer_size": [100], "activation": "tanh"},
    ]  # hidden layers of D(s, a), an MLP on the observation concatenated with the action; one output logit
    discriminator_lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate of the discriminator
    discriminator_epochs: Annotated[int, at_least(1)] = 5  # passes over the rollout's (s, a) pairs per update
    discriminator_batch_size: Annotated[int, at_least(1)] = 128  # policy pairs per minibatch, with as many expert pairs
