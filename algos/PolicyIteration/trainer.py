"""Policy iteration's episode loop: value iteration's (one planning step, then one greedy episode)."""

from algos.ValueIteration.trainer import Trainer

__all__ = ["Trainer"]
