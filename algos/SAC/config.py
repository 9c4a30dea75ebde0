"""SAC hyperparameters (the ``algo_cfg`` section); Stable-Baselines3's defaults and names."""

from typing import Annotated, Any, Literal

from joyrl.validation import InvalidValue, at_least, between, greater_than


class AlgoConfig:
    actor_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of the actor (then a mean and a log-std per action dimension)
    critic_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of each of the twin critics Q_i(s, a), on s and a concatenated
    lr: Annotated[float, greater_than(0)] = 3e-4  # Adam learning rate of the actor, the critics and log alpha, at the start
    lr_end: Annotated[float, at_least(0)] | None = None  # anneal the lr linearly to this over max_env_steps; None = constant
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    tau: Annotated[float, between(0, 1)] = 0.005  # Polyak rate of the target critics (1 = hard copy)
    batch_size: Annotated[int, at_least(1)] = 256  # transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 1_000_000  # replay capacity in transitions
    learning_starts: Annotated[int, at_least(0)] = 100  # random actions for this many env steps; learn once D holds as many
    train_freq: Annotated[int, at_least(1)] = 1  # learn every this many env steps
    gradient_steps: Annotated[int, at_least(1)] = 1  # gradient steps each time it learns
    ent_coef: Literal["auto"] | Annotated[float, greater_than(0)] = "auto"  # alpha: "auto" learns it (from 1), a number fixes it
    target_entropy: Literal["auto"] | float = "auto"  # the entropy "auto" alpha aims at; "auto" = -(action dimension)

    @staticmethod
    def check(cfg) -> None:
        if cfg.lr_end is not None and cfg.max_env_steps == -1:
            raise InvalidValue("lr_end", "anneals over max_env_steps, which is -1 (no limit); set max_env_steps, or lr_end: null")
