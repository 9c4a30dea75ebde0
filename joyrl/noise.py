"""Exploration noise added to a deterministic policy's action (DDPG, TD3), in the agents' [-1, 1] units.

- ``GaussianNoise``: independent N(0, sigma^2) per step and action dimension.
- ``OrnsteinUhlenbeckNoise``: temporally correlated noise from the discretised Ornstein-Uhlenbeck
  process of DDPG's paper (Lillicrap et al., 2016: theta = 0.15, sigma = 0.2),
  ``x <- x + theta (mu - x) dt + sigma sqrt(dt) N(0, 1)`` with ``mu = 0`` and ``dt = 0.01`` as in
  OpenAI Baselines and Stable-Baselines3; it restarts from ``mu`` at each episode (``reset``).

Both draw from NumPy's global RNG, which the framework seeds, so a seeded run repeats itself.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch


class GaussianNoise:
    """N(0, sigma^2) for each action dimension, independent from step to step."""

    def __init__(self, action_dim: int, sigma: float) -> None:
        self.action_dim, self.sigma = action_dim, sigma

    def __call__(self) -> np.ndarray:
        return np.random.normal(0.0, self.sigma, self.action_dim).astype(np.float32)

    def reset(self) -> None:
        """Nothing to forget between episodes."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Stateless: nothing to restore."""


class OrnsteinUhlenbeckNoise:
    """x_{t+1} = x_t + theta (mu - x_t) dt + sigma sqrt(dt) eps_t, eps_t ~ N(0, I), from x_0 = mu = 0.

    The process reverts to ``mu`` with rate ``theta`` per unit time; its stationary standard
    deviation is about ``sigma / sqrt(2 theta)`` and its correlation time ``1 / (theta dt)`` steps.
    """

    def __init__(self, action_dim: int, sigma: float, theta: float = 0.15, dt: float = 1e-2) -> None:
        self.sigma, self.theta, self.dt = sigma, theta, dt
        self.mu = np.zeros(action_dim, dtype=np.float32)
        self.x = self.mu.copy()

    def __call__(self) -> np.ndarray:
        drift = self.theta * (self.mu - self.x) * self.dt
        diffusion = self.sigma * math.sqrt(self.dt) * np.random.standard_normal(self.mu.shape)
        self.x = (self.x + drift + diffusion).astype(np.float32)
        return self.x

    def reset(self) -> None:
        """Back to ``mu``: called when an episode ends."""
        self.x = self.mu.copy()

    def state_dict(self) -> dict:
        return {"x": torch.from_numpy(self.x.copy())}

    def load_state_dict(self, state: dict) -> None:
        self.x = state["x"].numpy().astype(np.float32)


def make_noise(
    kind: Literal["normal", "ou"], action_dim: int, sigma: float, theta: float = 0.15, dt: float = 1e-2
) -> GaussianNoise | OrnsteinUhlenbeckNoise:
    """``normal``: ``GaussianNoise(sigma)``; ``ou``: ``OrnsteinUhlenbeckNoise(sigma, theta, dt)``."""
    if kind == "normal":
        return GaussianNoise(action_dim, sigma)
    if kind == "ou":
        return OrnsteinUhlenbeckNoise(action_dim, sigma, theta, dt)
    raise ValueError(f"unknown noise type {kind!r}; expected normal or ou")
