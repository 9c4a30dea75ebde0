"""NoisyNet-DQN hyperparameters (the ``algo_cfg`` section): DQN's, with the paper's noise in place of epsilon.

DQN's keys without the epsilon-greedy ones (the noisy layers explore, and a key nobody reads is an
error), plus which layers are noisy (``noisy_layers``) and their initial noise scale (``sigma0``); a
class of its own for that reason, not a subclass of DQN's. ``sigma0`` is the paper's 0.5; the CartPole
preset halves it (config/presets/CartPole-v1_NoisyDQN.yaml).
"""

from typing import Annotated, Any

from joyrl.validation import InvalidValue, at_least, between, greater_than


class AlgoConfig:
    value_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers of the Q-network; input and output sizes come from the env
    noisy_layers: Annotated[int, at_least(1)] = 2  # noisy linear layers counted back from the output: 2 = last hidden + output
    sigma0: Annotated[float, at_least(0)] = 0.5  # initial noise scale: σ = sigma0 / sqrt(fan-in) in every noisy layer
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
