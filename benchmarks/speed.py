"""Speed against the machine's limits: loop overhead, gradient-step overhead, start-up time, a single-file script.

    python benchmarks/speed.py [--repeats 3]

Five measurements on one torch thread, each a pair run back to back, ``--repeats`` times; the
ratio printed is the median of the repeats' ratios (on a shared 2-core machine the speed drifts by
a third within minutes, and a pair's two halves drift least apart):

1. Env loop: raw ``gymnasium`` CartPole-v1 stepping with random actions (before and after, averaged),
   against JoyRL's training loop (``StepTrainer`` through ``Run``) with a random policy and no
   learning (DQN with epsilon fixed at 1 and learning never starting).
2. Gradient step: DQN's ``Agent.update`` (RL Zoo sizes: 256x256, batch 64, 128
   gradient steps a call; five calls alternated with five bare loops) per gradient step, against a bare PyTorch loop doing the
   same forward passes (online and target), Huber loss, backward, gradient clipping
   and fused-Adam step on one fixed batch. The difference is JoyRL's overhead:
   sampling the batch from the buffer and the agent's bookkeeping.
3. Start-up: wall seconds from launching ``python main.py`` to its first env step, against a
   bare script that imports torch and gymnasium, builds the same network and optimiser and
   steps once (the floor: torch's own imports).
4. DQN at CleanRL's published CartPole-v1 hyperparameters (Q-network 120-84, lr 2.5e-4, buffer
   10k, batch 128, learning from 10k steps every 10, target copy every 500 steps, epsilon 1 -> 0.05
   over half the 50k budget; evaluation off): JoyRL's training (``Run.execute``, figures off) against
   ``benchmarks/single_file/dqn.py``, a CleanRL-style script of the same update; env steps/s of each,
   seed r + 1 at repeat r for both, each in a fresh process.
5. PPO at RL Zoo's CartPole-v1 hyperparameters (config/presets/CartPole-v1_PPO.yaml: 8 envs x 32
   steps, 20 epochs; 100k steps, evaluation off): JoyRL's training against
   ``benchmarks/single_file/ppo.py`` and, when it is installed (requirements-bench.txt), Stable-Baselines3's
   ``PPO.learn`` with the same settings; the same way.

Writes ``benchmarks/results/speed.md`` and its table into the README between the ``speed-table`` markers.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
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
README_START, README_END = "<!-- speed-table:start -->", "<!-- speed-table:end -->"
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


# CleanRL's DQN hyperparameters for CartPole-v1 as JoyRL keys (benchmarks/single_file/dqn.py's defaults).
# target_update counts gradient steps: 50 of them, one every 10 env steps, is CleanRL's 500 env steps.
CLEANRL_DQN = [
    "general_cfg.max_env_steps=50000",
    "general_cfg.online_eval=false",
    "general_cfg.save_fig=false",
    "algo_cfg.value_layers=[{layer_type: linear, layer_size: [120], activation: relu}, "
    "{layer_type: linear, layer_size: [84], activation: relu}]",
    "algo_cfg.lr=2.5e-4",
    "algo_cfg.lr_end=null",
    "algo_cfg.buffer_size=10000",
    "algo_cfg.batch_size=128",
    "algo_cfg.learning_starts=10000",
    "algo_cfg.train_freq=10",
    "algo_cfg.gradient_steps=1",
    "algo_cfg.target_update=50",
    "algo_cfg.epsilon_start=1.0",
    "algo_cfg.epsilon_end=0.05",
    "algo_cfg.epsilon_decay=25000",
]


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
    return timed_run(
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


def timed_run(overrides: list[str]) -> float:
    """Env steps/s of ``Run.execute`` with these overrides (the run's set-up before the clock)."""
    run = Run(config_from_args(overrides))
    run.prepare()
    run.create_folder()
    start = time.perf_counter()
    run.execute()
    return run.counters.env_steps / (time.perf_counter() - start)


def worker_result(args: list[str]) -> dict:
    """Run ``python <args>`` in a fresh process (one torch thread) and read the JSON line it prints last."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    output = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


PPO_PRESET = ["--yaml", "config/presets/CartPole-v1_PPO.yaml", "general_cfg.online_eval=false", "general_cfg.save_fig=false"]


def sb3_ppo_steps_per_second(seed: int) -> float:
    """Stable-Baselines3's PPO at the preset's settings: env steps/s of ``learn`` (the model built before the clock)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    def linear(start: float):
        return lambda progress_remaining: progress_remaining * start

    envs = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO(
        "MlpPolicy", envs, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98, gae_lambda=0.8, ent_coef=0.0,
        learning_rate=linear(1e-3), clip_range=linear(0.2), device="cpu", seed=seed,
    )  # fmt: skip
    start = time.perf_counter()
    model.learn(100_000)
    return model.num_timesteps / (time.perf_counter() - start)


def ppo_steps_per_second(seed: int, tasks_dir: str, with_sb3: bool) -> tuple[float, float, float | None]:
    """(JoyRL, single-file script, SB3 or None) env steps/s of PPO at RL Zoo's CartPole settings, seed ``seed``."""
    joyrl = worker_result([__file__, "--worker", "joyrl-ppo", "--seed", str(seed), "--tasks-dir", tasks_dir])
    single = worker_result(["benchmarks/single_file/ppo.py", "--seed", str(seed)])
    sb3 = worker_result([__file__, "--worker", "sb3-ppo", "--seed", str(seed)]) if with_sb3 else None
    return joyrl["steps_per_second"], single["steps_per_second"], sb3["steps_per_second"] if sb3 else None


def cleanrl_dqn_steps_per_second(seed: int, tasks_dir: str) -> tuple[float, float]:
    """(JoyRL env steps/s, single-file script env steps/s) of DQN at CleanRL's hyperparameters, seed ``seed``."""
    joyrl = worker_result([__file__, "--worker", "joyrl-dqn", "--seed", str(seed), "--tasks-dir", tasks_dir])
    single = worker_result(["benchmarks/single_file/dqn.py", "--seed", str(seed)])
    return joyrl["steps_per_second"], single["steps_per_second"]


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=["joyrl-dqn", "joyrl-ppo", "sb3-ppo"], help=argparse.SUPPRESS)  # one measurement
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--tasks-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.worker is not None:
        seeding = [f"general_cfg.seed={args.seed}", f"general_cfg.tasks_dir={args.tasks_dir}"]
        if args.worker == "sb3-ppo":
            rate = sb3_ppo_steps_per_second(args.seed)
        else:
            rate = timed_run([*(CLEANRL_DQN if args.worker == "joyrl-dqn" else PPO_PRESET), *seeding])
        print(json.dumps({"steps_per_second": rate}))
        return
    with_sb3 = importlib.util.find_spec("stable_baselines3") is not None
    keys = ["raw", "loop", "joyrl_grad", "bare_grad", "startup", "bare_startup", "joyrl_dqn", "single_file_dqn"]
    keys += ["joyrl_ppo", "single_file_ppo", *(["sb3_ppo"] if with_sb3 else [])]
    figures: dict[str, list[float]] = {key: [] for key in keys}
    with tempfile.TemporaryDirectory() as tasks_dir:
        for repeat in range(args.repeats):
            joyrl_dqn, single_file_dqn = cleanrl_dqn_steps_per_second(repeat + 1, tasks_dir)
            figures["joyrl_dqn"].append(joyrl_dqn)
            figures["single_file_dqn"].append(single_file_dqn)
            joyrl_ppo, single_file_ppo, sb3_ppo = ppo_steps_per_second(repeat + 1, tasks_dir, with_sb3)
            figures["joyrl_ppo"].append(joyrl_ppo)
            figures["single_file_ppo"].append(single_file_ppo)
            if sb3_ppo is not None:
                figures["sb3_ppo"].append(sb3_ppo)
            raw_before = raw_env_steps_per_second()
            figures["loop"].append(joyrl_random_loop_steps_per_second(tasks_dir))
            figures["raw"].append((raw_before + raw_env_steps_per_second()) / 2)  # bracketing the loop: drift cancels
            joyrl, bare = gradient_step_seconds()
            figures["joyrl_grad"].append(joyrl)
            figures["bare_grad"].append(bare)
            figures["startup"].append(startup_seconds(FIRST_STEP_PROBE, f"general_cfg.tasks_dir={tasks_dir}"))
            figures["bare_startup"].append(startup_seconds(BARE_FIRST_STEP))
    median = {key: statistics.median(values) for key, values in figures.items()}
    # each pair was measured back to back, so its ratio is what drift on a shared machine spoils least
    pairs = {"loop": ("loop", "raw"), "joyrl_grad": ("joyrl_grad", "bare_grad"), "startup": ("startup", "bare_startup")}
    pairs |= {"joyrl_dqn": ("joyrl_dqn", "single_file_dqn"), "joyrl_ppo": ("joyrl_ppo", "single_file_ppo")}
    pairs |= {"sb3": ("joyrl_ppo", "sb3_ppo")} if with_sb3 else {}
    ratio = {
        name: statistics.median(a / b for a, b in zip(figures[ours], figures[theirs], strict=True))
        for name, (ours, theirs) in pairs.items()
    }
    lines = [
        "# Speed against the machine's limits",
        "",
        f"`python benchmarks/speed.py --repeats {args.repeats}` on {date.today().isoformat()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} on 1 thread; medians of {args.repeats} repeats, the ratio the median of the "
        "repeats' ratios (each pair run back to back; raw Gymnasium before and after the loop).",
        "",
        "| measurement | JoyRL | reference | JoyRL / reference |",
        "|---|---|---|---|",
        f"| CartPole-v1 env steps/s, random policy, no learning | {median['loop']:,.0f} (training loop) | "
        f"{median['raw']:,.0f} (raw gymnasium) | {ratio['loop']:.2f} |",
        f"| ms per DQN gradient step (256x256, batch 64) | {median['joyrl_grad'] * 1e3:.3f} (Agent.update) | "
        f"{median['bare_grad'] * 1e3:.3f} (bare PyTorch, same batch) | {ratio['joyrl_grad']:.2f} |",
        f"| seconds from `python main.py` to the first env step | {median['startup']:.2f} | "
        f"{median['bare_startup']:.2f} (import torch + gymnasium, build net + Adam, one step) | "
        f"{ratio['startup']:.2f} |",
        f"| DQN on CartPole-v1 at CleanRL's hyperparameters, env steps/s (50k steps, evaluation off) | "
        f"{median['joyrl_dqn']:,.0f} (training run) | {median['single_file_dqn']:,.0f} (benchmarks/single_file/dqn.py) | "
        f"{ratio['joyrl_dqn']:.2f} |",
        f"| PPO on CartPole-v1 at RL Zoo's hyperparameters, env steps/s (100k steps, evaluation off) | "
        f"{median['joyrl_ppo']:,.0f} (training run) | {median['single_file_ppo']:,.0f} (benchmarks/single_file/ppo.py) | "
        f"{ratio['joyrl_ppo']:.2f} |",
        *(
            [
                f"| the same PPO against Stable-Baselines3 {importlib.metadata.version('stable_baselines3')} | "
                f"{median['joyrl_ppo']:,.0f} (training run) | {median['sb3_ppo']:,.0f} (`PPO.learn`) | "
                f"{ratio['sb3']:.2f} |"
            ]
            if with_sb3
            else []
        ),
        "",
        "Every repeat: " + "; ".join(f"{key} {', '.join(f'{v:.4g}' for v in values)}" for key, values in figures.items()),
        "",
    ]
    path = ROOT / "benchmarks" / "results" / "speed.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if README_START in text and README_END in text:  # the command line and the table, between the README's markers
        before, rest = text.split(README_START, 1)
        table = "\n".join(lines[2 : lines.index("", 4)])
        readme.write_text(f"{before}{README_START}\n{table}\n{README_END}{rest.split(README_END, 1)[1]}", encoding="utf-8")
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
