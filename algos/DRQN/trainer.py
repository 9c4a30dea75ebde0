"""DRQN's episode loops: the framework's step loop, and greedy test episodes that start from a zero hidden state."""

from typing import Any

import gymnasium as gym

from joyrl.loops import StepTrainer, run_greedy_episode


class Trainer(StepTrainer):
    """Training uses ``StepTrainer`` unchanged (it calls ``Agent.end_episode`` at each episode end).

    Evaluation, test, render and collect run ``test_one_episode``; the loop does not tell the
    agent when a greedy episode starts, so this resets the agent's evaluation hidden state first.
    """

    def test_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, float]:
        agent.reset_eval_hidden()
        return run_greedy_episode(env, agent)
