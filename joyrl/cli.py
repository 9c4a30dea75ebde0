"""The command line: ``python main.py [--yaml FILE] [shorthands] [section.key=value ...]``."""

from __future__ import annotations

import argparse
import sys

from joyrl.config import Config, ConfigError, Layer, parse_override, read_yaml, resolve
from joyrl.errors import JoyRLError
from joyrl.runner import Run

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
  python main.py --yaml config/presets/CliffWalking-v1_QLearning.yaml
  python main.py --yaml config/presets/CartPole-v1_DQN.yaml --mode test --load Train_CartPole-v1_DQN_20261123-101500
  python main.py --algo DQN --env Acrobot-v1 --seed 3 algo_cfg.lr=3e-4 general_cfg.max_env_steps=100000
"""


# What str.splitlines() breaks on, escaped so that text the user typed cannot split the one error line.
_LINE_BREAKS = {ord(char): repr(char)[1:-1] for char in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage plus error
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
    parser.add_argument("--env", metavar="ID", help="env_cfg.id: a Gymnasium environment id")
    parser.add_argument("--seed", metavar="N", help="general_cfg.seed (0 = unseeded)")
    parser.add_argument("--mode", metavar="MODE", help="general_cfg.mode: train, test, render or collect")
    parser.add_argument("--load", metavar="PATH", help="general_cfg.load_path: a run folder or checkpoint")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value", help="any key, e.g. algo_cfg.lr=3e-4")
    return parser


def config_from_args(argv: list[str]) -> Config:
    """Parse ``argv`` and return the merged, validated configuration."""
    args = build_parser().parse_intermixed_args(argv)
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
    return resolve(layers)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input, 130/143 interrupted)."""
    try:
        cfg = config_from_args(sys.argv[1:] if argv is None else argv)
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


def _report(error: JoyRLError) -> int:
    """Write ``error`` as one line on stderr; the exit code for bad input."""
    sys.stderr.write(f"error: {str(error).translate(_LINE_BREAKS)}\n")
    return 2
