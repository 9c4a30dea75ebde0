"""Discrete SAC's episode loop: the framework's step loop (act, store, update each env step)."""

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """Uses ``StepTrainer`` unchanged; override ``train_one_episode`` to change the loop."""
