"""REINFORCE's episode loop: the framework's step loop, then the update once the episode has ended."""

from typing import Any

import gymnasium as gym

from joyrl.loops import StepTrainer


class Trainer(StepTrainer):
    """``StepTrainer`` collects the episode (its per-step ``update()`` calls learn nothing mid-episode);
    after ``end_episode`` closed it, one more ``update()`` learns when it completed a batch of ``n_episodes``."""

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, float] | None:
        result = super().train_one_episode(env, agent, cfg)
        if result is None:  # stopped mid-episode: nothing to learn yet
            return None
        stats = agent.update()
        return result if stats is None else {**result, **stats, "n_updates": result["n_updates"] + 1}
