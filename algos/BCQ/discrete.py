"""Discrete BCQ (Fujimoto, Conti, Ghavamzadeh and Pineau, 2019, "Benchmarking Batch Deep Reinforcement Learning Algorithms").

Pseudocode: pseudocodes/BCQ.md, steps D1-D9. Q-learning restricted to the actions the data's
behaviour policy takes: a behaviour-cloning network pi_bc(a|s), trained by cross-entropy on the
data's actions, allows only the actions a with pi_bc(a|s) / max_a' pi_bc(a'|s) > ``threshold``; the
greedy action and the target's next action are the allowed argmax of the online Q-network, the
target's value is the target network's (as double DQN). As the authors' code (sfujim/BCQ,
discrete_BCQ): the Huber loss, the cloning network's logits penalised by ``bc_logit_penalty`` times
their mean square, one Adam for both networks, Polyak target updates every step.

Acting is the framework's (joyrl.acting.ScoredActions): ``action_scores`` gives Q with -inf at the
disallowed actions, and the framework adds the env's action mask (an ``action_mask`` observation
part), which the allowed set respects too: only legal actions are compared with the most probable
legal one.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from joyrl.acting import ScoredActions
from joyrl.buffers import ReplayBuffer, TransitionBatch
from joyrl.networks import ObservationTensor, build_mlp, legal_only, observation_format
from joyrl.schedules import soft_update


def allowed_scores(q_values: torch.Tensor, bc_logits: torch.Tensor, threshold: float, observation: Any) -> torch.Tensor:
    """Q (B, A) with -inf where pi_bc(a|s) / max_a' pi_bc(a'|s) <= ``threshold`` or a is illegal (step D5)."""
    logits = legal_only(bc_logits, observation)  # illegal actions: -inf, so probability 0
    ratio = torch.exp(logits - logits.max(dim=1, keepdim=True).values)  # pi(a|s) / max pi: the softmax's sum cancels
    return q_values.masked_fill(ratio <= threshold, -torch.inf)


class DiscreteBCQ(ScoredActions):
    supported_observation_spaces = ("Box", "Dict", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete",)
    learns_offline = True
    memory: ReplayBuffer  # D, the dataset

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.n_actions = cfg.n_actions
        # of the networks' input and D's entries: flat float32, a Dict's parts named by value_layers and its action mask,
        # or the indices of a Discrete or MultiDiscrete observation (one-hot in the networks)
        obs_shape, obs_dtype = observation_format(cfg, keep_mask=True)
        # step D1: Q(s, .; theta) (B, A), its target copy, and the cloning network's logits of pi_bc(.|s; omega) (B, A)
        self.policy_net = build_mlp(cfg.value_layers, obs_shape, self.n_actions, input_dtype=obs_dtype).to(self.device)
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)
        self.bc_net = build_mlp(cfg.value_layers, obs_shape, self.n_actions, input_dtype=obs_dtype).to(self.device)
        self.optimizer = torch.optim.Adam([*self.policy_net.parameters(), *self.bc_net.parameters()], lr=cfg.lr, fused=True)
        self.memory = ReplayBuffer(cfg.buffer_size, obs_shape, obs_dtype=obs_dtype, device=self.device)  # step D2
        self.observation = ObservationTensor(obs_shape, self.device, obs_dtype)
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # learning steps taken

    def action_scores(self, observation: Any, explore: bool) -> torch.Tensor:
        """Step D9: Q(s, a) at the allowed actions, -inf elsewhere: (1, A); the framework takes the argmax."""
        return allowed_scores(self.policy_net(observation), self.bc_net(observation), self.cfg.threshold, observation)

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Step D2: (s, a, r, s', terminated) of the dataset into D."""
        self.memory.push(state, action, reward, next_state, terminated)

    def update(self) -> dict[str, float] | None:
        """Steps D4-D8: one learning step on a batch of D, once D holds ``batch_size`` transitions."""
        if len(self.memory) < self.cfg.batch_size:
            return None
        batch = self.memory.sample(self.cfg.batch_size)  # step D4
        q_loss = self.q_loss(batch)
        bc_loss = self.bc_loss(self.bc_net(batch.states), batch.actions)
        self.optimizer.zero_grad(set_to_none=True)  # step D8: one Adam step on both networks, then the target
        (q_loss + bc_loss).backward()
        self.optimizer.step()
        soft_update(self.target_net, self.policy_net, self.cfg.tau)
        self.update_count += 1
        losses = torch.stack([q_loss, bc_loss]).detach().tolist()  # one conversion per call
        return {"q_loss": losses[0], "bc_loss": losses[1]}

    @torch.no_grad()
    def compute_target(self, batch: TransitionBatch) -> torch.Tensor:
        """Step D6: y = r + gamma (1 - terminated) Q(s', a*; theta'), a* the allowed argmax of Q(s', .; theta); (B,)."""
        next_states = batch.next_states
        online_q = allowed_scores(self.policy_net(next_states), self.bc_net(next_states), self.cfg.threshold, next_states)
        next_actions = online_q.argmax(dim=1, keepdim=True)  # (B, 1)
        next_q = self.target_net(next_states).gather(1, next_actions).squeeze(1)  # (B,)
        return batch.rewards + self.cfg.gamma * (1.0 - batch.terminated) * next_q

    def q_loss(self, batch: TransitionBatch) -> torch.Tensor:
        """Step D7: the Huber loss between Q(s_j, a_j; theta) and y_j."""
        q_values = self.policy_net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # (B,)
        return F.smooth_l1_loss(q_values, self.compute_target(batch))

    def bc_loss(self, logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Step D7: -mean_j log pi_bc(a_j|s_j) + ``bc_logit_penalty`` mean(logits^2); logits (B, A)."""
        return F.cross_entropy(logits, actions) + self.cfg.bc_logit_penalty * logits.square().mean()

    weights = ("policy_net", "target_net", "bc_net")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        """Networks, optimiser and counters: what a resumed run needs besides D."""
        state = {name: getattr(self, name).state_dict() for name in (*self.weights, "optimizer")}
        return {**state, "sample_count": self.sample_count, "update_count": self.update_count}

    def load_state_dict(self, state: dict) -> None:
        for name in (*self.weights, "optimizer"):
            getattr(self, name).load_state_dict(state[name])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
