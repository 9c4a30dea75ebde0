"""Value iteration (Bellman, 1957; Sutton & Barto, 2018, section 4.4): planning on the env's transition table.

Pseudocode: pseudocodes/ValueIteration.md. The agent never learns from experience: it reads
the toy-text table ``P[s][a] = [(prob, s', r, terminated)]`` of a fresh copy of the configured
env (same id and ``env_cfg.kwargs``; wrappers are not applied) and sweeps the Bellman
optimality backup over all states at once, in NumPy. A next state reached by a terminating
transition is not bootstrapped. Sweeps are synchronous (the whole of V_k gives V_{k+1}),
not Sutton & Barto's in-place ones. Actions whose Q-values are within ``theta`` of the best
count as tied, and the lowest index wins, so the greedy policy is deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from joyrl.contracts import BaseAgent
from joyrl.envs import check_env_id
from joyrl.errors import ConfigError


class Agent(BaseAgent):
    supported_observation_spaces = ("Discrete",)
    supported_action_spaces = ("Discrete",)

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.model = TabularModel.from_env(cfg)
        self.v_table = torch.zeros(cfg.n_states, dtype=torch.float64)  # V(s), 0 at the start
        self.policy = torch.zeros(cfg.n_states, dtype=torch.int64)  # π(s): the greedy action of each state
        self.iterations = 0  # planning steps (update calls that planned): sweeps here, evaluation + improvement in PI
        self.sweeps = 0  # Bellman sweeps over all states so far
        self.delta = 0.0  # max_s |ΔV(s)| of the last sweep (0 before the first)
        self.converged = False  # the last sweep changed no V(s) by theta or more (and, in PI, the policy is stable)
        self.plan_seconds = 0.0  # wall time spent planning

    def sample_action(self, state: int) -> int:
        """The greedy policy: a planner does not explore."""
        return self.predict_action(state)

    def predict_action(self, state: int) -> int:
        """π(s), greedy with respect to the planned V (pseudocode step 4)."""
        return int(self.policy[int(state)])

    def update(self) -> dict[str, float] | None:
        """One sweep V(s) <- max_a Σ p [r + γ (1 - terminated) V(s')] over all states (pseudocode step 2); None once done."""
        if self.planning_done():
            return None
        start = time.perf_counter()
        values = self.v_table.numpy()  # shares memory with v_table: (S,)
        new_values = self.model.backup(values, self.cfg.gamma).max(axis=1)
        self.delta = float(np.abs(new_values - values).max())
        values[:] = new_values
        self.iterations += 1
        self.sweeps += 1
        self.converged = self.delta < self.cfg.theta  # pseudocode step 3
        self.policy = torch.from_numpy(self.greedy_policy(values))  # pseudocode step 4
        self.plan_seconds += time.perf_counter() - start
        return self.planning_stats()

    def planning_done(self) -> bool:
        return self.converged or self.sweeps >= self.cfg.max_sweeps

    def greedy_policy(self, values: np.ndarray) -> np.ndarray:
        """argmax_a Q(s, a) from V, the lowest action among those within theta of the best: (S,) int64."""
        q_values = self.model.backup(values, self.cfg.gamma)  # (S, A)
        tied = q_values >= q_values.max(axis=1, keepdims=True) - self.cfg.theta
        return tied.argmax(axis=1).astype(np.int64)  # the first True

    def planning_stats(self) -> dict[str, float]:
        """Sweeps, the last max |ΔV|, convergence and planning time; V at the start when the env tells its start states."""
        stats = {
            "iterations": float(self.iterations),
            "sweeps": float(self.sweeps),
            "delta": self.delta,
            "converged": float(self.converged),
            "plan_seconds": self.plan_seconds,
        }
        if self.model.start_probs is not None:
            stats["v_start"] = float(self.model.start_probs @ self.v_table.numpy())
        return stats

    weights = ("v_table", "policy")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        return {
            "v_table": self.v_table.clone(),
            "policy": self.policy.clone(),
            "iterations": self.iterations,
            "sweeps": self.sweeps,
            "delta": self.delta,
            "converged": self.converged,
            "plan_seconds": self.plan_seconds,
        }

    def load_state_dict(self, state: dict) -> None:
        if state["v_table"].shape != self.v_table.shape:
            raise ValueError(
                f"V-table shape {tuple(state['v_table'].shape)} does not match this env's {tuple(self.v_table.shape)}"
            )
        self.v_table = state["v_table"].clone()
        self.policy = state["policy"].clone()
        self.iterations, self.sweeps, self.delta = state["iterations"], state["sweeps"], state["delta"]
        self.converged, self.plan_seconds = state["converged"], state["plan_seconds"]


@dataclass
class TabularModel:
    """The env's ``P`` as arrays; K is the most outcomes any (s, a) has, shorter lists padded with probability 0."""

    next_states: np.ndarray  # s' of each outcome: (S, A, K) int64
    continue_probs: np.ndarray  # p · (1 - terminated): the weight of V(s') in the backup, (S, A, K)
    rewards: np.ndarray  # expected reward Σ p r: (S, A)
    start_probs: np.ndarray | None  # the initial-state distribution, when the env has one: (S,)

    @classmethod
    def from_env(cls, cfg) -> TabularModel:
        """Read ``P`` from a fresh, unwrapped ``cfg.id``; ConfigError when there is none or it does not fit the spaces."""
        check_env_id(cfg.id)  # registers the project's own envs
        env = gym.make(cfg.id, **cfg.kwargs).unwrapped
        table, start_probs = getattr(env, "P", None), getattr(env, "initial_state_distrib", None)
        env.close()
        if not isinstance(table, dict | list) or len(table) != cfg.n_states:
            found = "has none" if table is None else f"has one for {len(table)} states, not {cfg.n_states}"
            raise ConfigError(
                f"{cfg.algo_name} plans on the env's transition table P[s][a] = [(prob, next_state, reward, terminated)] "
                f"(env.unwrapped.P), but {cfg.id} {found}; use a toy-text env (FrozenLake-v1, CliffWalking-v1, Taxi-v4, "
                "GorgeWalk-v0) or a learning algorithm such as QLearning"
            )
        outcomes = [[_outcomes(table, s, a, cfg) for a in range(cfg.n_actions)] for s in range(cfg.n_states)]
        shape = (cfg.n_states, cfg.n_actions, max(len(listed) for row in outcomes for listed in row))
        next_states, continue_probs, rewards = np.zeros(shape, dtype=np.int64), np.zeros(shape), np.zeros(shape[:2])
        for s, row in enumerate(outcomes):
            for a, listed in enumerate(row):
                for k, (prob, next_state, reward, terminated) in enumerate(listed):
                    next_states[s, a, k] = next_state
                    continue_probs[s, a, k] = prob * (1.0 - float(terminated))  # no bootstrap past a termination
                    rewards[s, a] += prob * reward
        if start_probs is not None and len(start_probs) == cfg.n_states:
            start_probs = np.asarray(start_probs, dtype=np.float64)
        else:
            start_probs = None
        return cls(next_states, continue_probs, rewards, start_probs)

    def backup(self, values: np.ndarray, gamma: float, actions: np.ndarray | None = None) -> np.ndarray:
        """Q(s, a) = Σ p [r + γ (1 - terminated) V(s')]: (S, A), or (S,) for one action per state."""
        next_states, continue_probs, rewards = self.next_states, self.continue_probs, self.rewards
        if actions is not None:
            pick = (np.arange(len(actions)), actions)  # (s, π(s)) for every s
            next_states, continue_probs, rewards = next_states[pick], continue_probs[pick], rewards[pick]
        return rewards + gamma * (continue_probs * values[next_states]).sum(axis=-1)


def _outcomes(table, state: int, action: int, cfg) -> list:
    """P[s][a], checked: probabilities that sum to 1 and next states inside the observation space."""
    try:
        outcomes = list(table[state][action])
    except (KeyError, IndexError, TypeError):
        raise ConfigError(
            f"{cfg.id}'s transition table has no entry P[{state}][{action}]; {cfg.algo_name} needs every state and action"
        ) from None
    total = sum(float(outcome[0]) for outcome in outcomes)
    if abs(total - 1.0) > 1e-6 or any(not 0 <= int(outcome[1]) < cfg.n_states for outcome in outcomes):
        raise ConfigError(
            f"{cfg.id}'s transition table entry P[{state}][{action}] is not a distribution over its {cfg.n_states} states "
            f"(probabilities sum to {total:g})"
        )
    return outcomes
