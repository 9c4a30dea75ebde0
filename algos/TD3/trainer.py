"""TD3's episode loop: the framework's step loop (act, store, update each env step)."""

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """Uses ``StepTrainer`` unchanged: it calls ``Agent.end_episode`` (the noise's reset) when an episode ends."""
