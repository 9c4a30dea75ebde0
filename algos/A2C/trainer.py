"""A2C's loop: the framework's vector-env loop (joyrl/vector_loop.py), n_envs envs stepped together."""

from joyrl.vector_loop import VectorTrainer


class Trainer(VectorTrainer):
    """Uses ``VectorTrainer`` unchanged: each call returns one finished episode of one of the envs."""
