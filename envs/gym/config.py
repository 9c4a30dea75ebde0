"""Defaults for any environment registered with Gymnasium (the ``env_cfg`` section)."""

from typing import Any


class EnvConfig:
    id: str = "CartPole-v1"  # Gymnasium id, e.g. CartPole-v1, CliffWalking-v1, LunarLander-v3
    render_mode: str | None = None  # None, 'rgb_array' (also writes videos/video.gif) or 'ansi'; render mode sets rgb_array
    kwargs: dict[str, Any] = {}  # extra keyword arguments for gymnasium.make, e.g. {is_slippery: false}
    wrappers: list[Any] = []  # wrappers applied in order: 'module:Class' or {name: 'module:Class', kwargs: {...}}
