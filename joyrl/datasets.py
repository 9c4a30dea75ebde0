"""Datasets of collected trajectories, for imitation learning and offline RL.

``general_cfg.dataset`` names one or more sources: a run folder (its ``traj/trajs_*.pkl``), a
``trajs_N.pkl`` file, or a glob of either (a name without a folder is also looked for under
tasks/), or ``minari:<dataset_id>``, a local Minari dataset (joyrl/minari_io.py). ``load_dataset`` reads them into one ``Dataset``: flat arrays of the transitions in
episode order, with the episode boundaries and terminated and truncated kept apart.

An agent learns from it through its own memory: ``fill_memory`` hands every transition to
``agent.store_transition`` (so an agent stores actions in its own units, n-step returns close at
episode ends, and so on) and calls ``agent.end_episode()`` after each episode; then the agent's
``update()`` learns from the memory as it would online. ``agent.fit_dataset(dataset)`` comes first,
for agents that take statistics from the data (TD3+BC's observation normalisation).
"""

from __future__ import annotations

import glob
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from joyrl import minari_io
from joyrl.contracts import BaseAgent
from joyrl.errors import JoyRLError
from joyrl.trajectories import FIELDS, read_trajectory_file

Observations = np.ndarray | dict[str, np.ndarray]


@dataclass
class Dataset:
    """Transitions in episode order: episode ``e`` is rows ``episode_starts[e]`` to ``episode_starts[e + 1]``."""

    observations: Observations  # (N, *obs), or one array per part of a Dict observation
    actions: np.ndarray  # (N, *act): int64 indices for Discrete actions, float32 vectors for Box ones
    rewards: np.ndarray  # (N,) float32
    next_observations: Observations  # (N, *obs)
    terminated: np.ndarray  # (N,) bool: the episode really ended (no bootstrap)
    truncated: np.ndarray  # (N,) bool: a time limit cut it (bootstrap from the next observation)
    episode_starts: np.ndarray  # (E,) int64
    sources: list[str] = field(default_factory=list)  # the files read
    meta: list[dict[str, Any]] = field(default_factory=list)  # each file's collection settings, when it has them

    @property
    def n_transitions(self) -> int:
        return len(self.rewards)

    @property
    def n_episodes(self) -> int:
        return len(self.episode_starts)

    def episode_bounds(self) -> list[tuple[int, int]]:
        ends = [*self.episode_starts[1:], self.n_transitions]
        return [(int(start), int(end)) for start, end in zip(self.episode_starts, ends, strict=True)]

    def episode_returns(self) -> np.ndarray:
        return np.array([self.rewards[start:end].sum(dtype=np.float64) for start, end in self.episode_bounds()])

    def episodes(self) -> Iterator[dict[str, Any]]:
        """Each episode as a dict of its arrays (the trajectory fields)."""
        for start, end in self.episode_bounds():
            yield {name: _rows(getattr(self, attribute), start, end) for name, attribute in zip(FIELDS, _ATTRIBUTES, strict=True)}

    def summary(self) -> str:
        returns = self.episode_returns()
        return (
            f"{self.n_episodes:,} episodes, {self.n_transitions:,} transitions from {len(self.sources)} file(s); "
            f"episode return mean {returns.mean():.2f}, min {returns.min():.2f}, max {returns.max():.2f}"
        )


_ATTRIBUTES = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated")


def _rows(array: Observations, start: int, end: int) -> Observations:
    if isinstance(array, dict):
        return {name: part[start:end] for name, part in array.items()}
    return array[start:end]


def _concatenate(parts: list[Any]) -> Observations:
    if isinstance(parts[0], dict):
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return np.concatenate(parts)


