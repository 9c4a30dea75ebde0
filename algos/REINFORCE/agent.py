"""REINFORCE (Williams, 1992, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning"; Sutton and Barto, 2018, *Reinforcement Learning*, sections 13.3-13.4).

Pseudocode: pseudocodes/REINFORCE.md. Monte Carlo policy gradient: the agent plays ``n_episodes``
complete episodes with its current policy, then takes one gradient step on
-mean_t log pi(a_t|s_t) Psi_t over all their steps, with Psi_t the discounted return from t on
(``reward_to_go``) or the whole episode's return, minus a learned V(s_t) when ``baseline`` is set.
Beyond the textbook: the gamma^t factor of the episodic gradient is dropped (as in most
implementations), the weights Psi_t can be normalised per update, an entropy bonus ``ent_coef``,
gradient-norm clipping, and time-limit truncations: an episode cut by a time limit did not end, so
with a baseline its returns are bootstrapped from V(s_T) of its last observation; without one the
tail is unknown and counted as 0 (the truncated sum of rewards).

Discrete actions use a softmax policy (argmax when predicting), MultiDiscrete ones a softmax per
dimension and MultiBinary ones a Bernoulli per bit (``DiscretePolicyHead``: log-probabilities and
entropies summed over them); Box actions a Gaussian with a state-independent log-std (its mean when
predicting), sampled unbounded in [-1, 1] units and mapped to the env's bounds by ``ActionScaler``
(clipped on the way). Discrete and MultiDiscrete observations are kept as indices and one-hot
encoded by the networks, MultiBinary ones as bits (``observation_format``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn
from torch.distributions import Distribution

from joyrl.contracts import BaseAgent
from joyrl.networks import ObservationTensor, build_mlp, observation_format
from joyrl.optim import clip_grad_norm
from joyrl.policies import ActionScaler, DiscretePolicyHead, GaussianPolicy


class Agent(BaseAgent):
    supported_observation_spaces = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete", "MultiDiscrete", "MultiBinary", "Box")

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.obs_shape, self.obs_dtype = observation_format(cfg, "actor_layers")  # indices of Discrete ones: one-hot
        obs_shape, obs_dtype = self.obs_shape, self.obs_dtype
        self.actor: GaussianPolicy | nn.Sequential
        self.head = None if isinstance(cfg.action_space, spaces.Box) else DiscretePolicyHead(cfg.action_space)
        if self.head is None:  # pi(.|s) = N(mu(s), sigma^2), actions in [-1, 1] units (step 1)
            self.actor = GaussianPolicy(cfg.actor_layers, obs_shape, cfg.n_actions, cfg.log_std_init, obs_dtype)
            self.scaler = ActionScaler(cfg.action_low, cfg.action_high)
        else:  # pi(.|s) = softmax(logits(s)), one per MultiDiscrete dimension, or a Bernoulli per MultiBinary bit
            self.actor = build_mlp(cfg.actor_layers, obs_shape, self.head.n_outputs, "actor_layers", obs_dtype)
        self.actor = self.actor.to(self.device)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic = self.critic_optimizer = None
        if cfg.baseline:  # V(s; w), the baseline (step 1)
            self.critic = build_mlp(cfg.critic_layers, obs_shape, 1, "critic_layers", obs_dtype).to(self.device)
            self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, fused=True)
        self.observation = ObservationTensor(obs_shape, self.device, obs_dtype)
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken
        self.clear_rollout()

    @torch.inference_mode()
    def sample_action(self, state: np.ndarray) -> int | np.ndarray:
        """a_t ~ pi(.|s_t) (step 3); a Box action goes to the env scaled to its bounds."""
        self.sample_count += 1
        observation = self.observation(state)
        if self.head is None:
            self.last_action = self.actor(observation).sample()[0].cpu().numpy()
            return self.scaler.to_env(self.last_action)
        action = self.head.distribution(self.actor(observation)).sample()
        self.last_action = int(action) if self.head.kind == "Discrete" else action[0].cpu().numpy()
        return self.head.env_action(action)

    @torch.inference_mode()
    def predict_action(self, state: np.ndarray) -> int | np.ndarray:
        """The most likely action: argmax_a pi(a|s) (per dimension, per bit), or the Gaussian's mean."""
        observation = self.observation(state)
        if self.head is None:
            assert isinstance(self.actor, GaussianPolicy)  # built for Box actions
            return self.scaler.to_env(self.actor.mean(observation)[0].cpu().numpy())
        return self.head.env_action(self.head.greedy(self.actor(observation)))

    def store_transition(self, state, action, reward: float, next_state, terminated: bool) -> None:
        """Keep (s_t, a_t, r_t) of the episode in progress; the action is the one sampled, before scaling."""
        self.states.append(np.array(state, dtype=self.obs_dtype))
        self.actions.append(self.last_action)
        self.rewards.append(float(reward))
        self.next_state, self.terminated = next_state, terminated

    def end_episode(self) -> None:
        """The episode ended (terminated, truncated, or dropped after an env failure): close it in the rollout."""
        if len(self.states) == (self.episode_ends[-1] if self.episode_ends else 0):
            return  # no step since the last end
        self.episode_ends.append(len(self.states))
        self.last_states.append(np.array(self.next_state, dtype=self.obs_dtype))
        self.last_terminated.append(bool(self.terminated))

    def update(self) -> dict[str, float] | None:
        """Once ``n_episodes`` episodes are complete: one gradient step on all their steps (steps 4-7)."""
        if len(self.episode_ends) < self.cfg.n_episodes:
            return None
        states = torch.as_tensor(np.array(self.states), device=self.device)
        actions = torch.as_tensor(np.array(self.actions), device=self.device)
        returns, advantages = self.compute_targets(states)
        if self.cfg.normalize_advantage:
            advantages = (advantages - advantages.mean()) / (advantages.std(correction=0) + 1e-8)
        stats = self.gradient_step(states, actions, returns, advantages)
        self.update_count += 1
        self.clear_rollout()
        return stats

    @torch.no_grad()
    def compute_targets(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """G_t, the return from t on, and Psi_t, the weight of log pi(a_t|s_t), for every stored step (steps 4-5).

        G_t = r_t + gamma G_{t+1}, with G_T = V(s_T) after a truncation (baseline only) and 0 otherwise;
        Psi_t = G_t (``reward_to_go``) or G_0 (the whole episode's return), minus V(s_t) with a baseline.
        """
        gamma = self.cfg.gamma
        tails = np.zeros(len(self.episode_ends), dtype=np.float32)
        if self.critic is not None:
            last_values = self.critic(torch.as_tensor(np.array(self.last_states), device=self.device)).squeeze(1)
            tails = np.where(self.last_terminated, 0.0, last_values.cpu().numpy())
        returns = np.zeros(len(self.rewards), dtype=np.float32)
        whole = np.zeros(len(self.rewards), dtype=np.float32)
        start = 0
        for end, tail in zip(self.episode_ends, tails, strict=True):
            g = float(tail)
            for t in range(end - 1, start - 1, -1):
                g = self.rewards[t] + gamma * g
                returns[t] = g
            whole[start:end] = g  # G_0 of this episode
            start = end
        returns_t = torch.as_tensor(returns, device=self.device)
        weights = returns_t if self.cfg.reward_to_go else torch.as_tensor(whole, device=self.device)
        if self.critic is not None:
            weights = weights - self.critic(states).squeeze(1)
        return returns_t, weights

    def policy(self, states: torch.Tensor) -> Distribution:
        """pi(.|s) for a batch of states: Normal (B, act), or the head's categorical(s) or Bernoullis."""
        return self.actor(states) if self.head is None else self.head.distribution(self.actor(states))

    def losses(
        self, states: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor, advantages: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The policy loss -mean(log pi(a_t|s_t) Psi_t) - ent_coef mean H(pi(.|s_t)) and V's squared error (step 6)."""
        distribution = self.policy(states)
        log_probs, entropy = distribution.log_prob(actions), distribution.entropy()
        if self.head is None:  # independent action dimensions: sum over them (the head's distributions sum already)
            log_probs, entropy = log_probs.sum(dim=1), entropy.sum(dim=1)
        entropy = entropy.mean()
        losses = {"policy_loss": -(log_probs * advantages).mean() - self.cfg.ent_coef * entropy, "entropy": entropy}
        if self.critic is not None:
            losses["value_loss"] = F.mse_loss(self.critic(states).squeeze(1), returns)
        return losses

    def gradient_step(
        self, states: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor, advantages: torch.Tensor
    ) -> dict[str, float]:
        """One Adam step on each network, each gradient's norm clipped to ``max_grad_norm`` (steps 6-7)."""
        losses = self.losses(states, actions, returns, advantages)
        pairs = [(self.actor, self.actor_optimizer, losses["policy_loss"])]
        if self.critic is not None and self.critic_optimizer is not None:  # made together
            pairs.append((self.critic, self.critic_optimizer, losses["value_loss"]))
        for network, optimizer, loss in pairs:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clip_grad_norm(network.parameters(), self.cfg.max_grad_norm)
            optimizer.step()
        return {name: float(value.detach()) for name, value in losses.items()}

    def clear_rollout(self) -> None:
        """Empty the episodes gathered since the last update: steps, then one entry per finished episode."""
        self.states: list[np.ndarray] = []
        self.actions: list = []  # as sampled: ints (Discrete), arrays (MultiDiscrete, MultiBinary, Box: unclipped, [-1, 1] units)
        self.rewards: list[float] = []
        self.episode_ends: list[int] = []  # index after each finished episode's last step
        self.last_states: list[np.ndarray] = []  # s_T of each finished episode, for the truncation bootstrap
        self.last_terminated: list[bool] = []

    weights = ("actor", "critic")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        state = {
            "actor": self.actor.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "sample_count": self.sample_count,
            "update_count": self.update_count,
            "rollout": self.rollout_state(),
        }
        if self.critic is not None and self.critic_optimizer is not None:
            state["critic"] = self.critic.state_dict()
            state["critic_optimizer"] = self.critic_optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        if self.critic is not None and self.critic_optimizer is not None:
            self.critic.load_state_dict(state["critic"])
            self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
        self.load_rollout(state["rollout"])

    def rollout_state(self) -> dict[str, torch.Tensor]:
        """The episodes gathered since the last update (a checkpoint mid-batch resumes with them)."""
        obs_shape = tuple(self.obs_shape)
        action_shape, action_dtype = ((self.cfg.n_actions,), np.float32) if self.head is None else self.head.action_format
        return {
            "states": torch.as_tensor(np.array(self.states, dtype=self.obs_dtype).reshape(-1, *obs_shape)),
            "actions": torch.as_tensor(np.array(self.actions, dtype=action_dtype)).reshape(-1, *action_shape),
            "rewards": torch.tensor(self.rewards, dtype=torch.float64),
            "episode_ends": torch.tensor(self.episode_ends, dtype=torch.int64),
            "last_states": torch.as_tensor(np.array(self.last_states, dtype=self.obs_dtype).reshape(-1, *obs_shape)),
            "last_terminated": torch.tensor(self.last_terminated, dtype=torch.bool),
        }

    def load_rollout(self, rollout: dict[str, torch.Tensor]) -> None:
        self.states = list(rollout["states"].numpy())
        actions = rollout["actions"].numpy()
        self.actions = [int(action) for action in actions] if actions.ndim == 1 else list(actions)
        self.rewards = rollout["rewards"].tolist()
        self.episode_ends = rollout["episode_ends"].tolist()
        self.last_states = list(rollout["last_states"].numpy())
        self.last_terminated = rollout["last_terminated"].tolist()
