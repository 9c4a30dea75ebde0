"""TD3+BC's trainer: the framework's step loop, whose ``test_one_episode`` plays the greedy policy (evaluation, test mode)."""

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """Uses ``StepTrainer`` unchanged: offline training calls ``Agent.update`` alone, evaluation plays its episodes."""
