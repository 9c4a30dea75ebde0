"""Checkpoint files: written atomically, versioned, loaded safely (``weights_only=True``).

A checkpoint holds the agent's whole state (its ``state_dict()``: networks, optimisers,
counters), the training progress and the RNG states (global and the envs'), and, when
training stopped part-way through an episode, that episode; ``last.pt`` also holds the
replay memory with ``save_buffer``. All tensors and plain types.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from joyrl import paths
from joyrl.errors import JoyRLError

FORMAT_VERSION = 1
CHECKPOINT_SUFFIX = ".pt"


def save_checkpoint(
    path: Path, algo_name: str, agent_state: dict, progress: dict, rng: dict | None = None, extra: dict | None = None
) -> Path:
    """Write to a temporary file, fsync, then rename: a crash never leaves half a file.

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
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def first_non_finite(state: Any, name: str = "agent") -> str | None:
    """The path (e.g. ``agent.policy_net.0.weight``) of the first float tensor holding NaN or inf, or None."""
    if isinstance(state, torch.Tensor):
        return name if state.is_floating_point() and not bool(torch.isfinite(state).all()) else None
    if isinstance(state, dict):
        items = state.items()
    elif isinstance(state, (list, tuple)):
        items = enumerate(state)
    else:
        return None
    for key, value in items:
        found = first_non_finite(value, f"{name}.{key}")
        if found:
            return found
    return None


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
