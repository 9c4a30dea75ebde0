"""Policy iteration (Howard, 1960; Sutton & Barto, 2018, section 4.3): planning on the env's transition table.

Pseudocode: pseudocodes/PolicyIteration.md. Value iteration's agent (algos/ValueIteration/agent.py:
the model read from ``P``, the V-table, the deterministic greedy rule, checkpoints) with ``update``
replaced: evaluate the current policy by sweeps of its Bellman expectation backup, then improve
it greedily. The evaluation stops at ``theta`` or after ``eval_sweeps`` sweeps; a small cap gives
modified policy iteration (Puterman and Shin, 1978), which then needs more iterations.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from algos.ValueIteration.agent import Agent as ValueIterationAgent


class Agent(ValueIterationAgent):
    def update(self) -> dict[str, float] | None:
        """One iteration: evaluate π (pseudocode step 2), then improve it (step 3); None once done."""
        if self.planning_done():
            return None
        start = time.perf_counter()
        values, policy = self.v_table.numpy(), self.policy.numpy()  # share memory with the tables: (S,), (S,)
        for _ in range(min(self.cfg.eval_sweeps, self.cfg.max_sweeps - self.sweeps)):
            new_values = self.model.backup(values, self.cfg.gamma, actions=policy)  # V(s) <- Σ p [r + γ (1 - term) V(s')]
            self.delta = float(np.abs(new_values - values).max())
            values[:] = new_values
            self.sweeps += 1
            if self.delta < self.cfg.theta:
                break
        new_policy = self.greedy_policy(values)
        stable = bool(np.array_equal(new_policy, policy))
        self.policy = torch.from_numpy(new_policy)
        self.iterations += 1
        self.converged = stable and self.delta < self.cfg.theta  # a capped evaluation has not converged yet
        self.plan_seconds += time.perf_counter() - start
        return self.planning_stats()
