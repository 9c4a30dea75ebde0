"""Trajectory collection for imitation learning and offline RL.

Each file ``traj/trajs_<k>.pkl`` is a pickled dict ``{"format": "joyrl-trajectories", "version": 1,
"meta": {...}, "trajectories": [...]}``: the collection's settings (env id, algorithm, the policy's run
folder, seed, exploration) and at most 1000 trajectories. A trajectory is a dict of NumPy arrays over
its T steps::

    states (T, *obs)   actions (T, *act)   rewards (T,) float32   next_states (T, *obs)
    terminated (T,) bool                   truncated (T,) bool

A Dict observation gives ``states`` and ``next_states`` as dicts of such arrays, one per part.
With a vector-env trainer every sub-env records its episodes into the same files. Files of the
earlier format, a plain pickled list of trajectories, are read too (their meta is empty).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

TRAJECTORIES_PER_FILE = 1000
FIELDS = ("states", "actions", "rewards", "next_states", "terminated", "truncated")
FORMAT = "joyrl-trajectories"


class TrajectoryWriter:
    """Buffers finished trajectories and writes a file each ``per_file`` of them."""

    def __init__(self, folder: Path, per_file: int = TRAJECTORIES_PER_FILE, meta: dict[str, Any] | None = None) -> None:
        self.folder = folder
        self.per_file = per_file
        self.meta = meta or {}  # written into every file
        self.pending: list[dict[str, np.ndarray]] = []
        self.files_written = 0
        self.trajectories_written = 0

    def add(self, trajectory: dict[str, np.ndarray]) -> None:
        self.pending.append(trajectory)
        if len(self.pending) >= self.per_file:
            self.flush()

    def flush(self) -> None:
        """Write what is pending to the next ``trajs_<k>.pkl``."""
        if not self.pending:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"trajs_{self.files_written}.pkl"
        with open(path, "wb") as file:
            payload = {"format": FORMAT, "version": 1, "meta": self.meta, "trajectories": self.pending}
            pickle.dump(payload, file, protocol=pickle.HIGHEST_PROTOCOL)
        self.files_written += 1
        self.trajectories_written += len(self.pending)
        self.pending = []


class TrajectoryCollector(gym.Wrapper):
    """Records every step of every finished episode into a ``TrajectoryWriter``."""

    def __init__(self, env: gym.Env, writer: TrajectoryWriter) -> None:
        super().__init__(env)
        self.writer = writer
        self._steps: dict[str, list] = {field: [] for field in FIELDS}
        self._state = None

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        self._steps = {field: [] for field in FIELDS}
        self._state = observation
        return observation, info

    def step(self, action):
        next_state, reward, terminated, truncated, info = self.env.step(action)
        for field, value in zip(FIELDS, (self._state, action, reward, next_state, terminated, truncated), strict=True):
            self._steps[field].append(value)
        self._state = next_state
        if terminated or truncated:
            trajectory = {field: stacked(values) for field, values in self._steps.items()}
            trajectory["rewards"] = trajectory["rewards"].astype(np.float32)
            self.writer.add(trajectory)
            self._steps = {field: [] for field in FIELDS}
        return next_state, reward, terminated, truncated, info


def stacked(values: list[Any]) -> Any:
    """(T, ...) arrays of a field's T values; Dict observations part by part."""
    if values and isinstance(values[0], dict):
        return {name: np.asarray([value[name] for value in values]) for name in values[0]}
    return np.asarray(values)


def recording_like(template: gym.Env, env: gym.Env) -> gym.Env:
    """``env`` recording its trajectories into the same writer as ``template``, when ``template`` records any."""
    while isinstance(template, gym.Wrapper):
        if isinstance(template, TrajectoryCollector):
            return TrajectoryCollector(env, template.writer)
        template = template.env
    return env


def read_trajectory_file(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The meta and the trajectories of one ``trajs_<k>.pkl`` file (only open files you trust: this is pickle)."""
    with open(path, "rb") as file:
        payload = pickle.load(file)
    if isinstance(payload, list):  # the earlier format
        return {}, payload
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"not a JoyRL trajectory file (a {type(payload).__name__})")
    return dict(payload.get("meta") or {}), list(payload["trajectories"])


def load_trajectories(path: Path) -> list[dict[str, Any]]:
    """The trajectories of one ``trajs_<k>.pkl`` file (only open files you trust: this is pickle)."""
    return read_trajectory_file(path)[1]


class ExploringActions(gym.Wrapper):
    """Collect mode's data quality: replaces or noises the policy's action before the env (and the recorder) sees it.

    ``epsilon``: a uniformly random action with probability ``epsilon``; ``gaussian`` (Box actions):
    the action plus N(0, (``noise_std`` x half the action range)^2), clipped to the bounds; ``random``:
    always a uniformly random action. Its own RNG, seeded from the run's seed, keeps collection repeatable.
    """

    def __init__(self, env: gym.Env, kind: str, epsilon: float, noise_std: float, seed: int | None) -> None:
        super().__init__(env)
        if kind == "gaussian" and not isinstance(env.action_space, gym.spaces.Box):
            raise ValueError("collect_exploration gaussian adds noise to Box actions; use epsilon or random for discrete ones")
        self.kind, self.epsilon, self.noise_std = kind, epsilon, noise_std
        self.rng = np.random.default_rng(None if seed is None else np.random.SeedSequence([seed, 7]))
        self.action_space.seed(None if seed is None else int(self.rng.integers(2**31)))

    def step(self, action: Any) -> Any:
        return self.env.step(self.explore(action))

    def explore(self, action: Any) -> Any:
        space = self.action_space
        if self.kind == "random" or (self.kind == "epsilon" and self.rng.random() < self.epsilon):
            return space.sample()
        if self.kind == "gaussian" and isinstance(space, gym.spaces.Box):
            half_range = (space.high - space.low) / 2.0
            noise = self.rng.normal(0.0, self.noise_std, size=space.shape) * half_range
            return np.clip(np.asarray(action) + noise, space.low, space.high).astype(space.dtype)
        return action


def collection_meta(cfg: Any, policy: str | None) -> dict[str, Any]:
    """What a trajectory file records of how it was collected: env, algorithm, the policy's checkpoint, exploration."""
    exploration = {"kind": cfg.collect_exploration, "epsilon": cfg.collect_epsilon, "noise_std": cfg.collect_noise_std}
    return {
        "env_id": cfg.id,
        "algo_name": cfg.algo_name,
        "mode": cfg.mode,
        "seed": cfg.seed,
        "policy": policy,
        "exploration": exploration if cfg.mode == "collect" else {"kind": "the training behaviour policy"},
    }
