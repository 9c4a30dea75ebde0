"""The TreasureHunt showcase's score curves, from the benchmark runs of its two PPO presets.

    python benchmarks/benchmark.py --yaml config/presets/TreasureHunt-Small-v0_PPO.yaml --seeds 1 2 3 4 5 \\
        --jobs 2 --threshold 470 --metric eval_score --test-episodes 100
    python benchmarks/benchmark.py --yaml config/presets/TreasureHunt-v0_PPO_ray.yaml --seeds 1 \\
        --threshold 838 --metric eval_score --test-episodes 20
    python benchmarks/treasure_hunt_curves.py

Reads each seed's ``eval.csv`` (``eval_score``: the mean score of the greedy evaluation episodes) under
``benchmarks/runs/<name>/`` and draws the IQM across seeds with its 95% bootstrap band, the seeds faint,
beside the BFS oracle's score and 80% of it (README, TreasureHunt), into ``benchmarks/results/<name>_score.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from joyrl.plots import plot_seed_curves, read_columns  # noqa: E402

SHOWCASES = {  # benchmark name: (env, the BFS oracle's score)
    "TreasureHunt-Small-v0_PPO": ("TreasureHunt-Small-v0, one process", 588.0),
    "TreasureHunt-v0_PPO_ray": ("TreasureHunt-v0 (64x64, 8 treasures), 2 Ray workers", 1048.0),
}


def main() -> None:
    for name, (title, oracle) in SHOWCASES.items():
        runs = sorted((ROOT / "benchmarks" / "runs" / name).glob("**/Train_*"))
        curves = []
        for run in runs:
            columns = read_columns(run / "results" / "eval.csv")
            if "eval_score" in columns:
                curves.append((columns["env_steps"], columns["eval_score"]))
        if not curves:
            print(f"{name}: no runs under benchmarks/runs/{name}")
            continue
        lines = {f"BFS oracle {oracle:g}": oracle, f"80% of it, {0.8 * oracle:g}": 0.8 * oracle}
        path = ROOT / "benchmarks" / "results" / f"{name}_score.png"
        plot_seed_curves({"PPO": curves}, f"PPO on {title}: score", None, path, "greedy evaluation score", lines)
        print(f"{name}: {len(curves)} runs -> {path}")


if __name__ == "__main__":
    main()
