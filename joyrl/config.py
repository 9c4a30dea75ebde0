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

import contextlib
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
from joyrl.envs import check_env_id, close_matches
from joyrl.errors import ConfigError
from joyrl.validation import InvalidValue, coerce, load_yaml

SECTIONS = ("general_cfg", "algo_cfg", "env_cfg")
TUNE_SECTION = "tune_space"  # a YAML file's search space for --tune
PRESETS_DIR = paths.ROOT / "config" / "presets"
# What a loaded run brings besides its whole algo_cfg and env_cfg: the rest of general_cfg is this run's.
RUN_GENERAL_KEYS = ("algo_name", "env_name", "max_step", "info_keys")


class Config(types.SimpleNamespace):
    """The flat view agents and trainers read (``cfg.lr``), keeping the three sections."""

    def __init__(self, sections: dict[str, dict[str, Any]], sources: dict[str, str] | None = None) -> None:
        flat: dict[str, Any] = {}
        for section in SECTIONS:
            flat.update(sections[section])
        super().__init__(**flat)
        self._section_keys = {name: list(values) for name, values in sections.items()}
        self._sources = sources or {}

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Copied and pickled (to Ray workers) with every attribute, those set after the merge included."""
        return _restore_config, (dict(vars(self)),)

    def where(self, key: str) -> str:
        """``file: section.key`` (or ``defaults: ...``) naming where a value was set."""
        section = next((name for name, keys in self._section_keys.items() if key in keys), "?")
        return f"{self._sources.get(key, 'defaults')}: {section}.{key}"

    def sections(self) -> dict[str, dict[str, Any]]:
        """The three sections with their current values, as written to config.yaml."""
        return {name: {key: copy.deepcopy(getattr(self, key)) for key in keys} for name, keys in self._section_keys.items()}


def _restore_config(attributes: dict[str, Any]) -> Config:
    config = Config.__new__(Config)
    vars(config).update(attributes)
    return config


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


def algo_config_class(algo_name: str) -> type[Any]:
    names = available(paths.ALGOS_DIR, "agent.py")
    if algo_name not in names:
        close = close_matches(algo_name, names, n=1, cutoff=0.3)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(f"unknown algorithm {algo_name!r}: {hint}available in algos/: {', '.join(names)}")
    return _load_class("algos", algo_name, "AlgoConfig")


def env_config_class(env_name: str) -> type[Any]:
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
    if not _is_file(path):
        raise ConfigError(f"YAML file {str(path)!r} not found; {_yaml_hint(path)}")
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
    data.pop(TUNE_SECTION, None)  # read by --tune (joyrl/tune.py), not a section of the configuration
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


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


def _yaml_hint(path: Path) -> str:
    """'did you mean ...?' with the closest YAML file name in the same folder (else in config/presets/)."""
    for folder, shown in ((path.parent, path.parent), (PRESETS_DIR, _shown(PRESETS_DIR))):
        try:
            names = sorted(child.name for child in folder.iterdir() if child.suffix in (".yaml", ".yml") and child.is_file())
        except (OSError, ValueError):  # no such folder
            continue
        close = close_matches(path.name, names, n=1)
        if close:
            return f"did you mean {shown / close[0]}?"
    return "give a path such as config/presets/CartPole-v1_DQN.yaml"


def _shown(path: Path) -> Path:
    """``path`` relative to the working folder when it is inside it, else absolute."""
    try:
        return path.relative_to(Path.cwd())
    except (ValueError, OSError):
        return path


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
    chosen_by = {"algo_cfg": (algo_name, algo_where), "env_cfg": (env_name, env_where)}
    for section in SECTIONS:
        sections[section] = _merge_section(section, classes, layers, sources, chosen_by.get(section))

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


def _chosen_note(section: str, chosen_by: tuple[str, str] | None, layer: Layer) -> str:
    """Which config class a section's keys come from, when another file chose it (a loaded run's, say)."""
    if chosen_by is None or chosen_by[1].startswith(("defaults:", f"{layer.name}:")):
        return ""
    return f" ({section} of {chosen_by[0]}, set at {chosen_by[1]})"


def _general_config_class() -> type[Any]:
    module = importlib.import_module("config.config")
    return module.GeneralConfig


def _merge_section(
    section: str, classes: dict[str, type], layers: list[Layer], sources: dict[str, str], chosen_by: tuple[str, str] | None
) -> dict[str, Any]:
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
                raise ConfigError(f"{where} is not a known key; {hint}{_chosen_note(section, chosen_by, layer)}")
            try:
                values[key] = coerce(raw, keys[key], from_text=layer.from_text)
            except ValueError as error:
                raise ConfigError(f"{where}: {error}") from None
            sources[key] = layer.name
    return values


# ---------------------------------------------------------------- a loaded run's own configuration


def loaded_run_layer(layers: list[Layer]) -> Layer | None:
    """The layer the run named by ``load_path`` brings, from its config.yaml; None when there is no such run.

    It holds the run's algo_name, env_name, max_step and info_keys and its whole algo_cfg and env_cfg, so that
    ``--load RUN`` tests RUN as it was trained; put it between the ``--yaml`` file and the command line.
    A layer of ``layers`` naming another algo_name or env id than the run's is a ConfigError.
    """
    load_path = _last_general_value(layers, "load_path")
    if not load_path:
        return None
    folder = run_folder(load_path, tasks_dir_path(_last_general_value(layers, "tasks_dir")))
    if folder is None:
        return None  # a bare checkpoint file, or nothing at all: the runner reads or reports it
    path = folder / "config.yaml"
    saved = read_yaml(path)
    general = saved.get("general_cfg", {})
    values = {
        "general_cfg": {key: general[key] for key in RUN_GENERAL_KEYS if key in general},
        "algo_cfg": saved.get("algo_cfg", {}),
        "env_cfg": saved.get("env_cfg", {}),
    }
    _check_agrees(load_path, values, layers)
    return Layer(str(path), values)


def tasks_dir_path(tasks_dir: str | None) -> Path:
    """Where run folders are: ``tasks_dir``, relative paths starting at the project root."""
    path = Path(_general_config_class().tasks_dir if tasks_dir is None else tasks_dir)
    with contextlib.suppress(RuntimeError):  # no home folder to expand ~ to
        path = path.expanduser()
    return path if path.is_absolute() else paths.ROOT / path


def run_folder(load_path: str, tasks_dir: Path) -> Path | None:
    """The run folder ``load_path`` names, when it holds a config.yaml; else None.

    ``load_path`` is looked up as the runner does (joyrl.checkpoints.resolve_load_path): as a path,
    then under ``tasks_dir``; the first that exists counts. It may be a run folder, its models/
    folder, or a checkpoint file in models/.
    """
    candidates = [Path(load_path).expanduser()]
    if not candidates[0].is_absolute():
        candidates.append(tasks_dir / load_path)
    try:
        for candidate in candidates:
            if candidate.is_file():
                candidate = candidate.resolve()
                folder = candidate.parent.parent if candidate.parent.name == "models" else None
            elif candidate.is_dir():
                candidate = candidate.resolve()
                folder = candidate.parent if candidate.name == "models" else candidate
            else:
                continue
            return folder if folder is not None and (folder / "config.yaml").is_file() else None
    except (OSError, ValueError, RuntimeError):  # a name too long, a NUL byte, a symlink loop
        return None
    return None


def _last_general_value(layers: list[Layer], key: str) -> Any:
    """The value of ``general_cfg.key`` the last layer setting it gives, typed; None when unset or invalid."""
    value = None
    for layer in layers:
        if key in layer.values.get("general_cfg", {}):
            try:
                annotation = schema(_general_config_class())[key]
                value = coerce(layer.values["general_cfg"][key], annotation, from_text=layer.from_text)
            except (ValueError, KeyError):
                value = None  # resolve() reports it
    return value


def _check_agrees(load_path: str, run: dict[str, dict[str, Any]], layers: list[Layer]) -> None:
    """A layer naming another algorithm or env id than the loaded run's: one ConfigError line."""
    algo, env_id = run["general_cfg"].get("algo_name"), run["env_cfg"].get("id")
    for layer in layers:
        for section, key, theirs in (("general_cfg", "algo_name", algo), ("env_cfg", "id", env_id)):
            value = layer.values.get(section, {}).get(key)
            if value is None or theirs is None or value == theirs:
                continue
            what = "algo_name" if key == "algo_name" else "env id"
            who = "the command line" if layer.name == "command line" else layer.name
            raise ConfigError(
                f"--load {load_path}: that run is {algo or '?'} on {env_id or '?'}, but {who} sets {what} {value}; "
                "drop one of them"
            )


def to_yaml(cfg: Config) -> str:
    """The resolved configuration as a three-section YAML document."""
    return yaml.safe_dump(cfg.sections(), sort_keys=False, default_flow_style=None)
