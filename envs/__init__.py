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

register(
    id="GorgeWalk-v0",
    entry_point="envs.gorge_walk:GorgeWalk",
    max_episode_steps=400,  # keep equal to the env's max_steps: the score's 0-on-timeout rule reads it
)

register(
    id="TreasureHunt-v0",
    entry_point="envs.treasure_hunt:TreasureHunt",
    max_episode_steps=1000,  # keep equal to the env's max_steps: the score is 0 on its own truncation
)

register(
    id="TreasureHunt-Small-v0",
    entry_point="envs.treasure_hunt:TreasureHunt",
    max_episode_steps=300,
    kwargs={"size": 32, "view": 8, "max_steps": 300, "treasure_count": 4, "flash_distance": 6, "flash_cooldown": 150},
)

register(
    id="WindyGridworld-v0",
    entry_point="envs.windy_gridworld:WindyGridworld",
    max_episode_steps=1000,
)

register(
    id="Racetrack-v0",
    entry_point="envs.racetrack:Racetrack",
    max_episode_steps=1000,
)

register(
    id="KingWalk-v0",
    entry_point="envs.multi_action:KingWalk",
    max_episode_steps=28,  # 4 x the board's size
)

register(
    id="SwitchPanel-v0",
    entry_point="envs.multi_action:SwitchPanel",
    max_episode_steps=10,
)
