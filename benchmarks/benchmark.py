"""Learning benchmark: train one config for several seeds and tabulate how it learned.

    python benchmarks/benchmark.py --yaml config/presets/CartPole-v1_DQN.yaml \
        --seeds 1 2 3 4 5 --threshold 475 --within 50000 --jobs 2

The seeds run as one sweep, ``python main.py --yaml X --seeds ... --jobs N`` (each seed its own
process, one torch thread each), under ``benchmarks/runs/<name>/``. From each run's ``eval.csv`` and
``res.csv`` it reads the env steps and seconds to the first greedy evaluation mean
at or above the threshold, the final and best evaluation, and env steps per second;
``--metric eval_<key>`` reads an ``info_keys`` value's evaluation mean instead of the return
(``--metric eval_score`` for TreasureHunt's score), and the test column reads that value too;
for an offline run (``general_cfg.dataset``) updates take the place of env steps.
It writes ``benchmarks/results/<name>.md`` and ``.csv``; ``--readme`` regenerates the
README's benchmark table from every ``benchmarks/results/*.csv``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from joyrl import statistics as st  # noqa: E402

RUNS_DIR = ROOT / "benchmarks" / "runs"
RESULTS_DIR = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
README_START, README_END = "<!-- benchmark-table:start -->", "<!-- benchmark-table:end -->"

SEED_COLUMNS = [
    "seed",
    "steps_to_threshold",
    "episodes_to_threshold",
    "seconds_to_threshold",
    "final_eval",
    "best_eval",
    "test_return",
    "env_steps",
    "seconds",
    "steps_per_second",
]


def read_rows(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as file:
        return [{key: float(value) for key, value in row.items() if value not in ("", None)} for row in csv.DictReader(file)]


def run_sweep(args: argparse.Namespace, name: str) -> dict[int, Path]:
    """Train the seeds as one sweep (``python main.py --seeds ... --jobs N``) under ``benchmarks/runs/<name>/``;
    each seed's run folder. ``--reuse`` takes the newest sweep there instead (or an older seed_N/ layout)."""
    tasks_dir = RUNS_DIR / name
    sweeps = sorted(tasks_dir.glob("Sweep_*"))
    if not (args.reuse and (sweeps or list(tasks_dir.glob("seed_*")))):
        command = [sys.executable, "main.py", "--yaml", args.yaml, "--seeds", *map(str, args.seeds), "--jobs", str(args.jobs)]
        command += ["--threshold", str(args.threshold), f"general_cfg.tasks_dir={tasks_dir}", *args.set]
        command += [f"general_cfg.stop_at_eval={args.threshold}"] if args.stop_at_threshold else []
        subprocess.run(command, cwd=ROOT, check=False)  # a seed that failed is in the sweep's log; checked below
        sweeps = sorted(tasks_dir.glob("Sweep_*"))
    runs = {}
    for seed in args.seeds:
        found = sorted(((sweeps[-1] if sweeps else tasks_dir) / f"seed_{seed}").glob("Train_*"))
        if not found:
            raise SystemExit(f"seed {seed} has no run under {tasks_dir}; see the sweep's sweep.log")
        runs[seed] = found[-1]
    return runs


