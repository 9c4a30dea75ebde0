"""IQL's episode loop: the framework's step loop, used here for evaluation and test (it learns offline)."""

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """Uses ``StepTrainer`` unchanged: its ``test_one_episode`` evaluates the greedy policy."""