def dataset_files(name: str, tasks_dir: Path) -> list[Path]:
    """The ``trajs_*.pkl`` files that ``name`` stands for (a run folder, a file, a glob); JoyRLError when there are none."""
    found = _files_of(name) or ([] if Path(name).is_absolute() else _files_of(str(tasks_dir / name)))
    if not found:
        raise JoyRLError(
            f"general_cfg.dataset {name!r}: no trajs_*.pkl found (a run folder of collect, a trajs_N.pkl file, a glob, "
            "or minari:<dataset_id>); collect some with --mode collect --load RUN"
        )
    return found


def _files_of(name: str) -> list[Path]:
    found: list[Path] = []
    for match in sorted(glob.glob(str(Path(name).expanduser()))) or []:
        path = Path(match)
        if path.is_dir():
            found.extend(
                sorted((path / "traj").glob("trajs_*.pkl"), key=_file_number)
                or sorted(path.glob("trajs_*.pkl"), key=_file_number)
            )
        elif path.is_file():
            found.append(path)
    return found


def _file_number(path: Path) -> int:
    digits = path.stem.rpartition("_")[2]
    return int(digits) if digits.isdigit() else 0


def load_dataset(spec: str | list[str], tasks_dir: Path) -> Dataset:
    """Read every source ``spec`` names into one Dataset; a missing, empty or damaged file is one JoyRLError.

    A ``minari:<dataset_id>`` entry reads a local Minari dataset (joyrl/minari_io.py).
    """
    trajectories, sources, meta = [], [], []
    names = [spec] if isinstance(spec, str) else list(spec)
    for name in names:
        for source, file_meta, file_trajectories in _read_source(name, tasks_dir):
            for index, trajectory in enumerate(file_trajectories):
                _check_trajectory(trajectory, f"{source} trajectory {index}")
            trajectories.extend(file_trajectories)
            sources.append(source)
            meta.append(file_meta)
    lengths = np.array([len(trajectory["rewards"]) for trajectory in trajectories])
    columns = {field_name: _concatenate([trajectory[field_name] for trajectory in trajectories]) for field_name in FIELDS}
    return Dataset(
        observations=columns["states"],
        actions=np.asarray(columns["actions"]),
        rewards=np.asarray(columns["rewards"], dtype=np.float32),
        next_observations=columns["next_states"],
        terminated=np.asarray(columns["terminated"], dtype=bool),
        truncated=np.asarray(columns["truncated"], dtype=bool),
        episode_starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64),
        sources=sources,
        meta=meta,
    )


