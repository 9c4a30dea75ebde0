"""TD3+BC hyperparameters (the ``algo_cfg`` section); the paper's (Fujimoto and Gu, 2021, Appendix C and its code)."""

from typing import Annotated, Any

from joyrl.validation import at_least, at_least_or_unlimited, between, greater_than

RELU_256x256 = [
    {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
]


class AlgoConfig:
    actor_layers: list[dict[str, Any]] = RELU_256x256  # hidden layers of the actor pi(s) (then a tanh output layer)
    actor_final_init: Annotated[float, greater_than(0)] | None = None  # last actor layer uniform in +-this; None: PyTorch's
    critic_layers: list[dict[str, Any]] = RELU_256x256  # hidden layers of each twin critic Q_i(s, a), on s and a concatenated
    lr: Annotated[float, greater_than(0)] = 3e-4  # Adam learning rate of the actor and the critics
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    tau: Annotated[float, between(0, 1)] = 0.005  # Polyak rate of the target networks (1 = hard copy)
    batch_size: Annotated[int, at_least(1)] = 256  # dataset transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 1_000_000  # memory capacity; the framework raises it to the dataset's size
    policy_delay: Annotated[int, at_least(1)] = 2  # update the actor and the targets every this many critic steps
    target_policy_noise: Annotated[float, at_least(0)] = 0.2  # std of the Gaussian noise on the target action (smoothing)
    target_noise_clip: Annotated[float, at_least_or_unlimited(0)] = 0.5  # that noise is clipped to +-this; -1 = no clip
    alpha: Annotated[float, at_least(0)] = 2.5  # weight of Q against the BC term: lambda = alpha / mean |Q(s, pi(s))|
    normalize_obs: bool = True  # standardise Box states with the dataset's mean and std (+ 1e-3); others pass as they are
    noise_std: Annotated[float, at_least(0)] = 0.1  # std of the Gaussian noise of sample_action (acting online only)
