"""Planning benchmark: ValueIteration and PolicyIteration on every toy-text env they have a preset for.

    python benchmarks/planning.py

For each env it trains both planners' presets (``python main.py``, seed 1) under
``benchmarks/runs/planning/``, reads V and the greedy policy from each ``models/last.pt``,
and reports how far the two value functions are apart (max |V_VI - V_PI|), whether the greedy
policies agree, the sweeps and seconds each needed, and the greedy policy's mean return over
``--test-episodes`` test episodes (FrozenLake-v1: the success rate). It writes
``benchmarks/results/planning.md``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
RUNS_DIR = ROOT / "benchmarks" / "runs" / "planning"
RESULT = ROOT / "benchmarks" / "results" / "planning.md"
ENVS = ["FrozenLake-v1", "CliffWalking-v1", "Taxi-v4", "GorgeWalk-v0"]
PLANNERS = ["ValueIteration", "PolicyIteration"]
KNOWN_OPTIMUM = {  # what the greedy optimal policy should score, from the literature or the env's own docs
    "FrozenLake-v1": "0.74 success (14/17 = 0.82 without the 100-step limit)",
    "CliffWalking-v1": "-13",
    "Taxi-v4": "about 7.9 (random starts)",
    "GorgeWalk-v0": "+78 (all 4 treasures, 52 steps)",
}


def run(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"python main.py {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")


def latest(folder: Path, prefix: str) -> Path:
    return sorted(folder.glob(f"{prefix}_*"))[-1]


def plan(env_id: str, algo: str, test_episodes: int) -> dict:
    """Train one planner's preset, test its last checkpoint; return V, π and the figures."""
    folder = RUNS_DIR / f"{env_id}_{algo}"
    preset = ROOT / "config" / "presets" / f"{env_id}_{algo}.yaml"
    run(["--yaml", str(preset), "--seed", "1", f"general_cfg.tasks_dir={folder}", "general_cfg.save_fig=false"])
    train = latest(folder, "Train")
    test_dir = folder / "test"
    run(
        [
            "--yaml",
            str(train / "config.yaml"),
            "--mode",
            "test",
            "--load",
            str(train / "models" / "last.pt"),
            f"general_cfg.play_episodes={test_episodes}",
            f"general_cfg.tasks_dir={test_dir}",
            "general_cfg.save_fig=false",
        ]
    )
    with open(latest(test_dir, "Test") / "results" / "res.csv", newline="", encoding="utf-8") as file:
        returns = [float(row["reward"]) for row in csv.DictReader(file)]
    state = torch.load(train / "models" / "last.pt", weights_only=True)["agent"]
    return {
        "v": state["v_table"],
        "policy": state["policy"],
        "sweeps": state["sweeps"],
        "iterations": state["iterations"],
        "converged": state["converged"],
        "seconds": state["plan_seconds"],
        "test_return": statistics.fmean(returns),
        "test_std": statistics.pstdev(returns),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-episodes", type=int, default=1000, help="greedy test episodes per planner and env")
    parser.add_argument("--envs", nargs="+", default=ENVS)
    args = parser.parse_args()
    lines = [
        "# Planning: ValueIteration and PolicyIteration",
        "",
        f"`python benchmarks/planning.py --test-episodes {args.test_episodes}` on {date.today().isoformat()}: each "
        "planner's preset (`config/presets/<env>_<planner>.yaml`, seed 1), then the greedy policy of its "
        f"`models/last.pt` tested for {args.test_episodes} episodes (seed 1). The planners are deterministic; the "
        "test episodes are not, on the stochastic envs.",
        "",
        "| env | gamma | max abs(V_VI - V_PI) | policies agree | VI sweeps | VI seconds | PI iterations (sweeps) "
        "| PI seconds | VI greedy test return | PI greedy test return | known optimum |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for env_id in args.envs:
        value, policy = (plan(env_id, algo, args.test_episodes) for algo in PLANNERS)
        gap = float((value["v"] - policy["v"]).abs().max())
        agree = float((value["policy"] == policy["policy"]).double().mean())
        gamma = _preset_gamma(env_id)
        lines.append(
            f"| {env_id} | {gamma} | {gap:.2e} | {agree:.1%} of states | {value['sweeps']} | {value['seconds']:.3f} | "
            f"{policy['iterations']} ({policy['sweeps']}) | {policy['seconds']:.3f} | "
            f"{value['test_return']:.4g} ± {value['test_std']:.2g} | {policy['test_return']:.4g} ± {policy['test_std']:.2g} | "
            f"{KNOWN_OPTIMUM.get(env_id, '')} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "Policies may differ in states where several actions are optimal (ties are broken towards the lowest action,"
        " within `theta`) or that no policy reaches; the value functions are what must agree.",
        "",
    ]
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULT}")


def _preset_gamma(env_id: str) -> str:
    with open(ROOT / "config" / "presets" / f"{env_id}_ValueIteration.yaml", encoding="utf-8") as file:
        return str(yaml.safe_load(file)["algo_cfg"]["gamma"])


if __name__ == "__main__":
    main()
