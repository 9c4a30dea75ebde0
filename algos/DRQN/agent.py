"""Deep Recurrent Q-Network (Hausknecht & Stone, 2015, "Deep Recurrent Q-Learning for Partially Observable MDPs").

Pseudocode: pseudocodes/DRQN.md. Trained on sequences from the replay memory with
R2D2's burn-in (Kapturowski et al., 2019, "Recurrent Experience Replay in Distributed
Reinforcement Learning"): each sequence starts from a zero hidden state that ``burn_in``
earlier steps warm up without gradient, and the Huber loss is taken over the next
``seq_len`` steps, padded steps masked out. As in R2D2, the network's input is
x_t = (o_t, one-hot a_{t-1}). Beyond the papers: inputs scaled by their running mean and
standard deviation (``normalize_inputs``, as RL Zoo's ``normalize`` for CartPoleNoVel), a
Double-DQN target (``double_q``), gradient-norm clipping, a Polyak or hard target update,
a learning rate annealed linearly, and bootstrapping through time-limit truncations.
Discrete and MultiDiscrete observations enter x_t one-hot encoded, MultiBinary ones as their bits
(``OneHot``, joyrl/networks.py); the sequence memory keeps o_t compact (indices) and a_{t-1} as an
index, and ``inputs`` builds x_t from them for a batch of windows (``input`` for one step, in NumPy).
Acting keeps two hidden states (with their previous actions): one for the epsilon-greedy training
episode (reset by ``end_episode``) and one for greedy evaluation (reset by ``reset_eval_hidden``,
which the Trainer calls before each test episode), so an evaluation in the middle of a training
episode leaves the training one alone.
"""

from __future__ import annotations

import copy
import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from joyrl.contracts import BaseAgent
from joyrl.networks import EncodedShape, ObservationTensor, OneHot, build_body, observation_format
from joyrl.optim import clip_grad_norm
from joyrl.schedules import DecaySchedule, set_learning_rate, soft_update
from joyrl.sequence_buffer import SequenceBatch, SequenceReplayBuffer

Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None  # GRU: h; LSTM: (h, c); each (1, B, hidden_size)


class RecurrentQNetwork(nn.Module):
    """Q(h_t, ·): the input MLP of ``value_layers``, an LSTM or GRU of ``hidden_size``, a linear output per action."""

    def __init__(self, cfg, n_inputs: int) -> None:
        super().__init__()
        self.body, width = build_body(cfg.value_layers, n_inputs)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cfg.rnn_type](width, cfg.hidden_size, batch_first=True)
        self.head = nn.Linear(cfg.hidden_size, cfg.n_actions)

    def forward(self, inputs: torch.Tensor, hidden: Hidden = None) -> tuple[torch.Tensor, Hidden]:
        """inputs (B, T, n_inputs) -> Q-values (B, T, A) and the hidden state after step T; None = zeros."""
        outputs, hidden = self.rnn(self.body(inputs), hidden)
        return self.head(outputs), hidden


class RunningMeanStd:
    """Per-feature running mean and standard deviation of the stored inputs (Welford's algorithm)."""

    def __init__(self, size: int) -> None:
        self.count, self.mean, self.m2 = 0, np.zeros(size), np.zeros(size)

    def update(self, x: np.ndarray) -> None:
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / self.count + 1e-8) if self.count > 1 else np.ones_like(self.mean)

    def state_dict(self) -> dict:
        return {"count": self.count, "mean": torch.from_numpy(self.mean.copy()), "m2": torch.from_numpy(self.m2.copy())}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.mean, self.m2 = state["count"], state["mean"].numpy().copy(), state["m2"].numpy().copy()


