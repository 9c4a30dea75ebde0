"""Rainbow's episode loop: the framework's step loop, which calls ``Agent.end_episode`` at every episode end."""

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """Uses ``StepTrainer`` unchanged; override ``train_one_episode`` to change the loop."""
