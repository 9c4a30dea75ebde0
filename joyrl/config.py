"""Three config layers merged into one validated object.

Order, later wins: ``config/config.py`` (GeneralConfig), ``algos/<algo>/config.py``
(AlgoConfig), ``envs/<env_name>/config.py`` (EnvConfig), the ``--yaml`` file, the
command line. A config class is a plain class whose annotated attributes are its keys:

    class AlgoConfig:
        lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate

Types are checked from the annotations (``int``, ``float``, ``bool``, ``str``,
``Literal[...]``, ``X | None``, ``list[...]``, ``dict``); ``Annotated`` adds range
constraints (see joyrl/validation.py). A class may define ``check(cfg)`` for rules that
span several keys, raising ``InvalidValue(key, message)`` or ValueError.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from joyrl import paths
from joyrl.envs import check_env_id
from joyrl.errors import ConfigError
from joyrl.validation import InvalidValue, coerce, load_yaml

SECTIONS = ("general_cfg", "algo_cfg", "env_cfg")


class Config(types.SimpleNamespace):
    """The flat view agents and trainers read (``cfg.lr``), keeping the three sections."""

    def __init__(self, sections: dict[str, dict[str, Any]], sources: dict[str, str] | None = None) -> None:
        flat: dict[str, Any] = {}
        for section in SECTIONS:
            flat.update(sections[section])
        super().__init__(**flat)
        self._section_keys = {name: list(values) for name, values in sections.items()}
        self._sources = sources or {}

    def where(self, key: str) -> str:
        """``file: section.key`` (or ``defaults: ...``) naming where a value was set."""
        section = next((name for name, keys in self._section_keys.items() if key in keys), "?")
        return f"{self._sources.get(key, 'defaults')}: {section}.{key}"

    def sections(self) -> dict[str, dict[str, Any]]:
        """The three sections with their current values, as written to config.yaml."""
        return {name: {key: copy.deepcopy(getattr(self, key)) for key in keys} for name, keys in self._section_keys.items()}


# ---------------------------------------------------------------- config classes


def schema(config_class: type) -> dict[str, Any]:
    """The keys of a config class with their annotations, in definition order."""
    hints = typing.get_type_hints(config_class, include_extras=True)  # parents' keys first
    return {name: hint for name, hint in hints.items() if not name.startswith("_")}


def defaults(config_class: type) -> dict[str, Any]:
    return {name: copy.deepcopy(getattr(config_class, name)) for name in schema(config_class)}


def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(close) + "?"
    return "valid keys: " + ", ".join(valid)


def _load_class(package: str, folder: str, class_name: str) -> type:
    module = importlib.import_module(f"{package}.{folder}.config")
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ConfigError(f"{package}/{folder}/config.py defines no {class_name} class") from None


def available(package_dir: Path, required_file: str = "config.py") -> list[str]:
    """Folder names under ``package_dir`` that hold ``required_file``."""
    return sorted(
        child.name
        for child in package_dir.iterdir()
        if child.is_dir() and (child / required_file).exists() and not child.name.startswith("_")
    )


def algo_config_class(algo_name: str) -> type:
    names = available(paths.ALGOS_DIR, "agent.py")
    if algo_name not in names:
        close = difflib.get_close_matches(algo_name, names, n=1, cutoff=0.3)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(f"unknown algorithm {algo_name!r}: {hint}available in algos/: {', '.join(names)}")
    return _load_class("algos", algo_name, "AlgoConfig")


def env_config_class(env_name: str) -> type:
    names = available(paths.ENVS_DIR)
    if env_name not in names:
        raise ConfigError(
            f"unknown env_name {env_name!r}: available in envs/: {', '.join(names)}"
            " ('gym' covers every environment registered with Gymnasium)"
        )
    return _load_class("envs", env_name, "EnvConfig")


# ---------------------------------------------------------------- sources


def read_yaml(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a three-section YAML file; every problem is one ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"YAML file {str(path)!r} not found; give a path such as config/presets/CartPole-v1_DQN.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it ({error})") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML,{where} {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with sections {', '.join(SECTIONS)}")
    for section, content in data.items():
        if section not in SECTIONS:
            close = difflib.get_close_matches(str(section), SECTIONS, n=1)
            hint = f"did you mean {close[0]}?" if close else f"sections are {', '.join(SECTIONS)}"
            raise ConfigError(f"{path}: unknown section {section!r}; {hint}")
        if content is None:
            data[section] = {}
        elif not isinstance(content, dict):
            raise ConfigError(f"{path}: section {section} must be a mapping of key: value")
    return data


def parse_override(text: str) -> tuple[str, str, str]:
    """Split ``section.key=value`` into its parts."""
    target, sep, value = text.partition("=")
    section, dot, key = target.partition(".")
    if not sep or not dot or not key:
        raise ConfigError(f"cannot read override {text!r}; write section.key=value, e.g. algo_cfg.lr=3e-4")
    if section not in SECTIONS:
        close = difflib.get_close_matches(section, SECTIONS, n=1)
        hint = f"did you mean {close[0]}?" if close else f"sections are {', '.join(SECTIONS)}"
        raise ConfigError(f"override {text!r}: unknown section {section!r}; {hint}")
    return section, key.strip(), value


# ---------------------------------------------------------------- merging


@dataclass
class Layer:
    """One source of values: a YAML file, or the command line."""

    name: str
    values: dict[str, dict[str, Any]]
    from_text: bool = False


def resolve(layers: list[Layer]) -> Config:
    """Merge code defaults with ``layers`` (later wins) and validate every value."""
    general_class = _general_config_class()
    algo_name, algo_where = _chosen(layers, general_class, "algo_name")
    env_name, env_where = _chosen(layers, general_class, "env_name")
    classes = {
        "general_cfg": general_class,
        "algo_cfg": _with_where(algo_where, algo_config_class, algo_name),
        "env_cfg": _with_where(env_where, env_config_class, env_name),
    }
    sections: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for section in SECTIONS:
        sections[section] = _merge_section(section, classes, layers, sources)

    owners: dict[str, str] = {}
    for section, values in sections.items():
        for key in values:
            if key in owners:
                raise ConfigError(f"key {key!r} is defined in both {owners[key]} and {section}; rename one of them")
            owners[key] = section

    cfg = Config(sections, sources)
    for section in SECTIONS:
        check = getattr(classes[section], "check", None)
        if check is None:
            continue
        try:
            check(cfg)
        except InvalidValue as error:
            raise ConfigError(f"{cfg.where(error.key)}: {error}") from None
        except ValueError as error:
            raise ConfigError(f"{section}: {error}") from None
    if "id" in sections["env_cfg"]:
        _with_where(cfg.where("id"), check_env_id, cfg.id)
    return cfg


def _chosen(layers: list[Layer], general_class: type, key: str) -> tuple[str, str]:
    """The value of a general_cfg key that picks a config class, and where it was set."""
    value, where = getattr(general_class, key), f"defaults: general_cfg.{key}"
    for layer in layers:
        if key in layer.values.get("general_cfg", {}):
            value, where = layer.values["general_cfg"][key], f"{layer.name}: general_cfg.{key}"
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value, where


def _with_where(where: str, load: Any, name: str) -> type:
    try:
        return load(name)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def _general_config_class() -> type:
    module = importlib.import_module("config.config")
    return module.GeneralConfig


def _merge_section(section: str, classes: dict[str, type], layers: list[Layer], sources: dict[str, str]) -> dict[str, Any]:
    keys = schema(classes[section])
    values = {}
    for key, default in defaults(classes[section]).items():  # defaults are checked too, and get their declared type
        try:
            values[key] = coerce(default, keys[key])
        except ValueError as error:
            raise ConfigError(f"defaults: {section}.{key}: {error}") from None
    for layer in layers:
        for key, raw in layer.values.get(section, {}).items():
            where = f"{layer.name}: {section}.{key}"
            if key not in keys:
                owner = next((other for other, cls in classes.items() if other != section and key in schema(cls)), None)
                hint = f"it belongs in {owner}" if owner else _suggest(str(key), list(keys))
                raise ConfigError(f"{where} is not a known key; {hint}")
            try:
                values[key] = coerce(raw, keys[key], from_text=layer.from_text)
            except ValueError as error:
                raise ConfigError(f"{where}: {error}") from None
            sources[key] = layer.name
    return values


def to_yaml(cfg: Config) -> str:
    """The resolved configuration as a three-section YAML document."""
    return yaml.safe_dump(cfg.sections(), sort_keys=False, default_flow_style=None)
