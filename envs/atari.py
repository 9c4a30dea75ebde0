"""The DQN-paper preprocessing of Atari games as one ``env_cfg.wrappers`` entry.

Needs the optional Atari set (``pip install -r requirements-atari.txt``); an ``ALE/...``
id registers them on first use. Make the base env without frame skipping
and apply ``atari_wrappers``::

    env_cfg:
      id: ALE/Pong-v5
      kwargs: {frameskip: 1}
      wrappers: [envs.atari:atari_wrappers]
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation


def atari_wrappers(env: gym.Env, frame_stack: int = 4, **preprocessing: Any) -> gym.Env:
    """``AtariPreprocessing`` then ``FrameStackObservation``: observations (frame_stack, 84, 84) uint8.

    AtariPreprocessing's defaults are the paper's: up to 30 no-op actions after a reset, the
    action repeated for 4 frames with the last two max-pooled, grey frames resized to 84x84;
    ``preprocessing`` passes other values (e.g. ``terminal_on_life_loss: true``). Rewards are
    left as the game gives them: the agent clips them (DQN_CNN's ``clip_reward``).
    """
    frameskip = env.spec.kwargs.get("frameskip") if env.spec is not None else None
    if frameskip not in (None, 1):
        # env_cfg.wrappers reports a TypeError as a one-line config error
        raise TypeError(f"the base env skips {frameskip} frames; set env_cfg.kwargs: {{frameskip: 1}} (the wrapper skips 4)")
    return FrameStackObservation(AtariPreprocessing(env, **preprocessing), frame_stack)