def seed_figures(args: argparse.Namespace, seed: int, run: Path) -> dict[str, float | str]:
    """One seed's figures from its run folder (and its test of models/last.pt, when asked)."""
    evals, episodes = read_rows(run / "results" / "eval.csv"), read_rows(run / "results" / "res.csv")
    reached = next((row for row in evals if row[args.metric] >= args.threshold), None)
    # an offline run (general_cfg.dataset) has no training episodes: its steps are updates, read from eval.csv
    last, step = (episodes[-1], "env_steps") if episodes else (evals[-1], "updates")
    figures: dict[str, float | str] = {
        "seed": seed,
        "steps_to_threshold": int(reached[step]) if reached else "",
        "episodes_to_threshold": int(reached["episode"]) if reached and "episode" in reached else "",
        "seconds_to_threshold": round(reached["seconds"], 1) if reached else "",
        "final_eval": evals[-1][args.metric] if evals else "",
        "best_eval": max(row[args.metric] for row in evals) if evals else "",
        "env_steps": int(last[step]),
        "seconds": round(last["seconds"], 1),
        "steps_per_second": round(last[step] / last["seconds"]),
        "test_return": "",
        "unit": "updates" if step == "updates" else "env steps",
    }
    test_dir = run.parent / "test"
    if args.test_episodes and not (args.reuse and list(test_dir.glob("Test_*"))):
        test = [
            sys.executable,
            "main.py",
            "--yaml",
            str(run / "config.yaml"),
            "--mode",
            "test",
            "--load",
            str(run / "models" / "last.pt"),
            f"general_cfg.play_episodes={args.test_episodes}",
            f"general_cfg.tasks_dir={test_dir}",
            "general_cfg.save_fig=false",
        ]
        with open(run.parent / "test.log", "w", encoding="utf-8") as out:
            subprocess.run(test, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=True)
    if args.test_episodes:
        column = "reward" if args.metric == "eval_mean" else args.metric.removeprefix("eval_")
        values = [row[column] for row in read_rows(sorted(test_dir.glob("Test_*"))[-1] / "results" / "res.csv")]
        figures["test_return"] = round(statistics.fmean(values), 2)
    return figures


def summarise(args: argparse.Namespace, name: str, rows: list[dict]) -> dict[str, str]:
    """One line for the README: the median over seeds, and how many reached the bar."""
    limit = args.within if args.within is not None else float("inf")
    within = [row for row in rows if row["steps_to_threshold"] != "" and row["steps_to_threshold"] <= limit]
    finals = [row["final_eval"] for row in rows if row["final_eval"] != ""]
    tests = [row["test_return"] for row in rows if row["test_return"] != ""]

    def median(key: str, source: list[dict], digits: int = 0) -> str:
        values = [row[key] for row in source if row[key] != ""]
        return f"{statistics.median(values):,.{digits}f}" if values else "–"

    spread = f"{statistics.fmean(finals):.4g} ± {statistics.pstdev(finals):.2g}" if finals else "–"
    low, high = st.bootstrap_ci(st.iqm, finals) if finals else (0.0, 0.0)
    iqm = f"{st.iqm(finals):.4g} [{low:.4g}, {high:.4g}]" if finals else "–"
    return {
        "benchmark": name,
        "yaml": args.yaml,
        "seeds": " ".join(str(row["seed"]) for row in rows),
        "threshold": f"{args.threshold:g}" + ("" if args.metric == "eval_mean" else f" ({args.metric.removeprefix('eval_')})"),
        "within": f"{args.within:,} {rows[0]['unit']}" if args.within is not None else "the run",
        "reached": f"{len(within)}/{len(rows)}",
        "runs_end": "at the threshold" if args.stop_at_threshold else "at the budget",
        "median_steps_to_threshold": median("steps_to_threshold", within),
        "median_episodes_to_threshold": median("episodes_to_threshold", within),
        "median_seconds_to_threshold": median("seconds_to_threshold", within, digits=1),
        "final_eval": spread,
        "final_iqm": iqm,
        "test_return": f"{statistics.fmean(tests):.2f}" if tests else "–",
        "steps_per_second": median("steps_per_second", rows),
        "jobs": str(args.jobs),
        "date": date.today().isoformat(),
    }


def seed_column_titles(unit: str) -> list[str]:
    """The per-seed table's titles: an offline run counts updates where an online one counts env steps."""
    if unit != "updates":
        return SEED_COLUMNS
    offline = {"steps_to_threshold": "updates_to_threshold", "env_steps": "updates", "steps_per_second": "updates_per_second"}
    return [offline.get(column, column) for column in SEED_COLUMNS]


