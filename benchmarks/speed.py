"""Speed against the machine's limits: loop overhead, gradient-step overhead, start-up time.

    python benchmarks/speed.py [--repeats 5]

Three measurements, each the median of ``--repeats`` runs on one torch thread:

1. Env loop: raw ``gymnasium`` CartPole-v1 stepping with random actions, against
   JoyRL's training loop (``StepTrainer`` through ``Run``) with a random policy and no
   learning (DQN with epsilon fixed at 1 and learning never starting).
2. Gradient step: DQN's ``Agent.update`` (RL Zoo sizes: 256x256, batch 64, 128
   gradient steps a call; five calls alternated with five bare loops) per gradient step, against a bare PyTorch loop doing the
   same forward passes (online and target), Huber loss, backward, gradient clipping
   and fused-Adam step on one fixed batch. The difference is JoyRL's overhead:
   sampling the batch from the buffer and the agent's bookkeeping.
3. Start-up: wall seconds from launching ``python main.py`` to its first env step, against a
   bare script that imports torch and gymnasium, builds the same network and optimiser and
   steps once (the floor: torch's own imports).

Writes ``benchmarks/results/speed.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from algos.DQN.agent import Agent  # noqa: E402
from algos.DQN.config import AlgoConfig  # noqa: E402
from joyrl.cli import config_from_args  # noqa: E402
from joyrl.config import defaults  # noqa: E402
from joyrl.runner import Run  # noqa: E402

STEPS = 50_000
GRADIENT_STEPS = 128

FIRST_STEP_PROBE = r"""
import os, sys, time
import gymnasium.envs.classic_control.cartpole as cartpole
def first_step(self, action):
    sys.stderr.write(f"FIRST_STEP {time.time() - float(os.environ['JOYRL_T0']):.3f}\n")
    os._exit(0)
cartpole.CartPoleEnv.step = first_step
sys.argv = ["main.py", *sys.argv[1:]]
import runpy
runpy.run_path("main.py", run_name="__main__")
"""

# The floor for any PyTorch trainer: import torch and gymnasium, build the same network and
# an Adam optimiser (torch 2.13 imports torch._dynamo on the first Optimizer, ~1.6 s), step once.
BARE_FIRST_STEP = r"""
import os, sys, time
import gymnasium as gym
import torch
net = torch.nn.Sequential(torch.nn.Linear(4, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                          torch.nn.Linear(256, 2))
torch.optim.Adam(net.parameters(), fused=True)
env = gym.make("CartPole-v1")
env.reset(seed=0)
env.step(0)
sys.stderr.write(f"FIRST_STEP {time.time() - float(os.environ['JOYRL_T0']):.3f}\n")
"""


def raw_env_steps_per_second() -> float:
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(STEPS):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return STEPS / (time.perf_counter() - start)


def joyrl_random_loop_steps_per_second(tasks_dir: str) -> float:
    cfg = config_from_args(
        [
            f"general_cfg.tasks_dir={tasks_dir}",
            f"general_cfg.max_env_steps={STEPS}",
            "general_cfg.online_eval=false",
            "general_cfg.save_fig=false",
            "general_cfg.log_per_episode=100000",
            "algo_cfg.epsilon_end=1.0",
            f"algo_cfg.learning_starts={10 * STEPS}",
        ]
    )
    run = Run(cfg)
    run.prepare()
    run.create_folder()
    start = time.perf_counter()
    run.execute()
    return run.counters.env_steps / (time.perf_counter() - start)


def gradient_step_seconds() -> tuple[float, float]:
    """(JoyRL seconds per gradient step, bare PyTorch seconds per gradient step)."""
    torch.manual_seed(0)
    np.random.seed(0)
    settings = defaults(AlgoConfig) | {"learning_starts": 0, "train_freq": 1, "gradient_steps": GRADIENT_STEPS, "lr_end": None}
    agent = Agent(SimpleNamespace(**settings, device="cpu", n_states=4, n_actions=2, max_env_steps=STEPS))
    for _ in range(5_000):
        state = np.random.randn(4).astype(np.float32)
        agent.store_transition(state, np.random.randint(2), 1.0, np.random.randn(4).astype(np.float32), False)
    agent.sample_count = 1
    batch = agent.memory.sample(agent.cfg.batch_size)
    net, target, optimizer, gamma = agent.policy_net, agent.target_net, agent.optimizer, agent.cfg.gamma

    def bare_step() -> None:
        q_values = net(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            targets = batch.rewards + gamma * (1.0 - batch.terminated) * target(batch.next_states).max(dim=1).values
        loss = F.smooth_l1_loss(q_values, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), agent.cfg.max_grad_norm)
        optimizer.step()

    def timed(work) -> float:
        start = time.perf_counter()
        work()
        return (time.perf_counter() - start) / GRADIENT_STEPS

    def bare_update() -> None:
        for _ in range(GRADIENT_STEPS):
            bare_step()

    agent.update()  # warm-up both
    bare_update()
    rounds = [(timed(agent.update), timed(bare_update)) for _ in range(5)]  # alternated, so drifts hit both
    return statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)


def startup_seconds(script: str, *args: str) -> float:
    env = dict(os.environ, JOYRL_T0=str(time.time()))
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next(line for line in result.stderr.splitlines() if line.startswith("FIRST_STEP"))
    return float(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures: dict[str, list[float]] = {key: [] for key in ("raw", "loop", "joyrl_grad", "bare_grad", "startup", "bare_startup")}
    with tempfile.TemporaryDirectory() as tasks_dir:
        for _ in range(args.repeats):
            figures["raw"].append(raw_env_steps_per_second())
            figures["loop"].append(joyrl_random_loop_steps_per_second(tasks_dir))
            joyrl, bare = gradient_step_seconds()
            figures["joyrl_grad"].append(joyrl)
            figures["bare_grad"].append(bare)
            figures["startup"].append(startup_seconds(FIRST_STEP_PROBE, f"general_cfg.tasks_dir={tasks_dir}"))
            figures["bare_startup"].append(startup_seconds(BARE_FIRST_STEP))
    median = {key: statistics.median(values) for key, values in figures.items()}
    lines = [
        "# Speed against the machine's limits",
        "",
        f"`python benchmarks/speed.py --repeats {args.repeats}` on {date.today().isoformat()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} on 1 thread; medians of {args.repeats} repeats.",
        "",
        "| measurement | JoyRL | reference | JoyRL / reference |",
        "|---|---|---|---|",
        f"| CartPole-v1 env steps/s, random policy, no learning | {median['loop']:,.0f} (training loop) | "
        f"{median['raw']:,.0f} (raw gymnasium) | {median['loop'] / median['raw']:.2f} |",
        f"| ms per DQN gradient step (256x256, batch 64) | {median['joyrl_grad'] * 1e3:.3f} (Agent.update) | "
        f"{median['bare_grad'] * 1e3:.3f} (bare PyTorch, same batch) | {median['joyrl_grad'] / median['bare_grad']:.2f} |",
        f"| seconds from `python main.py` to the first env step | {median['startup']:.2f} | "
        f"{median['bare_startup']:.2f} (import torch + gymnasium, build net + Adam, one step) | "
        f"{median['startup'] / median['bare_startup']:.2f} |",
        "",
        "Every repeat: " + "; ".join(f"{key} {', '.join(f'{v:.4g}' for v in values)}" for key, values in figures.items()),
        "",
    ]
    path = ROOT / "benchmarks" / "results" / "speed.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
