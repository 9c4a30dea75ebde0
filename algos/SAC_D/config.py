"""Discrete SAC hyperparameters (the ``algo_cfg`` section); the defaults solve CartPole-v1."""

from typing import Annotated, Any

from joyrl.validation import InvalidValue, at_least, between, greater_than


class AlgoConfig:
    actor_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = [
        {"layer_type": "linear", "layer_size": [128], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [128], "activation": "relu"},
    ]  # hidden layers of the policy network pi(.|s); for a Dict observation, a mapping part -> layers plus a head
    critic_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = [
        {"layer_type": "linear", "layer_size": [128], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [128], "activation": "relu"},
    ]  # hidden layers of each of the twin Q-networks Q_i(s, .); for a Dict observation, a mapping as for actor_layers
    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate of the actor, the critics and log(alpha), at the start
    lr_end: Annotated[float, at_least(0)] | None = 0.0  # anneal the learning rates linearly to this; None = constant
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    batch_size: Annotated[int, at_least(1)] = 128  # transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 100_000  # replay capacity in transitions
    learning_starts: Annotated[int, at_least(0)] = 1_000  # transitions in the replay memory before learning starts
    train_freq: Annotated[int, at_least(1)] = 64  # learn every this many env steps
    gradient_steps: Annotated[int, at_least(1)] = 32  # gradient steps each time it learns
    tau: Annotated[float, between(0, 1)] = 0.01  # Polyak rate of the target critics, after every gradient step
    ent_coef: Annotated[float, greater_than(0)] = 0.2  # temperature alpha: its initial value (autotune) or its fixed value
    autotune: bool = True  # learn alpha so that the policy's entropy tracks the target entropy
    target_entropy_scale: Annotated[float, between(0, 1)] = 0.1  # target entropy = this * log(number of actions)

    @staticmethod
    def check(cfg) -> None:
        if cfg.lr_end is not None and cfg.max_env_steps == -1:
            raise InvalidValue("lr_end", "anneals over max_env_steps, which is -1; set max_env_steps, or lr_end: null")
