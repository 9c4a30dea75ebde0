"""CQL hyperparameters (the ``algo_cfg`` section); one set for both action types.

(Discrete) marks a key only the DQN-based agent reads, (Box) one only the SAC-based agent reads; the
defaults are d3rlpy's continuous CQL's where the two differ, and each preset sets its own.
"""

from typing import Annotated, Any, Literal

from joyrl.validation import InvalidValue, at_least, between, greater_than

HIDDEN_256_256: list[dict[str, Any]] = [
    {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
    {"layer_type": "linear", "layer_size": [256], "activation": "relu"},
]


class AlgoConfig:
    value_layers: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] = HIDDEN_256_256  # (Discrete) hidden layers of Q(s, .)
    actor_layers: list[dict[str, Any]] = HIDDEN_256_256  # (Box) hidden layers of SAC's squashed Gaussian actor
    critic_layers: list[dict[str, Any]] = HIDDEN_256_256  # (Box) hidden layers of each twin critic Q_i(s, a)
    lr: Annotated[float, greater_than(0)] = 3e-4  # Adam step size of the Q-network(s), SAC's temperature and the Lagrange alpha
    actor_lr: Annotated[float, greater_than(0)] = 1e-4  # (Box) Adam step size of the actor (the paper: 1e-4, critics 3e-4)
    lr_end: Annotated[float, at_least(0)] | None = None  # must stay null: DQN's and SAC's lr annealing counts env steps
    gamma: Annotated[float, between(0, 1)] = 0.99  # discount factor
    batch_size: Annotated[int, at_least(1)] = 256  # dataset transitions per gradient step
    buffer_size: Annotated[int, at_least(1)] = 1_000_000  # memory capacity; the framework raises it to the dataset's size
    learning_starts: Annotated[int, at_least(0)] = 256  # transitions in the memory before update() learns
    train_freq: Annotated[int, at_least(1)] = 1  # learn every this many env steps; offline none is taken and every call learns
    gradient_steps: Annotated[int, at_least(1)] = 1  # gradient steps per update() call
    target_update: Annotated[int, at_least(1)] = 1  # update the target network(s) every this many gradient steps
    tau: Annotated[float, between(0, 1)] = 0.005  # target update rate: 1 = hard copy (DQN), 0.005 = SAC's Polyak averaging
    max_grad_norm: Annotated[float, greater_than(0)] = 10.0  # (Discrete) gradient-norm clipping of the Q-network
    ent_coef: Literal["auto"] | Annotated[float, greater_than(0)] = "auto"  # (Box) SAC's temperature: "auto" learns it (from 1)
    target_entropy: Literal["auto"] | float = "auto"  # (Box) the entropy "auto" aims at; "auto" = -(action dimension)
    alpha: Annotated[float, at_least(0)] = 1.0  # weight of the conservative penalty; with cql_lagrange, its starting value
    cql_lagrange: bool = False  # learn alpha by dual gradient ascent, keeping the penalty near target_action_gap
    target_action_gap: float = 10.0  # the penalty's target with cql_lagrange (the paper's tau, d3rlpy's alpha_threshold)
    bc_warmup_updates: Annotated[int, at_least(0)] = 0  # (Box) first steps whose actor clones the data (policy_eval_start)
    n_action_samples: Annotated[int, at_least(1)] = 10  # (Box) actions per state from each of U(-1, 1), pi(.|s) and pi(.|s')

    @staticmethod
    def check(cfg) -> None:
        if cfg.lr_end is not None:
            raise InvalidValue("lr_end", "anneals over env steps, which offline training does not take; leave it null")
        if cfg.cql_lagrange and cfg.alpha == 0:
            raise InvalidValue("alpha", "is the Lagrange multiplier's starting value with cql_lagrange: true; make it positive")
