"""Checkpoint files: written atomically, versioned, loaded safely (``weights_only=True``).

A checkpoint holds the agent's whole state (its ``state_dict()``: networks, optimisers,
counters), the training progress and the RNG states (global and the envs'), and, when
training stopped part-way through an episode, that episode; ``last.pt`` also holds the
replay memory with ``save_buffer``. All tensors and plain types.
"""

from __future__ import annotations

import errno
import io
import math
import os
import pickle
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from joyrl import paths
from joyrl.counters import Counters
from joyrl.envs import reset_rng_state, space_rng_states
from joyrl.episodes import EpisodeEvent, Listener, NonFinite
from joyrl.errors import JoyRLError
from joyrl.runtime import rng_states

FORMAT_VERSION = 1
CHECKPOINT_SUFFIX = ".pt"


def save_checkpoint(
    path: Path,
    algo_name: str,
    agent_state: dict,
    progress: dict,
    rng: dict | None = None,
    extra: dict | None = None,
    durable: bool = True,
) -> Path:
    """Write to a temporary file, fsync (``durable``), then rename: a crash never leaves half a file.

    The rename alone keeps a killed process from leaving half a file; the fsync (3 of a DQN
    checkpoint's 4 ms here) also keeps the file through a power cut or a kernel crash.
    ``extra`` adds top-level entries (env RNG states, the unfinished episode, the replay memory).
    """
    payload = {
        "format_version": FORMAT_VERSION,
        "algo_name": algo_name,
        "agent": agent_state,
        "progress": progress,
        "rng": rng or {},
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        serialized = io.BytesIO()  # one write of the whole file: torch.save into a file makes one per record
        torch.save(payload, serialized)
        with os.fdopen(handle, "wb") as file:
            file.write(serialized.getbuffer())
            file.flush()
            if durable:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def first_non_finite(state: Any, name: str = "agent") -> str | None:
    """The path (e.g. ``agent.policy_net.0.weight``) of the first float tensor holding NaN or inf, or None.

    One sum a tensor answers in the common case (7x faster than ``isfinite().all()`` a tensor): NaN and
    inf make a sum non-finite, so finite sums mean finite tensors. Only a non-finite sum (a bad value,
    or finite values whose sum overflows) has each tensor checked, to name the first bad one.
    """
    tensors = _float_tensors(state, name, [])
    if not tensors:
        return None
    sums = torch.stack([tensor.detach().sum() for _, tensor in tensors])
    if bool(torch.isfinite(sums).all()):
        return None
    return next((path for path, tensor in tensors if not bool(torch.isfinite(tensor).all())), None)


def _float_tensors(state: Any, name: str, found: list[tuple[str, torch.Tensor]]) -> list[tuple[str, torch.Tensor]]:
    """The floating-point tensors in nested dicts, lists and tuples, with their paths, in order."""
    if isinstance(state, torch.Tensor):
        if state.is_floating_point():
            found.append((name, state))
    elif isinstance(state, dict):
        for key, value in state.items():
            _float_tensors(value, f"{name}.{key}", found)
    elif isinstance(state, (list, tuple)):
        for index, value in enumerate(state):
            _float_tensors(value, f"{name}.{index}", found)
    return found


def load_checkpoint(path: Path, algo_name: str) -> dict[str, Any]:
    """Read a checkpoint of ``algo_name``; any damage or mismatch is one clear JoyRLError."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise JoyRLError(f"checkpoint {path} not found") from None
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise JoyRLError(f"checkpoint {path} is damaged or not a JoyRL checkpoint ({first_line[:160]})") from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise JoyRLError(f"{path} is not a JoyRL checkpoint (no format version)")
    if payload["format_version"] != FORMAT_VERSION:
        raise JoyRLError(f"checkpoint {path} has format {payload['format_version']}; this JoyRL reads format {FORMAT_VERSION}")
    if payload["algo_name"] != algo_name:
        raise JoyRLError(
            f"checkpoint {path} was saved by {payload['algo_name']}, not {algo_name}; "
            f"run with --algo {payload['algo_name']} or load a {algo_name} checkpoint"
        )
    return payload


def resolve_load_path(load_path: str, prefer: tuple[str, ...], tasks_dir: Path = paths.TASKS_DIR) -> Path:
    """Turn ``load_path`` into a checkpoint file.

    Accepts a checkpoint file, a run folder (path or name under tasks/), or its
    models/ folder; in a folder the first of ``prefer`` (e.g. best, last) that exists wins.
    """
    candidates = [Path(load_path).expanduser()]
    if not candidates[0].is_absolute():
        candidates.append(tasks_dir / load_path)
    for candidate in candidates:
        try:
            candidate.stat()
        except OSError as error:  # missing, or a name the file system refuses (too long)
            if error.errno == errno.ENAMETOOLONG:
                raise JoyRLError(
                    f"load_path {load_path[:60]!r}...: {error.strerror}; give a run folder or checkpoint path"
                ) from None
            continue
        if candidate.is_file():
            return candidate
        for folder in (candidate / "models", candidate):
            if folder.is_dir():
                for name in prefer:
                    file = folder / f"{name}{CHECKPOINT_SUFFIX}"
                    if file.is_file():
                        return file
                raise JoyRLError(
                    f"load_path {load_path!r}: {folder} holds no {' or '.join(n + CHECKPOINT_SUFFIX for n in prefer)}; "
                    "train first or point at a checkpoint file"
                )
    raise JoyRLError(
        f"load_path {load_path!r} not found (tried {', '.join(str(c) for c in candidates)}); "
        "give a run folder under tasks/, a run folder path or a checkpoint file"
    )


class RunCheckpoints:
    """The run's checkpoints under ``models/``: periodic, best and last; one holding NaN or inf is never written.

    Besides the agent a checkpoint holds the counters (``progress``), the RNG states (global and the
    envs'), the trainer's unfinished episode and, in last.pt with ``save_buffer``, the replay memory.
    """

    def __init__(
        self, folder: Path, cfg: Any, agent: Any, trainer: Any, counters: Counters, env: gym.Env, eval_env: gym.Env | None
    ) -> None:
        self.folder = folder / "models"
        self.cfg = cfg
        self.agent = agent
        self.trainer = trainer
        self.counters = counters
        self.env = env
        self.eval_env = eval_env
        self.before_save: Callable[[], None] | None = None  # called first: the run writes its pending CSV rows

    def save(self, name: str, final: bool = False, durable: bool = True) -> None:
        """Write ``models/<name>.pt``; ``final`` (last.pt) also keeps the replay memory with ``save_buffer``.

        ``durable`` (see ``save_checkpoint``): False for the periodic ones, which come every few hundred ms on
        CartPole and would cost a sixth of a random-policy loop's time in fsync; last.pt and best.pt are fsynced.
        """
        if self.before_save is not None:
            self.before_save()
        state = self.agent.state_dict()
        bad = first_non_finite(state)
        if bad:
            raise NonFinite(f"{bad} holds NaN or inf at episode {self.counters.episode}, env step {self.counters.env_steps:,}")
        envs: dict[str, Any] = {"train": reset_rng_state(self.env), "train_spaces": space_rng_states(self.env)}
        if self.eval_env is not None:
            envs["eval"] = reset_rng_state(self.eval_env)
        extra: dict[str, Any] = {"envs": envs, "trainer": self.trainer.state_dict()}
        if final and self.cfg.save_buffer and self.agent.memory is not None:
            extra["memory"] = self.agent.memory.state_dict()
        path = self.folder / f"{name}{CHECKPOINT_SUFFIX}"
        save_checkpoint(path, self.cfg.algo_name, state, self.counters.state_dict(), rng_states(), extra, durable)

    def prune(self) -> None:
        """Keep the newest ``keep_checkpoints`` episode_<N>.pt files, so disk use stays bounded."""
        if self.cfg.keep_checkpoints == 0:
            return
        periodic = sorted(self.folder.glob(f"episode_*{CHECKPOINT_SUFFIX}"), key=lambda path: int(path.stem.split("_")[1]))
        for path in periodic[: -self.cfg.keep_checkpoints]:
            path.unlink(missing_ok=True)


class PeriodicCheckpoints(Listener):
    """``models/episode_<N>.pt`` every ``model_save_fre`` training episodes, no sooner than ``model_save_seconds``
    after the previous one; the newest ``keep_checkpoints`` kept.

    The floor keeps short episodes from making checkpoints the loop's main cost: a random policy on CartPole
    ends 100 episodes every 30 ms, and a save takes 2-3 ms. The first one is saved at once.
    """

    def __init__(self, checkpoints: RunCheckpoints, every: int, min_seconds: float) -> None:
        self.checkpoints = checkpoints
        self.every = every
        self.min_seconds = min_seconds
        self.saved_at = -math.inf  # time.monotonic() of the previous save

    def on_episode(self, event: EpisodeEvent) -> None:
        if event.counters.episode % self.every == 0 and time.monotonic() - self.saved_at >= self.min_seconds:
            self.checkpoints.save(f"episode_{event.counters.episode}", durable=False)
            self.checkpoints.prune()
            self.saved_at = time.monotonic()