class Agent(BaseAgent):
    supported_observation_spaces = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
    supported_action_spaces = ("Discrete",)
    memory: SequenceReplayBuffer  # D

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.n_actions = cfg.n_actions
        obs_shape, obs_dtype = observation_format(cfg)  # o_t as D keeps it: indices of Discrete ones
        self.encoder = OneHot(obs_shape.sizes, obs_shape.starts) if isinstance(obs_shape, EncodedShape) else None
        n_inputs = cfg.n_states + cfg.n_actions  # x_t = (o_t, one-hot a_{t-1}); n_states: o_t's width, one-hot if indices
        self.policy_net = RecurrentQNetwork(cfg, n_inputs).to(self.device)  # Q(h, a; θ)
        self.target_net = copy.deepcopy(self.policy_net).requires_grad_(False)  # Q(h, a; θ⁻)
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=cfg.lr, fused=True)  # one kernel per step
        self.action_rows = np.eye(cfg.n_actions + 1, cfg.n_actions, dtype=np.float32)  # one-hot a; row n_actions: none
        self.one_hot = torch.from_numpy(self.action_rows).to(self.device)  # the same rows, for batches
        self.observation = ObservationTensor((1, n_inputs), self.device)  # (1, 1, n_inputs): one step of one sequence
        self.memory = SequenceReplayBuffer(  # D
            cfg.buffer_size, obs_shape, cfg.burn_in, cfg.seq_len, obs_dtype=obs_dtype, device=self.device
        )
        self.input_stats = RunningMeanStd(n_inputs)
        self.epsilon = DecaySchedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay, cfg.epsilon_schedule)
        lr_end, lr_decay = (cfg.lr, 1) if cfg.lr_end is None else (cfg.lr_end, cfg.lr_decay or cfg.max_env_steps)
        self.learning_rate = DecaySchedule(cfg.lr, lr_end, lr_decay, "linear")
        self.hidden: Hidden = None  # h_t of the training episode (zeros at its start)
        self.prev_action = cfg.n_actions  # a_{t-1} of the training episode; n_actions = none yet
        self.eval_hidden: Hidden = None  # h_t and a_{t-1} of the greedy evaluation episode
        self.eval_prev_action = cfg.n_actions
        self.sample_count = 0  # env steps taken with sample_action
        self.update_count = 0  # gradient steps taken

    @torch.inference_mode()
    def sample_action(self, state: np.ndarray) -> int:
        """Epsilon-greedy on Q(h_t, ·); h_t follows every step, random ones included (pseudocode step 4)."""
        self.sample_count += 1
        q_values, self.hidden = self.policy_net(self.observation(self.normalized_input(state, self.prev_action)), self.hidden)
        if random.random() < self.epsilon(self.sample_count):
            return random.randrange(self.n_actions)
        return int(q_values.argmax())

    @torch.inference_mode()
    def predict_action(self, state: np.ndarray) -> int:
        """Greedy action argmax_a Q(h_t, a; θ), carrying the evaluation hidden state and previous action."""
        inputs = self.observation(self.normalized_input(state, self.eval_prev_action))
        q_values, self.eval_hidden = self.policy_net(inputs, self.eval_hidden)
        self.eval_prev_action = int(q_values.argmax())
        return self.eval_prev_action

    def reset_eval_hidden(self) -> None:
        """Start a greedy episode from a zero hidden state (the Trainer calls this before each test episode)."""
        self.eval_hidden, self.eval_prev_action = None, self.n_actions

    def store_transition(self, state, action: int, reward: float, next_state, terminated: bool) -> None:
        """Append (o_t, a_{t-1}, a_t, r_t, o_{t+1}, terminated) to the episode being written in D (pseudocode step 6):
        x_t = (o_t, a_{t-1}) and x_{t+1} = (o_{t+1}, a_t)."""
        self.memory.push(state, action, reward, next_state, terminated, previous_action=self.prev_action)
        if self.cfg.normalize_inputs:
            self.input_stats.update(self.input(state, self.prev_action))
        self.prev_action = action

    def end_episode(self) -> None:
        """Close the stored episode; the next one starts from a zero hidden state and no previous action (step 3)."""
        self.memory.end_episode()
        self.hidden, self.prev_action = None, self.n_actions

    def update(self) -> dict[str, float] | None:
        """Every ``train_freq`` steps once D holds ``learning_starts`` steps: ``gradient_steps`` steps (7-12)."""
        if self.sample_count % self.cfg.train_freq != 0 or len(self.memory) < min(self.cfg.learning_starts, self.cfg.buffer_size):
            return None
        lr = self.learning_rate(self.sample_count)
        set_learning_rate(self.optimizer, lr)
        total_loss: float | torch.Tensor = 0.0
        for _ in range(self.cfg.gradient_steps):
            loss = self.compute_loss(self.memory.sample(self.cfg.batch_size))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clip_grad_norm(self.policy_net.parameters(), self.cfg.max_grad_norm)
            self.optimizer.step()
            self.update_count += 1
            if self.update_count % self.cfg.target_update == 0:
                soft_update(self.target_net, self.policy_net, self.cfg.tau)  # θ⁻ <- τθ + (1-τ)θ⁻ (step 12)
            total_loss += loss.detach()
        return {"loss": float(total_loss) / self.cfg.gradient_steps, "epsilon": self.epsilon(self.sample_count), "lr": lr}

    def compute_loss(self, batch: SequenceBatch) -> torch.Tensor:
        """Masked Huber loss over the ``seq_len`` steps after the burn-in (steps 9-11)."""
        b = self.cfg.burn_in
        inputs = self.normalize(self.inputs(batch.observations, batch.previous_actions))  # x_t: (B, T, n_inputs)
        # x_t .. x_{t+L}: x_{k+1} = (o_{k+1}, a_k), o_{k+1} the final observation at an episode's end
        next_inputs = self.normalize(self.inputs(batch.next_observations[:, b:], batch.actions[:, b:]))
        following = torch.cat([inputs[:, b : b + 1], next_inputs], dim=1)  # (B, L+1, n_inputs)
        q_all, _ = self.policy_net(following, self.burn_in(self.policy_net, inputs[:, :b], batch.mask[:, :b]))  # (B, L+1, A)
        q_values = q_all[:, :-1].gather(2, batch.actions[:, b:, None]).squeeze(2)  # Q(h_k, a_k; θ): (B, L)
        with torch.no_grad():
            next_q_target, _ = self.target_net(following, self.burn_in(self.target_net, inputs[:, :b], batch.mask[:, :b]))
            next_q_target = next_q_target[:, 1:]  # Q(h⁻_{k+1}, ·; θ⁻): (B, L, A)
            if self.cfg.double_q:  # a' = argmax_a Q(h_{k+1}, a; θ), valued by θ⁻
                next_q = next_q_target.gather(2, q_all[:, 1:].argmax(dim=2, keepdim=True)).squeeze(2)
            else:
                next_q = next_q_target.max(dim=2).values
            targets = batch.rewards[:, b:] + self.cfg.gamma * (1.0 - batch.terminated[:, b:]) * next_q  # y_k (step 10)
        return masked_huber_loss(q_values, targets, batch.mask[:, b:])

    @torch.no_grad()
    def burn_in(self, net: RecurrentQNetwork, inputs: torch.Tensor, mask: torch.Tensor) -> Hidden:
        """The hidden state after the burn-in ``inputs`` (B, burn_in, n_inputs), run without gradient from zeros (step 9).

        A window that starts before its episode is padded at the front (``mask`` 0): its real
        burn-in steps are moved to the front and packed, so they run from zeros, as when acting.
        """
        b = inputs.shape[1]
        if b == 0:
            return None
        real = mask.sum(dim=1).long()  # (B,) real burn-in steps, the last ones of the burn-in
        index = (torch.arange(b, device=self.device) + (b - real)[:, None]).clamp(max=b - 1)  # (B, b)
        shifted = inputs.gather(1, index[..., None].expand(-1, -1, inputs.shape[2]))
        packed = pack_padded_sequence(net.body(shifted), real.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        _, hidden = net.rnn(packed)
        keep = (real > 0).float().view(1, -1, 1)  # a window whose training part starts its episode starts from zeros
        return tuple(h * keep for h in hidden) if isinstance(hidden, tuple) else hidden * keep

    def inputs(self, observations: torch.Tensor, previous_actions: torch.Tensor) -> torch.Tensor:
        """x = (o, one-hot a_{t-1}) of observations (B, T, *obs) as D keeps them and actions (B, T): (B, T, n_inputs).

        The action's one-hot is zeros at an episode's first step (a_{t-1} = n_actions: none)."""
        batch, steps = previous_actions.shape
        flat = observations.reshape(batch * steps, -1)
        if self.encoder is not None:  # Discrete, MultiDiscrete: the indices' one-hots
            flat = self.encoder(flat)
        return torch.cat([flat.float().reshape(batch, steps, -1), self.one_hot[previous_actions]], dim=2)

    def input(self, state, prev_action: int) -> np.ndarray:
        """x_t of one step, as ``inputs`` builds it, in NumPy: acting's path, a step at a time."""
        if self.encoder is not None:  # Discrete, MultiDiscrete: the indices' one-hots
            state = self.encoder(torch.as_tensor(np.asarray(state)).reshape(1, -1))[0].numpy()
        return np.concatenate([np.asarray(state, dtype=np.float32).reshape(-1), self.action_rows[prev_action]])

    def normalized_input(self, state, prev_action: int) -> np.ndarray:
        """x_t scaled by the running statistics (``normalize_inputs``), as the network sees it."""
        return (self.input(state, prev_action) - self.input_stats.mean) / self.input_stats.std()

    def normalize(self, inputs: torch.Tensor) -> torch.Tensor:
        """(x - mean) / std for a batch of stored inputs (..., n_inputs)."""
        mean = torch.as_tensor(self.input_stats.mean, dtype=torch.float32, device=self.device)
        std = torch.as_tensor(self.input_stats.std(), dtype=torch.float32, device=self.device)
        return (inputs - mean) / std

    weights = ("policy_net", "target_net", "input_stats")  # what a fine-tune takes from a checkpoint

    def state_dict(self) -> dict:
        return {
            "policy_net": self.policy_net.state_dict(),
            "target_net": self.target_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "hidden": self.hidden,  # the training episode's h_t and a_{t-1}, so a run stopped mid-episode continues exactly
            "prev_action": self.prev_action,
            "input_stats": self.input_stats.state_dict(),
            "sample_count": self.sample_count,
            "update_count": self.update_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy_net.load_state_dict(state["policy_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.hidden, self.prev_action = state["hidden"], state["prev_action"]
        self.input_stats.load_state_dict(state["input_stats"])
        self.sample_count = state["sample_count"]
        self.update_count = state["update_count"]
        set_learning_rate(self.optimizer, self.learning_rate(self.sample_count))


def masked_huber_loss(q_values: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Huber loss (δ = 1) averaged over the steps where ``mask`` is 1; padded steps add nothing. All (B, L)."""
    return (F.smooth_l1_loss(q_values, targets, reduction="none") * mask).sum() / mask.sum()
