"""The default episode loops that trainers reuse.

Terminated vs truncated is decided here, once: the agent stores ``terminated`` (the
episode really ended, so the target does not bootstrap) and the episode stops on
either flag (a time-limit truncation still bootstraps from the next state).

Legal-action masks need nothing here: they are a part of the observation (``action_mask``,
see joyrl/networks.py), so the agent sees them with every state it acts on or stores.

A stop request (Ctrl-C, SIGTERM) ends the loop after the current step. The episode in
progress goes into the checkpoint as the env's RNG state at its reset plus the actions
taken since; resuming replays them, so the run continues exactly where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from joyrl.buffers import same_observation
from joyrl.contracts import BaseTrainer
from joyrl.counters import add_update_stats
from joyrl.envs import reset_rng_state, set_reset_rng_state


@dataclass
class Episode:
    """An unfinished episode, as much as a checkpoint needs to continue it."""

    start: dict[str, Any]  # reset_rng_state(env) just before the episode's reset
    state: Any  # the current observation
    reward: float = 0.0
    steps: int = 0
    actions: list = field(default_factory=list)  # every action since the reset, for the replay
    update_sums: dict[str, float] = field(default_factory=dict)
    n_updates: int = 0


class StepTrainer(BaseTrainer):
    """One env step, one ``store_transition``, one ``update()``: off-policy and tabular agents.

    The agent needs ``sample_action``, ``predict_action``, ``store_transition(state,
    action, reward, next_state, terminated)`` and ``update()``; its ``end_episode()`` is
    called when an episode ends (terminated, truncated, or dropped after an env failure),
    for agents that keep per-episode state (n-step returns, recurrent hidden states).
    """

    def __init__(self) -> None:
        super().__init__()
        self.episode: Episode | None = None  # an episode stopped part-way, continued by the next call

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any] | None:
        """Play to the end of the episode; None when a stop request ended it early (kept in ``self.episode``)."""
        episode, self.episode = self.episode, None
        if episode is None:
            start = reset_rng_state(env)
            episode = Episode(start, env.reset()[0])
        state, ep_reward, ep_step, actions = episode.state, episode.reward, episode.steps, episode.actions
        update_sums, n_updates = episode.update_sums, episode.n_updates
        while True:
            action = agent.sample_action(state)
            next_state, reward, terminated, truncated, info = env.step(action)
            agent.store_transition(state, action, reward, next_state, terminated)
            n_updates += add_update_stats(update_sums, agent.update())
            actions.append(action)
            state = next_state
            ep_reward += float(reward)
            ep_step += 1
            if terminated or truncated:
                agent.end_episode()
                break
            if self.stop_requested:
                self.episode = Episode(episode.start, state, ep_reward, ep_step, actions, update_sums, n_updates)
                return None
        means = {key: total / n_updates for key, total in update_sums.items()}
        return {"ep_reward": ep_reward, "ep_step": ep_step, "n_updates": n_updates, "info": info, **means}

    def state_dict(self) -> dict[str, Any]:
        """The unfinished episode (empty between episodes), as tensors and plain types."""
        if self.episode is None:
            return {}
        episode = self.episode
        return {
            "start": episode.start,
            "state": _plain(episode.state),
            "reward": episode.reward,
            "steps": episode.steps,
            "actions": torch.from_numpy(np.asarray(episode.actions)),
            "update_sums": episode.update_sums,
            "n_updates": episode.n_updates,
        }

    def load_state_dict(self, state: dict[str, Any], env: gym.Env) -> bool:
        """Replay a saved unfinished episode on ``env``; False (nothing continued) when the env does not repeat it."""
        self.episode = None
        if not state:
            return True
        set_reset_rng_state(env, state["start"])
        observation, _ = env.reset()
        actions = list(state["actions"].numpy())
        for action in actions:
            observation, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                return False
        if not same_observation(observation, _unplain(state["state"])):
            return False
        self.episode = Episode(
            state["start"], observation, state["reward"], state["steps"], actions, dict(state["update_sums"]), state["n_updates"]
        )
        return True

    def test_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any]:
        return run_greedy_episode(env, agent)


def _plain(observation: Any) -> Any:
    if isinstance(observation, dict):  # a Dict observation, part by part
        return {name: _plain(part) for name, part in observation.items()}
    return torch.from_numpy(np.array(observation)) if isinstance(observation, np.ndarray) else observation


def _unplain(observation: Any) -> Any:
    if isinstance(observation, dict):
        return {name: _unplain(part) for name, part in observation.items()}
    return observation.numpy() if isinstance(observation, torch.Tensor) else observation


def run_greedy_episode(env: gym.Env, agent: Any) -> dict[str, Any]:
    """One episode of ``predict_action``; nothing is stored or learned. ``info`` is the last step's."""
    state, _ = env.reset()
    ep_reward, ep_step = 0.0, 0
    while True:
        state, reward, terminated, truncated, info = env.step(agent.predict_action(state))
        ep_reward += float(reward)
        ep_step += 1
        if terminated or truncated:
            return {"ep_reward": ep_reward, "ep_step": ep_step, "info": info}
