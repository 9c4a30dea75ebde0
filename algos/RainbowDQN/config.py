"""Rainbow hyperparameters (the ``algo_cfg`` section); the defaults solve CartPole-v1.

DQN's keys without the epsilon-greedy ones (the noisy layers explore, and a key nobody reads is an
error), plus those of each component: the dueling streams (``stream_size``), the noisy layers
(``sigma0``), the return distribution (``n_atoms``, ``v_min``, ``v_max``), n-step returns
(``n_steps``) and prioritised replay (``alpha``, ``beta_*``, ``priority_eps``). Its own class, as
NoisyDQN's, not a subclass of DQN's.
"""

from typing import Annotated, Any

from joyrl.validation import InvalidValue, at_least, between, greater_than


class AlgoConfig:
    value_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = [
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
        {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    ]  # hidden layers shared by the two streams; input size from the env
    stream_size: Annotated[int, at_least(0)] = 128  # hidden width of each noisy stream (value, advantage); 0 = one layer each
    sigma0: Annotated[float, at_least(0)] = 0.5  # initial noise scale: σ = sigma0 / sqrt(fan-in) in every noisy layer
    n_atoms: Annotated[int, at_least(2)] = 51  # N: atoms of the support z_i = v_min + i (v_max - v_min) / (N - 1)
    v_min: float = 0.0  # V_min: the lowest return the distribution can represent (targets below are clipped to it)
    v_max: float = 100.0  # V_max: the highest; CartPole's returns (r = 1, gamma 0.99) stay below 1 / (1 - gamma) = 100
    n_steps: Annotated[int, at_least(1)] = 3  # n of the n-step return r_t + γ r_{t+1} + ... + γ^(n-1) r_{t+n-1}
    lr: Annotated[float, greater_than(0)] = 2.3e-3  # Adam learning rate at the start
    lr_end: Annotated[float, at_least(0)] | None = 0.0  # anneal the learning rate linearly to this; None = constant
    lr_decay: Annotated[int, at_least(1)] | None = None  # env steps of that annealing; None = the whole budget (max_env_steps)
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor (per step; an n-step target bootstraps with gamma^n)
    batch_size: Annotated[int, at_least(1)] = 64  # transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 100_000  # replay capacity in n-step transitions
    learning_starts: Annotated[int, at_least(0)] = 1_000  # transitions in the replay memory before learning starts
    train_freq: Annotated[int, at_least(1)] = 256  # learn every this many env steps
    gradient_steps: Annotated[int, at_least(1)] = 128  # gradient steps each time it learns
    target_update: Annotated[int, at_least(1)] = 128  # update the target network every this many gradient steps
    tau: Annotated[float, between(0, 1)] = 1.0  # target update rate: 1 = hard copy, < 1 = Polyak averaging
    max_grad_norm: Annotated[float, greater_than(0)] = 10.0  # gradient-norm clipping
    alpha: Annotated[float, at_least(0)] = 0.5  # priority exponent (the paper's omega): P(i) ∝ loss_i^alpha; 0 = uniform
    beta_start: Annotated[float, between(0, 1)] = 0.4  # importance-sampling exponent at step 0
    beta_end: Annotated[float, between(0, 1)] = 1.0  # importance-sampling exponent at the end of its annealing
    beta_decay: Annotated[int, at_least(1)] | None = None  # env steps of the annealing; None = the budget (max_env_steps)
    priority_eps: Annotated[float, greater_than(0)] = 1e-6  # added to the loss so no transition has priority 0

    @staticmethod
    def check(cfg) -> None:
        if cfg.v_min >= cfg.v_max:
            raise InvalidValue("v_max", f"({cfg.v_max}) must be above v_min ({cfg.v_min})")
        if cfg.lr_end is not None and cfg.lr_decay is None and cfg.max_env_steps == -1:
            raise InvalidValue(
                "lr_decay", "is None (anneal over the budget) but max_env_steps is -1; set lr_decay, or lr_end: null"
            )
        if cfg.beta_decay is None and cfg.max_env_steps == -1:
            raise InvalidValue(
                "beta_decay", "is None (anneal over the budget) but max_env_steps is -1; set beta_decay to a number of env steps"
            )
