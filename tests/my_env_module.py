"""A user's own env module: importing it registers two envs, as ``--env tests.my_env_module:ID`` expects.

``StepInfo`` puts numbers and text in ``info``; ``FailForSeed`` fails one seed of a sweep. ``JoyRLTestCorridor-v0``: walk right along a 5-cell corridor (Box(1) / Discrete(2)); the episode
terminates at the right end, with a time limit of 20 steps. ``JoyRLTestEndless-v0``: the same
observations and actions, registered without a time limit, and its episodes never end.
``JoyRLTestBare-v0``: the corridor with a constructor that takes no ``render_mode``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

CORRIDOR_ID = "JoyRLTestCorridor-v0"
ENDLESS_ID = "JoyRLTestEndless-v0"
BARE_ID = "JoyRLTestBare-v0"


class Corridor(gym.Env):
    """Position 0..length-1; action 1 steps right, 0 steps left; reward 1 at the right end."""

    metadata = {"render_modes": []}

    def __init__(self, length: int = 5, endless: bool = False, render_mode: str | None = None) -> None:
        self.length, self.endless, self.render_mode = length, endless, render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.position = 0

    def _observation(self) -> np.ndarray:
        return np.array([self.position / (self.length - 1)], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.position = 0
        return self._observation(), {}

    def step(self, action):
        self.position = int(np.clip(self.position + (1 if int(action) == 1 else -1), 0, self.length - 1))
        at_end = self.position == self.length - 1
        return self._observation(), float(at_end), at_end and not self.endless, False, {}


def bare_corridor(length: int = 5) -> Corridor:
    """The corridor as a minimal or older third-party env comes: a factory that takes no ``render_mode``."""
    return Corridor(length)


gym.register(id=CORRIDOR_ID, entry_point=Corridor, max_episode_steps=20)
gym.register(id=ENDLESS_ID, entry_point=Corridor, kwargs={"endless": True})
gym.register(id=BARE_ID, entry_point=bare_corridor, max_episode_steps=20)


class StepInfo(gym.Wrapper):
    """Adds ``info["steps"]`` (steps since the reset), ``info["long"]`` (a bool, at least 15 steps) and ``info["name"]``
    (text) to every step, for ``general_cfg.info_keys``."""

    def reset(self, **kwargs):
        self.steps = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        return observation, reward, terminated, truncated, {**info, "steps": self.steps, "long": self.steps >= 15, "name": "x"}


class FailForSeed(gym.Wrapper):
    """Raises at a reset seeded ``seed``: one seed of a sweep fails, the others run."""

    def __init__(self, env: gym.Env, seed: int) -> None:
        super().__init__(env)
        self.failing_seed = seed

    def reset(self, **kwargs):
        if kwargs.get("seed") == self.failing_seed:
            raise RuntimeError(f"this env fails for seed {self.failing_seed}")
        return self.env.reset(**kwargs)
