"""A tuning study on CartPole-v1 DQN, its best preset against the default over fresh seeds (issue 16's tuning bar).

    python benchmarks/tune_vs_default.py [--trials 20] [--tune-seeds 11 12 13 14 15] [--seeds 1 2 3 4 5] [--jobs 2]

1. ``python main.py --yaml config/presets/CartPole-v1_DQN_tune.yaml --tune <trials> --seeds <tune-seeds> --jobs J``
2. ``python main.py --yaml <study>/best.yaml --seeds <seeds> --jobs J`` and the same for the default preset
   (``config/presets/CartPole-v1_DQN.yaml``, the job ``python main.py`` runs), on seeds the study never saw;
3. ``python main.py --compare`` on the two sweeps.

Everything runs under ``benchmarks/runs/tune_cartpole_dqn/``; ``benchmarks/results/CartPole-v1_DQN_tuned.md`` gets the
study's trials, the best preset's values and the comparison, and ``CartPole-v1_DQN_tuned.png`` the figure.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "benchmarks" / "runs" / "tune_cartpole_dqn"
RESULTS = ROOT / "benchmarks" / "results"
TUNE_PRESET = "config/presets/CartPole-v1_DQN_tune.yaml"
DEFAULT_PRESET = "config/presets/CartPole-v1_DQN.yaml"


def main_py(*args: str) -> float:
    """``python main.py args`` under RUNS; its wall seconds."""
    command = [sys.executable, "main.py", *args, f"general_cfg.tasks_dir={RUNS}"]
    print(" ".join(command[1:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    return time.perf_counter() - started


def newest(pattern: str) -> Path:
    found = sorted(RUNS.glob(pattern), key=lambda path: path.stat().st_mtime)
    if not found:
        raise SystemExit(f"no folder {pattern} under {RUNS}: did the command above fail?")
    return found[-1]


def trials_table(study: Path, space: list[str]) -> list[str]:
    with open(study / "trials.csv", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    lines = [
        "| trial | state | score | each seed's score | each seed's last evaluation | mean of all evaluations | "
        + " | ".join(space)
        + " |",
        "|---" * (6 + len(space)) + "|",
    ]
    for row in rows:
        mean_eval = f"{float(row['mean_eval']):.1f}" if row["mean_eval"] else ""
        value = f"{float(row['value']):.1f}" if row["value"] else ""
        cells = [row["number"], row["state"], value, row["seed_scores"], row["finals"], mean_eval, *(row[name] for name in space)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--tune-seeds", type=int, nargs="+", default=[11, 12, 13, 14, 15])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    os.environ["MPLBACKEND"] = "Agg"
    jobs = ["--jobs", str(args.jobs)]
    tune_seeds = [str(seed) for seed in args.tune_seeds]
    seeds = [str(seed) for seed in args.seeds]
    study_seconds = main_py("--yaml", TUNE_PRESET, "--tune", str(args.trials), "--seeds", *tune_seeds, *jobs)
    study = newest("Tune_CartPole-v1_DQN_*")
    main_py("--yaml", str(study / "best.yaml"), "--seeds", *seeds, *jobs)
    tuned = newest("Sweep_CartPole-v1_DQN_*")
    main_py("--yaml", DEFAULT_PRESET, "--seeds", *seeds, *jobs)
    default = newest("Sweep_CartPole-v1_DQN_*")
    main_py("--compare", str(tuned), str(default))
    compare = newest("Compare_CartPole-v1_*")
    names = {tuned.name: "tuned (best.yaml)", default.name: "default (CartPole-v1_DQN.yaml)"}
    table = (compare / "compare.md").read_text(encoding="utf-8").split("\n", 2)[2].strip()
    table = re.sub(r"DQN \((Sweep_[\w-]+)\)", lambda match: names[match.group(1)], table)
    best_header = [line[2:] for line in (study / "best.yaml").read_text(encoding="utf-8").splitlines() if line.startswith("# ")]
    with open(ROOT / TUNE_PRESET, encoding="utf-8") as file:
        space = re.findall(r"^  ([a-z_]+_cfg\.\w+):", file.read(), flags=re.MULTILINE)
    text = [
        "# DQN on CartPole-v1: a tuning study's best preset against the default",
        "",
        f"`python benchmarks/tune_vs_default.py --trials {args.trials} --tune-seeds {' '.join(tune_seeds)} "
        f"--seeds {' '.join(seeds)} --jobs {args.jobs}` on {date.today().isoformat()}, {os.cpu_count()} CPUs.",
        "",
        f"The study: `python main.py --yaml {TUNE_PRESET} --tune {args.trials} --seeds {' '.join(tune_seeds)} "
        f"--jobs {args.jobs}`, {study_seconds / 60:.1f} min; 50,000 env steps a run, each trial scored by the mean over "
        "its seeds of their greedy evaluations (10 episodes each) in the last fifth of the budget; trial 0 is the default's "
        "own values.",
        *(f"{line}" for line in best_header),
        "",
        *trials_table(study, space),
        "",
        f"The best preset and the default, each on seeds {' '.join(seeds)} (not the study's), 50,000 env steps:",
        "",
        table,
        "",
    ]
    (RESULTS / "CartPole-v1_DQN_tuned.md").write_text("\n".join(text), encoding="utf-8")
    shutil.copyfile(compare / "compare.png", RESULTS / "CartPole-v1_DQN_tuned.png")
    print(RESULTS / "CartPole-v1_DQN_tuned.md")


if __name__ == "__main__":
    main()
