"""Sarsa's episode loop: the framework's step loop (act, store, update each env step)."""

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """Uses ``StepTrainer`` unchanged: the agent draws a' inside ``store_transition`` and acts with it at the
    next ``sample_action``; the loop's ``end_episode`` call drops an a' that an episode end left unused."""
