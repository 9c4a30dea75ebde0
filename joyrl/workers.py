"""The acting side of ``mp_backend: ray``: one rollout worker, run as a Ray actor (joyrl/distributed.py).

A worker owns its env(s), an acting copy of the agent (the learner sends it the weights, the
``weights`` entries of the agent's ``state_dict``) and the algorithm's own trainer, so it plays
with exactly the episode loop of a single-process run (joyrl/loops.py, joyrl/vector_loop.py).
A tap sits between that loop and the agent and keeps what the loop hands over for learning:

- ``TransitionTap`` (off-policy agents): every ``store_transition`` becomes a row of a
  ``TransitionChunk``; ``update()`` learns nothing here. A chunk ends after ``worker_steps``
  env steps (mid-episode: the loop keeps the episode and continues it with the next chunk),
  or, for agents that store whole episodes (``ray_workers = "episodes"``: n-step returns,
  recurrent sequences), at the first episode end after that.
- ``RolloutTap`` (PPO, A2C): the agent fills its own rollout storage as in a single process;
  when it is full, ``update()`` takes it out (``RolloutStorage.export``) instead of learning.

With ``worker_epsilon: apex`` an epsilon-greedy agent's worker ``i`` of N explores with Ape-X's
constant epsilon_i = 0.4 ** (1 + 7 i / (N - 1)) instead of the agent's schedule (the learner's
greedy evaluation is unaffected).

Seeds: worker ``i`` of a run seeded ``s`` is seeded ``SeedSequence([s, i])`` (NumPy's way of
deriving independent streams), its env ``j`` with that seed + ``j``; an unseeded run's workers
are unseeded. Each worker runs torch on one thread.
"""

from __future__ import annotations

import copy
import importlib
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from joyrl.envs import EnvFailure, make_env
from joyrl.runtime import seed_everything, set_torch_threads
from joyrl.schedules import DecaySchedule


def apex_epsilon(worker: int, n_workers: int) -> float:
    """Ape-X's fixed epsilon of worker ``i`` of N: 0.4 ** (1 + 7 i / (N - 1)) (Horgan et al., 2018); 0.4 for one worker."""
    return 0.4 ** (1 + 7 * worker / (n_workers - 1)) if n_workers > 1 else 0.4


def worker_seed(seed: int, worker: int) -> int:
    """Worker ``worker``'s seed for a run seeded ``seed`` (0 = unseeded stays 0): SeedSequence([seed, worker])."""
    if seed <= 0:
        return 0
    return int(np.random.SeedSequence([seed, worker]).generate_state(1)[0]) or 1


@dataclass
class TransitionChunk:
    """What an off-policy worker sends: its transitions in order, where episodes ended, and the finished ones."""

    worker: int
    version: int  # the weights' version the actions were chosen with
    transitions: list[tuple[Any, Any, float, Any, bool]] = field(default_factory=list)  # (s, a, r, s', terminated)
    episode_ends: list[int] = field(default_factory=list)  # len(transitions) when an episode ended or was dropped
    episodes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (len(transitions) at its end, result)
    failures: list[str] = field(default_factory=list)  # env failures: each dropped an unfinished episode
    seconds: float = 0.0  # spent collecting

    @property
    def env_steps(self) -> int:
        return len(self.transitions)


@dataclass
class RolloutChunk:
    """What an on-policy worker sends: its part of the rollout (n_steps x its envs) and the episodes that ended."""

    worker: int
    version: int
    rollout: dict[str, Any]  # RolloutStorage.export()
    next_states: Any  # the observations after the last step, for V(s_T)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def env_steps(self) -> int:
        return int(self.rollout["valid"].sum())


class TransitionTap:
    """The agent as an off-policy loop sees it on a worker: acting passes through, transitions are kept."""

    def __init__(self, agent: Any, trainer: Any, chunk_steps: int, cut_episodes: bool, pool_size: int) -> None:
        self.agent = agent
        self.trainer = trainer
        self.chunk_steps = chunk_steps
        self.cut_episodes = cut_episodes
        self.pool_size = pool_size  # the agent's step counter advances as the whole pool's does
        self.chunk: TransitionChunk | None = None

    def sample_action(self, state: Any) -> Any:
        return self.agent.sample_action(state)

    def predict_action(self, state: Any) -> Any:
        return self.agent.predict_action(state)

    def store_transition(self, state: Any, action: Any, reward: float, next_state: Any, terminated: bool) -> None:
        assert self.chunk is not None  # set by the worker before it plays
        self.chunk.transitions.append((state, action, float(reward), next_state, bool(terminated)))
        self.agent.sample_count += self.pool_size - 1  # schedules (epsilon, warm-up) follow all workers' steps

    def update(self) -> None:
        assert self.chunk is not None
        if self.cut_episodes and self.chunk.env_steps >= self.chunk_steps:
            self.trainer.stop_requested = True  # the loop keeps the episode and continues it in the next chunk

    def end_episode(self) -> None:
        assert self.chunk is not None
        self.chunk.episode_ends.append(self.chunk.env_steps)
        self.agent.end_episode()


