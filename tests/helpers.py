"""Shared helpers: tiny budgets, calling the CLI in-process, reading run outputs."""

from __future__ import annotations

import functools
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import torch
import yaml

from joyrl.cli import main
from joyrl.logs import read_csv_rows as read_csv  # noqa: F401  (re-exported for the tests)
from joyrl.trajectories import TrajectoryCollector, TrajectoryWriter

ROOT = Path(__file__).resolve().parent.parent
QLEARNING_PRESET = ROOT / "config" / "presets" / "CliffWalking-v1_QLearning.yaml"

SMALL_NET = "algo_cfg.value_layers=[{layer_type: linear, layer_size: [16], activation: relu}]"

# DQN on CartPole-v1 in about a second: learns from step 50, evaluates and saves every 5 episodes.
TINY_DQN = [
    "--algo",
    "DQN",
    "--env",
    "CartPole-v1",
    "--seed",
    "1",
    "general_cfg.max_env_steps=300",
    "general_cfg.eval_per_episode=5",
    "general_cfg.online_eval_episode=2",
    "general_cfg.model_save_fre=5",
    "general_cfg.model_save_seconds=0",
    "algo_cfg.learning_starts=50",
    "algo_cfg.train_freq=4",
    "algo_cfg.gradient_steps=1",
    "algo_cfg.buffer_size=1000",
    "algo_cfg.batch_size=32",
    SMALL_NET,
]

# PPO on CartPole-v1 in about a second: 2 envs x 32 steps, one epoch, 16-unit networks, no evaluation.
TINY_PPO = [
    "--algo",
    "PPO",
    "--env",
    "CartPole-v1",
    "--seed",
    "1",
    "general_cfg.max_env_steps=1500",
    "general_cfg.online_eval=false",
    "general_cfg.save_fig=false",
    "algo_cfg.n_envs=2",
    "algo_cfg.n_steps=32",
    "algo_cfg.batch_size=32",
    "algo_cfg.n_epochs=1",
    "algo_cfg.lr_end=0.0",
    "algo_cfg.actor_layers=[{layer_type: linear, layer_size: [16]}]",
    "algo_cfg.critic_layers=[{layer_type: linear, layer_size: [16]}]",
]

NO_WRAPPERS = "env_cfg.wrappers=[]"  # resuming a run stopped by a test wrapper: its config.yaml brings the wrapper

RES_COLUMNS = ["episode", "env_steps", "reward", "length", "seconds"]


@dataclass
class CliResult:
    code: int
    err: str
    folder: Path | None  # the run folder this call created, if any
    out: str = ""  # stdout, where the caller captured it


def run_cli(args: list, tasks_dir: Path) -> CliResult:
    """``joyrl.cli.main`` with ``tasks_dir`` set; stderr is left to the caller's capture."""
    tasks_dir = Path(tasks_dir)
    before = set(tasks_dir.iterdir()) if tasks_dir.is_dir() else set()
    code = main([*map(str, args), f"general_cfg.tasks_dir={tasks_dir}"])
    created = (set(tasks_dir.iterdir()) if tasks_dir.is_dir() else set()) - before
    assert len(created) <= 1, created
    return CliResult(code, "", created.pop() if created else None)


def train(args: list, tasks_dir: Path) -> Path:
    """Run a mode that must succeed and return its run folder."""
    result = run_cli(args, tasks_dir)
    assert result.code == 0
    assert result.folder is not None
    return result.folder


def without_seconds(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


def write_yaml(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


@functools.cache
def tiny_dataset(env_id: str, episodes: int = 8, max_steps: int = 50) -> Path:
    """A run-like folder of random-policy trajectories of ``env_id`` (``traj/trajs_0.pkl``), written once per session."""
    folder = Path(tempfile.mkdtemp(prefix=f"joyrl_{env_id}_data_"))
    env = gym.make(env_id, max_episode_steps=max_steps)
    env.action_space.seed(0)
    writer = TrajectoryWriter(folder / "traj", meta={"env_id": env_id, "exploration": {"kind": "random"}})
    recorder = TrajectoryCollector(env, writer)
    for episode in range(episodes):
        recorder.reset(seed=episode)
        ended = False
        while not ended:
            *_, terminated, truncated, _ = recorder.step(env.action_space.sample())
            ended = terminated or truncated
    writer.flush()
    return folder


def set_linear(layer: torch.nn.Module, weight, bias) -> None:
    """Set a linear layer's weight and bias by hand (for losses computed by hand)."""
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float32))


def linear_layers(module: torch.nn.Module) -> list[torch.nn.Linear]:
    return [layer for layer in module.modules() if isinstance(layer, torch.nn.Linear)]


def saved_and_loaded(state: dict) -> dict:
    """``state`` through torch.save and torch.load (weights only), as a checkpoint file takes it: no tensor is
    shared with the agent it came from."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)
