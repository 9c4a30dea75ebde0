"""On-policy rollout storage with generalised advantage estimation (GAE), for vector envs.

``RolloutStorage`` holds ``n_steps`` steps of ``n_envs`` envs in preallocated arrays,
indexed (step, env). It is made for Gymnasium's default ``NEXT_STEP`` autoreset
(joyrl/vector_loop.py): the step after a sub-env's episode ends ignores the action and
returns the reset observation with reward 0. Such a step is stored with ``valid`` False:
it gets no advantage and no weight in the losses.

The same convention hands GAE the bootstrap value of a truncation for free. The
observation returned at the done step is the episode's real final observation, and it is
the observation the agent acts on at the following (invalid) step, so the value stored
there is V(final observation). Hence, for every valid step t (Schulman et al., 2016,
"High-Dimensional Continuous Control Using Generalized Advantage Estimation")::

    delta_t = r_t + gamma (1 - terminated_t) V_{t+1} - V_t       V_{t+1} = values[t + 1], or last_values after the end
    A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1}         done = terminated or truncated
    R_t     = A_t + V_t                                           (the value target)

so a truncated episode bootstraps from V(final observation) and a terminated one does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch

Observation = torch.Tensor | dict[str, torch.Tensor]


class RolloutBatch(NamedTuple):
    """A minibatch of valid samples, flattened over (step, env); tensors on the storage's device."""

    observations: Observation  # (B, *obs) or a dict of such parts
    actions: torch.Tensor  # (B,) for Discrete, (B, act) for Box
    log_probs: torch.Tensor  # (B,) log pi_old(a|s) at collection
    values: torch.Tensor  # (B,) V_old(s) at collection
    advantages: torch.Tensor  # (B,) A_t from GAE
    returns: torch.Tensor  # (B,) R_t = A_t + V_old(s_t)


def _zeros(shape: tuple[int, ...], part: Any, dtype: Any, device: torch.device) -> Observation:
    """(T, N, *part) zeros of ``dtype``, or a dict of them for a dict ``part`` of shapes (and of dtypes)."""
    if isinstance(part, dict):
        dtypes = dtype if isinstance(dtype, dict) else dict.fromkeys(part, dtype)
        return {name: _tensor_zeros(shape, part[name], dtypes[name], device) for name in part}
    return _tensor_zeros(shape, part, dtype, device)


def _tensor_zeros(shape: tuple[int, ...], part: tuple[int, ...], dtype: Any, device: torch.device) -> torch.Tensor:
    """(T, N, *part) zeros of the torch dtype of NumPy's ``dtype``."""
    return torch.zeros((*shape, *part), dtype=torch.from_numpy(np.zeros(0, dtype=dtype)).dtype, device=device)


