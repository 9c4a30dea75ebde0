"""Every agent that declares ``masks_actions`` never picks an illegal action: exploring, greedy, or in its target.

Found by itself: each folder in algos/ whose Agent sets ``masks_actions = True`` is checked on a small
Dict-observation env whose ``action_mask`` part changes every step. The greedy and exploring checks draw
many random masks, so an agent that ignored them would pick an illegal action about half of the time.
The target check poisons the networks: the illegal next actions get huge values, which a target that
honours the mask never sees.
"""

from __future__ import annotations

import importlib

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from joyrl.acting import ScoredActions
from joyrl.cli import config_from_args
from joyrl.config import algo_config_class, schema
from joyrl.envs import env_info, make_env
from joyrl.paths import ALGOS_DIR
from joyrl.prioritized import PrioritizedBatch

N_ACTIONS = 4
MASKED_ENV = "MaskedVector-test-v0"
LAYERS = "[{layer_type: linear, layer_size: [16], activation: relu}]"


class MaskedVector(gym.Env):
    """Observation: a (3,) vector and a random action mask (at least one legal action); reward 1 per step."""

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = spaces.Dict(
            {"vector": spaces.Box(-1.0, 1.0, (3,), np.float32), "action_mask": spaces.MultiBinary(N_ACTIONS)}
        )
        self.action_space = spaces.Discrete(N_ACTIONS)

    def observe(self) -> dict:
        mask = (self.np_random.random(N_ACTIONS) < 0.5).astype(np.int8)
        mask[self.np_random.integers(N_ACTIONS)] = 1
        return {"vector": self.np_random.uniform(-1, 1, 3).astype(np.float32), "action_mask": mask}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observe(), {}

    def step(self, action):
        return self.observe(), 1.0, False, False, {}


if MASKED_ENV not in gym.registry:
    gym.register(MASKED_ENV, entry_point=MaskedVector, max_episode_steps=50)


def masking_algorithms() -> list[str]:
    names = []
    for folder in sorted(ALGOS_DIR.iterdir()):
        found = (folder / "agent.py").is_file() and "_test_" not in folder.name and not folder.name.startswith("_")
        if found and importlib.import_module(f"algos.{folder.name}.agent").Agent.masks_actions:
            names.append(folder.name)
    return names


MASKING = masking_algorithms()


def test_the_masking_family_is_found():
    assert {"DQN", "NoisyDQN", "RainbowDQN", "C51", "SoftQ", "SAC_D", "PPO", "A2C"} <= set(MASKING)


def build(algo: str):
    """The agent on the masked env, its networks small; one env for the vector-env agents."""
    keys = schema(algo_config_class(algo))
    layer_keys = [key for key in ("value_layers", "actor_layers", "critic_layers") if "| dict" in str(keys.get(key))]
    layers = [f"algo_cfg.{key}={{vector: {LAYERS}}}" for key in layer_keys]  # keys that take a Dict observation's parts
    cfg = config_from_args(["--algo", algo, "--env", MASKED_ENV, *layers, *(["algo_cfg.n_envs=1"] if "n_envs" in keys else [])])
    env = make_env(cfg, seed=1)
    for key, value in env_info(env).items():
        setattr(cfg, key, value)
    return importlib.import_module(f"algos.{algo}.agent").Agent(cfg), env


def legal(action, state) -> bool:
    return bool(state["action_mask"][int(np.asarray(action).reshape(-1)[0])])


@pytest.mark.parametrize("algo", MASKING)
def test_acting_never_picks_a_masked_action(algo):
    torch.manual_seed(0)
    agent, env = build(algo)
    states = [env.reset(seed=1)[0]] + [env.step(0)[0] for _ in range(199)]
    batched = not isinstance(agent, ScoredActions)  # PPO and A2C act on a batch of n_envs observations
    for state in states:
        explored = agent.sample_action({k: v[None] for k, v in state.items()} if batched else state)
        assert legal(explored, state), f"{algo} explored into an illegal action"
        assert legal(agent.predict_action(state), state), f"{algo}'s greedy action is illegal"


class Poisoned(nn.Module):
    """``network``'s output with illegal actions made the most valuable: +1000 (or their top atom, for distributions)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, observation):
        output = self.network(observation).clone()
        illegal = ~observation["action_mask"].bool()
        if output.dim() == 3:  # (B, A, N) atom logits
            output[..., -1] = output[..., -1] + 1000.0 * illegal
        else:
            output = output + 1000.0 * illegal
        return output


def poison(agent) -> None:
    for name in ("policy_net", "target_net", "actor", "critics", "critic_targets"):
        module = getattr(agent, name, None)
        if isinstance(module, nn.ModuleList):
            for i in range(len(module)):
                module[i] = Poisoned(module[i])
        elif isinstance(module, nn.Module):
            setattr(agent, name, Poisoned(module))


def target(algo, agent, batch):
    if algo == "SAC_D":  # its target takes the temperature of the step
        return agent.compute_target(batch, agent.log_alpha.exp().detach())
    return agent.compute_target(batch)


@pytest.mark.parametrize(
    "algo", [algo for algo in MASKING if hasattr(importlib.import_module(f"algos.{algo}.agent").Agent, "compute_target")]
)
def test_the_target_ignores_masked_next_actions(algo):
    torch.manual_seed(0)
    agent, _ = build(algo)
    if not hasattr(agent, "compute_target"):
        pytest.skip(f"{algo} forms no target over next actions")  # PPO, A2C (V(s)), GAIL, BC
    rng = np.random.default_rng(0)
    masks = torch.from_numpy(rng.random((8, N_ACTIONS)) < 0.5)
    masks[torch.arange(8), torch.from_numpy(rng.integers(N_ACTIONS, size=8))] = True
    next_states = {"vector": torch.rand(8, 3) * 2 - 1, "action_mask": masks}
    # every field a target may read, prioritised n-step ones included (Rainbow's discounts)
    batch = PrioritizedBatch(
        next_states, torch.zeros(8, dtype=torch.int64), torch.ones(8), next_states, torch.zeros(8),
        torch.full((8,), 0.99), torch.ones(8), np.arange(8),
    )  # fmt: skip
    honest = target(algo, agent, batch)
    poison(agent)
    assert torch.allclose(target(algo, agent, batch), honest, atol=1e-4), f"{algo}'s target used a masked next action"