def write_results(name: str, rows: list[dict], summary: dict[str, str], command: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    unit = rows[0]["unit"]
    with open(RESULTS_DIR / f"{name}.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(summary))
        writer.writeheader()
        writer.writerow(summary)
    lines = [
        f"# {name}",
        "",
        f"`{command}` on {summary['date']}, seeds {summary['seeds']}, {summary['jobs']} job(s) at a time.",
        f"Threshold: greedy evaluation mean ≥ {summary['threshold']} within {summary['within']}: reached by {summary['reached']} seeds.",
        *(
            [
                "Each run ended at its first evaluation at or above the threshold (`--stop-at-threshold`), so its final"
                " evaluation is that one and the runs measure how fast the threshold is reached, not what comes after."
            ]
            if summary["runs_end"] == "at the threshold"
            else []
        ),
        f"Final greedy evaluation over the seeds: IQM {summary['final_iqm']} (95% stratified bootstrap CI), "
        f"mean ± std {summary['final_eval']}.",
        f"Columns: {unit}, training episodes and seconds to the first evaluation at or above the threshold, the last and the best"
        " evaluation, the mean return of the test episodes on models/last.pt, and training throughput (evaluations included).",
        "",
        "| " + " | ".join(seed_column_titles(unit)) + " |",
        "|" + "---|" * len(SEED_COLUMNS),
        *("| " + " | ".join(str(row[key]) for key in SEED_COLUMNS) + " |" for row in rows),
        "",
    ]
    path = RESULTS_DIR / f"{name}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def update_readme() -> None:
    """Rebuild the README table between its markers from benchmarks/results/*.csv."""
    header = [
        "benchmark",
        "seeds",
        "threshold",
        "within",
        "reached",
        "runs_end",
        "median_steps_to_threshold",
        "median_seconds_to_threshold",
        "final_eval",
        "final_iqm",
        "test_return",
        "steps_per_second",
        "date",
    ]
    titles = [
        "Benchmark",
        "Seeds",
        "Threshold",
        "Within",
        "Reached",
        "Runs end",
        "Median steps to threshold",
        "Median seconds to threshold",
        "Final greedy eval (mean ± std)",
        "Final IQM [95% CI]",
        "Test return",
        "Speed",
        "Date",
    ]
    rows = []
    for path in sorted(RESULTS_DIR.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as file:
            rows.extend({"runs_end": "at the budget", "final_iqm": "–", **row} for row in csv.DictReader(file))
    table = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    table += [
        "| "
        + " | ".join(
            f"[{row['benchmark']}](benchmarks/results/{row['benchmark']}.md)"
            if key == "benchmark"
            else f"{row[key]} {'updates' if row['within'].endswith('updates') else 'env steps'}/s"
            if key == "steps_per_second"
            else row[key]
            for key in header
        )
        + " |"
        for row in rows
    ]
    text = README.read_text(encoding="utf-8")
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    README.write_text(text[:start] + "\n" + "\n".join(table) + "\n" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--yaml", help="the preset to train")
    parser.add_argument("--name", help="results name (default: the preset's file name)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--threshold", type=float, help="greedy evaluation mean that counts as solved")
    parser.add_argument(
        "--metric", default="eval_mean", help="eval.csv column the threshold reads: eval_mean (the return) or eval_<info key>"
    )
    parser.add_argument(
        "--within", type=int, default=None, help="env steps within which the threshold must be reached (default: the whole run)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once (each on one torch thread)")
    parser.add_argument(
        "--stop-at-threshold",
        action="store_true",
        help="end each run at its first evaluation at or above the threshold (general_cfg.stop_at_eval)",
    )
    parser.add_argument("--test-episodes", type=int, default=0, help="after training, test models/last.pt for this many episodes")
    parser.add_argument("--set", nargs="*", default=[], metavar="section.key=value", help="overrides passed to main.py")
    parser.add_argument(
        "--reuse", action="store_true", help="tabulate runs already under benchmarks/runs/<name> instead of training again"
    )
    parser.add_argument("--readme", action="store_true", help="rebuild the README table (alone: without training)")
    args = parser.parse_args()
    if args.yaml:
        if args.threshold is None:
            parser.error("--threshold is required with --yaml")
        name = args.name or Path(args.yaml).stem
        started = time.perf_counter()
        rows = [seed_figures(args, seed, run) for seed, run in run_sweep(args, name).items()]
        summary = summarise(args, name, rows)
        command = "python " + " ".join(arg for arg in sys.argv if arg != "--reuse")
        path = write_results(name, rows, summary, command)
        print(path.read_text(encoding="utf-8"))
        print(f"{len(rows)} seeds in {time.perf_counter() - started:.0f} s")
    if args.readme:
        update_readme()
    if not args.yaml and not args.readme:
        parser.error("give --yaml (to run a benchmark) and/or --readme")


if __name__ == "__main__":
    main()
