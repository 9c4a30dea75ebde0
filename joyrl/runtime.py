"""Process-wide setup: seeding, device choice and torch threads."""

from __future__ import annotations

import random

import numpy as np
import torch

from joyrl.errors import ConfigError


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; ``seed == 0`` leaves them unseeded."""
    if seed <= 0:
        return
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(device: str) -> str:
    """'auto' picks cuda when available; asking for cuda without it is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("general_cfg.device is 'cuda' but no CUDA GPU is available; use 'cpu' or 'auto'")
    return device


def set_torch_threads(threads: int) -> None:
    """Small networks run fastest on one thread: more threads cost more in sync than they gain."""
    if threads > 0:
        torch.set_num_threads(threads)


def rng_states() -> dict:
    """Python, NumPy and torch RNG states as plain types (safe for ``weights_only`` loading)."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"] = {"key": numpy_state["state"]["key"].tolist(), "pos": int(numpy_state["state"]["pos"])}
    return {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}


def set_rng_states(states: dict) -> None:
    random.setstate(_as_tuple(states["python"]))
    numpy_state = dict(states["numpy"])
    numpy_state["state"] = {"key": np.array(numpy_state["state"]["key"], dtype=np.uint32), "pos": numpy_state["state"]["pos"]}
    np.random.set_state(numpy_state)
    torch.set_rng_state(states["torch"])


def _as_tuple(value):
    return tuple(_as_tuple(item) for item in value) if isinstance(value, (list, tuple)) else value
