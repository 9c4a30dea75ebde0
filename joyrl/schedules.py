"""Schedules by env step (exploration rate, learning rate) and target-network updates."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn


class DecaySchedule:
    """A value (epsilon, a learning rate) as a function of env steps, from ``start`` towards ``end``.

    ``linear``: reaches ``end`` after ``decay`` steps and stays there.
    ``exponential``: ``end + (start - end) * exp(-step / decay)`` (JoyRL's schedule).
    """

    def __init__(self, start: float, end: float, decay: float, kind: Literal["linear", "exponential"]) -> None:
        self.start, self.end, self.decay, self.kind = start, end, decay, kind
        self.span = end - start

    def __call__(self, step: int) -> float:
        if self.kind == "linear":
            if step >= self.decay:
                return self.start + self.span  # the line's own end (end, up to rounding)
            return self.start + step / self.decay * self.span
        return self.end + (self.start - self.end) * math.exp(-step / self.decay)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging: target <- tau * source + (1 - tau) * target; tau = 1 is a hard copy."""
    target_params: list[torch.Tensor] = list(target.parameters())
    source_params: list[torch.Tensor] = list(source.parameters())
    if tau >= 1.0:
        torch._foreach_copy_(target_params, source_params)
    else:
        torch._foreach_lerp_(target_params, source_params, tau)


def hard_update(target: nn.Module, source: nn.Module) -> None:
    soft_update(target, source, 1.0)
