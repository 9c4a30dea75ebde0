"""DQN vs DoubleDQN vs PER_DQN vs RainbowDQN on CartPole-v1, 5 seeds each, made by the product's own commands.

    python benchmarks/dqn_family_comparison.py [--seeds 1 2 3 4 5] [--jobs 2] [--steps 50000]

For each algorithm: ``python main.py --yaml config/presets/CartPole-v1_<ALGO>.yaml --seeds ... --jobs J
general_cfg.max_env_steps=<steps>`` (one common budget, so the final evaluations compare; every preset's
schedules that run "over the budget" follow it), then ``python main.py --compare`` on the four sweeps.
The runs go to ``benchmarks/runs/dqn_family/``; the figure and the table are copied to
``benchmarks/results/CartPole-v1_dqn_family.{png,md}`` and the table into the README between the
``dqn-family-comparison`` markers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALGOS = ["DQN", "DoubleDQN", "PER_DQN", "RainbowDQN"]
RUNS = ROOT / "benchmarks" / "runs" / "dqn_family"
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- dqn-family-comparison:start -->", "<!-- dqn-family-comparison:end -->"


def newest(pattern: str) -> Path:
    """The newest folder under RUNS matching ``pattern`` (folder names end in a time stamp)."""
    found = sorted(RUNS.glob(pattern))
    if not found:
        raise SystemExit(f"no folder {pattern} under {RUNS}: did the command above fail?")
    return found[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=50_000, help="env steps per run, the same for every algorithm")
    args = parser.parse_args()
    os.environ["MPLBACKEND"] = "Agg"
    seeds = [str(seed) for seed in args.seeds]
    sweeps = []
    for algo in ALGOS:
        command = [
            sys.executable, "main.py", "--yaml", f"config/presets/CartPole-v1_{algo}.yaml", "--seeds", *seeds,
            "--jobs", str(args.jobs), "--threshold", "475", f"general_cfg.max_env_steps={args.steps}",
            f"general_cfg.tasks_dir={RUNS}",
        ]  # fmt: skip
        print(" ".join(command[1:]), flush=True)
        subprocess.run(command, cwd=ROOT, check=True)
        sweeps.append(newest(f"Sweep_CartPole-v1_{algo}_*"))
    subprocess.run(
        [sys.executable, "main.py", "--compare", *map(str, sweeps), f"general_cfg.tasks_dir={RUNS}"], cwd=ROOT, check=True
    )
    compare = newest("Compare_CartPole-v1_*")
    figure = RESULTS / "CartPole-v1_dqn_family.png"
    shutil.copyfile(compare / "compare.png", figure)
    table = (compare / "compare.md").read_text(encoding="utf-8")
    table = re.sub(r" \(Sweep_CartPole-v1_\w+?_\d{8}-\d{6}\)", "", table)  # one sweep per algorithm: the name says enough
    body = table.split("\n", 2)[2].strip()  # without compare.md's title
    how = (
        f"`python benchmarks/dqn_family_comparison.py --seeds {' '.join(seeds)} --jobs {args.jobs} --steps {args.steps}` "
        f"on {date.today().isoformat()}: each algorithm's preset, {args.steps:,} env steps, seeds {' '.join(seeds)}; "
        "final greedy evaluation (10 episodes) of each seed."
    )
    (RESULTS / "CartPole-v1_dqn_family.md").write_text(f"# DQN family on CartPole-v1\n\n{how}\n\n{body}\n", encoding="utf-8")
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START in text and END in text:
        block = f"{START}\n![DQN family on CartPole-v1](benchmarks/results/{figure.name})\n\n{how}\n\n{body}\n{END}"
        before, rest = text.split(START, 1)
        readme.write_text(before + block + rest.split(END, 1)[1], encoding="utf-8")
    print(RESULTS / "CartPole-v1_dqn_family.md")


if __name__ == "__main__":
    main()
