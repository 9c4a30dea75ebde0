"""Q(s, a) critics for continuous actions (DDPG, TD3, SAC).

Each critic is an MLP of the ``critic_layers`` spec (the same builder as every other network,
joyrl/networks.py) on the observation and the action concatenated at the input, with one output.
A Discrete or MultiDiscrete observation (its shape an ``EncodedShape``) enters one-hot encoded.
``Critics`` holds ``n`` of them (1 for DDPG, twins for TD3 and SAC) and evaluates them on one
concatenated input: ``Q(s, a)`` has shape (n, B).

``frozen(module)`` turns off the gradients of a module's parameters for the forward passes inside
it: the actor's loss backpropagates through the critics to the action only, and autograd computes
no weight gradients for the critics there.

A batched ensemble (the twins' weights stacked, evaluated with ``torch.baddbmm``) was measured
against this on one CPU thread (256x256 critics, batch 256): no faster, as each matmul is large
enough that launch overhead is negligible next to it (benchmarks/actor_critic_speed.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from joyrl.networks import Shape, build_mlp, flat_encoder


class Critics(nn.Module):
    """``n_critics`` independent Q(s, a) networks: MLPs of ``spec`` on [s, a], one output each.

    ``obs_shape``: the width of a flat observation, its shape (flattened), or an ``EncodedShape``
    (indices, one-hot encoded first).
    """

    def __init__(self, spec: list[dict[str, Any]], obs_shape: int | Shape, action_dim: int, n_critics: int = 2) -> None:
        super().__init__()
        self.encoder, obs_dim = flat_encoder(obs_shape)
        self.members = nn.ModuleList(build_mlp(spec, obs_dim + action_dim, 1, key="critic_layers") for _ in range(n_critics))

    def forward(self, observation: torch.Tensor, action: torch.Tensor, n: int | None = None) -> torch.Tensor:
        """Q_i(s, a) for the first ``n`` critics (all by default): (n, B)."""
        x = torch.cat([self.encoder(observation), action], dim=1)  # (B, obs + act)
        return torch.stack([member(x).squeeze(1) for member in self.members[:n]])


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No parameter of ``module`` requires a gradient inside the block (inputs still get theirs)."""
    parameters = [parameter for parameter in module.parameters() if parameter.requires_grad]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)
