"""A wrapper that makes each env step cost CPU, as a physics simulator's or a game engine's does.

``CostlyStep(env, work=N)`` runs N rounds of SHA-256 over a 4 KB block in every ``step``
(about 3 µs a round on the 2-core benchmark machine, so ``work: 300`` is about 1 ms a step),
and changes nothing the agent sees. It stands for the envs that distributed acting is for;
``benchmarks/ray_scaling.py`` measures how env steps per second scale with Ray workers on it.
Use it through ``env_cfg.wrappers: [{name: 'envs.cpu_bound:CostlyStep', kwargs: {work: 200}}]``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import gymnasium as gym

BLOCK = bytes(4096)


class CostlyStep(gym.Wrapper):
    """``env`` whose every step also does ``work`` rounds of SHA-256 (pure CPU on one core, no sleeping)."""

    def __init__(self, env: gym.Env, work: int = 200) -> None:
        super().__init__(env)
        if work < 0:
            raise ValueError(f"work must be >= 0, got {work}")
        self.work = work

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        hasher = hashlib.sha256()
        for _ in range(self.work):
            hasher.update(BLOCK)
        return self.env.step(action)
