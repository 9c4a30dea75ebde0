"""DQN_CNN hyperparameters (the ``algo_cfg`` section): DQN's keys with RL Zoo's Atari defaults, and ``clip_reward``."""

from algos.DQN.config import AlgoConfig as DQNAlgoConfig


class AlgoConfig(DQNAlgoConfig):
    """DQN's keys (algos/DQN/config.py); the defaults are RL Zoo's for Atari (10M env steps, frames (4, 84, 84))."""

    value_layers = [
        {"layer_type": "conv2d", "layer_size": [32], "kernel_size": 8, "stride": 4, "activation": "relu"},
        {"layer_type": "conv2d", "layer_size": [64], "kernel_size": 4, "stride": 2, "activation": "relu"},
        {"layer_type": "conv2d", "layer_size": [64], "kernel_size": 3, "stride": 1, "activation": "relu"},
        {"layer_type": "linear", "layer_size": [512], "activation": "relu"},
    ]  # the Nature-DQN CNN; conv2d layers first, flattened before the first linear layer
    lr = 1e-4  # constant (lr_end: None), as in RL Zoo
    lr_end = None
    batch_size = 32
    buffer_size = 100_000  # uint8 frames: 2 x 28 KB per transition for (4, 84, 84), 5.6 GB when full
    learning_starts = 100_000
    train_freq = 4
    gradient_steps = 1
    target_update = 250  # gradient steps: 1,000 env steps at train_freq 4, RL Zoo's target_update_interval
    epsilon_end = 0.01
    epsilon_decay = 1_000_000  # 10% of a 10M-step budget, linear
    clip_reward: bool = True  # store rewards clipped to [-1, 1] (the paper's reward clipping); logged returns stay raw
