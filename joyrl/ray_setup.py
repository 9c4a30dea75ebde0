"""Setting up ``mp_backend: ray`` before a run starts: Ray imported, the algorithm and the keys checked, Ray started
or joined (joyrl/distributed.py runs the workers). Every problem here is one line before the run folder exists."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from joyrl.acting import ScoredActions
from joyrl.contracts import BaseAgent
from joyrl.errors import ConfigError

RAY_INSTALL = "pip install -r requirements-ray.txt"
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20  # a local Ray's shared memory for chunks and weights
CONNECT_TIMEOUT_S = 10.0


def import_ray() -> Any:
    """The ``ray`` module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"general_cfg.mp_backend is 'ray' but Ray is not installed: {RAY_INSTALL}") from None
    return ray


def ray_kind(agent_class: type[BaseAgent], cfg: Any) -> str:
    """How ``agent_class``'s data travels from the workers (its ``ray_workers``); ConfigError when it cannot run on Ray."""
    name = cfg.algo_name
    if agent_class.learns_from_demonstrations:
        raise ConfigError(
            f"{name} does not run on Ray workers yet (its discriminator learns beside PPO): set general_cfg.mp_backend=single"
        )
    if agent_class.needs_dataset or cfg.dataset is not None:
        raise ConfigError(
            f"{name} learns from a dataset, with no env steps to spread over workers: set general_cfg.mp_backend=single"
        )
    kind = agent_class.ray_workers
    if kind is None:
        raise ConfigError(
            f"{name} does not run on Ray workers (tabular agents, planners, REINFORCE and DRQN learn in one process): "
            "set general_cfg.mp_backend=single; Ray runs the DQN family but DRQN, DDPG, TD3, SAC, SAC_D, SoftQ, PPO and A2C"
        )
    return str(kind)


def resolve_workers(cfg: Any, kind: str) -> None:
    """Check the Ray keys against the algorithm and fill ``envs_per_worker`` (None: n_envs / n_workers on-policy, else 1)."""
    if cfg.collect_traj:
        raise ConfigError(
            "collect_traj writes the learner's env's episodes, and with mp_backend ray no env runs there: set it to false"
        )
    if kind != "rollouts":
        cfg.envs_per_worker = cfg.envs_per_worker or 1
        return
    for key in ("normalize_obs", "normalize_reward"):
        if getattr(cfg, key):
            raise ConfigError(f"{key} keeps running statistics in one process; with mp_backend ray set it to false")
    if cfg.envs_per_worker is None:
        if cfg.n_envs % cfg.n_workers:
            raise ConfigError(
                f"n_envs ({cfg.n_envs}) is split over n_workers ({cfg.n_workers}) and must be a multiple of it; or set envs_per_worker"
            )
        cfg.envs_per_worker = cfg.n_envs // cfg.n_workers
    elif cfg.envs_per_worker * cfg.n_workers != cfg.n_envs:
        raise ConfigError(
            f"a rollout holds n_envs ({cfg.n_envs}) envs, but n_workers x envs_per_worker is "
            f"{cfg.n_workers} x {cfg.envs_per_worker}: make them equal (or leave envs_per_worker null)"
        )


def check_worker_epsilon(cfg: Any, agent: Any) -> None:
    """``worker_epsilon: apex`` needs an agent that explores epsilon-greedily along an ``epsilon`` schedule."""
    if cfg.worker_epsilon == "apex" and not (isinstance(agent, ScoredActions) and agent.exploration_epsilon() is not None):
        raise ConfigError(
            f"worker_epsilon apex sets each worker's epsilon, but {cfg.algo_name} does not explore epsilon-greedily: set it to schedule"
        )


def connect(cfg: Any) -> bool:
    """Start a local Ray (``ray_address`` None) or join a cluster; True when this run started Ray (and stops it)."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():  # a caller that runs several trainings in one Ray (the tests)
        started = False
    elif cfg.ray_address is None:
        ray.init(
            num_cpus=os.cpu_count(),
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            logging_level=logging.ERROR,
        )
        started = True
    else:
        join_cluster(ray, cfg.ray_address)
        started = True
    need, have = cfg.n_workers * cfg.worker_cpus, ray.cluster_resources().get("CPU", 0.0)
    if need > have:
        if started:
            ray.shutdown()
        raise ConfigError(
            f"n_workers x worker_cpus = {need:g} CPUs, but the Ray cluster has {have:g}: lower n_workers or worker_cpus"
        )
    return started


def join_cluster(ray: Any, address: str) -> None:
    """``ray.init(address)``, with an unreachable ``host:port`` reported in at most CONNECT_TIMEOUT_S seconds."""
    fix = "start one with `ray start --head`, or set general_cfg.ray_address to null for a local Ray"
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address != "auto" and host and port.isdigit():
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as error:
            raise ConfigError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}; {fix}") from None
    try:
        ray.init(address=address, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ConfigError(f"cannot join the Ray cluster at {address}: {str(error).splitlines()[0]}; {fix}") from None
