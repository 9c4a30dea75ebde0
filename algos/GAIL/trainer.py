"""GAIL's loop: PPO's, the framework's vector-env loop (joyrl/vector_loop.py), n_envs envs stepped together."""

from joyrl.vector_loop import VectorTrainer


class Trainer(VectorTrainer):
    """Uses ``VectorTrainer`` unchanged: it reports the env's rewards, whatever the agent stores in its rollout."""
