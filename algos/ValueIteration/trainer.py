"""A planner's "episode": one planning step on the agent's model, then one greedy episode on the env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from joyrl.contracts import BaseTrainer
from joyrl.loops import run_greedy_episode


class Trainer(BaseTrainer):
    """Each training episode runs ``agent.update()`` once (value iteration: one sweep; policy iteration: one
    evaluation and improvement), then plays the resulting greedy policy for one episode, whose return and
    length go to res.csv. Once planning has converged (or hit ``max_sweeps``), ``update()`` does nothing and
    the remaining episodes of the budget only play the final policy. The planning statistics (sweeps, last
    max |ΔV|, converged, planning seconds) go to train_stats.csv and the log lines.
    """

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, float]:
        planned = agent.update() is not None
        return {**run_greedy_episode(env, agent), **agent.planning_stats(), "n_updates": int(planned)}

    def test_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, float]:
        return run_greedy_episode(env, agent)
