"""CQL's trainer: the framework's step loop, used for evaluation and test (offline, the framework calls update())."""

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """Uses ``StepTrainer`` unchanged."""
