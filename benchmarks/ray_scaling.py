"""Env steps per second with Ray workers against one process, on an env whose steps cost CPU.

    python benchmarks/ray_scaling.py --yaml config/presets/CartPole-v1_PPO.yaml --work 300 --steps 20000 --rounds 3

Trains the same config ``--rounds`` times in each setting (``single``, then ``mp_backend: ray``
with each of ``--workers``), alternating settings within a round so that a change in the
machine's load falls on all of them alike. The env is wrapped in ``envs.cpu_bound:CostlyStep``
(``--work`` rounds of SHA-256 per step). Each run's speed is its steady-state env steps per
second: from its first episode row to its last in res.csv, so Ray's start-up (logged apart, with
the learner's share of time spent waiting for data) is not counted. Writes
``benchmarks/results/ray_scaling_work<N>.md``; needs a machine with nothing else running.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS_DIR = ROOT / "benchmarks" / "runs" / "ray_scaling"
RESULTS_DIR = ROOT / "benchmarks" / "results"

sys.path.insert(0, str(ROOT))
from joyrl.logs import read_csv_rows  # noqa: E402


def run_setting(args: argparse.Namespace, setting: str, round_index: int) -> dict[str, float]:
    """One training run; its steady-state env steps/s, Ray start-up seconds and the learner's waiting share."""
    tasks_dir = RUNS_DIR / f"{setting}_round{round_index}"
    backend = (
        [] if setting == "single" else ["general_cfg.mp_backend=ray", f"general_cfg.n_workers={setting.removeprefix('ray')}"]
    )
    command = [
        sys.executable,
        "main.py",
        "--yaml",
        args.yaml,
        "--seed",
        str(round_index + 1),
        f"general_cfg.max_env_steps={args.steps}",
        "general_cfg.online_eval=false",
        "general_cfg.save_fig=false",
        f"general_cfg.tasks_dir={tasks_dir}",
        f"env_cfg.wrappers=[{{name: 'envs.cpu_bound:CostlyStep', kwargs: {{work: {args.work}}}}}]",
        *backend,
        *args.set,
    ]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = sorted(tasks_dir.glob("Train_*"))[-1]
    rows = read_csv_rows(run / "results" / "res.csv")
    first, last = rows[0], rows[-1]
    speed = (float(last["env_steps"]) - float(first["env_steps"])) / (float(last["seconds"]) - float(first["seconds"]))
    log = (run / "logs" / "log.txt").read_text(encoding="utf-8")
    startup = re.search(r"ready in ([\d.]+) s", log)
    waiting = re.findall(r"learner waiting (\d+)%", log)
    return {
        "speed": speed,
        "startup": float(startup.group(1)) if startup else float("nan"),
        "waiting": float(waiting[-1]) if waiting else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--yaml", default="config/presets/CartPole-v1_PPO.yaml")
    parser.add_argument("--work", type=int, default=300, help="SHA-256 rounds per env step (CostlyStep)")
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--set", nargs="*", default=[], help="more overrides, e.g. algo_cfg.n_envs=8")
    args = parser.parse_args()
    settings = ["single", *(f"ray{n}" for n in args.workers)]
    results: dict[str, list[dict[str, float]]] = {setting: [] for setting in settings}
    for round_index in range(args.rounds):
        for setting in settings:
            figures = run_setting(args, setting, round_index)
            results[setting].append(figures)
            print(f"round {round_index + 1} {setting}: {figures['speed']:,.0f} env steps/s", flush=True)
    medians = {setting: statistics.median(run["speed"] for run in runs) for setting, runs in results.items()}
    lines = [
        f"# Ray scaling ({date.today()})",
        "",
        f"`python benchmarks/ray_scaling.py --yaml {args.yaml} --work {args.work} --steps {args.steps} --rounds {args.rounds}"
        + (f" --set {' '.join(args.set)}" if args.set else "")
        + "`: steady-state env steps/s (first to last res.csv row), median of the rounds, settings alternating.",
        "",
        "| setting | env steps/s (each round) | median | vs single | vs 1 worker | Ray start-up s | learner waiting |",
        "|---|---|---|---|---|---|---|",
    ]
    for setting, runs in results.items():
        per_round = ", ".join(f"{run['speed']:,.0f}" for run in runs)
        one = medians.get("ray1")
        vs_one = f"{medians[setting] / one:.2f}x" if one and setting != "single" else "–"
        startup = statistics.median(run["startup"] for run in runs)
        waiting = statistics.median(run["waiting"] for run in runs)
        lines.append(
            f"| {setting} | {per_round} | {medians[setting]:,.0f} | {medians[setting] / medians['single']:.2f}x | {vs_one} | "
            + ("–" if setting == "single" else f"{startup:.1f}")
            + " | "
            + ("–" if setting == "single" else f"{waiting:.0f}%")
            + " |"
        )
    (RESULTS_DIR / f"ray_scaling_work{args.work}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
