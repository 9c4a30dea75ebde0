"""The offline benchmarks' datasets, made from fixed seeds so that anyone regenerates the same ones.

    python benchmarks/make_datasets.py                 # all of them, into tasks/datasets/
    python benchmarks/make_datasets.py --only CartPole-v1_expert CartPole-v1_random

Each dataset is a folder ``tasks/datasets/<name>/`` holding ``traj/trajs_N.pkl`` (the collect run, its
config.yaml and log beside them), ready for ``general_cfg.dataset: tasks/datasets/<name>``:

- ``CartPole-v1_expert``: 10 greedy episodes of a PPO trained to a greedy 500 (the preset, seed 1,
  stopped at its first evaluation of 500);
- ``CartPole-v1_eps0.2``: that expert with epsilon 0.2, episodes until at least 20,000 transitions;
- ``CartPole-v1_random``: uniformly random actions, episodes until at least 100,000 transitions;
- ``Pendulum-v1_expert``: 50 greedy episodes (10,000 transitions) of the SAC preset trained 20,000 steps (about -150);
- ``Pendulum-v1_medium``: an early-stopped SAC (2,400 env steps: greedy about -470, with much spread) acting with
  Gaussian noise (0.3 half-ranges), 50 episodes: about -610 on average.

The experts' training runs stay under ``tasks/datasets/_experts/``; a dataset already there is kept
(delete its folder to make it again). Every step is a ``python main.py`` call, printed as it runs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tasks" / "datasets"
EXPERTS = OUT / "_experts"

# expert name -> the training command's arguments
EXPERT_RUNS = {
    "CartPole-v1_PPO": ["--yaml", "config/presets/CartPole-v1_PPO.yaml", "--seed", "1", "general_cfg.stop_at_eval=500"],
    "Pendulum-v1_SAC": ["--yaml", "config/presets/Pendulum-v1_SAC.yaml", "--seed", "1"],
    "Pendulum-v1_SAC_early": ["--yaml", "config/presets/Pendulum-v1_SAC.yaml", "--seed", "1", "general_cfg.max_env_steps=2300"],
}
# dataset name -> (expert, collect arguments)
DATASETS = {
    "CartPole-v1_expert": ("CartPole-v1_PPO", ["general_cfg.play_episodes=10"]),
    "CartPole-v1_eps0.2": (
        "CartPole-v1_PPO",
        ["general_cfg.play_episodes=60", "general_cfg.collect_exploration=epsilon", "general_cfg.collect_epsilon=0.2"],
    ),
    "CartPole-v1_random": ("CartPole-v1_PPO", ["general_cfg.play_episodes=4700", "general_cfg.collect_exploration=random"]),
    "Pendulum-v1_expert": ("Pendulum-v1_SAC", ["general_cfg.play_episodes=50"]),
    "Pendulum-v1_medium": (
        "Pendulum-v1_SAC_early",
        ["general_cfg.play_episodes=50", "general_cfg.collect_exploration=gaussian", "general_cfg.collect_noise_std=0.3"],
    ),
}


def main_py(args: list[str], tasks_dir: Path) -> Path:
    """Run ``python main.py args``; the run folder it made."""
    tasks_dir.mkdir(parents=True, exist_ok=True)
    before = set(tasks_dir.iterdir())
    command = [sys.executable, "main.py", *args, f"general_cfg.tasks_dir={tasks_dir}", "general_cfg.save_fig=false"]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # logs: the run folder
    (folder,) = set(tasks_dir.iterdir()) - before
    return folder


def expert(name: str) -> Path:
    folder = EXPERTS / name
    if not (folder / "models" / "best.pt").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        main_py(EXPERT_RUNS[name], EXPERTS / "work").rename(folder)
    return folder


def make(name: str) -> Path:
    folder = OUT / name
    if (folder / "traj").is_dir():
        print(f"{name}: kept ({folder})", flush=True)
        return folder
    expert_name, collect = DATASETS[name]
    run = main_py(["--mode", "collect", "--load", str(expert(expert_name)), "--seed", "1", *collect], OUT / "work")
    shutil.rmtree(folder, ignore_errors=True)
    run.rename(folder)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=list(DATASETS), help="datasets to make; default all")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from joyrl.datasets import load_dataset

    for name in args.only or DATASETS:
        folder = make(name)
        print(f"{name}: {load_dataset(str(folder), OUT).summary()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
