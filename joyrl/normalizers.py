"""Running mean/std statistics and the observation and reward normalisers built on them.

``RunningMeanStd`` merges batch moments with Chan et al.'s parallel update (as SB3's
``common/running_mean_std.py``). ``ObservationNormalizer`` standardises observations and
clips them to +-``clip``; ``RewardScaler`` divides rewards by the running std of the
discounted return of each env (SB3's ``VecNormalize``), which keeps the value targets
near unit scale without moving their optimum. Both are frozen when not updated
(evaluation) and save their statistics in ``state_dict``.
"""

from __future__ import annotations

import numpy as np
import torch


class RunningMeanStd:
    """Mean and variance of everything seen so far, merged batch by batch; float64 (shape,) arrays."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = epsilon  # a tiny prior count so the first batch does not divide by zero

    def update(self, batch: np.ndarray) -> None:
        """Merge a batch of samples stacked on axis 0."""
        batch = np.asarray(batch, dtype=np.float64)
        self.update_from_moments(batch.mean(axis=0), batch.var(axis=0), batch.shape[0])

    def update_from_moments(self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: int) -> None:
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, torch.Tensor | float]:
        return {"mean": torch.from_numpy(np.array(self.mean)), "var": torch.from_numpy(np.array(self.var)), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"].numpy().copy(), state["var"].numpy().copy(), float(state["count"])


class ObservationNormalizer:
    """(obs - mean) / sqrt(var + eps), clipped to +-``clip``; the statistics follow the observations it is told to learn."""

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.rms = RunningMeanStd(shape)
        self.clip, self.epsilon = clip, epsilon

    def __call__(self, observations: np.ndarray, update: bool) -> np.ndarray:
        """Normalise a batch (B, *shape); ``update`` first merges the batch into the statistics (training only)."""
        if update:
            self.rms.update(observations)
        normalised = (observations - self.rms.mean) / np.sqrt(self.rms.var + self.epsilon)
        return np.clip(normalised, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict:
        return self.rms.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.rms.load_state_dict(state)


class RewardScaler:
    """r / sqrt(Var[discounted return] + eps), clipped to +-``clip``, with one running return per env.

    The return R <- gamma R + r of each env is reset at its episode's end; its variance is
    estimated over all envs and steps. Steps marked invalid (a vector env's reset step) are
    left out of the statistics and the returns.
    """

    def __init__(self, n_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(n_envs, dtype=np.float64)
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon

    def __call__(self, rewards: np.ndarray, dones: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Scaled rewards (n_envs,) float32; learns from the valid entries and resets the returns where ``dones``."""
        self.returns = np.where(valid, self.returns * self.gamma + rewards, self.returns)
        if valid.any():
            self.rms.update(self.returns[valid])
        self.returns[dones] = 0.0
        scaled = rewards / np.sqrt(self.rms.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict:
        return {"rms": self.rms.state_dict(), "returns": torch.from_numpy(self.returns.copy())}

    def load_state_dict(self, state: dict) -> None:
        self.rms.load_state_dict(state["rms"])
        self.returns = state["returns"].numpy().copy()
