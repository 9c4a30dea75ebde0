"""IQL hyperparameters (the ``algo_cfg`` section); the paper's values for the D4RL locomotion tasks."""

from typing import Annotated, Any, Literal

from joyrl.validation import at_least, between, greater_than


class AlgoConfig:
    actor_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of the actor's mean (tanh output); its log-std is one vector
    critic_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of each of the twin critics Q_i(s, a), on s and a concatenated
    value_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of the value network V(s)
    lr: Annotated[float, greater_than(0)] = 3e-4  # Adam learning rate of the actor (at the start), the critics and V
    actor_lr_schedule: Literal["cosine", "constant"] = "cosine"  # the actor's lr: cosine decay to 0 over max_updates, or constant
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    tau: Annotated[float, between(0, 1)] = 0.005  # Polyak rate of the target critics (1 = hard copy)
    batch_size: Annotated[int, at_least(1)] = 256  # transitions per learning step
    buffer_size: Annotated[int, at_least(1)] = 1_000_000  # memory capacity (raised to the dataset's size by the framework)
    expectile: Annotated[float, between(0, 1)] = 0.7  # tau of V's expectile loss: 0.5 = the mean of Q, towards 1 = its max
    beta: Annotated[float, at_least(0)] = 3.0  # inverse temperature of the advantage weights exp(beta A); 0 = behaviour cloning
    max_weight: Annotated[float, greater_than(0)] = 100.0  # the advantage weights are clipped at this
