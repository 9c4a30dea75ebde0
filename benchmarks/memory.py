"""Resident memory of a long training run: does it stay flat?

    python benchmarks/memory.py [--steps 1000000] [--seed 1] [--set key=value ...]

Trains the default ``python main.py`` job (DQN on CartPole-v1) for ``--steps`` env steps
in a subprocess, reading its resident set size (VmRSS, Linux) twice a second and its
progress from ``results/res.csv``. Writes ``benchmarks/results/memory.md``: RSS when the
run passed 10k, 100k, 200k, ... env steps, and the peak.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def resident_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def env_steps_so_far(tasks_dir: Path) -> int:
    for res_csv in tasks_dir.glob("*/results/res.csv"):
        with open(res_csv, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        if rows and rows[-1].get("env_steps"):
            return int(rows[-1]["env_steps"])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", nargs="*", default=[], help="extra key=value overrides for main.py")
    args = parser.parse_args()
    marks = [10_000, *range(100_000, args.steps + 1, 100_000)]
    readings: dict[int, tuple[int, float]] = {}  # mark -> (env steps when read, RSS MiB)
    peak, started = 0.0, time.time()
    with tempfile.TemporaryDirectory() as folder:
        tasks_dir = Path(folder)
        command = [
            sys.executable,
            "main.py",
            "--seed",
            str(args.seed),
            f"general_cfg.max_env_steps={args.steps}",
            f"general_cfg.tasks_dir={tasks_dir}",
            *args.set,
        ]
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None:
            rss = resident_mib(process.pid)
            if rss is not None:
                peak = max(peak, rss)
                steps = env_steps_so_far(tasks_dir)
                for mark in marks:
                    if steps >= mark and mark not in readings:
                        readings[mark] = (steps, rss)
                        print(f"{steps:>9,} env steps: {rss:7.1f} MiB", flush=True)
            time.sleep(0.5)
        if process.returncode != 0:
            raise SystemExit(f"main.py exited with {process.returncode}")
    minutes = (time.time() - started) / 60
    lines = [
        "# Resident memory over a long run",
        "",
        f"`python benchmarks/memory.py --steps {args.steps} --seed {args.seed}"
        f"{' --set ' + ' '.join(args.set) if args.set else ''}` on {date.today().isoformat()}: "
        f"the default DQN job on CartPole-v1 (replay buffer of 100k transitions, preallocated), {minutes:.0f} min, "
        f"RSS read from /proc twice a second.",
        "",
        "| env steps | resident memory (MiB) |",
        "|---:|---:|",
        *(f"| {steps:,} | {rss:.1f} |" for steps, rss in readings.values()),
        "",
        f"Peak: {peak:.1f} MiB.",
        "",
    ]
    path = ROOT / "benchmarks" / "results" / "memory.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
