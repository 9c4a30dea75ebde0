"""Tuning: ``python main.py --yaml X --tune N`` searches the YAML's ``tune_space`` with Optuna.

The search space is a section of the YAML file, one entry per key (RL Zoo's samplers are the model)::

    tune_space:
      algo_cfg.lr: {low: 1.0e-4, high: 1.0e-2, log: true}     # a float key: a (log-)uniform float
      algo_cfg.target_update: {low: 100, high: 1000, step: 100} # an int key: an integer
      algo_cfg.batch_size: {choices: [32, 64, 128]}             # any key: one of these values

Every entry is checked before the first trial: the key must exist, a range must fit the key's type,
and its ends and every choice must be values the key accepts. Each trial trains the configuration with
the sampled values once per seed (``--seeds``, else ``general_cfg.seed``), one after the other, in
``trials/trial_N/``, and is scored by the mean over the seeds of their greedy evaluations in the
budget's last fifth (``seed_score``); the first trial of a new study is the configuration's own
values. A TPE sampler (seeded by ``general_cfg.seed``) proposes the values and a median pruner stops
a trial whose online evaluations fall below the median of earlier trials at the same share of the
budget, from a third of it on (TrialPruning). The study lives in ``study.db``
(SQLite) in ``tasks/Tune_<Env>_<Algo>_<time>/``, so ``--tune N --study FOLDER`` adds N trials to it.
At the end (or Ctrl-C) the folder gets ``trials.csv``, ``best.yaml`` (the best trial's configuration,
a preset ready for ``--yaml``) and ``importance.png`` (each key's importance, by Optuna's PED-ANOVA).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from logging import Logger
from pathlib import Path
from typing import Any

import numpy as np

from joyrl.config import SECTIONS, TUNE_SECTION, Config, load_yaml, tasks_dir_path
from joyrl.counters import Counters
from joyrl.envs import env_display_name
from joyrl.episodes import Listener
from joyrl.errors import ConfigError, JoyRLError
from joyrl.interrupts import signal_handlers
from joyrl.logs import CSVRecorder, get_logger, read_csv_rows
from joyrl.runner import Run

SPEC_FIELDS = {"low", "high", "log", "step", "choices"}


def read_tune_space(path: str | None) -> dict[str, dict[str, Any]]:
    """The ``tune_space`` section of the ``--yaml`` file, as written; one line when there is none."""
    if path is None:
        raise ConfigError("--tune needs --yaml FILE with a tune_space section (see python main.py --help)")
    data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    space = data.get(TUNE_SECTION) if isinstance(data, dict) else None
    if not isinstance(space, dict) or not space:
        raise ConfigError(
            f"{path}: --tune needs a {TUNE_SECTION} section, e.g. {TUNE_SECTION}: {{algo_cfg.lr: {{low: 1.0e-4, high: 1.0e-2, log: true}}}}"
        )
    return space


def check_space(space: dict[str, Any], cfg: Config, with_values: Callable[[dict[str, Any]], Config]) -> None:
    """Each entry: a known ``section.key``, a well-formed range or choices that fit the key, values it accepts."""
    sections = cfg.sections()
    for name, spec in space.items():
        section, _, key = str(name).partition(".")
        where = f"{TUNE_SECTION}.{name}"
        if section not in SECTIONS or key not in sections[section]:
            raise ConfigError(f"{where}: not a key of this configuration; write section.key, e.g. algo_cfg.lr")
        if not isinstance(spec, dict) or not spec or set(spec) - SPEC_FIELDS:
            raise ConfigError(f"{where}: give {{low: .., high: ..}} (with log or step) or {{choices: [..]}}")
        default = sections[section][key]
        if "choices" in spec:
            if set(spec) != {"choices"} or not isinstance(spec["choices"], list) or not spec["choices"]:
                raise ConfigError(f"{where}: choices must be a non-empty list, and alone")
            values = spec["choices"]
        else:
            numeric = isinstance(default, int | float) and not isinstance(default, bool)
            low, high = spec.get("low"), spec.get("high")
            if not numeric:
                raise ConfigError(f"{where}: {name} is not a number ({default!r}); give choices: [..]")
            kind = int if isinstance(default, int) else float
            ends_fit = all(
                isinstance(end, int if kind is int else int | float) and not isinstance(end, bool) for end in (low, high)
            )
            if not ends_fit or not low < high:  # type: ignore[operator]
                raise ConfigError(f"{where}: low and high must be {kind.__name__}s with low < high (got {low!r}, {high!r})")
            if spec.get("log") and low <= 0:  # type: ignore[operator]
                raise ConfigError(f"{where}: a log range needs low > 0")
            values = [low, high]
        for value in values:
            try:
                with_values({name: value})
            except ConfigError as error:
                raise ConfigError(f"{where}: the value {value!r} is refused: {error}") from None


def suggest(trial: Any, name: str, spec: dict[str, Any], default: Any) -> Any:
    if "choices" in spec:
        index = trial.suggest_categorical(name, list(range(len(spec["choices"]))))  # indices: any value can be a choice
        return spec["choices"][index]
    if isinstance(default, int):
        return trial.suggest_int(name, spec["low"], spec["high"], step=spec.get("step", 1), log=bool(spec.get("log")))
    return trial.suggest_float(name, spec["low"], spec["high"], step=spec.get("step"), log=bool(spec.get("log")))


def as_override(name: str, value: Any) -> str:
    """``section.key=value`` with the value in YAML (JSON is YAML), as the command line takes it."""
    return f"{name}={json.dumps(value)}"


CHECKPOINTS = 20  # the pruner compares trials at this many points of each seed's budget
WARMUP = CHECKPOINTS // 3  # ... from this one on: early returns say little of where a run ends (RL Zoo: a third)
LATE_SHARE = 0.2  # a seed's score: the mean of its evaluations in this last share of the budget


def budget_counter(cfg: Config) -> tuple[str, int]:
    """What a run's budget counts, as eval.csv's column, and how many: env steps, or episodes when only those are set."""
    return ("env_steps", cfg.max_env_steps) if cfg.max_env_steps > 0 else ("episode", cfg.max_episode)


def seed_score(evals: list[dict[str, str]], cfg: Config) -> float:
    """The mean of the evaluations made in the budget's last LATE_SHARE (the last one when none was).

    One final evaluation of 10 episodes is noisy on CartPole: a policy at 500 can fall to 150 by the
    next one. The last fifth's mean rewards a run that got there and stayed.
    """
    counter, budget = budget_counter(cfg)
    late = [float(row["eval_mean"]) for row in evals if float(row[counter]) >= (1 - LATE_SHARE) * budget]
    return float(np.mean(late)) if late else float(evals[-1]["eval_mean"])


class TrialPruning(Listener):
    """Reports a run's online evaluations to its trial at points all trials share; stops the run when the pruner says so.

    Evaluations come every few episodes, so two trials rarely evaluate at the same env step, and
    Optuna's median pruner compares trials only at equal steps. The budget (``max_env_steps``, or
    ``max_episode`` when that is the one set) is cut into CHECKPOINTS equal parts and the first
    evaluation in each part is reported at that part's number, after the parts of the trial's earlier
    seeds: the pruner compares seed k of a trial with seed k of the others, at the same share of the budget.
    The first WARMUP parts of every seed are not reported: no trial is stopped on its first third.
    """

    def __init__(self, trial: Any, cfg: Config, seed_index: int = 0) -> None:
        self.trial = trial
        self.counter, self.budget = budget_counter(cfg)
        self.offset = seed_index * (CHECKPOINTS + 1)
        self.last_part = -1
        self.pruned = False

    def on_evaluation(self, counters: Counters, scores: dict[str, float]) -> None:
        part = min(getattr(counters, self.counter) * CHECKPOINTS // self.budget, CHECKPOINTS)
        if part < WARMUP or part <= self.last_part:  # too early, or this part was reported already
            return
        self.last_part = part
        self.trial.report(scores["eval_mean"], self.offset + part)
        if self.trial.should_prune():
            self.pruned = self.wants_stop = True


class Study:
    """The study folder, its Optuna study, and a trial per call of ``objective``.

    A trial trains the configuration with the sampled values once per seed of ``seeds``, one after the
    other, and is scored by the mean over the seeds of ``seed_score``. A new study's first trial
    is the configuration's own values (where they lie in the space), so the best is never a step back
    from the start on the study's own score. Trials that tie on the score are told apart by the mean of
    all their evaluations (the one that learned sooner wins).
    """

    def __init__(
        self,
        cfg: Config,
        space: dict[str, Any],
        make_config: Callable[[list[str]], Config],
        folder: Path | None,
        seeds: list[int] | None = None,
        worker: int = 0,
    ):
        import optuna

        self.optuna = optuna
        self.cfg, self.space, self.make_config = cfg, space, make_config
        self.seeds = seeds or [cfg.seed]
        if folder is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            folder = tasks_dir_path(cfg.tasks_dir) / f"Tune_{env_display_name(cfg.id)}_{cfg.algo_name}_{stamp}"
        self.folder = folder
        (folder / "trials").mkdir(parents=True, exist_ok=True)
        self.logger: Logger = get_logger(folder / "tune.log")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = optuna.storages.RDBStorage(  # a long lock timeout: --jobs processes write to one file
            f"sqlite:///{folder / 'study.db'}", engine_kwargs={"connect_args": {"timeout": 60}}
        )
        self.study = optuna.create_study(
            study_name="joyrl",
            storage=storage,
            load_if_exists=True,
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=cfg.seed + worker if cfg.seed else None),  # workers propose apart
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
        )
        self.check_seeds()
        if not self.study.trials:
            self.enqueue_own_values()
        self.interrupted = 0

    def check_seeds(self) -> None:
        """A study keeps the seeds it started with: its trials' scores compare only over the same seeds."""
        kept = self.study.user_attrs.get("seeds")
        if kept is None:
            self.study.set_user_attr("seeds", self.seeds)
        elif kept != self.seeds:
            seeds = " ".join(map(str, kept))
            raise ConfigError(f"--study {self.folder}: its trials ran seeds {seeds}; continue it with --seeds {seeds}")

    def enqueue_own_values(self) -> None:
        sections = self.cfg.sections()
        params = {}
        for name, spec in self.space.items():
            section, _, key = name.partition(".")
            value = sections[section][key]
            if "choices" in spec:
                if value not in spec["choices"]:
                    self.logger.info(f"trial 0 is sampled: the configuration's {name} ({value!r}) is not among the choices")
                    return
                params[name] = spec["choices"].index(value)
            elif not spec["low"] <= value <= spec["high"]:
                self.logger.info(f"trial 0 is sampled: the configuration's {name} ({value!r}) is outside [low, high]")
                return
            else:
                params[name] = value
        self.study.enqueue_trial(params, user_attrs={"own_values": True})

    def objective(self, trial: Any) -> float:
        sections = self.cfg.sections()
        values = {}
        for name, spec in self.space.items():
            section, _, key = name.partition(".")
            values[name] = suggest(trial, name, spec, sections[section][key])
        shown = ", ".join(f"{name}={value}" for name, value in values.items())
        own = " (the configuration's own values)" if trial.user_attrs.get("own_values") else ""
        self.logger.info(f"trial {trial.number}{own}: {shown}")
        overrides = [as_override(name, value) for name, value in values.items()]
        scores: list[float] = []
        finals: list[float] = []
        means: list[float] = []
        folders: list[str] = []
        for index, seed in enumerate(self.seeds):
            folder = self.folder / "trials" / f"trial_{trial.number}"
            cfg = self.make_config([*overrides, f"general_cfg.seed={seed}", f"general_cfg.tasks_dir={folder}"])
            evals = self.train(trial, cfg, index, folders)
            scores.append(seed_score(evals, cfg))
            finals.append(float(evals[-1]["eval_mean"]))
            means.append(float(np.mean([float(row["eval_mean"]) for row in evals])))
        value, mean_eval = float(np.mean(scores)), float(np.mean(means))
        trial.set_user_attr("seed_scores", scores)
        trial.set_user_attr("finals", finals)
        trial.set_user_attr("mean_eval", mean_eval)
        per_seed = ", ".join(f"seed {seed} {score:.2f}" for seed, score in zip(self.seeds, scores, strict=True))
        self.logger.info(
            f"trial {trial.number}: score {value:.2f} ({per_seed}; last evaluations "
            f"{' '.join(f'{final:g}' for final in finals)}); mean of all evaluations {mean_eval:.2f}"
        )
        return value

    def train(self, trial: Any, cfg: Config, seed_index: int, folders: list[str]) -> list[dict[str, str]]:
        """One seed of a trial (its run folder joins ``folders``): the rows of its eval.csv."""
        run = Run(cfg)
        run.prepare()
        run.create_folder()
        folders.append(str(run.folder))
        trial.set_user_attr("run_folders", folders)
        pruning = TrialPruning(trial, cfg, seed_index)
        run.extra_listeners = [pruning]
        self.logger.info(f"trial {trial.number}, seed {cfg.seed}: {run.folder.relative_to(self.folder)}")
        code = run.execute()
        self.logger = get_logger(self.folder / "tune.log")  # the run had the logger; the study's file is appended to again
        eval_csv = run.folder / "results" / "eval.csv"
        evals = read_csv_rows(eval_csv) if eval_csv.is_file() else []
        if code in (130, 143):
            self.interrupted = code
            self.study.stop()
            raise self.optuna.TrialPruned("interrupted")
        if pruning.pruned:
            self.logger.info(f"trial {trial.number}: pruned at seed {cfg.seed}, env step {run.counters.env_steps:,}")
            raise self.optuna.TrialPruned()
        if code != 0 or not evals:
            raise JoyRLError(f"trial {trial.number} failed (exit {code}); see {run.folder / 'logs' / 'log.txt'}")
        return evals

    def best_trial(self, complete: list[Any]) -> Any:
        """The highest score; among equal scores, the highest mean of all evaluations, then the earliest."""
        return max(complete, key=lambda trial: (trial.value, trial.user_attrs.get("mean_eval", -math.inf), -trial.number))

    def optimize(self, n_trials: int, write_outputs: bool = True) -> int:
        """``n_trials`` trials in this process; the outputs (unless a worker of ``optimize_in_processes``); the exit code."""
        try:
            self.study.optimize(self.objective, n_trials=n_trials, catch=(JoyRLError,))
        except KeyboardInterrupt:
            self.interrupted = 130
        if write_outputs:
            self.write_outputs()
        return self.interrupted

    def optimize_in_processes(self, n_trials: int, jobs: int, worker: Callable[[str, int, int], None]) -> int:
        """``n_trials`` shared by ``jobs`` processes, each ``worker(folder, its trials, its number)`` on this study.

        Each worker has its own session and writes its runs' output to ``worker_N.txt``; the study's
        lines (tune.log) are echoed here as they come. Ctrl-C or SIGTERM is passed on to every worker,
        whose running trial stops as one run does. The outputs are written when all have ended.
        """
        context = multiprocessing.get_context("spawn")
        shares = [n_trials // jobs + (index < n_trials % jobs) for index in range(jobs)]
        processes = [
            context.Process(target=worker, args=(str(self.folder), share, index)) for index, share in enumerate(shares) if share
        ]
        self.logger.info(f"{n_trials} trials in {len(processes)} processes; each one's runs print to {self.folder}/worker_N.txt")
        stop_signal = 0

        def pass_on(signum: int, _frame: Any) -> None:
            nonlocal stop_signal
            stop_signal = signum
            self.logger.info(f"{signal.Signals(signum).name}: stopping every worker's trial (each run keeps its checkpoint)")
            for process in processes:
                if process.pid is not None and process.is_alive():
                    os.kill(process.pid, signum)

        with open(self.folder / "tune.log", encoding="utf-8") as study_lines, signal_handlers(pass_on):
            study_lines.seek(0, os.SEEK_END)
            for process in processes:
                process.start()
            while any(process.is_alive() for process in processes):
                time.sleep(0.5)
                sys.stdout.write(study_lines.read())
                sys.stdout.flush()
            for process in processes:
                process.join()
            sys.stdout.write(study_lines.read())
        self.logger = get_logger(self.folder / "tune.log")
        self.write_outputs()
        if stop_signal:
            return 128 + stop_signal
        codes = [process.exitcode or 0 for process in processes]
        return next((code for code in codes if code), 0)

    def write_outputs(self) -> None:
        """trials.csv, best.yaml (the best trial's configuration) and importance.png."""
        trials = self.study.trials
        self.write_trials_csv(trials)
        complete = [
            trial for trial in trials if trial.state.name == "COMPLETE" and trial.value is not None and math.isfinite(trial.value)
        ]
        if not complete:
            self.logger.info(f"no trial completed; {self.folder}")
            return
        best = self.best_trial(complete)
        run_config = load_yaml((Path(best.user_attrs["run_folders"][0]) / "config.yaml").read_text(encoding="utf-8"))
        run_config["general_cfg"].pop("tasks_dir", None)
        run_config["general_cfg"]["seed"] = self.cfg.seed
        seeds = " ".join(map(str, self.seeds))
        own = ", the configuration's own values" if best.user_attrs.get("own_values") else ""
        header = (
            f"# Best of {len(complete)} completed trials of {self.folder.name}: trial {best.number}{own}.\n"
            f"# Score over seeds {seeds} (their evaluations in the budget's last {LATE_SHARE:.0%}): {best.value:.2f}; "
            f"mean of all evaluations {best.user_attrs['mean_eval']:.2f}.\n"
        )
        (self.folder / "best.yaml").write_text(header + to_yaml_text(run_config), encoding="utf-8")
        self.logger.info(f"best: trial {best.number}{own}, {best.value:.2f}: {self.folder / 'best.yaml'}")
        if len(complete) >= 2 and len(self.space) >= 1:
            self.plot_importance()

    def write_trials_csv(self, trials: list[Any]) -> None:
        """A row per trial: its state, score, each seed's score and last evaluation, the values, the run folders."""
        fields = ["number", "state", "value", "seed_scores", "finals", "mean_eval", *self.space, "run_folders"]
        table = CSVRecorder(self.folder / "trials.csv", fields)
        for trial in trials:
            attrs = trial.user_attrs
            table.write(
                {
                    "number": trial.number,
                    "state": trial.state.name,
                    "value": trial.value,
                    "seed_scores": " ".join(f"{score:g}" for score in attrs.get("seed_scores", [])),
                    "finals": " ".join(f"{final:g}" for final in attrs.get("finals", [])),
                    "mean_eval": attrs.get("mean_eval", ""),
                    **{name: self.space_value(name, value) for name, value in trial.params.items()},
                    "run_folders": " ".join(attrs.get("run_folders", [])),
                }
            )
        table.close()

    def space_value(self, name: str, value: Any) -> Any:
        spec = self.space.get(name, {})
        return spec["choices"][value] if "choices" in spec else value

    def plot_importance(self) -> None:
        from joyrl.plots import plot_bars

        try:
            with warnings.catch_warnings():  # few trials: "importances will be equal", which the plot shows
                warnings.simplefilter("ignore", UserWarning)
                importances = self.optuna.importance.get_param_importances(self.study)  # PED-ANOVA, Optuna's default
        except (RuntimeError, ValueError) as error:  # e.g. every completed trial had the same values
            self.logger.info(f"no importance plot: {error}")
            return
        path = plot_bars(
            importances, f"{self.cfg.algo_name} on {self.cfg.id}: key importance (PED-ANOVA)", self.folder / "importance.png"
        )
        self.logger.info(f"figure: {path}")


def to_yaml_text(sections: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(sections, sort_keys=False, default_flow_style=None)
