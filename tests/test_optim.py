"""joyrl.optim.clip_grad_norm gives torch's clip_grad_norm_'s numbers."""

import copy

import pytest
import torch
from torch import nn

from joyrl.optim import clip_grad_norm


@pytest.mark.parametrize("max_norm", [0.01, 10.0, 1e6])  # clipped hard, a little, not at all
def test_the_gradients_and_the_norm_are_torchs(max_norm):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 2))
    net[0].bias.requires_grad_(False)  # a parameter without a gradient is left out
    (net(torch.randn(128, 4)) ** 2).sum().backward()
    reference = copy.deepcopy(net)  # a deep copy leaves the gradients out
    for ours, theirs in zip(net.parameters(), reference.parameters(), strict=True):
        theirs.grad = None if ours.grad is None else ours.grad.clone()
    norm = clip_grad_norm(net.parameters(), max_norm)
    expected = nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
    torch.testing.assert_close(norm, expected)
    for ours, theirs in zip(net.parameters(), reference.parameters(), strict=True):
        assert (ours.grad is None) == (theirs.grad is None)
        if ours.grad is not None:
            torch.testing.assert_close(ours.grad, theirs.grad)


def test_no_gradient_is_a_zero_norm():
    assert clip_grad_norm([nn.Parameter(torch.ones(3))], 1.0) == 0.0
