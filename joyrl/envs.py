"""Environment creation: ``gymnasium.make`` with the configured wrappers, seeded once."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from joyrl import paths  # noqa: F401  (puts the project root on sys.path for `envs`)
from joyrl.errors import ConfigError, JoyRLError

# The evaluation env draws from a stream apart from the training env's.
EVAL_SEED_OFFSET = 10_000


class SeedOnFirstReset(gym.Wrapper):
    """Seeds the env at its first reset only, so later episodes continue one random stream.

    Re-seeding every reset would replay the same start states each episode.
    """

    def __init__(self, env: gym.Env, seed: int | None) -> None:
        super().__init__(env)
        self.step = env.step  # steps go straight to the wrapped env: no extra call on the hot path
        self._pending_seed = seed
        if seed is not None:
            env.action_space.seed(seed)
            env.observation_space.seed(seed)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is None and self._pending_seed is not None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)


def _import_object(spec: str, what: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        module_name, _, attribute = spec.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"env_cfg.wrappers: cannot import {what} {spec!r}; write 'module:Class'") from None


def _apply_wrappers(env: gym.Env, wrappers: list[Any]) -> gym.Env:
    for entry in wrappers:
        if isinstance(entry, str):
            name, kwargs = entry, {}
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            name, kwargs = entry["name"], dict(entry.get("kwargs") or {})
        else:
            raise ConfigError(f"env_cfg.wrappers: {entry!r} is neither 'module:Class' nor {{name: ..., kwargs: ...}}")
        wrapper = _import_object(name, "wrapper")
        try:
            env = wrapper(env, **kwargs)
        except TypeError as error:
            raise ConfigError(f"env_cfg.wrappers: {name}: {error}") from None
    return env


def check_env_id(env_id: str) -> None:
    """Raise ConfigError for an id Gymnasium does not know, suggesting close ones."""
    importlib.import_module("envs")  # registers the project's custom environments
    if env_id in gym.registry:
        return
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else "see gymnasium.pprint_registry() for the ids"
    raise ConfigError(f"unknown env id {env_id!r}; {hint}")


def make_env(cfg: Any, seed: int | None, render_mode: str | None = None) -> gym.Env:
    """Build ``cfg.id`` with ``cfg.kwargs``, the per-episode cap and the wrappers, seeded once.

    ``cfg.max_step > 0`` replaces the env's own time limit; reaching it truncates the
    episode (``truncated=True``, never ``terminated``).
    """
    check_env_id(cfg.id)
    make_kwargs = dict(cfg.kwargs)
    if cfg.max_step > 0:
        make_kwargs["max_episode_steps"] = cfg.max_step
    mode = render_mode if render_mode is not None else cfg.render_mode
    try:
        env = gym.make(cfg.id, render_mode=mode, **make_kwargs)
    except TypeError as error:
        raise ConfigError(f"env_cfg.kwargs do not fit {cfg.id}: {error}") from None
    except gym.error.Error as error:
        raise ConfigError(f"cannot make {cfg.id}: {error}") from None
    except ImportError as error:
        raise JoyRLError(f"{cfg.id} needs a package that is not installed: {error}") from None
    env = _apply_wrappers(env, cfg.wrappers)
    return SeedOnFirstReset(env, seed)


def space_kind(space: spaces.Space) -> str:
    """'Discrete', 'Box', ... : the names agents list in ``supported_*_spaces``."""
    return type(space).__name__


def env_info(env: gym.Env) -> dict[str, Any]:
    """What the env tells the agent: spaces, ``n_states``, ``n_actions`` and action bounds."""
    obs_space, action_space = env.observation_space, env.action_space
    info: dict[str, Any] = {"obs_space": obs_space, "action_space": action_space}
    if isinstance(obs_space, spaces.Discrete):
        info["n_states"] = int(obs_space.n)
        info["obs_shape"] = ()
    elif isinstance(obs_space, spaces.Box):
        info["n_states"] = int(np.prod(obs_space.shape))
        info["obs_shape"] = tuple(obs_space.shape)
    if isinstance(action_space, spaces.Discrete):
        info["n_actions"] = int(action_space.n)
    elif isinstance(action_space, spaces.Box):
        info["n_actions"] = int(np.prod(action_space.shape))
        info["action_low"] = action_space.low
        info["action_high"] = action_space.high
    return info


def check_spaces(agent_class: type, env: gym.Env, algo_name: str, env_id: str) -> None:
    """Stop with one line when the algorithm cannot handle the env's spaces."""
    for role, space, supported in (
        ("observation", env.observation_space, getattr(agent_class, "supported_observation_spaces", None)),
        ("action", env.action_space, getattr(agent_class, "supported_action_spaces", None)),
    ):
        if supported is not None and space_kind(space) not in supported:
            raise ConfigError(
                f"{algo_name} handles {' and '.join(supported)} {role} spaces, but {env_id} has a {space_kind(space)} "
                f"of shape {space.shape}; "
                f"pick an env with a {supported[0]} {role} space or another algorithm"
            )
