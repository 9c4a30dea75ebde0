"""BC hyperparameters (the ``algo_cfg`` section); d3rlpy's BC defaults: Adam at 1e-3, batches of 100, (256, 256) layers."""

from typing import Annotated, Any, Literal

from joyrl.validation import at_least, greater_than


class AlgoConfig:
    actor_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of the policy network; for a Dict observation, a mapping part -> layers plus a head
    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate
    weight_decay: Annotated[float, at_least(0)] = 0.0  # decoupled weight decay (AdamW); 0 = plain Adam
    batch_size: Annotated[int, at_least(1)] = 100  # dataset transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 1_000_000  # memory capacity; the framework raises it to the dataset's size
    loss: Literal["mse", "gaussian"] = "mse"  # Box actions: a tanh actor's squared error, or a Gaussian's -log-likelihood
