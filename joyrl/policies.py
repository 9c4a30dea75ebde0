"""Policy heads and action scaling shared by the policy-gradient and actor-critic agents.

- ``categorical``: a Categorical distribution over discrete actions from logits, illegal
  actions (an ``action_mask`` observation part) given probability 0 (``LogitsCategorical``).
- ``DiscretePolicyHead``: logits as the policy over Discrete, MultiDiscrete (a categorical per
  dimension) or MultiBinary (a Bernoulli per bit) actions, its greedy action and the env's action.
- ``GaussianPolicy``: a Gaussian whose mean is a network of the observation and whose
  log-std is a learned vector independent of the state (PPO, A2C, REINFORCE on Box actions).
- ``SquashedGaussianActor``: SAC's actor, ``a = tanh(u)`` with ``u ~ N(mu(s), sigma(s))`` and
  the log-probability corrected for the tanh.
- ``DeterministicActor``: DDPG's and TD3's ``a = tanh(f(s))``.
- ``ActionScaler``: actions live in [-1, 1] inside every agent; this maps them to the env's
  ``[low, high]`` and back, the one place that knows the bounds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn
from torch.distributions import Bernoulli, Categorical, Distribution, Independent, Normal

from joyrl.envs import ACTION_MASK
from joyrl.errors import ConfigError
from joyrl.networks import build_body, legal_only

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # SAC's clamp on the state-dependent log-std
ONE_SAMPLE = torch.Size()  # a sample shape: one draw per row


class LogitsCategorical(Categorical):
    """torch's ``Categorical`` from logits (B, A), the same numbers at a third of its per-call cost.

    torch's class normalises with a logsumexp and a subtraction, broadcasts the value against the
    logits in ``log_prob`` and checks its arguments; on PPO's 256-row minibatches and 8-row acting
    batches that bookkeeping cost more than the networks (measured on one thread: 516 -> 180 us for
    log_prob + entropy of a minibatch, 218 -> 96 us to act). Here: one log_softmax, one gather, and
    ``sample`` as torch's (the same RNG draws). Still a ``Categorical``: ``kl_divergence`` and
    ``isinstance`` work as before; a ``sample_shape`` or a value of another shape goes to torch's code.
    """

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits.log_softmax(-1)
        self._param = self.logits
        self._num_events = logits.size(-1)
        Distribution.__init__(self, logits.shape[:-1], validate_args=False)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if value.shape != self.logits.shape[:-1]:
            return super().log_prob(value)
        return self.logits.gather(-1, value.long().unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> torch.Tensor:
        logits = self.logits.clamp(min=torch.finfo(self.logits.dtype).min)  # 0 * -inf (an illegal action) is 0, not NaN
        return -(logits * self.probs).sum(-1)

    def sample(self, sample_shape: torch.Size | list[int] | tuple[int, ...] = ONE_SAMPLE) -> torch.Tensor:
        if sample_shape or self.logits.dim() != 2:
            return super().sample(sample_shape)
        return torch.multinomial(self.probs, 1, True).squeeze(-1)


def categorical(logits: torch.Tensor, observation: Any = None) -> Categorical:
    """pi(.|s) from logits (B, A); with an ``action_mask`` part in ``observation``, illegal actions get probability 0."""
    return LogitsCategorical(legal_only(logits, observation))


class DiscretePolicyHead:
    """A policy network's logits as pi(.|s) over Discrete, MultiDiscrete or MultiBinary actions (as SB3's PPO and A2C).

    - ``Discrete(n)``: one categorical over n logits (``categorical``).
    - ``MultiDiscrete(nvec)``: an independent categorical per dimension; the network gives the dimensions'
      logits side by side (sum(nvec) outputs), and log pi(a|s) and the entropy are sums over the dimensions.
    - ``MultiBinary(n)``: an independent Bernoulli per bit from n logits, summed likewise.

    An ``action_mask`` observation part gives illegal choices probability 0: n entries for Discrete, sum(nvec)
    for MultiDiscrete (each dimension's choices in turn, as SB3-contrib's MaskablePPO); a dimension whose
    choices are all masked is left whole. Actions are kept as indices from 0 (MultiBinary: 0./1. floats, the
    Bernoulli's values) and offset by the space's ``start`` only for the env (``to_env``).
    """

    def __init__(self, action_space: spaces.Space, obs_space: spaces.Space | None = None) -> None:
        self.kind = type(action_space).__name__
        self.env_shape = tuple(action_space.shape or ())
        self.env_dtype = action_space.dtype
        self.start: Any = 0
        self.action_shape: tuple[int, ...] = ()  # one action as memories keep it, and its NumPy dtype
        self.action_dtype: Any = np.int64
        if isinstance(action_space, spaces.Discrete):
            self.n_outputs, self.action_shape, self.action_dtype = int(action_space.n), (), np.int64
            self.start = int(action_space.start)
        elif isinstance(action_space, spaces.MultiDiscrete):
            sizes = [int(size) for size in np.asarray(action_space.nvec).ravel()]
            self.n_outputs, self.action_shape, self.action_dtype = sum(sizes), (len(sizes),), np.int64
            self.start = np.asarray(action_space.start).ravel()
            # logits (B, sum n_i) -> (B, D, max n_i): dimension d's n_d logits, then -inf padding (probability 0)
            starts, width = np.cumsum([0, *sizes[:-1]]), max(sizes)
            choice = np.arange(width)
            self.index = torch.as_tensor(np.minimum(starts[:, None] + choice, starts[:, None] + np.array(sizes)[:, None] - 1))
            self.padding = torch.as_tensor(choice >= np.array(sizes)[:, None])
        elif isinstance(action_space, spaces.MultiBinary):
            self.n_outputs = math.prod(action_space.shape)
            self.action_shape, self.action_dtype = (self.n_outputs,), np.float32
        else:
            raise ValueError(f"DiscretePolicyHead takes Discrete, MultiDiscrete or MultiBinary actions, not {action_space}")
        mask = obs_space.spaces.get(ACTION_MASK) if isinstance(obs_space, spaces.Dict) else None
        if mask is not None and (self.kind == "MultiBinary" or math.prod(mask.shape or ()) != self.n_outputs):
            wanted = "no mask (a Bernoulli per bit)" if self.kind == "MultiBinary" else f"{self.n_outputs} entries"
            raise ConfigError(f"the {ACTION_MASK} observation part has shape {mask.shape}; {action_space} actions take {wanted}")

    @property
    def action_format(self) -> tuple[tuple[int, ...], Any]:
        """The shape and NumPy dtype of one action as memories keep it."""
        return self.action_shape, self.action_dtype

    def distribution(self, logits: torch.Tensor, observation: Any = None) -> Distribution:
        """pi(.|s) for a batch of logits (B, n_outputs): ``log_prob`` and ``entropy`` give (B,), ``sample`` (B, *action_shape)."""
        if self.kind == "Discrete":
            return categorical(logits, observation)
        if self.kind == "MultiBinary":
            return Independent(Bernoulli(logits=logits, validate_args=False), 1, validate_args=False)
        return Independent(LogitsCategorical(self._dimension_logits(logits, observation)), 1, validate_args=False)

    def greedy(self, logits: torch.Tensor, observation: Any = None) -> torch.Tensor:
        """The most probable action of each row: (B,) indices, (B, D) indices, or (B, n) bits."""
        if self.kind == "Discrete":
            return legal_only(logits, observation).argmax(-1)
        if self.kind == "MultiBinary":
            return (logits > 0).float()
        return self._dimension_logits(logits, observation).argmax(-1)

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        """A batch of actions as the env takes them: offset by the space's start, shaped and typed as its samples."""
        batch = actions.cpu().numpy()
        if self.kind == "Discrete" and not self.start:
            return batch
        if self.kind != "MultiBinary":
            batch = batch + self.start
        return batch.reshape(len(batch), *self.env_shape).astype(self.env_dtype)

    def env_action(self, actions: torch.Tensor) -> int | np.ndarray:
        """The env's action for the first row of ``actions``: an int for Discrete, else an array of the space's shape."""
        action = self.to_env(actions[:1])[0]
        return int(action) if self.kind == "Discrete" else action

    def _dimension_logits(self, logits: torch.Tensor, observation: Any) -> torch.Tensor:
        """MultiDiscrete: (B, D, max n_i) logits, -inf at padding and at masked choices."""
        index, padding = self.index.to(logits.device), self.padding.to(logits.device)
        illegal = padding
        if isinstance(observation, dict) and ACTION_MASK in observation:
            legal = observation[ACTION_MASK].bool()[..., index] & ~padding
            illegal = ~(legal | ~legal.any(-1, keepdim=True)) | padding
        return logits[..., index].masked_fill(illegal, -torch.inf)


def distribution_rows(distribution: Distribution, indices: torch.Tensor) -> Distribution:
    """The rows ``indices`` of a batched policy distribution (categorical, Bernoulli, Gaussian, or independent ones)."""
    if isinstance(distribution, Independent):
        base = distribution_rows(distribution.base_dist, indices)
        return Independent(base, distribution.reinterpreted_batch_ndims, validate_args=False)
    if isinstance(distribution, Categorical):
        return LogitsCategorical(distribution.logits[indices])
    if isinstance(distribution, Bernoulli):
        return Bernoulli(logits=distribution.logits[indices], validate_args=False)
    assert isinstance(distribution, Normal)
    return Normal(distribution.loc[indices], distribution.scale[indices], validate_args=False)


class GaussianPolicy(nn.Module):
    """N(mu(s), diag(sigma^2)) with ``mu`` an MLP of ``spec`` and ``log sigma`` one learned vector.

    Actions are sampled unbounded; the agent clips them to [-1, 1] before ``ActionScaler``
    (the stored action, and its log-probability, stay the unclipped sample, as in SB3/CleanRL).
    """

    def __init__(self, spec: Any, obs_shape: Any, action_dim: int, log_std_init: float = 0.0, input_dtype: Any = np.float32):
        super().__init__()
        body, width = build_body(spec, obs_shape, "actor_layers", input_dtype)
        self.mean = nn.Sequential(*body, nn.Linear(width, action_dim))
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))

    def forward(self, observation: Any) -> Normal:
        mean = self.mean(observation)
        return Normal(mean, self.log_std.exp().expand_as(mean), validate_args=False)


