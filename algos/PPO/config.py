"""PPO hyperparameters (the ``algo_cfg`` section); the defaults are RL Zoo's CartPole-v1 settings and solve it."""

from typing import Annotated, Any, Literal

from joyrl.validation import InvalidValue, at_least, between, greater_than

TANH_64x64 = [
    {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
    {"layer_type": "linear", "layer_size": [64], "activation": "tanh"},
]


class OnPolicyConfig:
    """The keys PPO and A2C share: networks, vector envs, GAE, loss weights, learning rate, normalisers (PPO's defaults)."""

    actor_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = TANH_64x64  # hidden layers of the policy network
    critic_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = TANH_64x64  # hidden layers of the value network
    ortho_init: bool = True  # orthogonal init as SB3: gain sqrt(2) hidden, 0.01 policy output, 1 value output; zero biases
    log_std_init: float = -0.5  # Box actions: initial log-std of the Gaussian policy (state-independent, learned)
    squash: bool = False  # Box actions: tanh-squash the Gaussian sample (log-prob corrected) instead of clipping it
    n_envs: Annotated[int, at_least(1)] = 8  # envs stepped together (gymnasium.vector.SyncVectorEnv)
    n_steps: Annotated[int, at_least(1)] = 32  # steps per env in each rollout; a rollout holds n_steps * n_envs samples
    gamma: Annotated[float, between(0, 1)] = 0.98  # discount factor
    gae_lambda: Annotated[float, between(0, 1)] = 0.8  # GAE's lambda: 0 = one-step TD, 1 = Monte Carlo
    ent_coef: Annotated[float, at_least(0)] = 0.0  # weight of the entropy bonus
    vf_coef: Annotated[float, at_least(0)] = 0.5  # weight of the value loss
    max_grad_norm: Annotated[float, greater_than(0)] = 0.5  # gradient-norm clipping
    normalize_advantage: bool = True  # standardise the advantages in each minibatch
    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate at the start
    lr_end: Annotated[float, at_least(0)] | None = 0.0  # lr annealed linearly to this over the budget; None = constant
    normalize_obs: bool = False  # standardise observations with running statistics (clipped to +-10)
    normalize_reward: bool = False  # divide rewards by the running std of the discounted return

    @staticmethod
    def check(cfg) -> None:
        if cfg.lr_end is not None and cfg.max_env_steps == -1:
            raise InvalidValue("lr_end", "anneals over the budget but max_env_steps is -1; set max_env_steps, or null")


class AlgoConfig(OnPolicyConfig):
    """PPO's keys: the shared on-policy ones, plus minibatch epochs and the clipped or KL-penalised objective."""

    batch_size: Annotated[int, at_least(1)] = 256  # samples per minibatch
    n_epochs: Annotated[int, at_least(1)] = 20  # passes over the rollout per update
    ppo_type: Literal["clip", "kl"] = "clip"  # clipped surrogate, or surrogate minus an adaptive KL penalty
    clip_range: Annotated[float, greater_than(0)] = 0.2  # ppo_type clip: epsilon of the clipped ratio at the start
    clip_range_end: Annotated[float, at_least(0)] | None = 0.0  # clip_range annealed linearly to this; None = constant
    clip_range_vf: Annotated[float, greater_than(0)] | None = None  # PPO2 value clipping: V_old +- this; None = off
    kl_beta: Annotated[float, greater_than(0)] = 1.0  # ppo_type kl: initial penalty coefficient beta (then adapted)
    kl_dtarg: Annotated[float, greater_than(0)] = 0.01  # ppo_type kl: target KL d_targ of the beta adaptation
    target_kl: Annotated[float, greater_than(0)] | None = None  # stop the epochs once a minibatch's KL estimate exceeds 1.5x this

    @staticmethod
    def check(cfg) -> None:
        OnPolicyConfig.check(cfg)
        if cfg.clip_range_end is not None and cfg.max_env_steps == -1:
            raise InvalidValue("clip_range_end", "anneals over the budget but max_env_steps is -1; set max_env_steps, or null")
