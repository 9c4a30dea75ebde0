"""TD3 hyperparameters (the ``algo_cfg`` section): DDPG's keys (algos/DDPG/config.py) plus TD3's three."""

from typing import Annotated

from algos.DDPG.config import AlgoConfig as DDPGAlgoConfig
from joyrl.validation import at_least, at_least_or_unlimited, greater_than


class AlgoConfig(DDPGAlgoConfig):
    """Stable-Baselines3's TD3 defaults (as DDPG's, but PyTorch's init of the actor, plus the three keys below)."""

    actor_final_init: Annotated[float, greater_than(0)] | None = None  # PyTorch's init of the actor's last layer, as SB3's
    policy_delay: Annotated[int, at_least(1)] = 2  # update the actor and the targets every this many critic steps
    target_policy_noise: Annotated[float, at_least(0)] = 0.2  # std of the Gaussian noise on the target action (smoothing)
    target_noise_clip: Annotated[float, at_least_or_unlimited(0)] = 0.5  # that noise is clipped to +-this; -1 = no clip