def _read_source(name: str, tasks_dir: Path) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(source, meta, trajectories) of each file ``name`` stands for, or of the Minari dataset it names."""
    if name.startswith(minari_io.PREFIX):
        meta, trajectories = minari_io.minari_trajectories(name[len(minari_io.PREFIX) :])
        if not trajectories:
            raise JoyRLError(f"the Minari dataset {name!r} holds no episodes")
        yield name, meta, trajectories
        return
    for path in dataset_files(name, tasks_dir):
        try:
            file_meta, file_trajectories = read_trajectory_file(path)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as error:
            raise JoyRLError(
                f"dataset file {path} cannot be read ({type(error).__name__}: {error}); is it a trajs_N.pkl?"
            ) from None
        if not file_trajectories:
            raise JoyRLError(f"dataset file {path} holds no trajectories")
        yield str(path), file_meta, file_trajectories


def _check_trajectory(trajectory: Any, where: str) -> None:
    if not isinstance(trajectory, dict) or set(FIELDS) - set(trajectory):
        keys = ", ".join(map(str, trajectory)) if isinstance(trajectory, dict) else type(trajectory).__name__
        raise JoyRLError(f"{where}: expected the fields {', '.join(FIELDS)}; got {keys}")
    lengths = {name: len(next(iter(value.values())) if isinstance(value, dict) else value) for name, value in trajectory.items()}
    if len(set(lengths.values())) != 1 or not lengths["rewards"]:
        raise JoyRLError(f"{where}: its fields have different or zero lengths ({lengths})")


def check_dataset_fits(dataset: Dataset, env: gym.Env, algo_name: str) -> None:
    """One JoyRLError when the data's observations or actions do not fit the env's spaces."""
    obs_space, action_space = env.observation_space, env.action_space
    observations = dataset.observations
    if isinstance(obs_space, spaces.Dict) != isinstance(observations, dict):
        raise JoyRLError(
            f"the dataset's observations are {'a Dict' if isinstance(observations, dict) else 'arrays'}, the env's are not"
        )
    parts = observations if isinstance(observations, dict) else {"observation": observations}
    shapes = (
        {name: part.shape for name, part in obs_space.spaces.items()}
        if isinstance(obs_space, spaces.Dict)
        else {"observation": obs_space.shape}
    )
    for name, part in parts.items():
        if name not in shapes or tuple(part.shape[1:]) != tuple(shapes[name] or ()):
            raise JoyRLError(
                f"the dataset's observations ({name}: {tuple(part.shape[1:])}) do not fit the env's {obs_space}; "
                "was it collected on another env?"
            )
    discrete_data = np.issubdtype(dataset.actions.dtype, np.integer) and dataset.actions.ndim == 1
    if isinstance(action_space, spaces.Discrete) and not discrete_data:
        raise JoyRLError(
            f"the dataset holds continuous actions {dataset.actions.shape[1:]}, but {algo_name} on this env acts in {action_space}"
        )
    if isinstance(action_space, spaces.Box) and (discrete_data or tuple(dataset.actions.shape[1:]) != action_space.shape):
        kind = "discrete actions" if discrete_data else f"actions of shape {dataset.actions.shape[1:]}"
        raise JoyRLError(f"the dataset holds {kind}, but {algo_name} on this env acts in {action_space}")


def fill_memory(agent: Any, dataset: Dataset) -> int:
    """Hand every transition to the agent's ``store_transition``, episode by episode; returns how many its memory kept."""
    agent.fit_dataset(dataset)
    for episode in dataset.episodes():
        states, actions, rewards, next_states = (episode[name] for name in ("states", "actions", "rewards", "next_states"))
        for t in range(len(rewards)):
            state = _row(states, t)
            agent.store_transition(state, actions[t], float(rewards[t]), _row(next_states, t), bool(episode["terminated"][t]))
        agent.end_episode()
    return len(agent.memory) if agent.memory is not None else 0


def _row(array: Observations, t: int) -> Any:
    return {name: part[t] for name, part in array.items()} if isinstance(array, dict) else array[t]


def offline_dataset(cfg: Any, env: gym.Env, agent_class: type[BaseAgent], tasks_dir: Path) -> Dataset | None:
    """Train mode's dataset (None when ``general_cfg.dataset`` is unset), checked against the env and the
    algorithm; ``cfg.buffer_size``, when the algorithm has that key, is raised to hold it all (set to its size
    for an algorithm that learns from the dataset only)."""
    if cfg.dataset is None:
        if agent_class.needs_dataset:
            raise JoyRLError(
                f"{cfg.algo_name} learns from a dataset only: set general_cfg.dataset to a collect run folder or trajs_N.pkl "
                "(python benchmarks/make_datasets.py makes the presets' ones)"
            )
        return None
    if not (agent_class.learns_offline or agent_class.learns_from_demonstrations):
        raise JoyRLError(
            f"{cfg.algo_name} cannot learn from a dataset (its Agent declares neither learns_offline nor "
            "learns_from_demonstrations); "
            "use an offline algorithm (BC, CQL, BCQ, TD3_BC, IQL) or a replay-trained one (DQN, SAC, ...)"
        )
    dataset = load_dataset(cfg.dataset, tasks_dir)
    check_dataset_fits(dataset, env, cfg.algo_name)
    buffer_size = getattr(cfg, "buffer_size", None)  # an algo_cfg key, when the algorithm has one
    if buffer_size is not None and (buffer_size < dataset.n_transitions or agent_class.needs_dataset):
        cfg.buffer_size = dataset.n_transitions  # the whole dataset; exactly it for a dataset-only algorithm
    return dataset
