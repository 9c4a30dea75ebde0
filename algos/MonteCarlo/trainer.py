"""Monte Carlo's episode loop: the framework's step loop, each episode started in a random state with exploring starts."""

from __future__ import annotations

import random
from typing import Any

import gymnasium as gym

from joyrl.envs import reset_rng_state
from joyrl.loops import Episode, StepTrainer
from joyrl.tabular import start_states


class Trainer(StepTrainer):
    """``StepTrainer``'s loop; the agent learns at each episode's end (``update`` at termination, ``end_episode`` otherwise).

    With ``exploring_starts`` a new episode starts with ``reset(options={"start_state": s})``, s drawn
    uniformly from the states the env accepts (pseudocode step 3); the step loop then continues it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.start_state: int | None = None  # the exploring start of the episode in progress

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, float] | None:
        if cfg.exploring_starts and self.episode is None:
            start = reset_rng_state(env)
            self.start_state = random.choice(start_states(env, cfg.n_states))
            self.episode = Episode(start, env.reset(options={"start_state": self.start_state})[0])
        return super().train_one_episode(env, agent, cfg)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if state and self.start_state is not None:
            state["start_state"] = self.start_state
        return state

    def load_state_dict(self, state: dict[str, Any], env: gym.Env) -> bool:
        """Replay an unfinished episode, from its exploring start when it had one."""
        if not state or "start_state" not in state:
            return super().load_state_dict(state, env)
        self.start_state = state["start_state"]
        return super().load_state_dict({k: v for k, v in state.items() if k != "start_state"}, _StartIn(env, self.start_state))


class _StartIn(gym.Wrapper):
    """Resets ``env`` in ``start_state``, so the replay repeats an exploring start."""

    def __init__(self, env: gym.Env, start_state: int) -> None:
        super().__init__(env)
        self.start_state = start_state

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        return self.env.reset(seed=seed, options={**(options or {}), "start_state": self.start_state})
