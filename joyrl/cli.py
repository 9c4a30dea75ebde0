"""The command line: ``python main.py [--yaml FILE] [shorthands] [section.key=value ...]``."""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import gymnasium as gym

from joyrl import paths
from joyrl.compare import compare
from joyrl.config import (
    PRESETS_DIR,
    Config,
    ConfigError,
    Layer,
    available,
    env_config_class,
    loaded_run_layer,
    parse_override,
    read_yaml,
    resolve,
    tasks_dir_path,
)
from joyrl.contracts import BaseAgent, observation_spaces_for
from joyrl.envs import either, project_env_ids
from joyrl.errors import JoyRLError
from joyrl.runner import Run
from joyrl.sweep import Sweep, parse_seeds
from joyrl.tune import Study, as_override, check_space, read_tune_space

# Shorthand flags and the key each one sets.
SHORTHANDS = {
    "algo": ("general_cfg", "algo_name"),
    "env": ("env_cfg", "id"),
    "seed": ("general_cfg", "seed"),
    "mode": ("general_cfg", "mode"),
    "load": ("general_cfg", "load_path"),
}

EPILOG = """examples:
  python main.py                                   DQN on CartPole-v1 (the defaults)
  python main.py --list                            the algorithms, presets and custom envs
  python main.py --yaml config/presets/CliffWalking-v1_QLearning.yaml
  python main.py --mode test --load Train_CartPole-v1_DQN_20261123-101500   a run, with its own config.yaml
  python main.py --algo DQN --env Acrobot-v1 --seed 3 algo_cfg.lr=3e-4 general_cfg.max_env_steps=100000
  python main.py --env mypackage.envs:MyEnv-v0     your own env: importing mypackage.envs registers MyEnv-v0
  python main.py --yaml config/presets/CartPole-v1_DQN.yaml --seeds 1 2 3 4 5 --jobs 2   a sweep, summarised
  python main.py --compare tasks/Sweep_CartPole-v1_DQN_<time> tasks/Sweep_CartPole-v1_PPO_<time>
  python main.py --yaml config/presets/CartPole-v1_DQN_tune.yaml --tune 20    Optuna over its tune_space
"""


# What str.splitlines() breaks on, escaped so that text the user typed cannot split the one error line.
_LINE_BREAKS = {ord(char): repr(char)[1:-1] for char in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage plus error
        raise ConfigError(f"{message}; see python main.py --help")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python main.py",
        description="Train, test, render or collect with a JoyRL algorithm.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--yaml", metavar="FILE", help="a three-section YAML file (general_cfg, algo_cfg, env_cfg)")
    parser.add_argument("--algo", metavar="NAME", help="general_cfg.algo_name: a folder under algos/")
    parser.add_argument("--env", metavar="ID", help="env_cfg.id: a Gymnasium id, or module:EnvId for your own")
    parser.add_argument("--seed", metavar="N", help="general_cfg.seed (0 = unseeded)")
    parser.add_argument("--mode", metavar="MODE", help="general_cfg.mode: train, test, render or collect")
    parser.add_argument(
        "--load", metavar="PATH", help="general_cfg.load_path: a run folder or checkpoint; a run's own config.yaml is used"
    )
    parser.add_argument("--list", action="store_true", help="list the algorithms, presets and custom envs, and exit")
    parser.add_argument(
        "--readme", action="store_true", help="with --list: write the algorithms' spaces table into README.md, and exit"
    )
    parser.add_argument(
        "--seeds",
        nargs="*",
        metavar="N",
        help="train once per seed, in parallel processes (a sweep); with --tune: each trial's seeds",
    )
    parser.add_argument("--compare", nargs="*", metavar="FOLDER", help="runs or sweeps on one env: one figure and table")
    parser.add_argument("--tune", metavar="N", help="N Optuna trials over the --yaml file's tune_space")
    parser.add_argument("--study", metavar="FOLDER", help="with --tune: add the trials to this Tune_ folder's study")
    parser.add_argument("--jobs", metavar="N", help="a sweep's seeds, or a study's trials, trained at once (default 1)")
    parser.add_argument("--threshold", metavar="X", help="a sweep's solved level: env steps and seconds to reach it")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value", help="any key, e.g. algo_cfg.lr=3e-4")
    return parser


def config_from_args(argv: list[str]) -> Config:
    """Parse ``argv`` and return the merged, validated configuration."""
    return _config(build_parser().parse_intermixed_args(argv))


