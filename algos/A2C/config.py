"""A2C hyperparameters (the ``algo_cfg`` section); the defaults are SB3's, with RL Zoo's 8 envs for CartPole-v1."""

from typing import Annotated, Any

from joyrl.validation import InvalidValue, at_least, between, greater_than

TANH_64x64 = [
    {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
    {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
]


class AlgoConfig:
    actor_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = TANH_64x64  # hidden layers of the policy network
    critic_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = TANH_64x64  # hidden layers of the value network
    ortho_init: bool = True  # orthogonal init as SB3: gain sqrt(2) hidden, 0.01 policy output, 1 value output; zero biases
    log_std_init: float = 0.0  # Box actions: initial log-std of the Gaussian policy (state-independent, learned)
    squash: bool = False  # Box actions: tanh-squash the Gaussian sample (log-prob corrected) instead of clipping it
    n_envs: Annotated[int, at_least(1)] = 8  # envs stepped together (gymnasium.vector.SyncVectorEnv)
    n_steps: Annotated[int, at_least(1)] = 5  # steps per env in each rollout; one gradient step per rollout
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    gae_lambda: Annotated[float, between(0, 1)] = 1.0  # GAE's lambda; 1 = plain n-step returns, as in the paper
    ent_coef: Annotated[float, at_least(0)] = 0.0  # weight of the entropy bonus
    vf_coef: Annotated[float, at_least(0)] = 0.5  # weight of the value loss
    max_grad_norm: Annotated[float, greater_than(0)] = 0.5  # gradient-norm clipping
    normalize_advantage: bool = False  # standardise the advantages of each rollout
    use_rms_prop: bool = True  # RMSprop (alpha 0.99, as the paper and SB3); false = Adam
    rms_prop_eps: Annotated[float, greater_than(0)] = 1e-5  # epsilon of RMSprop (or Adam)
    lr: Annotated[float, greater_than(0)] = 7e-4  # learning rate at the start
    lr_end: Annotated[float, at_least(0)] | None = None  # lr annealed linearly to this over the budget; None = constant
    normalize_obs: bool = False  # standardise observations with running statistics (clipped to +-10)
    normalize_reward: bool = False  # divide rewards by the running std of the discounted return

    @staticmethod
    def check(cfg) -> None:
        if cfg.lr_end is not None and cfg.max_env_steps == -1:
            raise InvalidValue("lr_end", "anneals over the budget but max_env_steps is -1; set max_env_steps, or null")
