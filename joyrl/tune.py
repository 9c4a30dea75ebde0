"""Tuning: ``python main.py --yaml X --tune N`` searches the YAML's ``tune_space`` with Optuna.

The search space is a section of the YAML file, one entry per key (RL Zoo's samplers are the model)::

    tune_space:
      algo_cfg.lr: {low: 1.0e-4, high: 1.0e-2, log: true}     # a float key: a (log-)uniform float
      algo_cfg.target_update: {low: 100, high: 1000, step: 100} # an int key: an integer
      algo_cfg.batch_size: {choices: [32, 64, 128]}             # any key: one of these values

Every entry is checked before the first trial: the key must exist, a range must fit the key's type,
and its ends and every choice must be values the key accepts. Each trial is the single run with the
sampled values (in ``trials/``), scored by its last greedy evaluation; a TPE sampler (seeded by
``general_cfg.seed``) proposes the values and a median pruner stops a trial whose online evaluations
fall below the median of earlier trials at the same env step. The study lives in ``study.db``
(SQLite) in ``tasks/Tune_<Env>_<Algo>_<time>/``, so ``--tune N --study FOLDER`` adds N trials to it.
At the end (or Ctrl-C) the folder gets ``trials.csv``, ``best.yaml`` (the best trial's configuration,
a preset ready for ``--yaml``) and ``importance.png`` (each key's importance, by Optuna's PED-ANOVA).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from datetime import datetime
from logging import Logger
from pathlib import Path
from typing import Any

from joyrl.config import SECTIONS, TUNE_SECTION, Config, load_yaml, tasks_dir_path
from joyrl.counters import Counters
from joyrl.envs import env_display_name
from joyrl.episodes import Listener
from joyrl.errors import ConfigError, JoyRLError
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


class TrialPruning(Listener):
    """Reports each online evaluation to the trial; stops the run when the pruner says so."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self.pruned = False

    def on_evaluation(self, counters: Counters, scores: dict[str, float]) -> None:
        self.trial.report(scores["eval_mean"], counters.env_steps)
        if self.trial.should_prune():
            self.pruned = self.wants_stop = True


class Study:
    """The study folder, its Optuna study, and a trial per call of ``objective``."""

    def __init__(self, cfg: Config, space: dict[str, Any], make_config: Callable[[list[str]], Config], folder: Path | None):
        import optuna

        self.optuna = optuna
        self.cfg, self.space, self.make_config = cfg, space, make_config
        if folder is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            folder = tasks_dir_path(cfg.tasks_dir) / f"Tune_{env_display_name(cfg.id)}_{cfg.algo_name}_{stamp}"
        self.folder = folder
        (folder / "trials").mkdir(parents=True, exist_ok=True)
        self.logger: Logger = get_logger(folder / "tune.log")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            study_name="joyrl",
            storage=f"sqlite:///{folder / 'study.db'}",
            load_if_exists=True,
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=cfg.seed or None),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
        )
        self.interrupted = 0

    def objective(self, trial: Any) -> float:
        sections = self.cfg.sections()
        values = {}
        for name, spec in self.space.items():
            section, _, key = name.partition(".")
            values[name] = suggest(trial, name, spec, sections[section][key])
        overrides = [as_override(name, value) for name, value in values.items()]
        cfg = self.make_config([*overrides, f"general_cfg.tasks_dir={self.folder / 'trials'}"])
        run = Run(cfg)
        run.prepare()
        run.create_folder()
        pruning = TrialPruning(trial)
        run.extra_listeners = [pruning]
        trial.set_user_attr("run_folder", str(run.folder))
        shown = ", ".join(f"{name}={value}" for name, value in values.items())
        self.logger.info(f"trial {trial.number}: {shown} | {run.folder.name}")
        code = run.execute()
        self.logger = get_logger(self.folder / "tune.log")  # the run had the logger; the study's file is appended to again
        evals = read_csv_rows(run.folder / "results" / "eval.csv") if (run.folder / "results" / "eval.csv").is_file() else []
        if code in (130, 143):
            self.interrupted = code
            self.study.stop()
            raise self.optuna.TrialPruned("interrupted")
        if pruning.pruned:
            self.logger.info(f"trial {trial.number}: pruned at env step {run.counters.env_steps:,}")
            raise self.optuna.TrialPruned()
        if code != 0 or not evals:
            raise JoyRLError(f"trial {trial.number} failed (exit {code}); see {run.folder / 'logs' / 'log.txt'}")
        value = float(evals[-1]["eval_mean"])
        self.logger.info(f"trial {trial.number}: final greedy evaluation {value:.2f}")
        return value

    def optimize(self, n_trials: int) -> int:
        try:
            self.study.optimize(self.objective, n_trials=n_trials, catch=(JoyRLError,))
        except KeyboardInterrupt:
            self.interrupted = 130
        self.write_outputs()
        return self.interrupted

    def write_outputs(self) -> None:
        """trials.csv, best.yaml (the best trial's configuration) and importance.png."""
        trials = self.study.trials
        table = CSVRecorder(self.folder / "trials.csv", ["number", "state", "value", *self.space, "run_folder"])
        for trial in trials:
            params = {name: self.space_value(name, value) for name, value in trial.params.items()}
            table.write(
                {
                    "number": trial.number,
                    "state": trial.state.name,
                    "value": trial.value,
                    **params,
                    "run_folder": trial.user_attrs.get("run_folder", ""),
                }
            )
        table.close()
        complete = [
            trial for trial in trials if trial.state.name == "COMPLETE" and trial.value is not None and math.isfinite(trial.value)
        ]
        if not complete:
            self.logger.info(f"no trial completed; {self.folder}")
            return
        best = self.study.best_trial
        run_config = load_yaml((Path(best.user_attrs["run_folder"]) / "config.yaml").read_text(encoding="utf-8"))
        run_config["general_cfg"].pop("tasks_dir", None)
        header = f"# Best of {len(complete)} completed trials of {self.folder.name}: trial {best.number}, final greedy evaluation {best.value:.2f}\n"
        (self.folder / "best.yaml").write_text(header + to_yaml_text(run_config), encoding="utf-8")
        self.logger.info(f"best: trial {best.number}, {best.value:.2f}: {self.folder / 'best.yaml'}")
        if len(complete) >= 2 and len(self.space) >= 1:
            self.plot_importance()

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