def _config(args: argparse.Namespace) -> Config:
    """Layers, later wins: the --yaml file, the loaded run's config.yaml (``--load``), the command line."""
    layers = []
    if args.yaml is not None:  # --yaml "" is a missing file, not no file
        layers.append(Layer(args.yaml, read_yaml(args.yaml)))
    command_line: dict[str, dict[str, str]] = {}
    for flag, (section, key) in SHORTHANDS.items():
        value = getattr(args, flag)
        if value is not None:
            command_line.setdefault(section, {})[key] = value
    for text in args.overrides:
        section, key, value = parse_override(text)
        command_line.setdefault(section, {})[key] = value
    layers.append(Layer("command line", command_line, from_text=True))
    run_layer = loaded_run_layer(layers)
    if run_layer is not None:
        layers.insert(len(layers) - 1, run_layer)
    return resolve(layers)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input, 130/143 interrupted)."""
    try:
        args = build_parser().parse_intermixed_args(sys.argv[1:] if argv is None else argv)
        if args.list or args.compare is not None or args.tune is not None or args.seeds is not None:
            gc.enable()  # main.py keeps collection off only for a single run's start-up (joyrl/runtime.py)
        if args.readme and not args.list:
            raise ConfigError("--readme goes with --list: python main.py --list --readme")
        if args.list:
            return _list(args)
        if args.compare is not None:
            return _compare(args)
        if args.tune is not None:
            return _tune(args)
        if args.seeds is not None:
            return _sweep(args)
        for flag in ("jobs", "threshold", "study"):
            if getattr(args, flag) is not None:
                raise ConfigError(f"--{flag} belongs to a sweep: add --seeds, e.g. --seeds 1 2 3 --{flag} ...")
        cfg = _config(args)
        run = Run(cfg)
        run.prepare()
        run.create_folder()
    except JoyRLError as error:
        return _report(error)
    except KeyboardInterrupt:
        return 130
    try:
        return run.execute()
    except JoyRLError as error:
        return _report(error)


def _compare(args: argparse.Namespace) -> int:
    """``--compare``: the comparison folder of runs and sweeps (joyrl/compare.py), under ``general_cfg.tasks_dir``."""
    texts = [text for text in args.compare if "=" not in text]
    overrides = [parse_override(text) for text in [*args.overrides, *(t for t in args.compare if "=" in t)]]
    tasks_dir = next((value for section, key, value in overrides if (section, key) == ("general_cfg", "tasks_dir")), None)
    others = [f"--{flag}" for flag in (*SHORTHANDS, "yaml", "seeds") if getattr(args, flag) is not None]
    others += [f"{section}.{key}" for section, key, _ in overrides if (section, key) != ("general_cfg", "tasks_dir")]
    if others:
        raise ConfigError(f"--compare reads finished folders and takes no {' '.join(others)}; give only the folders")
    folder = compare(texts, tasks_dir_path(tasks_dir))
    sys.stdout.write((folder / "compare.md").read_text(encoding="utf-8"))
    sys.stdout.write(f"\ncomparison: {folder / 'compare.md'}, figure {folder / 'compare.png'}\n")
    return 0


def _tune(args: argparse.Namespace) -> int:
    """``--tune N``: an Optuna study over the YAML's tune_space (joyrl/tune.py), every entry checked first."""
    try:
        n_trials = int(args.tune)
        jobs = int(args.jobs or 1)
    except ValueError:
        raise ConfigError(f"--tune {args.tune} / --jobs {args.jobs}: give whole numbers, e.g. --tune 20 --jobs 2") from None
    if n_trials < 1 or jobs < 1:
        raise ConfigError(f"--tune {n_trials} --jobs {jobs}: at least 1 trial, and 1 process to run them")
    if args.threshold is not None:
        raise ConfigError("--threshold belongs to a sweep; a study scores each trial by its final evaluations")
    folder = None
    if args.study is not None:
        folder = Path(args.study).expanduser()
        if not (folder / "study.db").is_file():
            raise ConfigError(f"--study {args.study}: no study.db there; give a Tune_ folder made by --tune")
    cfg, space, make_config, seeds = _tune_parts(args)
    study = Study(cfg, space, make_config, folder, seeds)
    if jobs == 1:
        return study.optimize(n_trials)
    args.study = str(study.folder)  # the workers join this study
    return study.optimize_in_processes(n_trials, jobs, functools.partial(_tune_worker, args))


