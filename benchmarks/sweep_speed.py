"""Wall time of a sweep against its seeds run one after the other (issue 16's bar: <= 0.6x).

    python benchmarks/sweep_speed.py --seeds 1 2 3 4 5 --jobs 2 5 [--set general_cfg.max_env_steps=...]

Runs, in one invocation and nothing else training: the default job (``python main.py``, DQN on
CartPole-v1) once per seed, one after the other; then ``python main.py --seeds ... --jobs J`` for each
``--jobs`` value. Each run writes under a temporary folder. Prints the wall times and the ratios and
writes ``benchmarks/results/sweep_speed.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--jobs", type=int, nargs="+", default=[2])
    parser.add_argument("--set", nargs="*", default=[], metavar="section.key=value")
    args = parser.parse_args()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    os.environ.update(env)
    with tempfile.TemporaryDirectory(prefix="joyrl_sweep_speed_") as tmp:
        main_py = [sys.executable, "main.py", *args.set]
        one_by_one = [timed([*main_py, "--seed", str(seed), f"general_cfg.tasks_dir={tmp}/single"]) for seed in args.seeds]
        sequential = sum(one_by_one)
        print(f"one after the other: {sequential:.1f} s ({', '.join(f'{t:.1f}' for t in one_by_one)})")
        sweeps = {}
        for jobs in args.jobs:
            seeds = [str(seed) for seed in args.seeds]
            sweeps[jobs] = timed([*main_py, "--seeds", *seeds, "--jobs", str(jobs), f"general_cfg.tasks_dir={tmp}/sweep_{jobs}"])
            print(f"sweep --jobs {jobs}: {sweeps[jobs]:.1f} s, {sweeps[jobs] / sequential:.2f}x the sequential time")
    lines = [
        "# Sweep wall time against its seeds one after the other",
        "",
        f"`python benchmarks/sweep_speed.py {' '.join(sys.argv[1:])}` on {date.today().isoformat()}, {os.cpu_count()} CPUs, "
        "nothing else training. The job: `python main.py` (DQN on CartPole-v1, 50,000 env steps) "
        f"{' '.join(args.set)}.",
        "",
        "| how | wall seconds | ratio to one after the other |",
        "|---|---|---|",
        f"| {len(args.seeds)} seeds one after the other | {sequential:.1f} | 1.00 |",
        *(
            f"| `--seeds {' '.join(map(str, args.seeds))} --jobs {jobs}` | {wall:.1f} | {wall / sequential:.2f} |"
            for jobs, wall in sweeps.items()
        ),
        "",
    ]
    path = ROOT / "benchmarks" / "results" / "sweep_speed.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main()
