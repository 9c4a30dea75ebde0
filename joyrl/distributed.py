"""Many actors, one learner, on Ray: ``general_cfg.mp_backend: ray`` with ``n_workers`` rollout workers.

The learner is this process: it owns the agent that learns, the run folder, checkpoints,
evaluation and logs, exactly as a single-process run. ``RayTrainer`` takes the place of the
algorithm's trainer in train mode; each ``train_one_episode`` call returns one finished
episode of some worker, so the episode loop, its listeners and the counters are unchanged.
The workers (joyrl/workers.py) are Ray actors that play with acting copies of the agent.

An agent declares how its data travels (``ray_workers``, joyrl/contracts.py):

- ``transitions`` / ``episodes`` (off-policy: the DQN family, DDPG, TD3, SAC, SAC_D, SoftQ):
  each worker always has one ``collect`` call in flight and sends ``worker_steps`` transitions
  at a time (``episodes``: whole episodes, for n-step returns). The learner feeds every chunk
  into its replay memory as it arrives, one ``store_transition`` then one ``update()`` per
  transition, with the agent's step counter advanced over all workers' env steps: so
  ``train_freq``, ``gradient_steps`` and ``learning_starts`` keep the ratio of updates to data
  they have in a single process. A worker gets the newest weights with its next ``collect``,
  put into Ray's object store at most once per ``sync_every`` updates.
- ``rollouts`` (PPO, A2C): synchronous rounds. Every worker plays ``n_steps`` steps of its
  ``envs_per_worker`` envs with the same weights; the learner lays the parts side by side in its
  rollout storage (``n_workers x envs_per_worker = n_envs`` envs), bootstraps each truncation
  from its own worker's values (joyrl/rollout.py), learns, and sends the new weights.

Weight versions count the learner's updates (one per ``update()`` that learned, as the run's
counters do); a chunk's policy lag is the learner's version minus the version it was played
with. ``max_policy_lag`` drops (and counts) chunks older than that. res.csv gets a ``worker``
column, train_stats.csv a ``policy_lag`` one, and the log a line per ``log_per_episode``
episodes with each worker's env steps/s and the learner's share of time spent waiting for data.

Faults: an env that raises on a worker drops that worker's unfinished episode (what it stored
already stays, as in a single process) and is logged; a worker whose process dies is restarted
by Ray (the learner asks it again every second until the new process answers), sent the weights
again and logged; nothing the learner holds is lost. The run stops, with everything saved, when no
worker sends anything for ``worker_timeout`` seconds, a restart takes longer than that, or a worker
dies more than ``max_env_failures`` times in a row without sending data.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from joyrl.contracts import BaseTrainer
from joyrl.counters import add_update_stats
from joyrl.errors import JoyRLError
from joyrl.logs import LOGGER_NAME
from joyrl.ray_setup import import_ray
from joyrl.workers import RolloutChunk, RolloutWorker, TransitionChunk

RETRY_S = 1.0  # how often a restarting worker is asked again


class WorkersLost(JoyRLError):
    """No worker sent data within ``worker_timeout`` seconds."""


def join_observations(parts: list[Any]) -> Any:
    """Batches of observations (arrays, or dicts of arrays) side by side along the first axis."""
    if isinstance(parts[0], dict):
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return np.concatenate(parts)


class RayTrainer(BaseTrainer):
    """The learner's side: workers' data into the agent, updates, weights out; one finished episode per call."""

    def __init__(self, cfg: Any, trainer: Any, kind: str, started_ray: bool) -> None:
        super().__init__()
        self.cfg = cfg
        self.trainer = trainer  # the algorithm's own: it plays the evaluation episodes
        self.kind = kind
        self.started_ray = started_ray
        self.ray = import_ray()
        self.logger = logging.getLogger(LOGGER_NAME)
        self.workers: list[Any] = []
        self.pending: dict[Any, int] = {}  # collect calls in flight -> worker
        self.sent_version: list[int] = []  # the weights' version each worker has (-1: none, or restarted)
        self.weights: Any = None  # the newest weights put into the object store
        self.weights_version = -1
        self.version = 0  # updates the learner has made: the weights' version
        self.finished: deque[dict[str, Any]] = deque()
        self.steps_since_result = 0  # env steps counted into no result yet
        self.updates_since_result = 0
        self.update_sums: dict[str, float] = {}
        self.worker_steps: list[int] = []
        self.worker_seconds: list[float] = []
        self.deaths: list[int] = []
        self.restarting: dict[int, float | None] = {}  # worker -> when last found unavailable (None: asked again)
        self.restart_started: dict[int, float] = {}
        self.probes: set[Any] = set()  # the calls in flight that only ask whether a restarting worker is up
        self.waited = 0.0  # seconds the learner spent waiting for workers
        self.started = 0.0
        self.dropped = 0  # chunks older than max_policy_lag
        self.lag = 0.0  # policy lag of the last data fed
        self.reported = 0  # episodes returned, for the periodic worker line

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any] | None:
        """Learn from the workers until one of their episodes ends; None when a stop request came first."""
        if not self.workers:
            self.start_workers(agent)
        while not self.finished:
            if self.stop_requested:
                return None
            if self.kind == "rollouts":
                self.learn_round(agent)
            else:
                self.learn_chunk(agent)
        self.reported += 1
        if self.reported % self.cfg.log_per_episode == 0:
            self.log_workers()
        return self.finished.popleft()

    def test_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any]:
        return self.trainer.test_one_episode(env, agent, cfg)

    def start_workers(self, agent: Any) -> None:
        """``n_workers`` actors, each with ``envs_per_worker`` envs and the learner's current weights."""
        cfg, ray = self.cfg, self.ray
        worker_cfg = copy.deepcopy(cfg)
        worker_cfg.n_envs = cfg.envs_per_worker
        actor = ray.remote(RolloutWorker).options(**worker_options(cfg))
        started = time.perf_counter()
        self.workers = [actor.remote(worker_cfg, i, self.kind, cfg.n_workers) for i in range(cfg.n_workers)]
        self.sent_version = [-1] * cfg.n_workers
        self.worker_steps = [0] * cfg.n_workers
        self.worker_seconds = [0.0] * cfg.n_workers
        self.deaths = [0] * cfg.n_workers  # deaths in a row, per worker
        try:
            ray.get([worker.__ray_ready__.remote() for worker in self.workers])
        except ray.exceptions.RayActorError as error:
            raise WorkersLost(f"the workers could not start: {str(error).splitlines()[0]}") from None
        self.logger.info(
            f"ray: {cfg.n_workers} workers x {cfg.envs_per_worker} envs ({self.kind}) ready in "
            f"{time.perf_counter() - started:.1f} s on {ray.cluster_resources().get('CPU', 0):g} CPUs"
        )
        self.started = time.perf_counter()
        if self.kind != "rollouts":  # off-policy workers always have a request in flight
            for i in range(cfg.n_workers):
                self.submit(i, agent)

    def current_weights(self, agent: Any) -> Any:
        """The newest weights in the object store, put again once ``sync_every`` updates have been made since
        (on-policy: after every update, so a round always plays the newest)."""
        every = 1 if self.kind == "rollouts" else self.cfg.sync_every
        if self.weights is None or self.version - self.weights_version >= every:
            state = agent.state_dict()
            self.weights = self.ray.put({name: state[name] for name in agent.weights if name in state})
            self.weights_version = self.version
        return self.weights

    def submit(self, i: int, agent: Any) -> None:
        """Ask worker ``i`` for its next chunk, with the newest weights when it has older ones."""
        weights = self.current_weights(agent)
        send = weights if self.sent_version[i] != self.weights_version else None
        self.sent_version[i] = self.weights_version
        self.pending[self.workers[i].collect.remote(send, self.weights_version, agent.sample_count)] = i

    def wait_chunk(self, agent: Any) -> TransitionChunk | RolloutChunk | None:
        """The next chunk any worker finishes; None when a worker turned out dead or restarting (it is asked again)."""
        started = time.perf_counter()
        while True:
            self.retry_restarting(agent)
            if self.pending:
                timeout = RETRY_S if self.restarting else self.cfg.worker_timeout
                ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=timeout)
                if ready:
                    break
            else:  # every worker is restarting
                time.sleep(RETRY_S)
            if time.perf_counter() - started >= self.cfg.worker_timeout:
                raise WorkersLost(
                    f"no worker sent data for {self.cfg.worker_timeout:g} s (general_cfg.worker_timeout); "
                    "their Ray logs are under the system temp dir, ray/session_latest/logs"
                )
        self.waited += time.perf_counter() - started
        i = self.pending.pop(ready[0])
        if ready[0] in self.probes:
            self.probe_answered(ready[0], i, agent)
            return None
        try:
            chunk = self.ray.get(ready[0])
        except self.ray.exceptions.ActorUnavailableError:  # its process died and Ray is starting a new one
            self.died(i)
            return None
        except self.ray.exceptions.RayActorError as error:  # dead for good (its restart failed)
            raise WorkersLost(f"worker {i} died and could not be restarted: {str(error).splitlines()[0]}") from None
        self.deaths[i] = 0
        self.worker_steps[i] += chunk.env_steps
        self.worker_seconds[i] += chunk.seconds
        for failure in chunk.failures:
            self.logger.warning(f"ray: worker {i}'s env failed: {failure}; its episode dropped, env rebuilt")
        return chunk

    def died(self, i: int) -> None:
        """Worker ``i``'s process died while it played: count and log it; it is probed until Ray has restarted it."""
        self.deaths[i] += 1
        if self.deaths[i] > self.cfg.max_env_failures:
            raise WorkersLost(f"worker {i} died {self.deaths[i]} times in a row without sending data (max_env_failures)")
        self.logger.warning(f"ray: worker {i} died; Ray restarts it; its unfinished episode is dropped")
        self.restart_started[i] = self.restarting[i] = time.perf_counter()
        self.sent_version[i] = -1  # a new process: it needs the weights again

    def retry_restarting(self, agent: Any) -> None:
        """Probe each restarting worker (a no-op call that answers once its new process is up), at most once per RETRY_S."""
        now = time.perf_counter()
        for i, last in list(self.restarting.items()):
            if last is not None and now - last >= RETRY_S:
                self.restarting[i] = None  # probed; waiting for the answer
                probe = self.workers[i].__ray_ready__.remote()
                self.pending[probe] = i
                self.probes.add(probe)

    def probe_answered(self, probe: Any, i: int, agent: Any) -> None:
        """A restarting worker's probe came back: up again (ask it for data), or not yet (probe again later)."""
        self.probes.discard(probe)
        try:
            self.ray.get(probe)
        except self.ray.exceptions.ActorUnavailableError:
            if time.perf_counter() - self.restart_started[i] > self.cfg.worker_timeout:
                raise WorkersLost(
                    f"worker {i} has been restarting for {self.cfg.worker_timeout:g} s (general_cfg.worker_timeout)"
                ) from None
            self.restarting[i] = time.perf_counter()
            return
        except self.ray.exceptions.RayActorError as error:
            raise WorkersLost(f"worker {i} died and could not be restarted: {str(error).splitlines()[0]}") from None
        del self.restarting[i]
        self.submit(i, agent)

    def learn_chunk(self, agent: Any) -> None:
        """Off-policy: one worker's chunk into the replay memory, an update after each transition; the worker asked again."""
        chunk = self.wait_chunk(agent)
        if chunk is None:
            return
        assert isinstance(chunk, TransitionChunk)
        self.lag = float(self.version - chunk.version)
        limit = self.cfg.max_policy_lag
        stale = limit is not None and self.lag > limit
        self.dropped += stale
        ends, episodes = set(chunk.episode_ends), iter(chunk.episodes)
        next_episode = next(episodes, None)
        for count, transition in enumerate(chunk.transitions, 1):
            if not stale:
                agent.sample_count += 1  # the learner's clock: env steps of all workers
                agent.store_transition(*transition)
                learned = add_update_stats(self.update_sums, agent.update())
                self.updates_since_result += learned
                self.version += learned
                if count in ends:
                    agent.end_episode()
            self.steps_since_result += 1
            while next_episode is not None and next_episode[0] == count:
                self.finish(next_episode[1], chunk.worker)
                next_episode = next(episodes, None)
        self.submit(chunk.worker, agent)

    def learn_round(self, agent: Any) -> None:
        """On-policy: every worker's part of the rollout with the same weights, then one update and new weights."""
        for i in range(self.cfg.n_workers):
            self.submit(i, agent)
        chunks: dict[int, RolloutChunk] = {}
        while self.pending or self.restarting:
            chunk = self.wait_chunk(agent)
            if chunk is not None:
                assert isinstance(chunk, RolloutChunk)
                chunks[chunk.worker] = chunk
        ordered = [chunks[i] for i in range(self.cfg.n_workers)]
        agent.rollout.load([chunk.rollout for chunk in ordered])
        agent.next_states = join_observations([chunk.next_states for chunk in ordered])
        agent.sample_count += agent.rollout.n_steps * agent.rollout.n_envs
        learned = add_update_stats(self.update_sums, agent.update())
        self.updates_since_result += learned
        self.version += learned
        self.lag = 0.0
        self.steps_since_result += sum(chunk.env_steps for chunk in ordered)
        for chunk in ordered:
            for result in chunk.episodes:
                self.finish(result, chunk.worker)

    def finish(self, result: dict[str, Any], worker: int) -> None:
        """Queue a worker's finished episode with the env steps and updates since the previous one."""
        n_updates = self.updates_since_result
        # the update statistics' means, and the lag of the data they learned from (train_stats.csv)
        means = (
            {**{key: total / n_updates for key, total in self.update_sums.items()}, "policy_lag": self.lag} if n_updates else {}
        )
        self.finished.append(
            {
                "ep_reward": result["ep_reward"],
                "ep_step": result["ep_step"],
                "worker": worker,
                "info": result.get("info", {}),
                "env_steps_taken": self.steps_since_result,
                "n_updates": n_updates,
                **means,
            }
        )
        self.steps_since_result = self.updates_since_result = 0
        self.update_sums = {}

    def log_workers(self) -> None:
        """Each worker's env steps/s while collecting, the learner's share of time waiting, chunks dropped."""
        speeds = ", ".join(
            f"{i}: {steps / max(seconds, 1e-9):,.0f}"
            for i, (steps, seconds) in enumerate(zip(self.worker_steps, self.worker_seconds, strict=True))
        )
        waiting = self.waited / max(time.perf_counter() - self.started, 1e-9)
        dropped = f" | {self.dropped} chunks dropped (max_policy_lag)" if self.cfg.max_policy_lag is not None else ""
        self.logger.info(
            f"ray    | worker env steps/s {speeds} | learner waiting {waiting:.0%} | policy lag {self.lag:g}{dropped}"
        )

    def close(self) -> None:
        """Stop the workers, and Ray when this run started it."""
        for worker in self.workers:
            self.ray.kill(worker)
        self.workers = []
        self.pending = {}
        if self.started_ray and self.ray.is_initialized():
            self.ray.shutdown()


def worker_options(cfg: Any) -> dict[str, Any]:
    """The workers' Ray actor options: their CPUs, restarted whenever they die, and nice 0 like the learner.

    Ray starts its worker processes at nice 15, so any busy process on the machine (another run) would
    starve them: measured with two other trainings on 2 cores, 146 env steps/s a worker instead of ~2,000.
    """
    niceness = {"env_vars": {"RAY_worker_niceness": "0"}}
    return {"num_cpus": cfg.worker_cpus, "max_restarts": -1, "max_task_retries": 0, "runtime_env": niceness}
