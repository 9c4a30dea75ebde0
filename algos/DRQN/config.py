"""DRQN hyperparameters (the ``algo_cfg`` section); the defaults are those of the CartPoleNoVelocity-v1 preset."""

from typing import Annotated, Any, Literal

from joyrl.validation import InvalidValue, at_least, between, greater_than


class AlgoConfig:
    value_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [64], "activation": "relu"},
    ]  # input MLP before the recurrent layer; its input size comes from the env
    rnn_type: Literal["lstm", "gru"] = "lstm"  # recurrent layer
    hidden_size: Annotated[int, at_least(1)] = 64  # units of the recurrent layer
    normalize_inputs: bool = True  # scale the network inputs by their running mean and std (kept in the checkpoint)
    burn_in: Annotated[int, at_least(0)] = 5  # steps that warm the hidden state, without gradient, before each trained sequence
    seq_len: Annotated[int, at_least(1)] = 10  # steps of each sampled sequence that the loss is taken over
    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate at the start
    lr_end: Annotated[float, at_least(0)] | None = 0.0  # anneal the learning rate linearly to this; None = constant
    lr_decay: Annotated[int, at_least(1)] | None = None  # env steps of that annealing; None = the whole budget (max_env_steps)
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    batch_size: Annotated[int, at_least(1)] = 64  # sequences per gradient step
    buffer_size: Annotated[int, at_least(1)] = 100_000  # replay capacity in env steps
    learning_starts: Annotated[int, at_least(0)] = 2_000  # steps in the replay memory before learning starts
    train_freq: Annotated[int, at_least(1)] = 4  # learn every this many env steps
    gradient_steps: Annotated[int, at_least(1)] = 1  # gradient steps each time it learns
    double_q: bool = True  # Double-DQN target: the online network picks the next action, the target network values it
    target_update: Annotated[int, at_least(1)] = 200  # update the target network every this many gradient steps
    tau: Annotated[float, between(0, 1)] = 1.0  # target update rate: 1 = hard copy, < 1 = Polyak averaging
    epsilon_start: Annotated[float, between(0, 1)] = 1.0  # exploration rate at step 0
    epsilon_end: Annotated[float, between(0, 1)] = 0.01  # exploration rate at the end of the decay
    epsilon_decay: Annotated[float, greater_than(0)] = 10_000  # env steps of decay (linear) or time constant (exponential)
    epsilon_schedule: Literal["linear", "exponential"] = "linear"  # shape of the epsilon decay
    max_grad_norm: Annotated[float, greater_than(0)] = 10.0  # gradient-norm clipping

    @staticmethod
    def check(cfg) -> None:
        if cfg.epsilon_end > cfg.epsilon_start:
            raise ValueError(
                f"epsilon_end ({cfg.epsilon_end}) is above epsilon_start ({cfg.epsilon_start}); epsilon decays from start to end"
            )
        if cfg.lr_end is not None and cfg.lr_decay is None and cfg.max_env_steps == -1:
            raise InvalidValue(
                "lr_decay", "is None (anneal over the budget) but max_env_steps is -1; set lr_decay, or lr_end: null"
            )