def squashed_log_prob(normal: Normal, pre_tanh: torch.Tensor) -> torch.Tensor:
    """log pi(tanh(u)|s) = log N(u) - sum log(1 - tanh(u)^2), summed over action dims; shape (B,).

    ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))`` is the numerically stable form.
    """
    correction = 2.0 * (math.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))
    return (normal.log_prob(pre_tanh) - correction).sum(dim=-1)


class SquashedGaussianActor(nn.Module):
    """SAC's actor: a body of ``spec``, then a mean and a state-dependent log-std per action dimension."""

    def __init__(self, spec: Any, obs_shape: Any, action_dim: int, input_dtype: Any = np.float32):
        super().__init__()
        body, width = build_body(spec, obs_shape, "actor_layers", input_dtype)
        self.body = nn.Sequential(*body)
        self.mean = nn.Linear(width, action_dim)
        self.log_std = nn.Linear(width, action_dim)

    def forward(
        self, observation: Any, deterministic: bool = False, n_samples: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """An action in [-1, 1] (B, act) and its log-probability (B,); deterministic: tanh(mu), log-prob 0s.
        ``n_samples``: that many actions per state from one pass of the network, (B, n, act) and (B, n)."""
        features = self.body(observation)
        mean = self.mean(features)
        if deterministic:
            return torch.tanh(mean), torch.zeros(mean.shape[0], device=mean.device)
        log_std = self.log_std(features).clamp(LOG_STD_MIN, LOG_STD_MAX)
        if n_samples is not None:
            mean, log_std = (part.unsqueeze(1).expand(-1, n_samples, -1) for part in (mean, log_std))
        normal = Normal(mean, log_std.exp(), validate_args=False)
        pre_tanh = normal.rsample()  # reparameterised: gradients flow through the sample
        return torch.tanh(pre_tanh), squashed_log_prob(normal, pre_tanh)

    def log_prob_of(self, observation: Any, actions: torch.Tensor) -> torch.Tensor:
        """log pi(a|s) of given actions in [-1, 1] (B, act): (B,); the pre-tanh value is atanh(a), a clipped to +-(1 - 1e-6)."""
        features = self.body(observation)
        log_std = self.log_std(features).clamp(LOG_STD_MIN, LOG_STD_MAX)
        normal = Normal(self.mean(features), log_std.exp(), validate_args=False)
        return squashed_log_prob(normal, torch.atanh(actions.clamp(-1.0 + 1e-6, 1.0 - 1e-6)))


class DeterministicActor(nn.Module):
    """mu(s) = tanh(f(s)) in [-1, 1]: DDPG's and TD3's actor.

    ``final_init``: the last layer's weights and biases drawn uniformly in +-this (the DDPG paper's 3e-3),
    so that mu(s) starts near 0; None keeps PyTorch's init.
    """

    def __init__(
        self, spec: Any, obs_shape: Any, action_dim: int, input_dtype: Any = np.float32, final_init: float | None = None
    ):
        super().__init__()
        body, width = build_body(spec, obs_shape, "actor_layers", input_dtype)
        output = nn.Linear(width, action_dim)
        if final_init is not None:
            nn.init.uniform_(output.weight, -final_init, final_init)
            nn.init.uniform_(output.bias, -final_init, final_init)
        self.net = nn.Sequential(*body, output, nn.Tanh())

    def forward(self, observation: Any) -> torch.Tensor:
        return self.net(observation)


class ActionScaler:
    """Affine map between the agents' [-1, 1] and the env's Box bounds [low, high], on NumPy arrays or tensors.

    ``to_env(-1) = low``, ``to_env(1) = high``; ``from_env`` is its inverse. Infinite bounds
    cannot be scaled: such envs get the action unscaled (``identity``), as Gymnasium's own
    clipping wrappers do.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray) -> None:
        low, high = np.asarray(low, dtype=np.float32), np.asarray(high, dtype=np.float32)
        self.identity = not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)))
        self.low, self.high = low, high
        if not self.identity:
            self.center = (high + low) / 2.0
            self.half_range = (high - low) / 2.0

    def to_env(self, action: np.ndarray) -> np.ndarray:
        """[-1, 1] -> [low, high], clipped first so the env never sees an action out of bounds."""
        if self.identity:
            return np.asarray(action, dtype=np.float32)
        return (self.center + self.half_range * np.clip(action, -1.0, 1.0)).astype(np.float32)

    def from_env(self, action: np.ndarray) -> np.ndarray:
        """[low, high] -> [-1, 1] (for stored or demonstrated env actions)."""
        if self.identity:
            return np.asarray(action, dtype=np.float32)
        return ((np.asarray(action, dtype=np.float32) - self.center) / self.half_range).astype(np.float32)
