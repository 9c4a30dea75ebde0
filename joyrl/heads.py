"""Output heads for value-based agents: noisy layers, dueling streams, categorical distributions.

A Q-network is a body from ``joyrl.networks.build_body`` (the hidden layers of ``value_layers``)
followed by one of these heads::

    body, width = build_body(cfg.value_layers, cfg.n_states)
    net = nn.Sequential(body, DuelingHead(width, cfg.n_actions))  # Q-values (B, A)

Heads take a ``linear`` factory, ``linear(in_features, out_features) -> nn.Module`` (default
``nn.Linear``), so that the same head can be noisy: ``linear=partial(NoisyLinear, sigma0=0.5)``;
``noisy_copy`` makes a body's (or a whole MLP's) last linear layers noisy too. With ``n_atoms`` a head returns per-action atom
logits (B, A, N) instead of Q-values (B, A), for the distributional agents (C51, Rainbow).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LinearFactory = Callable[[int, int], nn.Module]


def factorised_noise(size: int, device: torch.device | None = None) -> torch.Tensor:
    """f(ε) = sign(ε) sqrt(|ε|) with ε ~ N(0, 1), shape (size,) (Fortunato et al., 2018)."""
    noise = torch.randn(size, device=device)
    return noise.sign() * noise.abs().sqrt()


class NoisyLinear(nn.Module):
    """A linear layer with factorised Gaussian noise (Fortunato et al., 2018, "Noisy Networks for Exploration").

    y = (µ_w + σ_w ⊙ ε_w) x + µ_b + σ_b ⊙ ε_b with ε_w = f(ε_out) f(ε_in)ᵀ and ε_b = f(ε_out).
    In training mode the forward pass uses the current noise, which changes only when ``reset_noise()``
    is called; in eval mode (``module.eval()``) it uses the mean weights µ, deterministically.
    The noise is a buffer, saved in the state dict so a checkpoint restores the layer exactly.
    """

    weight_epsilon: torch.Tensor  # ε_w (q, p), a buffer
    bias_epsilon: torch.Tensor  # ε_b (q,), a buffer

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5) -> None:
        super().__init__()
        self.in_features, self.out_features, self.sigma0 = in_features, out_features, sigma0
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.empty(out_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features))
        self.register_buffer("weight_epsilon", torch.zeros(out_features, in_features))
        self.register_buffer("bias_epsilon", torch.zeros(out_features))
        self.reset_parameters()
        self.reset_noise()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """µ ~ U[-1/√p, 1/√p] and σ = σ₀/√p, with p = in_features (the paper's factorised initialisation)."""
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight_mu.uniform_(-bound, bound)
        self.bias_mu.uniform_(-bound, bound)
        self.weight_sigma.fill_(self.sigma0 * bound)
        self.bias_sigma.fill_(self.sigma0 * bound)

    @torch.no_grad()
    def reset_noise(self) -> None:
        """Draw new factorised noise: p + q Gaussian samples for a (q, p) weight."""
        noise_in = factorised_noise(self.in_features, self.weight_mu.device)  # (p,)
        noise_out = factorised_noise(self.out_features, self.weight_mu.device)  # (q,)
        self.weight_epsilon.copy_(torch.outer(noise_out, noise_in))
        self.bias_epsilon.copy_(noise_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.linear(x, self.weight_mu, self.bias_mu)
        weight = self.weight_mu + self.weight_sigma * self.weight_epsilon
        bias = self.bias_mu + self.bias_sigma * self.bias_epsilon
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, sigma0={self.sigma0}"


def reset_noise(module: nn.Module) -> None:
    """Resample the noise of every ``NoisyLinear`` inside ``module``."""
    for layer in module.modules():
        if isinstance(layer, NoisyLinear):
            layer.reset_noise()


def noisy_forward(network: nn.Module, observation: Any, explore: bool) -> torch.Tensor:
    """``network(observation)`` under fresh noise (``explore``), or under its mean weights µ alone (greedy)."""
    if explore:
        reset_noise(network)
        return network(observation)
    network.eval()  # NoisyLinear uses µ alone in eval mode
    output = network(observation)
    network.train()
    return output


def noisy_copy(net: nn.Sequential, sigma0: float = 0.5, n_layers: int | None = None) -> nn.Sequential:
    """``net`` with its last ``n_layers`` ``nn.Linear`` layers (all of them when None) replaced by new ``NoisyLinear`` ones.

    The noisy layers are freshly initialised, with the shapes of those they replace; the other layers are kept.
    """
    linear = [i for i, layer in enumerate(net) if isinstance(layer, nn.Linear)]
    noisy = set(linear if n_layers is None else linear[max(len(linear) - n_layers, 0) :])
    return nn.Sequential(
        *(
            NoisyLinear(layer.in_features, layer.out_features, sigma0) if isinstance(layer, nn.Linear) and i in noisy else layer
            for i, layer in enumerate(net)
        )
    )


def _stream(in_features: int, out_features: int, hidden_size: int, linear: LinearFactory) -> nn.Sequential:
    if hidden_size == 0:
        return nn.Sequential(linear(in_features, out_features))
    return nn.Sequential(linear(in_features, hidden_size), nn.ReLU(), linear(hidden_size, out_features))


class DuelingHead(nn.Module):
    """Value and advantage streams, Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a') (Wang et al., 2016, eq. 9).

    Each stream is one linear layer, or, with ``hidden_size`` > 0, a hidden layer of that width
    (ReLU) and then the output layer, as in the paper. Returns Q-values (B, A), or with ``n_atoms``
    per-action atom logits (B, A, N), the aggregation done per atom (Hessel et al., 2018, Rainbow).
    """

    def __init__(
        self,
        in_features: int,
        n_actions: int,
        hidden_size: int = 0,
        n_atoms: int | None = None,
        linear: LinearFactory = nn.Linear,
    ) -> None:
        super().__init__()
        self.n_actions, self.n_atoms = n_actions, n_atoms
        atoms = n_atoms or 1
        self.value = _stream(in_features, atoms, hidden_size, linear)  # V(s)
        self.advantage = _stream(in_features, n_actions * atoms, hidden_size, linear)  # A(s, ·)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        atoms = self.n_atoms or 1
        value = self.value(features).view(-1, 1, atoms)  # (B, 1, N)
        advantage = self.advantage(features).view(-1, self.n_actions, atoms)  # (B, A, N)
        q = value + advantage - advantage.mean(dim=1, keepdim=True)  # (B, A, N)
        return q if self.n_atoms else q.squeeze(2)


class CategoricalHead(nn.Module):
    """Per-action logits over ``n_atoms`` atoms, (B, A, N); softmax over the last axis gives p_i(s, a)."""

    def __init__(self, in_features: int, n_actions: int, n_atoms: int, linear: LinearFactory = nn.Linear) -> None:
        super().__init__()
        self.n_actions, self.n_atoms = n_actions, n_atoms
        self.logits = linear(in_features, n_actions * n_atoms)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.logits(features).view(-1, self.n_actions, self.n_atoms)


def expected_q(logits: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """Q(s, a) = Σ_i z_i p_i(s, a) from atom logits (B, A, N) and the support z (N,); shape (B, A)."""
    return (logits.softmax(dim=-1) * support).sum(dim=-1)


def categorical_projection(
    next_probs: torch.Tensor,
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float | torch.Tensor,
    support: torch.Tensor,
) -> torch.Tensor:
    """Project the distribution of r + γ (1 - terminated) Z(s', a*) onto the support (Bellemare et al., 2017, Algorithm 1).

    ``next_probs`` (B, N): p_j(s', a*) for the chosen next action; ``rewards``, ``terminated`` (B,);
    ``gamma`` a float or a (B,) tensor (per-sample discounts, e.g. γⁿ of an n-step return);
    ``support`` (N,): evenly spaced atoms z_0 = V_min < ... < z_{N-1} = V_max. Returns the target
    distribution m (B, N): each shifted atom T̂z_j, clipped to [V_min, V_max], splits its probability
    between its two neighbouring atoms in proportion to closeness (all of it to z_l when it lands on one).
    """
    n_atoms = support.shape[0]
    v_min, v_max = support[0], support[-1]
    delta_z = (v_max - v_min) / (n_atoms - 1)  # Δz
    discount = torch.as_tensor(gamma, dtype=rewards.dtype, device=rewards.device).reshape(-1, 1)  # (B, 1) or (1, 1)
    shifted = rewards.unsqueeze(1) + discount * (1.0 - terminated.unsqueeze(1)) * support  # T̂z_j: (B, N)
    position = (shifted.clamp(v_min, v_max) - v_min) / delta_z  # b_j ∈ [0, N-1]: (B, N)
    lower = position.floor().clamp(max=n_atoms - 1)  # l = ⌊b_j⌋
    upper_weight = position - lower  # b_j - l: the share that goes to u = l + 1
    lower = lower.long()
    upper = (lower + 1).clamp(max=n_atoms - 1)  # at b_j = N-1 the upper share is 0
    target = torch.zeros_like(next_probs)
    target.scatter_add_(1, lower, next_probs * (1.0 - upper_weight))  # m_l += p_j (u - b_j)
    target.scatter_add_(1, upper, next_probs * upper_weight)  # m_u += p_j (b_j - l)
    return target
