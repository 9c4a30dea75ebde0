"""Sweeps: one configuration trained for several seeds in parallel processes, then summarised honestly.

``python main.py --yaml X --seeds 1 2 3 4 5 --jobs 2 [--threshold 475]`` runs each seed as its own
``python main.py ... --seed N`` process (exactly the single run with that seed, in
``tasks/Sweep_<Env>_<Algo>_<stamp>/seed_N/``), ``--jobs`` at a time, and prints a progress line per
seed. When they end it writes ``summary.csv`` (a row per seed: exit status, final and best greedy
evaluation, env steps and seconds, and to the threshold), ``summary.md`` (that table and the final
evaluation's mean, median and IQM with 95% stratified bootstrap intervals, joyrl/statistics.py) and
``curves.png`` (the evaluations against env steps: the IQM across seeds with its 95% band, the seeds
faint behind). Ctrl-C or SIGTERM stop every seed the way they stop one run (each keeps its checkpoint
and results) and the summary covers what finished; a seed that fails is reported, the others go on.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from logging import Logger
from pathlib import Path
from typing import IO, Any

import numpy as np

from joyrl import paths
from joyrl import statistics as st
from joyrl.config import tasks_dir_path
from joyrl.envs import env_display_name
from joyrl.errors import ConfigError
from joyrl.interrupts import signal_handlers
from joyrl.logs import CSVRecorder, get_logger, read_csv_rows
from joyrl.plots import evaluation_curve, plot_seed_curves

PROGRESS_EVERY_S = 15.0  # a progress line per running seed at most this often
SUMMARY_COLUMNS = [
    "seed",
    "status",
    "final_eval",
    "best_eval",
    "env_steps",
    "seconds",
    "steps_to_threshold",
    "seconds_to_threshold",
]


def parse_seeds(texts: list[str]) -> list[int]:
    """``--seeds`` as integers: one clear ConfigError for an empty list, a non-integer or a repeated seed."""
    if not texts:
        raise ConfigError("--seeds needs at least one seed, e.g. --seeds 1 2 3 4 5")
    seeds = []
    for text in texts:
        try:
            seed = int(text)
        except ValueError:
            raise ConfigError(f"--seeds: {text!r} is not an integer; give seeds like --seeds 1 2 3") from None
        if seed in seeds:
            raise ConfigError(f"--seeds: {seed} is given twice; each seed runs once")
        seeds.append(seed)
    return seeds


@dataclass
class SeedRun:
    """One seed's process and where it writes."""

    seed: int
    folder: Path  # seed_N/, the tasks_dir of its run
    process: subprocess.Popen | None = None
    log: IO[str] | None = None
    exit_code: int | None = None
    last_report: float = field(default=0.0)

    def run_folder(self) -> Path | None:
        runs = sorted(self.folder.glob("Train_*"))
        return runs[-1] if runs else None

    def rows(self, name: str) -> list[dict[str, str]]:
        run = self.run_folder()
        path = None if run is None else run / "results" / name
        return read_csv_rows(path) if path is not None and path.is_file() else []


