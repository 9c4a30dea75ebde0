"""Conservative Q-Learning (Kumar et al., 2020, "Conservative Q-Learning for Offline Reinforcement Learning").

Pseudocode: pseudocodes/CQL.md. Offline Q-learning whose loss adds to the TD error the penalty
alpha * mean_j (log sum_a exp Q(s_j, a) - Q(s_j, a_j)), the paper's CQL(H): it pushes down a soft
maximum of Q over all actions and pushes up Q at the dataset's actions, so that actions the data
never took are not overestimated. alpha is fixed (``alpha``), or, with ``cql_lagrange``, a Lagrange
multiplier tuned so that the penalty stays near ``target_action_gap``.

One folder, two agents; ``Agent(cfg)`` builds the one for the env's action space:

- ``DiscreteCQL``: the paper's DQN variant, as d3rlpy's DiscreteCQL. DQN's agent (algos/DQN/agent.py:
  Q-network, target network, Huber loss, gradient clipping, update loop) with the penalty in its
  loss; the log-sum-exp runs over the legal actions only (an ``action_mask`` observation part).
- ``ContinuousCQL``: CQL on SAC (algos/SAC/agent.py, its temperature tuning kept). The log-sum-exp
  over a continuous action space is estimated by importance sampling, from ``n_action_samples``
  uniform actions and as many from the policy at s and at s' (the paper's code and CORL's).
  Beyond SAC: the actor's own step size ``actor_lr``, target updates every ``target_update`` steps.

Offline only: the framework fills the memory from ``general_cfg.dataset`` and calls ``update()``
``max_updates`` times. No env step is taken, so DQN's and SAC's schedules see t = 0: every call
learns, ``gradient_steps`` gradient steps. Acting is the framework's (joyrl/acting.py).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from gymnasium import spaces

from algos.DQN.agent import Agent as DQNAgent
from algos.SAC.agent import Agent as SACAgent
from joyrl.buffers import TransitionBatch
from joyrl.contracts import BaseAgent
from joyrl.networks import legal_only
from joyrl.policies import SquashedGaussianActor
from joyrl.schedules import set_learning_rate

ALPHA_MAX = 1e6  # alpha's clamp, as in the paper's code


class Agent(BaseAgent):
    """CQL for the env's action space: ``Agent(cfg)`` is a ``DiscreteCQL`` or a ``ContinuousCQL``.

    The framework reads the declarations below from this class (both agents' spaces); each agent
    subclasses it, before DQN's or SAC's agent, and restates its own.
    """

    supported_observation_spaces: ClassVar[tuple[str, ...]] = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces: ClassVar[tuple[str, ...]] = ("Discrete", "Box")
    # Dict: with Discrete actions only (DiscreteCQL, DQN's networks); SAC's critics read s and a concatenated
    observation_spaces_by_action: ClassVar[dict[str, tuple[str, ...]]] = {
        "Box": ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    }
    masks_actions = True  # Discrete actions: the framework's acting and the log-sum-exp honour the mask
    learns_offline = True
    needs_dataset = True  # train mode without general_cfg.dataset is refused by the framework

    def __new__(cls, cfg: Any) -> Agent:
        """An instance of the agent for ``cfg.action_space``; Python then runs that agent's ``__init__(cfg)``."""
        kind: type[Agent] = cls
        if cls is Agent:
            kind = DiscreteCQL if isinstance(cfg.action_space, spaces.Discrete) else ContinuousCQL
        return super().__new__(kind)


class ConservativeWeight:
    """alpha of the penalty (steps 2, 10, 11): ``alpha`` throughout, or with ``cql_lagrange`` a Lagrange multiplier
    exp(log alpha), learned from ``alpha`` by gradient ascent on alpha * (penalty - tau), tau = ``target_action_gap``."""

    def __init__(self, cfg: Any, device: torch.device) -> None:
        learned = cfg.cql_lagrange
        self.gap = cfg.target_action_gap if learned else 0.0  # tau
        log_alpha = math.log(cfg.alpha) if cfg.alpha > 0 else -math.inf
        self.log_alpha = torch.tensor(log_alpha, device=device, requires_grad=learned)
        self.optimizer = torch.optim.Adam([self.log_alpha], lr=cfg.lr) if learned else None

    def value(self) -> torch.Tensor:
        """alpha now, without gradient: ()."""
        return self.log_alpha.detach().exp().clamp(max=ALPHA_MAX)

    def weigh(self, penalty: torch.Tensor) -> torch.Tensor:
        """Step 10: alpha * sum_i (penalty_i - tau), the penalty's term in the loss; ``penalty`` () or one per critic (n,)."""
        return self.value() * (penalty - self.gap).sum()

    def update(self, penalty: torch.Tensor) -> None:
        """With ``cql_lagrange``: one Adam step on -alpha * mean_i (penalty_i - tau), which raises alpha while the
        penalty is above tau and lowers it below (step 11)."""
        if self.optimizer is None:
            return
        loss = -(self.log_alpha.exp().clamp(max=ALPHA_MAX) * (penalty.detach() - self.gap)).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        """The learned alpha and its optimiser; nothing when alpha is fixed (the config holds it)."""
        if self.optimizer is None:
            return {}
        return {"cql_log_alpha": self.log_alpha.detach().clone(), "cql_alpha_optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.optimizer is None:
            return
        with torch.no_grad():
            self.log_alpha.copy_(state["cql_log_alpha"])
        self.optimizer.load_state_dict(state["cql_alpha_optimizer"])


class DiscreteCQL(Agent, DQNAgent):
    """CQL(H) for Discrete actions: DQN's agent with the penalty in its loss (steps 7-11); no epsilon-greedy."""

    supported_observation_spaces = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete",)

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self.conservative = ConservativeWeight(cfg, self.device)  # alpha (step 2)
        self.penalty = torch.zeros(())  # the latest penalty, logged

    def init_exploration(self) -> None:
        """No epsilon-greedy schedule: CQL takes no env step to learn; its behaviour policy is the greedy one."""

    def exploration_epsilon(self) -> float | None:
        return None

    def gradient_step(self, batch: TransitionBatch) -> torch.Tensor:
        """Steps 7-11: one Adam step on Huber(Q(s_j, a_j), y_j) + alpha * penalty, then alpha's; returns the loss."""
        q_values = self.policy_net(batch.states)  # Q(s_j, .): (B, A)
        q_data = q_values.gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # Q(s_j, a_j): (B,)
        penalty = self.conservative_penalty(q_values, q_data, batch.states)  # ()
        loss = F.smooth_l1_loss(q_data, self.compute_target(batch)) + self.conservative.weigh(penalty)
        self.step_optimizer(loss)
        self.conservative.update(penalty)
        self.penalty = penalty.detach()
        return loss.detach()

    def conservative_penalty(self, q_values: torch.Tensor, q_data: torch.Tensor, states: Any) -> torch.Tensor:
        """Step 9: mean_j (log sum_{a legal in s_j} exp Q(s_j, a) - Q(s_j, a_j)); an illegal action adds nothing: ()."""
        return (legal_only(q_values, states).logsumexp(dim=1) - q_data).mean()

    def extra_stats(self) -> dict[str, float]:
        """The latest penalty and alpha, logged with the loss."""
        return {"cql_penalty": float(self.penalty), "cql_alpha": float(self.conservative.value())}

    def state_dict(self) -> dict:
        return {**super().state_dict(), **self.conservative.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.conservative.load_state_dict(state)


class ContinuousCQL(Agent, SACAgent):
    """CQL(H) for Box actions: SAC's agent with the importance-sampled penalty in its critics' loss (steps 7-11)."""

    supported_observation_spaces = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Box",)
    masks_actions = False

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        set_learning_rate(self.actor_optimizer, cfg.actor_lr)  # the paper's actor learns slower than its critics
        self.conservative = ConservativeWeight(cfg, self.device)  # alpha (step 2)
        self.penalty = torch.zeros(())  # the latest penalty, mean over the critics, logged

    def update_critic(self, batch: TransitionBatch) -> torch.Tensor:
        """Steps 7-11: one Adam step on SAC's critic loss + alpha * sum_i penalty_i, then alpha's; returns the loss."""
        states, next_states = cast(torch.Tensor, batch.states), cast(torch.Tensor, batch.next_states)
        q_values = self.critic(states, batch.actions)  # Q_i(s_j, a_j): (n, B)
        penalty = self.conservative_penalty(states, q_values, *self.sample_actions(states, next_states))  # (n,)
        loss = self.critic_loss(q_values, self.compute_target(batch)) + self.conservative.weigh(penalty)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        self.conservative.update(penalty)
        self.penalty = penalty.detach().mean()
        return loss.detach()

    @torch.no_grad()
    def sample_actions(self, states: torch.Tensor, next_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Step 8, the proposal: per state, N = ``n_action_samples`` actions from each of U(-1, 1)^d, pi(.|s) and
        pi(.|s'), with the log-density of the one drawn from: (B, 3N, d) and (B, 3N)."""
        batch_size, n, d = states.shape[0], self.cfg.n_action_samples, self.action_dim
        uniform = torch.rand(batch_size, n, d, device=self.device) * 2.0 - 1.0
        uniform_log_density = torch.full((batch_size, n), -d * math.log(2.0), device=self.device)  # log (1/2)^d
        policy, policy_log_prob = self.actor(states, n_samples=n)  # (B, N, d), (B, N)
        next_policy, next_policy_log_prob = self.actor(next_states, n_samples=n)
        actions = torch.cat([uniform, policy, next_policy], dim=1)
        return actions, torch.cat([uniform_log_density, policy_log_prob, next_policy_log_prob], dim=1)

    def conservative_penalty(
        self, states: torch.Tensor, q_data: torch.Tensor, actions: torch.Tensor, log_density: torch.Tensor
    ) -> torch.Tensor:
        """Step 9, per critic: mean_j (log sum_k exp(Q_i(s_j, a_jk) - log mu(a_jk)) - Q_i(s_j, a_j)) over the
        sampled a_jk ~ mu, (B, K, d) with their log-densities (B, K), and q_data = Q_i(s_j, a_j) (n, B): (n,)."""
        batch_size = states.shape[0]
        # One critic pass per part of the proposal (N actions per state): on a CPU, passes of B N rows keep their
        # activations in cache and run about 10% faster than one pass of 3 B N rows.
        q_sampled = torch.cat(
            [
                self.critic(states.repeat_interleave(part.shape[1], dim=0), part.flatten(0, 1)).view(
                    -1, batch_size, part.shape[1]
                )
                for part in actions.split(self.cfg.n_action_samples, dim=1)
            ],
            dim=2,
        )  # (n, B, K)
        return ((q_sampled - log_density).logsumexp(dim=2) - q_data).mean(dim=1)

    def policy_loss(self, batch: TransitionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Step 12: SAC's policy loss; during the first ``bc_warmup_updates`` gradient steps (the CQL code's
        ``policy_eval_start``) its Q term is replaced by the log-likelihood of the data's actions:
        mean_j (alpha log pi(a~_j|s_j) - log pi(a_j|s_j)), a~_j ~ pi(.|s_j), a_j from the dataset."""
        if self.update_count > self.cfg.bc_warmup_updates:  # counted from 1 by the time the actor steps
            return super().policy_loss(batch)
        _, log_prob = self.actor(batch.states)
        alpha = self.log_ent_coef.detach().exp()
        data_log_prob = cast(SquashedGaussianActor, self.actor).log_prob_of(batch.states, batch.actions)  # (B,)
        return (alpha * log_prob - data_log_prob).mean(), log_prob

    def update_targets(self) -> None:
        """Step 13: every ``target_update`` gradient steps, SAC's Polyak update of the target critics at rate ``tau``."""
        if self.update_count % self.cfg.target_update == 0:
            super().update_targets()

    def extra_stats(self) -> dict[str, float]:
        """SAC's temperature, the latest penalty and alpha."""
        stats = {"cql_penalty": float(self.penalty), "cql_alpha": float(self.conservative.value())}
        return {**super().extra_stats(), **stats}

    def state_dict(self) -> dict:
        return {**super().state_dict(), **self.conservative.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.conservative.load_state_dict(state)
