"""Process-wide setup: seeding, device choice, torch threads, how freed memory is kept and what the collector scans."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import random
from typing import Any

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


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Keep the memory of freed tensors in the process instead of handing it back to the OS (glibc only).

    By default glibc returns a freed block of a few MB to the kernel (munmap, or trimming the heap top), and
    the next update's tensor of the same size page-faults it back in, zeroed page by page: about 3,000 faults
    an update for BCQ or CQL on 256-1,000-row batches, some 7% of their CPU time. Serving every block up to
    32 MB from the heap and never trimming it keeps those pages mapped; the process's memory then stays at
    its peak, as it would with a caching allocator. True when the setting took (Linux with glibc).
    """
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**30))


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Once per process: move every object alive now (modules, classes, the built run) out of the collector's view.

    Python's full (generation 2) collections scan every tracked object, and after importing torch that
    is a few hundred thousand of them: ~0.13 s a pass. main.py turns collection off for the start-up
    (importing, building the run: five passes, 0.5 s of its 2.4 s); here it comes back on with the
    start-up's objects frozen (``gc.freeze``), so a full pass looks only at what the run allocates
    (a 50k-step DQN run on CartPole: 0.39 s of full passes down to 0.12 s). Once only: a later call
    (a test process running many runs) would also freeze the earlier runs' unreachable cycles for good.
    """
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()
    gc.enable()


def rng_states() -> dict:
    """Python, NumPy and torch RNG states as plain types (safe for ``weights_only`` loading).

    The Mersenne Twister keys (624 words each) travel as int64 tensors: pickled as lists they were
    1,250 objects, a third of a small checkpoint's pickling time.
    """
    version, key, gauss_next = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    numpy_key = torch.from_numpy(numpy_state["state"]["key"].astype(np.int64))
    numpy_state["state"] = {"key": numpy_key, "pos": int(numpy_state["state"]["pos"])}
    python_state = (version, torch.tensor(key, dtype=torch.int64), gauss_next)
    return {"python": python_state, "numpy": numpy_state, "torch": torch.get_rng_state()}


def set_rng_states(states: dict) -> None:
    """Restore ``rng_states()``; also reads the lists of ints that older checkpoints hold."""
    version, key, gauss_next = states["python"]
    random.setstate((version, tuple(_int_list(key)), gauss_next))
    numpy_state = dict(states["numpy"])
    numpy_key = np.array(_int_list(numpy_state["state"]["key"]), dtype=np.uint32)
    numpy_state["state"] = {"key": numpy_key, "pos": numpy_state["state"]["pos"]}
    np.random.set_state(numpy_state)
    torch.set_rng_state(states["torch"])


def _int_list(key: Any) -> list[int]:
    return key.tolist() if isinstance(key, torch.Tensor) else list(key)
