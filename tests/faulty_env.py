"""Env wrappers that misbehave on purpose, used through ``env_cfg.wrappers`` in the tests.

``FaultyEnv`` injects a failure: step or reset raising, or step returning a NaN reward,
a ``None`` reward or a ``None`` observation. ``SignalAtStep`` sends the process a signal
from inside ``env.step``, as a user's Ctrl-C would arrive, at a chosen step.
"""

from __future__ import annotations

import os
import signal

import gymnasium as gym
import numpy as np

# How many FaultyEnv instances each tag has created: the first ``failing_instances`` fail.
instances_created: dict[str, int] = {}


class FaultyEnv(gym.Wrapper):
    """Fails at step ``at_step`` of each episode (or at reset) in its first ``failing_instances`` instances."""

    def __init__(
        self, env: gym.Env, fault: str, at_step: int = 5, failing_instances: int = 1, tag: str = "default", on_reset: bool = False
    ) -> None:
        super().__init__(env)
        instances_created[tag] = instances_created.get(tag, 0) + 1
        self.failing = instances_created[tag] <= failing_instances
        self.fault, self.at_step, self.on_reset = fault, at_step, on_reset
        self.steps = 0

    def reset(self, **kwargs):
        self.steps = 0
        if self.failing and self.on_reset:
            raise ConnectionError("simulator connection lost")
        return self.env.reset(**kwargs)

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.failing and self.steps == self.at_step:
            if self.fault == "raise":
                raise RuntimeError("simulator crashed")
            if self.fault == "nan_reward":
                reward = float("nan")
            elif self.fault == "none_reward":
                reward = None
            elif self.fault == "none_observation":
                observation = None
            elif self.fault == "nan_observation":
                observation = np.full_like(observation, np.nan)
        return observation, reward, terminated, truncated, info


class SignalAtStep(gym.Wrapper):
    """Sends ``signum`` to this process during its ``step``-th env step (counted over the wrapper's life)."""

    def __init__(self, env: gym.Env, step: int, signum: int = int(signal.SIGINT)) -> None:
        super().__init__(env)
        self.signal_step, self.signum = step, signum
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.signal_step:
            os.kill(os.getpid(), self.signum)
        return self.env.step(action)


class ExitOnceAtStep(gym.Wrapper):
    """Ends its process (as a crash would) at its ``step``-th env step, in any process but ``spare_pid``: once per
    ``marker`` file, or every time when ``marker`` is empty."""

    def __init__(self, env: gym.Env, step: int, marker: str, spare_pid: int) -> None:
        super().__init__(env)
        self.exit_step, self.marker, self.spare_pid = step, marker, spare_pid
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.exit_step and os.getpid() != self.spare_pid and not (self.marker and os.path.exists(self.marker)):
            if self.marker:
                with open(self.marker, "w"):
                    pass
            os._exit(1)
        return self.env.step(action)
