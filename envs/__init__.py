"""Custom Gymnasium environments and per-env config defaults.

Importing this package registers every custom environment with Gymnasium, so
``gymnasium.make`` (and ``env_cfg.id``) finds them by id. ``envs/<env_name>/config.py``
holds the ``env_cfg`` defaults for a family of environments; ``gym`` covers every
environment registered with Gymnasium, custom ones included. The ``ALE/...`` ids of the
optional Atari set are registered on first use (``joyrl.envs.check_env_id``).
"""

from gymnasium.envs.registration import register

register(
    id="CartPoleNoVelocity-v1",
    entry_point="envs.partial_observability:CartPoleNoVelocity",
    max_episode_steps=500,
    reward_threshold=475.0,
)

register(
    id="PixelCatch-v0",
    entry_point="envs.pixel_catch:PixelCatch",
    max_episode_steps=100,
    reward_threshold=0.9,
)
