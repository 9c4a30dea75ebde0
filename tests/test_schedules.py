"""Exploration schedules and target-network updates."""

import math

import pytest
import torch
from torch import nn

from joyrl.schedules import DecaySchedule, hard_update, soft_update


def test_linear_starts_at_start():
    assert DecaySchedule(1.0, 0.1, 100, "linear")(0) == 1.0


def test_linear_is_halfway_at_half_the_decay():
    assert DecaySchedule(1.0, 0.2, 100, "linear")(50) == pytest.approx(0.6)


@pytest.mark.parametrize("step", [100, 101, 1_000, 10**9])
def test_linear_reaches_end_at_decay_and_stays(step):
    assert DecaySchedule(1.0, 0.05, 100, "linear")(step) == pytest.approx(0.05)


@pytest.mark.parametrize("step", [0, 1, 300, 2_000])
def test_exponential_formula(step):
    expected = 0.01 + (0.95 - 0.01) * math.exp(-step / 300)
    assert DecaySchedule(0.95, 0.01, 300, "exponential")(step) == pytest.approx(expected)


def test_exponential_decreases_towards_end():
    schedule = DecaySchedule(1.0, 0.1, 50, "exponential")
    values = [schedule(step) for step in range(0, 2_000, 100)]
    assert values == sorted(values, reverse=True)
    assert values[-1] == pytest.approx(0.1, abs=1e-6)


def pair():
    torch.manual_seed(0)
    return nn.Linear(3, 2), nn.Linear(3, 2)


def test_soft_update_with_tau_one_copies():
    target, source = pair()
    soft_update(target, source, 1.0)
    for t, s in zip(target.parameters(), source.parameters(), strict=True):
        assert torch.equal(t, s)


def test_soft_update_with_half_tau_averages():
    target, source = pair()
    expected = [(t + s) / 2 for t, s in zip(target.parameters(), source.parameters(), strict=True)]
    soft_update(target, source, 0.5)
    for t, e in zip(target.parameters(), expected, strict=True):
        torch.testing.assert_close(t, e)


def test_soft_update_leaves_the_source_alone():
    target, source = pair()
    before = [p.clone() for p in source.parameters()]
    soft_update(target, source, 0.3)
    assert all(torch.equal(p, b) for p, b in zip(source.parameters(), before, strict=True))


def test_hard_update_copies():
    target, source = pair()
    hard_update(target, source)
    assert all(torch.equal(t, s) for t, s in zip(target.parameters(), source.parameters(), strict=True))