class Sweep:
    """Runs the seeds, ``jobs`` at a time, then writes the summary, the table and the figure."""

    def __init__(self, argv: list[str], cfg: Any, seeds: list[int], jobs: int, threshold: float | None) -> None:
        self.argv = argv  # the command line without the sweep's own flags
        self.cfg = cfg
        self.threshold = threshold
        self.jobs = jobs
        tasks_dir = tasks_dir_path(cfg.tasks_dir)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"Sweep_{env_display_name(cfg.id)}_{cfg.algo_name}_{stamp}"
        self.folder, suffix = tasks_dir / name, 1
        while self.folder.exists():
            suffix += 1
            self.folder = tasks_dir / f"{name}_{suffix}"
        self.seeds = [SeedRun(seed, self.folder / f"seed_{seed}") for seed in seeds]
        self.stop_signal = 0
        self.logger: Logger | None = None

    def run(self) -> int:
        """Every seed to its end (or a stop); the summary; the exit code (0, 1 when a seed failed, 128 + signal)."""
        self.folder.mkdir(parents=True)
        logger = self.logger = get_logger(self.folder / "sweep.log")
        budget = f"{self.cfg.max_env_steps:,} env steps" if self.cfg.max_env_steps > 0 else f"{self.cfg.max_episode} episodes"
        seeds = " ".join(str(run.seed) for run in self.seeds)
        logger.info(f"sweep {self.cfg.algo_name} on {self.cfg.id} | seeds {seeds} | {self.jobs} at a time | {budget} each")
        logger.info(f"sweep folder {self.folder}")
        waiting = list(self.seeds)
        running: list[SeedRun] = []
        with signal_handlers(self.request_stop):
            while waiting or running:
                while waiting and len(running) < self.jobs and not self.stop_signal:
                    running.append(self.start(waiting.pop(0)))
                if self.stop_signal and waiting:
                    for run in waiting:
                        logger.info(f"seed {run.seed}: not started (stopped)")
                    waiting.clear()
                time.sleep(0.2)
                for run in list(running):
                    if run.process is not None and run.process.poll() is not None:
                        self.finished(run)
                        running.remove(run)
                    else:
                        self.report(run)
        self.summarise()
        if self.stop_signal:
            return 128 + self.stop_signal
        return 1 if any(run.exit_code not in (0, None) for run in self.seeds) else 0

    def request_stop(self, signum: int, _frame: Any) -> None:
        """Ctrl-C or SIGTERM: pass it to every running seed (each saves and stops as a single run does)."""
        assert self.logger is not None
        self.stop_signal = signum
        self.logger.info(f"{signal.Signals(signum).name}: stopping every seed (each keeps its checkpoint and results)")
        for run in self.seeds:
            if run.process is not None and run.process.poll() is None:
                run.process.send_signal(signum)

    def start(self, run: SeedRun) -> SeedRun:
        run.folder.mkdir(parents=True)
        command = [sys.executable, str(paths.ROOT / "main.py"), *self.argv]
        command += ["--seed", str(run.seed), f"general_cfg.tasks_dir={run.folder}"]
        run.log = open(run.folder / "output.txt", "w", encoding="utf-8")  # noqa: SIM115  (closed when it ends)
        # its own session: the terminal's Ctrl-C reaches the sweep, which passes it on once
        run.process = subprocess.Popen(command, stdout=run.log, stderr=subprocess.STDOUT, start_new_session=True)
        run.last_report = time.monotonic()
        assert self.logger is not None
        self.logger.info(f"seed {run.seed}: started")
        return run

    def report(self, run: SeedRun) -> None:
        """A progress line for a running seed, every PROGRESS_EVERY_S seconds."""
        if time.monotonic() - run.last_report < PROGRESS_EVERY_S:
            return
        run.last_report = time.monotonic()
        rows, evals = run.rows("res.csv"), run.rows("eval.csv")
        assert self.logger is not None
        if not rows:
            self.logger.info(f"seed {run.seed}: starting")
            return
        steps = int(rows[-1]["env_steps"])
        total = f"/{self.cfg.max_env_steps:,}" if self.cfg.max_env_steps > 0 else ""
        evaluation = f" | eval {float(evals[-1]['eval_mean']):.2f}" if evals else ""
        self.logger.info(f"seed {run.seed}: step {steps:,}{total} | episode {rows[-1]['episode']}{evaluation}")

    def finished(self, run: SeedRun) -> None:
        assert run.process is not None and run.log is not None and self.logger is not None
        run.exit_code = run.process.returncode
        run.log.close()
        evals = run.rows("eval.csv")
        result = f", final eval {float(evals[-1]['eval_mean']):.2f}" if evals else ""
        if run.exit_code == 0:
            self.logger.info(f"seed {run.seed}: finished{result}")
        elif run.exit_code in (130, 143):
            self.logger.info(f"seed {run.seed}: stopped{result}; resume it from {run.run_folder()}")
        else:
            last = (run.folder / "output.txt").read_text(encoding="utf-8", errors="replace").strip().splitlines()
            why = last[-1] if last else "no output"
            self.logger.error(f"seed {run.seed}: failed (exit {run.exit_code}): {why}; see {run.folder / 'output.txt'}")

    # ------------------------------------------------------------------ the summary

    def seed_row(self, run: SeedRun) -> dict[str, Any]:
        evals, rows = run.rows("eval.csv"), run.rows("res.csv")
        status = {0: "finished", 130: "stopped", 143: "stopped", None: "not started"}.get(run.exit_code, "failed")
        row: dict[str, Any] = {"seed": run.seed, "status": status}
        if evals:
            means = [float(evaluation["eval_mean"]) for evaluation in evals]
            row |= {"final_eval": means[-1], "best_eval": max(means)}
            if self.threshold is not None:
                reached = next((e for e in evals if float(e["eval_mean"]) >= self.threshold), None)
                if reached is not None:
                    row |= {"steps_to_threshold": int(reached["env_steps"]), "seconds_to_threshold": float(reached["seconds"])}
        if rows:
            row |= {"env_steps": int(rows[-1]["env_steps"]), "seconds": float(rows[-1]["seconds"])}
        return row

    def summarise(self) -> None:
        """summary.csv, summary.md and curves.png from what the seeds wrote."""
        assert self.logger is not None
        rows = [self.seed_row(run) for run in self.seeds]
        table = CSVRecorder(self.folder / "summary.csv", SUMMARY_COLUMNS)
        for row in rows:
            table.write(row)
        table.close()
        finals = np.array([row["final_eval"] for row in rows if "final_eval" in row])
        aggregates = aggregate_lines(finals)
        lines = [
            f"# Sweep: {self.cfg.algo_name} on {self.cfg.id}",
            "",
            f"Seeds {' '.join(str(run.seed) for run in self.seeds)}, {self.jobs} at a time; "
            f"each is `python main.py {' '.join(self.argv)} --seed N`.",
            "",
            "| " + " | ".join(SUMMARY_COLUMNS) + " |",
            "|" + "---|" * len(SUMMARY_COLUMNS),
            *("| " + " | ".join(_cell(row.get(key, "")) for key in SUMMARY_COLUMNS) + " |" for row in rows),
            "",
            *aggregates,
            "",
        ]
        (self.folder / "summary.md").write_text("\n".join(lines), encoding="utf-8")
        for line in aggregates[2:]:
            self.logger.info(f"summary: {line.strip('| ').replace(' | ', ': ', 1)}")
        title = f"{self.cfg.algo_name} on {self.cfg.id}, {len(self.seeds)} seeds"
        curves = {self.cfg.algo_name: seed_curves(self.seeds)}
        figure = plot_seed_curves(curves, title, self.threshold, self.folder / "curves.png")
        self.logger.info(f"summary: {self.folder / 'summary.md'}" + (f", figure {figure}" if figure else ""))


def aggregate_lines(finals: np.ndarray) -> list[str]:
    """The final evaluation's mean, median and IQM over the seeds with 95% bootstrap intervals, as a table."""
    if finals.size == 0:
        return ["No seed has an evaluation yet."]
    lines = ["| final greedy evaluation | estimate | 95% CI |", "|---|---|---|"]
    for name, statistic in (("IQM", st.iqm), ("mean", st.mean), ("median", _median_of_runs)):
        low, high = st.bootstrap_ci(statistic, finals)
        lines.append(f"| {name} | {statistic(finals):.2f} | [{low:.2f}, {high:.2f}] |")
    return lines


def _median_of_runs(scores: np.ndarray) -> float:
    return float(np.median(scores))


def seed_curves(seeds: list[SeedRun]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each seed's evaluations: (env steps, or updates offline; greedy evaluation means)."""
    folders = [run.run_folder() for run in seeds]
    return [curve for folder in folders if folder is not None and (curve := evaluation_curve(folder / "results"))]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
