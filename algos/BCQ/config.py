"""BCQ hyperparameters (the ``algo_cfg`` section): the keys of discrete BCQ, of continuous BCQ, and the shared ones.

The defaults are the continuous paper's (Fujimoto, Meger and Precup, 2019); the discrete paper's (Fujimoto et
al., 2019: lr 3e-4, batch 64) are in config/presets/CartPole-v1_BCQ.yaml.
"""

from typing import Annotated, Any

from joyrl.validation import InvalidValue, at_least, between, greater_than

Layers = list[dict[str, Any]] | dict[str, list[dict[str, Any]]]  # a list of layers, or a mapping per Dict part


class AlgoConfig:
    value_layers: Layers = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # Discrete: hidden layers of the Q-network and of the behaviour-cloning network; Dict observations: a mapping
    actor_layers: Layers = [
        {"layer_type": "linear", "layer_size": [400], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [300], "activation": "relu"},
    ]  # Box: hidden layers of the perturbation model xi(s, a), on s and a concatenated
    critic_layers: Layers = [
        {"layer_type": "linear", "layer_size": [400], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [300], "activation": "relu"},
    ]  # Box: hidden layers of each of the twin critics Q_i(s, a), on s and a concatenated
    vae_layers: Layers = [
        {"layer_type": "linear", "layer_size": [750], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [750], "activation": "relu"},
    ]  # Box: hidden layers of the VAE's encoder and, the same again, of its decoder
    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate of every network
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    tau: Annotated[float, between(0, 1)] = 0.005  # Polyak rate of the target networks (1 = hard copy every step)
    batch_size: Annotated[int, at_least(1)] = 100  # transitions per learning step
    buffer_size: Annotated[int, at_least(1)] = 1_000_000  # memory capacity (raised to the dataset's size by the framework)
    threshold: Annotated[float, between(0, 1)] = 0.3  # Discrete: a allowed when pi_bc(a|s) / max_a' pi_bc(a'|s) > this (< 1)
    bc_logit_penalty: Annotated[float, at_least(0)] = 0.01  # Discrete: weight of the mean squared behaviour-cloning logits
    lmbda: Annotated[float, between(0, 1)] = 0.75  # Box: target = lmbda min_i Q_i + (1 - lmbda) max_i Q_i (soft clipped double Q)
    phi: Annotated[float, at_least(0)] = 0.05  # Box: the perturbation's bound, in half action ranges
    n_action_samples: Annotated[int, at_least(1)] = 10  # Box: actions drawn from the VAE for the target and for acting

    @staticmethod
    def check(cfg) -> None:
        if cfg.threshold >= 1:
            raise InvalidValue("threshold", f"must be < 1 (got {cfg.threshold}): no action's probability ratio exceeds 1")
