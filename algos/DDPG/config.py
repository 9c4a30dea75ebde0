"""DDPG hyperparameters (the ``algo_cfg`` section); Stable-Baselines3's defaults and names, Gaussian noise."""

from typing import Annotated, Any, Literal

from joyrl.validation import InvalidValue, at_least, between, greater_than


class AlgoConfig:
    actor_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [400], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [300], "activation": "relu"},
    ]  # hidden layers of the actor mu(s) (a tanh output layer in [-1, 1] is added)
    critic_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [400], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [300], "activation": "relu"},
    ]  # hidden layers of the critic Q(s, a), on s and a concatenated
    # the paper's init of the actor's last layer (PyTorch's left a seed's actor stuck at a tanh bound for 1,000 steps)
    actor_final_init: Annotated[float, greater_than(0)] | None = 3e-3  # its weights uniform in +-this; None: PyTorch's
    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate of the actor and the critic(s), at the start
    lr_end: Annotated[float, at_least(0)] | None = None  # anneal the lr linearly to this over max_env_steps; None = constant
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    tau: Annotated[float, between(0, 1)] = 0.005  # Polyak rate of the target networks (1 = hard copy)
    batch_size: Annotated[int, at_least(1)] = 256  # transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 1_000_000  # replay capacity in transitions
    learning_starts: Annotated[int, at_least(0)] = 100  # random actions for this many env steps; learn once D holds as many
    train_freq: Annotated[int, at_least(1)] = 1  # learn every this many env steps
    gradient_steps: Annotated[int, at_least(1)] = 1  # gradient steps each time it learns
    noise_type: Literal["normal", "ou"] = "normal"  # exploration noise: Gaussian, or Ornstein-Uhlenbeck (reset each episode)
    noise_std: Annotated[float, at_least(0)] = 0.1  # its sigma, in the [-1, 1] action units
    ou_theta: Annotated[float, greater_than(0)] = 0.15  # Ornstein-Uhlenbeck mean-reversion rate theta (noise_type: ou)
    ou_dt: Annotated[float, greater_than(0)] = 0.01  # Ornstein-Uhlenbeck time step dt (noise_type: ou)

    @staticmethod
    def check(cfg) -> None:
        if cfg.lr_end is not None and cfg.max_env_steps == -1:
            raise InvalidValue("lr_end", "anneals over max_env_steps, which is -1 (no limit); set max_env_steps, or lr_end: null")
