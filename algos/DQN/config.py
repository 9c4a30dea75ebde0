"""DQN hyperparameters (the ``algo_cfg`` section); the defaults solve CartPole-v1."""

from typing import Annotated, Any, Literal

from joyrl.validation import InvalidValue, at_least, between, greater_than


class ReplayQConfig:
    """The keys of a replay-trained Q-network, without an exploration rule: DQN adds epsilon-greedy, SoftQ a temperature."""

    value_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of the Q-network; for a Dict observation, a mapping part -> layers plus a head (joyrl/networks.py)
    lr: Annotated[float, greater_than(0)] = 2.3e-3  # Adam learning rate at the start
    lr_end: Annotated[float, at_least(0)] | None = 0.0  # anneal the learning rate linearly to this; None = constant
    lr_decay: Annotated[int, at_least(1)] | None = None  # env steps of that annealing; None = the whole budget (max_env_steps)
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    batch_size: Annotated[int, at_least(1)] = 64  # transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 100_000  # replay capacity in transitions
    learning_starts: Annotated[int, at_least(0)] = 1_000  # transitions in the replay memory before learning starts
    train_freq: Annotated[int, at_least(1)] = 256  # learn every this many env steps
    gradient_steps: Annotated[int, at_least(1)] = 128  # gradient steps each time it learns
    target_update: Annotated[int, at_least(1)] = 128  # update the target network every this many gradient steps
    tau: Annotated[float, between(0, 1)] = 1.0  # target update rate: 1 = hard copy, < 1 = Polyak averaging
    max_grad_norm: Annotated[float, greater_than(0)] = 10.0  # gradient-norm clipping

    @staticmethod
    def check(cfg) -> None:
        if cfg.lr_end is not None and cfg.lr_decay is None and cfg.max_env_steps == -1:
            raise InvalidValue(
                "lr_decay", "is None (anneal over the budget) but max_env_steps is -1; set lr_decay, or lr_end: null"
            )


class AlgoConfig(ReplayQConfig):
    """DQN's keys: the replay-trained Q-network's, plus epsilon-greedy exploration."""

    epsilon_start: Annotated[float, between(0, 1)] = 1.0  # exploration rate at step 0
    epsilon_end: Annotated[float, between(0, 1)] = 0.04  # exploration rate at the end of the decay
    epsilon_decay: Annotated[float, greater_than(0)] = 1_000  # env steps of decay (linear) or time constant (exponential)
    epsilon_schedule: Literal["linear", "exponential"] = "linear"  # shape of the epsilon decay

    @staticmethod
    def check(cfg) -> None:
        ReplayQConfig.check(cfg)
        if cfg.epsilon_end > cfg.epsilon_start:
            raise ValueError(
                f"epsilon_end ({cfg.epsilon_end}) is above epsilon_start ({cfg.epsilon_start}); epsilon decays from start to end"
            )
