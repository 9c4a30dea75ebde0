"""The default episode loops that trainers reuse.

Terminated vs truncated is decided here, once: the agent stores ``terminated`` (the
episode really ended, so the target does not bootstrap) and the episode stops on
either flag (a time-limit truncation still bootstraps from the next state).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class StepTrainer:
    """One env step, one ``store_transition``, one ``update()``: off-policy and tabular agents.

    The agent needs ``sample_action``, ``predict_action``, ``store_transition(state,
    action, reward, next_state, terminated)`` and ``update()``.
    """

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, float]:
        state, _ = env.reset()
        ep_reward, ep_step = 0.0, 0
        update_sums: dict[str, float] = {}
        n_updates = 0
        while True:
            action = agent.sample_action(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            agent.store_transition(state, action, reward, next_state, terminated)
            stats = agent.update()
            if stats:
                n_updates += 1
                for key, value in stats.items():
                    update_sums[key] = update_sums.get(key, 0.0) + value
            state = next_state
            ep_reward += float(reward)
            ep_step += 1
            if terminated or truncated:
                break
        means = {key: total / n_updates for key, total in update_sums.items()}
        return {"ep_reward": ep_reward, "ep_step": ep_step, **means}

    def test_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, float]:
        return run_greedy_episode(env, agent)


def run_greedy_episode(env: gym.Env, agent: Any) -> dict[str, float]:
    """One episode of ``predict_action``; nothing is stored or learned."""
    state, _ = env.reset()
    ep_reward, ep_step = 0.0, 0
    while True:
        state, reward, terminated, truncated, _ = env.step(agent.predict_action(state))
        ep_reward += float(reward)
        ep_step += 1
        if terminated or truncated:
            return {"ep_reward": ep_reward, "ep_step": ep_step}


def evaluate(env: gym.Env, agent: Any, trainer: Any, cfg: Any, n_episodes: int) -> dict[str, float]:
    """Mean, std, min and max return of ``n_episodes`` test episodes."""
    returns = np.array([trainer.test_one_episode(env, agent, cfg)["ep_reward"] for _ in range(n_episodes)])
    return {
        "eval_mean": float(returns.mean()),
        "eval_std": float(returns.std()),
        "eval_min": float(returns.min()),
        "eval_max": float(returns.max()),
    }