class RolloutTap:
    """The agent as the vector loop sees it on a worker: it fills its rollout, which is taken out when full."""

    def __init__(self, agent: Any, trainer: Any) -> None:
        self.agent = agent
        self.trainer = trainer
        self.taken: tuple[dict[str, Any], Any] | None = None  # (rollout, next observations) once full

    def sample_action(self, states: Any) -> Any:
        return self.agent.sample_action(states)

    def predict_action(self, state: Any) -> Any:
        return self.agent.predict_action(state)

    def store_transition(self, *step: Any) -> None:
        self.agent.store_transition(*step)

    def update(self) -> None:
        rollout = self.agent.rollout
        if rollout.full:
            self.taken = (rollout.export(), copy.deepcopy(self.agent.next_states))
            rollout.reset()
            self.trainer.stop_requested = True

    def drop_rollout(self) -> None:
        self.agent.drop_rollout()


class RolloutWorker:
    """One worker: ``envs_per_worker`` envs, an acting agent and the algorithm's trainer; ``collect`` plays one chunk."""

    def __init__(self, cfg: Any, index: int, kind: str, pool_size: int) -> None:
        set_torch_threads(1)
        cfg = copy.deepcopy(cfg)
        cfg.seed = worker_seed(cfg.seed, index)
        seed_everything(cfg.seed)
        self.cfg, self.index, self.kind = cfg, index, kind
        algo = cfg.algo_name
        self.agent = importlib.import_module(f"algos.{algo}.agent").Agent(cfg)
        if cfg.worker_epsilon == "apex":  # the agent's epsilon schedule replaced by this worker's constant
            epsilon = apex_epsilon(index, pool_size)
            self.agent.epsilon = DecaySchedule(epsilon, epsilon, 1, "linear")
        self.version = -1  # no weights from the learner yet
        seed = cfg.seed if cfg.seed > 0 else None
        trainer_class = importlib.import_module(f"algos.{algo}.trainer").Trainer
        if kind == "rollouts":  # one vector env of cfg.n_envs (= envs_per_worker) sub-envs, seeded seed + j
            self.trainers = [trainer_class()]
            self.envs: list[gym.Env] = [make_env(cfg, seed)]
            self.rollout_tap = RolloutTap(self.agent, self.trainers[0])
        else:
            self.envs = [make_env(cfg, None if seed is None else seed + j) for j in range(cfg.envs_per_worker)]
            self.trainers = [trainer_class() for _ in self.envs]
            self.taps = [
                TransitionTap(self.agent, trainer, cfg.worker_steps, kind == "transitions", pool_size)
                for trainer in self.trainers
            ]
        self.next_env = 0  # off-policy: the env the next chunk comes from (they take turns)

    def set_weights(self, weights: dict[str, Any], version: int, sample_count: int) -> None:
        """Load the learner's acting weights and its step count (the clock of the agent's schedules)."""
        self.agent.load_state_dict({**self.agent.state_dict(), **weights})
        self.agent.sample_count = sample_count
        self.version = version

    def collect(self, weights: dict[str, Any] | None, version: int, sample_count: int) -> TransitionChunk | RolloutChunk:
        """Play one chunk with the newest weights (``weights`` None: the ones already loaded)."""
        if weights is not None:
            self.set_weights(weights, version, sample_count)
        started = time.perf_counter()
        chunk = self.collect_rollout() if self.kind == "rollouts" else self.collect_transitions()
        chunk.seconds = time.perf_counter() - started
        return chunk

    def collect_transitions(self) -> TransitionChunk:
        j = self.next_env
        self.next_env = (j + 1) % len(self.envs)
        env, trainer, tap = self.envs[j], self.trainers[j], self.taps[j]
        chunk = tap.chunk = TransitionChunk(self.index, self.version)
        trainer.stop_requested = False
        while chunk.env_steps < self.cfg.worker_steps and not trainer.stop_requested:
            try:
                result = trainer.train_one_episode(env, tap, self.cfg)
            except EnvFailure as failure:
                tap.end_episode()  # the episode is dropped; what it stored already stays, as in a single process
                chunk.failures.append(str(failure))
                continue
            if result is not None:
                chunk.episodes.append((chunk.env_steps, result))
        return chunk

    def collect_rollout(self) -> RolloutChunk:
        env, trainer, tap = self.envs[0], self.trainers[0], self.rollout_tap
        episodes: list[dict[str, Any]] = []
        failures: list[str] = []
        tap.taken = None
        trainer.stop_requested = False
        while tap.taken is None:
            try:
                result = trainer.train_one_episode(env, tap, self.cfg)
            except EnvFailure as failure:  # the vector loop dropped the rollout; a new one starts
                failures.append(str(failure))
                trainer.stop_requested = False
                continue
            if result is not None:
                episodes.append(result)
        rollout, next_states = tap.taken
        return RolloutChunk(self.index, self.version, rollout, next_states, episodes, failures)

    def close(self) -> None:
        for env in self.envs:
            env.close()
