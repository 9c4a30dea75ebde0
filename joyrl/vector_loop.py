"""The on-policy algorithms' loop: ``n_envs`` envs stepped together through Gymnasium's vector API.

``VectorTrainer`` builds a ``gymnasium.vector.SyncVectorEnv`` whose sub-env 0 is the env the
runner passes in (so the runner's GIF and trajectory wrappers see its episodes, and it keeps
the run's seed) and whose sub-envs 1..n-1 come from ``joyrl.envs.make_env`` with seeds
``seed + i`` (unseeded when the run is). Each sub-env is fault-tolerant and seeded once, at
its first reset.

The vector env keeps Gymnasium's default ``NEXT_STEP`` autoreset: the step after a sub-env's
episode ends ignores its action and returns the reset observation with reward 0. The loop
marks that step invalid for the agent (``valid`` False), which leaves it out of GAE and of
the losses (joyrl/rollout.py), and out of the episode's return, length and the env-step count.

The agent needs ``sample_action(states)`` on the batch of observations (returning the env
actions), ``store_transition(rewards, next_states, terminated, truncated, valid)`` for the
step just taken with those actions (each (n_envs,)), ``update()`` and ``predict_action(state)``
on one observation; its ``drop_rollout()`` forgets an unfinished rollout.

Each ``train_one_episode`` call steps the envs until one episode ends and returns it:
``{"ep_reward": raw return, "ep_step": length, "env_steps_taken": valid steps of all sub-envs
since the previous result, "info": the ended sub-env's last info, "n_updates": updates since
then, **means of their statistics}``;
the run's counters (joyrl/counters.py) add them up, so a resumed run continues its count.
Episodes that end at the same step are queued and returned by the next calls without stepping.
With trajectory collection, sub-envs 1..n-1 record into the same files as sub-env 0.

Resuming from a checkpoint is not step-exact: the trainer keeps no state (BaseTrainer's empty
``state_dict``), so a resumed run starts new episodes in every sub-env and a new rollout; the agent's
own state (networks, optimiser, normalisers, counters) is restored.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import SyncVectorEnv

from joyrl.contracts import BaseTrainer
from joyrl.counters import add_update_stats
from joyrl.envs import EnvFailure, make_env
from joyrl.loops import run_greedy_episode
from joyrl.trajectories import recording_like


class VectorTrainer(BaseTrainer):
    """Steps ``cfg.n_envs`` envs with the agent's behaviour policy; returns one finished episode per call."""

    def __init__(self) -> None:
        super().__init__()
        self.envs: SyncVectorEnv | None = None
        self.first_env: gym.Env | None = None  # the runner's env, sub-env 0
        self.states: Any = None  # the observations the agent acts on next; None = reset the envs first
        self.finished: deque[dict[str, Any]] = deque()  # episodes ended but not yet returned
        self.env_steps = 0  # valid steps of all sub-envs
        self.reported_steps = 0  # env_steps when the last finished episode was queued

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any] | None:
        """Step the envs until an episode ends (or one is queued); None when a stop request came first."""
        if self.finished:
            return self.finished.popleft()
        if self.envs is None or env is not self.first_env:
            self._build(env, cfg)
        assert self.envs is not None  # built above
        if self.states is None:
            self._reset()
        update_sums: dict[str, float] = {}
        n_updates = 0
        while not self.finished:
            if self.stop_requested:
                return None
            actions = agent.sample_action(self.states)
            try:
                next_states, rewards, terminated, truncated, infos = self.envs.step(actions)
            except EnvFailure:
                self._drop(agent)
                raise
            valid = ~self.autoreset  # a sub-env that ended last step was only reset by this one
            agent.store_transition(rewards, next_states, terminated, truncated, valid)
            n_updates += add_update_stats(update_sums, agent.update())
            self.states = next_states
            self._count(rewards, terminated | truncated, valid, infos)
        means = {key: total / n_updates for key, total in update_sums.items()}
        self.finished[0].update(means, n_updates=n_updates)
        return self.finished.popleft()

    def _build(self, env: gym.Env, cfg: Any) -> None:
        """The vector env: ``env`` as sub-env 0, ``cfg.n_envs - 1`` more built like it."""
        if self.envs is not None:
            for sub_env in self.envs.envs[1:]:
                sub_env.close()
        seed = cfg.seed if cfg.seed > 0 else None
        factories = [lambda: env] + [
            lambda i=i: recording_like(env, make_env(cfg, None if seed is None else seed + i)) for i in range(1, cfg.n_envs)
        ]
        self.envs = SyncVectorEnv(factories)
        self.first_env = env
        self.states = None

    def _reset(self) -> None:
        assert self.envs is not None  # built by _build first
        self.states, _ = self.envs.reset()
        n_envs = self.envs.num_envs
        self.autoreset = np.zeros(n_envs, dtype=bool)
        self.returns = np.zeros(n_envs, dtype=np.float64)
        self.lengths = np.zeros(n_envs, dtype=np.int64)

    def _count(self, rewards: np.ndarray, dones: np.ndarray, valid: np.ndarray, infos: dict[str, Any]) -> None:
        """Add the step to each sub-env's episode; queue the episodes that ended, each with its last step's info."""
        self.returns += np.where(valid, rewards, 0.0)
        self.lengths += valid
        self.env_steps += int(valid.sum())
        for i in np.flatnonzero(dones):
            taken, self.reported_steps = self.env_steps - self.reported_steps, self.env_steps
            self.finished.append(
                {
                    "ep_reward": float(self.returns[i]),
                    "ep_step": int(self.lengths[i]),
                    "env_steps_taken": taken,
                    "info": sub_env_info(infos, int(i)),
                }
            )
            self.returns[i], self.lengths[i] = 0.0, 0
        self.autoreset = dones

    def _drop(self, agent: Any) -> None:
        """After an env failure: forget the rollout and the unfinished episodes; the next call resets every sub-env."""
        agent.drop_rollout()
        self.states = None

    def test_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any]:
        return run_greedy_episode(env, agent)


def sub_env_info(infos: dict[str, Any], i: int) -> dict[str, Any]:
    """Sub-env ``i``'s own info out of a vector env's batched one (arrays with ``_key`` masks, nested for dicts).

    Under ``NEXT_STEP`` autoreset the step that ends an episode returns that episode's last info.
    """
    return {
        key: sub_env_info(value, i) if isinstance(value, dict) else value[i]
        for key, value in infos.items()
        if not key.startswith("_") and infos[f"_{key}"][i]
    }
