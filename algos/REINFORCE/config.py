"""REINFORCE hyperparameters (the ``algo_cfg`` section); the defaults solve CartPole-v1."""

from typing import Annotated, Any

from joyrl.validation import at_least, between, greater_than


class AlgoConfig:
    actor_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
        {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
    ]  # hidden layers of the policy network pi(a|s); input and output sizes come from the env
    critic_layers: list[dict[str, Any]] = [
        {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
        {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
    ]  # hidden layers of the baseline's state-value network V(s) (used when baseline is true)
    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate of the policy
    critic_lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate of the baseline V(s)
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    n_episodes: Annotated[int, at_least(1)] = 4  # complete episodes per update (one gradient step on all their steps)
    reward_to_go: bool = True  # weight log pi(a_t|s_t) by the return from t on; false: by the whole episode's return
    baseline: bool = True  # subtract a learned V(s_t) from the return (and bootstrap time-limit truncations from V)
    normalize_advantage: bool = True  # scale the weights of log pi to mean 0 and std 1 over each update's steps
    ent_coef: Annotated[float, at_least(0)] = 0.0  # entropy bonus: the policy loss subtracts ent_coef * H(pi(.|s))
    max_grad_norm: Annotated[float, greater_than(0)] = 1.0  # gradient-norm clipping, of each network on its own
    log_std_init: float = -0.5  # Box actions: initial log standard deviation of the Gaussian policy