class RolloutStorage:
    """``n_steps`` x ``n_envs`` transitions of an on-policy agent, then their advantages and returns."""

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        obs_shape: tuple[int, ...] | dict[str, tuple[int, ...]],
        action_shape: tuple[int, ...],
        obs_dtype: Any = np.float32,
        action_dtype: Any = np.int64,
        device: torch.device | str = "cpu",
    ) -> None:
        self.n_steps, self.n_envs, self.device = n_steps, n_envs, torch.device(device)
        shape = (n_steps, n_envs)
        self.observations = _zeros(shape, obs_shape, obs_dtype, self.device)
        self.actions = _tensor_zeros(shape, tuple(action_shape), action_dtype, self.device)
        self.log_probs = torch.zeros(shape, device=self.device)
        self.values = torch.zeros(shape, device=self.device)
        # what the envs return stays in NumPy until GAE
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminated = np.zeros(shape, dtype=bool)
        self.dones = np.zeros(shape, dtype=bool)  # terminated or truncated
        self.valid = np.zeros(shape, dtype=bool)
        self.advantages = torch.zeros(shape, device=self.device)
        self.returns = torch.zeros(shape, device=self.device)
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step == self.n_steps

    def add(
        self,
        observations: Observation,
        actions: torch.Tensor,
        log_probs: torch.Tensor,
        values: torch.Tensor,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        valid: np.ndarray,
    ) -> None:
        """One vector-env step: what the agent acted on and chose, and what the envs returned (each (n_envs, ...))."""
        t = self.step
        if isinstance(self.observations, dict):
            assert isinstance(observations, dict)  # a storage of parts is given observations by part
            for name, part in self.observations.items():
                part[t] = observations[name]
        else:
            assert not isinstance(observations, dict)
            self.observations[t] = observations
        self.actions[t] = actions
        self.log_probs[t] = log_probs
        self.values[t] = values
        self.rewards[t] = rewards
        self.terminated[t] = terminated
        self.dones[t] = terminated | truncated
        self.valid[t] = valid
        self.step = t + 1

    def reset(self) -> None:
        """Start a new rollout (after an update, or after an env failure dropped this one)."""
        self.step = 0

    def export(self) -> dict[str, Any]:
        """A copy of what was collected (not the advantages), as NumPy arrays, for a learner elsewhere (joyrl/workers.py)."""
        observations = self.observations
        return {
            "observations": {name: part.cpu().numpy().copy() for name, part in observations.items()}
            if isinstance(observations, dict)
            else observations.cpu().numpy().copy(),
            "actions": self.actions.cpu().numpy().copy(),
            "log_probs": self.log_probs.cpu().numpy().copy(),
            "values": self.values.cpu().numpy().copy(),
            "rewards": self.rewards.copy(),
            "terminated": self.terminated.copy(),
            "dones": self.dones.copy(),
            "valid": self.valid.copy(),
        }

    def load(self, parts: list[dict[str, Any]]) -> None:
        """Fill the storage with ``export()``s of rollouts of the same ``n_steps``, side by side along the env axis."""
        joined = {key: np.concatenate([part[key] for part in parts], axis=1) for key in parts[0] if key != "observations"}
        observations = [part["observations"] for part in parts]
        if isinstance(self.observations, dict):
            for name, tensor in self.observations.items():
                tensor.copy_(torch.from_numpy(np.concatenate([part[name] for part in observations], axis=1)))
        else:
            self.observations.copy_(torch.from_numpy(np.concatenate(observations, axis=1)))
        for key in ("actions", "log_probs", "values"):
            getattr(self, key).copy_(torch.from_numpy(joined[key]))
        for key in ("rewards", "terminated", "dones", "valid"):
            getattr(self, key)[:] = joined[key]
        self.step = self.n_steps

    def compute_gae(self, last_values: torch.Tensor, gamma: float, gae_lambda: float) -> None:
        """Fill ``advantages`` and ``returns`` (see the module docstring); ``last_values`` (n_envs,) = V(s_T).

        A backward loop over steps, vectorised over envs; invalid steps get A = 0.
        """
        values = self.values.cpu().numpy()
        next_values = np.concatenate([values[1:], last_values.reshape(1, -1).cpu().numpy()])
        deltas = self.rewards + gamma * (~self.terminated) * next_values - values
        decay = gamma * gae_lambda * ~self.dones
        advantages = np.zeros_like(values)
        running = np.zeros(self.n_envs, dtype=np.float32)
        for t in reversed(range(self.n_steps)):
            running = np.where(self.valid[t], deltas[t] + decay[t] * running, 0.0)
            advantages[t] = running
        self.advantages.copy_(torch.from_numpy(advantages))
        self.returns.copy_(self.advantages + self.values)

    def valid_indices(self) -> torch.Tensor:
        """Flat (step * n_envs + env) indices of the valid samples, in order; (n_valid,) int64."""
        return torch.from_numpy(np.flatnonzero(self.valid)).to(self.device)

    def minibatches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """The valid samples in a random order (torch's global RNG), cut into index tensors of ``batch_size`` (the last may be smaller)."""
        indices = self.valid_indices()
        indices = indices[torch.randperm(indices.numel(), device=self.device)]
        yield from torch.split(indices, batch_size)

    def flat_observations(self) -> Observation:
        """Every stored observation, flattened to (n_steps * n_envs, *obs) in (step, env) order."""
        if isinstance(self.observations, dict):
            return {name: part.flatten(0, 1) for name, part in self.observations.items()}
        return self.observations.flatten(0, 1)

    def batch(self, indices: torch.Tensor) -> RolloutBatch:
        """The samples at flat ``indices``."""
        observations = self.flat_observations()
        if isinstance(observations, dict):
            observations = {name: part[indices] for name, part in observations.items()}
        else:
            observations = observations[indices]
        return RolloutBatch(
            observations,
            self.actions.flatten(0, 1)[indices],
            self.log_probs.flatten()[indices],
            self.values.flatten()[indices],
            self.advantages.flatten()[indices],
            self.returns.flatten()[indices],
        )
