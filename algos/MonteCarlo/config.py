"""On-policy Monte Carlo control hyperparameters (the ``algo_cfg`` section)."""

from typing import Annotated, Literal

from joyrl.envs import check_env_id
from joyrl.errors import ConfigError
from joyrl.tabular import supports_start_state
from joyrl.validation import InvalidValue, between, greater_than


class AlgoConfig:
    gamma: Annotated[float, between(0, 1)] = 0.9  # discount factor of the returns
    visit: Literal["first", "every"] = "first"  # which visits of (s, a) in an episode update Q(s, a)
    lr: Annotated[float, between(0, 1)] | None = None  # constant step size α; None = sample averages, α = 1/N(s, a)
    epsilon_start: Annotated[float, between(0, 1)] = 0.95  # exploration rate at step 0
    epsilon_end: Annotated[float, between(0, 1)] = 0.01  # exploration rate in the long run
    epsilon_decay: Annotated[float, greater_than(0)] = 300  # time constant (exponential) or length (linear), in env steps
    epsilon_schedule: Literal["linear", "exponential"] = "exponential"  # shape of the epsilon decay
    q_init: float = 0.0  # initial value of every Q(s, a)
    exploring_starts: bool = False  # start each episode in a random state with a random first action (env must support it)
    truncation: Literal["bootstrap", "discard"] = "bootstrap"  # truncated episode: return ends in V(s_T), or no update

    @staticmethod
    def check(cfg) -> None:
        if cfg.epsilon_end > cfg.epsilon_start:
            raise ValueError(
                f"epsilon_end ({cfg.epsilon_end}) is above epsilon_start ({cfg.epsilon_start}); epsilon decays from start to end"
            )
        env_id = getattr(cfg, "id", None)
        if not cfg.exploring_starts or env_id is None:
            return
        try:
            check_env_id(env_id)
        except ConfigError:
            return  # the config's own check names the unknown id next
        if not supports_start_state(env_id):
            raise InvalidValue(
                "exploring_starts",
                f"{env_id} cannot start an episode in a chosen state (its env class has no supports_start_state = True "
                "for reset(options={'start_state': s})); set exploring_starts: false, or use an env that supports it",
            )