def _tune_parts(args: argparse.Namespace) -> tuple[Config, dict[str, Any], Callable[[list[str]], Config], list[int] | None]:
    """The configuration, its checked search space, a maker of configurations with more overrides, the trials' seeds."""
    seeds = _seeds(args) if args.seeds is not None else None  # each trial trains these seeds, one after the other
    cfg = _config(args)
    space = read_tune_space(args.yaml)
    if cfg.mode != "train" or not cfg.online_eval:
        raise ConfigError("--tune scores each trial by its online evaluations: mode train with online_eval: true")

    def make_config(extra: list[str]) -> Config:
        return _config(argparse.Namespace(**{**vars(args), "overrides": [*args.overrides, *extra]}))

    check_space(space, cfg, lambda values: make_config([as_override(name, value) for name, value in values.items()]))
    if importlib.util.find_spec("optuna") is None:
        raise ConfigError("--tune needs Optuna: pip install -r requirements-tune.txt")
    return cfg, space, make_config, seeds


def _tune_worker(args: argparse.Namespace, folder: str, n_trials: int, worker: int) -> None:
    """One process of ``--tune N --jobs J``: its share of the trials of the study in ``folder``."""
    os.setsid()  # its own session: the terminal's Ctrl-C reaches the parent, which passes it on once
    output = os.open(Path(folder) / f"worker_{worker}.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(output, sys.stdout.fileno())
    os.dup2(output, sys.stderr.fileno())
    cfg, space, make_config, seeds = _tune_parts(args)
    study = Study(cfg, space, make_config, Path(folder), seeds, worker)
    sys.exit(study.optimize(n_trials, write_outputs=False))


def _seeds(args: argparse.Namespace) -> list[int]:
    """``--seeds`` as integers; ``--seeds 1 2 algo_cfg.lr=3e-4``: argparse hands the override to --seeds, it goes back."""
    args.overrides += [text for text in args.seeds if "=" in text]
    args.seeds = [text for text in args.seeds if "=" not in text]
    return parse_seeds(args.seeds)


def _sweep(args: argparse.Namespace) -> int:
    """``--seeds``: the configuration checked for every seed, then trained once per seed (joyrl/sweep.py)."""
    seeds = _seeds(args)
    if args.seed is not None:
        raise ConfigError(f"--seed {args.seed} and --seeds: a sweep sets each run's seed; drop --seed")
    try:
        jobs = int(args.jobs or 1)
        threshold = None if args.threshold is None else float(args.threshold)
    except ValueError:
        raise ConfigError(f"--jobs {args.jobs} / --threshold {args.threshold}: give a whole number and a number") from None
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: at least 1 seed must train at a time")
    configs = [_config(argparse.Namespace(**{**vars(args), "seed": str(seed)})) for seed in seeds]
    if configs[0].mode != "train":
        raise ConfigError(f"--seeds trains once per seed; mode {configs[0].mode} plays one run: drop --seeds")
    argv = [
        item
        for flag in ("yaml", "algo", "env", "mode", "load")
        if getattr(args, flag) is not None
        for item in (f"--{flag}", getattr(args, flag))
    ]
    return Sweep([*argv, *args.overrides], configs[0], seeds, jobs, threshold).run()


def _list(args: argparse.Namespace) -> int:
    """``--list``: the algorithms, the presets and the project's env ids, on stdout."""
    given = [f"--{flag}" for flag in (*SHORTHANDS, "yaml") if getattr(args, flag) is not None] + args.overrides
    if given:
        raise ConfigError(f"--list takes no other arguments (got {' '.join(given)}); run python main.py --list")
    if args.readme:
        write_spaces_table(paths.ROOT / "README.md")
        sys.stdout.write("README.md: the algorithms' spaces table written from their declarations\n")
        return 0
    env_rows = [(env_id, *_time_limit_and_entry_point(env_id)) for env_id in project_env_ids()]
    sections = [
        _table(
            "Algorithms (algos/; --algo NAME)",
            ("name", "observation spaces", "action spaces", "action masks", "ray workers"),
            algorithm_spaces(),
        ),
        _table("Presets (config/presets/; --yaml FILE)", ("file", "algorithm", "env id"), preset_runs()),
        _table("Custom envs (envs/; --env ID)", ("id", "time limit", "entry point"), env_rows),
    ]
    sys.stdout.write("\n".join(sections))
    return 0


def algorithm_spaces() -> list[tuple[str, ...]]:
    """(name, observation spaces, action spaces, action masks, ray workers) of each algorithm: its Agent's declared
    ``supported_*_spaces`` ('any' for a plain class; an observation kind that some action kinds refuse is followed by
    the action kinds that take it), ``masks_actions`` and ``ray_workers``."""
    rows: list[tuple[str, ...]] = []
    for name in available(paths.ALGOS_DIR, "agent.py"):
        try:
            agent = importlib.import_module(f"algos.{name}.agent").Agent
        except Exception as error:  # noqa: BLE001  (a broken folder is listed, not fatal)
            rows.append((name, "?", f"cannot import: {type(error).__name__}: {error}"[:80], "?", "?"))
            continue
        if issubclass(agent, BaseAgent):
            actions = agent.supported_action_spaces
            observations = [
                kind if len(taken := [a for a in actions if kind in observation_spaces_for(agent, a)]) == len(actions)
                else f"{kind} ({either(taken)} actions)"
                for kind in agent.supported_observation_spaces
            ]  # fmt: skip
        else:  # a plain class declares nothing
            actions, observations = ("any",), ["any"]
        masks = "honoured" if getattr(agent, "masks_actions", False) else "-"
        ray_workers = getattr(agent, "ray_workers", None)
        if getattr(agent, "needs_dataset", False) or getattr(agent, "learns_from_demonstrations", False):
            ray_workers = None  # refused on Ray whatever the class it builds on declares (joyrl.ray_setup.ray_kind)
        rows.append((name, ", ".join(observations), ", ".join(actions), masks, ray_workers or "-"))
    return rows


SPACES_START, SPACES_END = "<!-- spaces-table:start -->", "<!-- spaces-table:end -->"


def spaces_table() -> str:
    """The README's table of each algorithm's declared spaces, action masks and Ray workers (``--list --readme``)."""
    header = "| algorithm | observation spaces | action spaces | action masks | ray workers |\n|---|---|---|---|---|\n"
    return header + "".join(f"| {' | '.join(row)} |\n" for row in algorithm_spaces())


def write_spaces_table(readme: Path) -> None:
    """Replace the text between the README's spaces-table markers with ``spaces_table()``."""
    text = readme.read_text(encoding="utf-8")
    if SPACES_START not in text or SPACES_END not in text:
        raise ConfigError(f"{readme} has no {SPACES_START} ... {SPACES_END} markers to write the table between")
    before, rest = text.split(SPACES_START, 1)
    after = rest.split(SPACES_END, 1)[1]
    readme.write_text(f"{before}{SPACES_START}\n{spaces_table()}{SPACES_END}{after}", encoding="utf-8")


def preset_runs() -> list[tuple[str, str, str]]:
    """(file name, algo_name, env id) of each preset in config/presets/."""
    rows, general_defaults = [], importlib.import_module("config.config").GeneralConfig
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        try:
            data = read_yaml(path)
            general = data.get("general_cfg", {})
            env_name = general.get("env_name", general_defaults.env_name)
            env_id = data.get("env_cfg", {}).get("id") or env_config_class(env_name).id
            rows.append((path.name, str(general.get("algo_name", general_defaults.algo_name)), str(env_id)))
        except (ConfigError, AttributeError, ImportError) as error:
            rows.append((path.name, "?", str(error)[:80]))
    return rows


def _time_limit_and_entry_point(env_id: str) -> tuple[str, str]:
    spec = gym.registry[env_id]
    limit = "none" if spec.max_episode_steps is None else str(spec.max_episode_steps)
    return limit, str(spec.entry_point)


def _table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    """``title:`` over an aligned plain-text table of ``header`` and ``rows``."""
    lines = [header, *rows]
    widths = [max(len(str(line[column])) for line in lines) for column in range(len(header))]
    text = ["  " + "  ".join(f"{str(cell):<{width}}" for cell, width in zip(line, widths, strict=True)) for line in lines]
    return "\n".join([f"{title}:", *(line.rstrip() for line in text)]) + "\n"


def _report(error: JoyRLError) -> int:
    """Write ``error`` as one line on stderr; the exit code for bad input."""
    sys.stderr.write(f"error: {str(error).translate(_LINE_BREAKS)}\n")
    return 2
