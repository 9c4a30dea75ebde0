"""NoisyNet-DQN (Fortunato et al., 2018, "Noisy Networks for Exploration").

Pseudocode: pseudocodes/NoisyDQN.md. DQN (algos/DQN/agent.py) whose last ``noisy_layers`` linear
layers (by default the last hidden layer and the output layer, as the fully connected layers of the
paper's Atari network) are ``NoisyLinear`` layers with factorised Gaussian noise (joyrl/heads.py), and
no epsilon-greedy (its config has no epsilon keys): the agent acts greedily under noise resampled every
env step, and each gradient step resamples the noise of the online and the target network. Evaluation
(``predict_action``) uses the mean weights, without noise. The rest is DQN's: the Huber loss and its
target, gradient-norm clipping, ``gradient_steps`` gradient steps every ``train_freq`` env steps, an
annealed learning rate, bootstrapping through truncations.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from algos.DQN.agent import Agent as DQNAgent
from joyrl.buffers import TransitionBatch
from joyrl.heads import NoisyLinear, noisy_copy, noisy_forward, reset_noise
from joyrl.networks import ObservationTensor, Shape


class Agent(DQNAgent):
    def build_network(self, obs_shape: Shape | dict[str, Shape], obs_dtype: Any) -> nn.Sequential:
        """Step 2: Q(s, a, ε; ζ), ζ = (µ, σ): DQN's MLP with its last ``noisy_layers`` linear layers noisy.

        The target network, DQN's copy of it, draws noise of its own: Q(s, a, ε'; ζ⁻).
        """
        return noisy_copy(super().build_network(obs_shape, obs_dtype), self.cfg.sigma0, self.cfg.noisy_layers)

    def init_exploration(self) -> None:
        """No ε-greedy: the noise in the network explores (step 4)."""

    def exploration_epsilon(self) -> None:
        """No ε-greedy: the framework acts greedily on the noisy scores (step 4)."""
        return None

    def action_scores(self, observation: ObservationTensor, explore: bool) -> torch.Tensor:
        """Q(s, a, ε; ζ) under noise ε drawn for this step (pseudocode step 4), or Q(s, a; µ) for the greedy policy."""
        return noisy_forward(self.policy_net, observation, explore)

    def gradient_step(self, batch: TransitionBatch) -> torch.Tensor:
        """Steps 9-11: fresh noise, then DQN's gradient step (its target max_a' Q(s', a', ε'; ζ⁻), step 10)."""
        reset_noise(self.policy_net)  # ε for the online network (step 9)
        reset_noise(self.target_net)  # ε' for the target network, independent of ε (step 9)
        return super().gradient_step(batch)

    @torch.no_grad()
    def extra_stats(self) -> dict[str, float]:
        """σ: the mean |σ| of the output layer's weights, how much noise the agent still explores with."""
        output_layer = cast(NoisyLinear, self.policy_net[-1])  # noisy_copy made it noisy (noisy_layers >= 1)
        return {"sigma": float(output_layer.weight_sigma.abs().mean())}
