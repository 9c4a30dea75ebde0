"""Property-based fuzzing of config values through the validator: every rejection is a clean error, never a traceback.

Hypothesis draws values of every kind (None, bools, integers and floats at and past the edges, YAML-looking text, nested
lists and mappings) for every key of every section, whole YAML files and whole command lines. ``resolve`` either returns
a Config whose values have their annotated type and range, or raises ConfigError; ``main`` answers bad input with exit
code 2 and one ``error:`` line. The examples are derandomized, so every run tests the same inputs.
"""

from __future__ import annotations

import functools
import math
import types
import typing
import zlib
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from unittest import mock

import gymnasium as gym
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.config import GeneralConfig
from joyrl import cli, paths
from joyrl.cli import config_from_args, main
from joyrl.config import (
    SECTIONS,
    Config,
    ConfigError,
    Layer,
    algo_config_class,
    available,
    defaults,
    env_config_class,
    parse_override,
    read_yaml,
    resolve,
    schema,
    to_yaml,
)
from joyrl.validation import Range, coerce, load_yaml
from tests.helpers import write_yaml

FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ALGO_CLASSES = {name: algo_config_class(name) for name in ("DQN", "QLearning")}
ENV_CLASS = env_config_class("gym")


def config_class(algo: str, section: str) -> type:
    return {"general_cfg": GeneralConfig, "algo_cfg": ALGO_CLASSES[algo], "env_cfg": ENV_CLASS}[section]


# (algo_name, section, key) for every key: general and env keys once, each algorithm's own keys under it.
KEYS = [
    (algo, section, key)
    for algo, section in [("DQN", "general_cfg"), ("DQN", "algo_cfg"), ("QLearning", "algo_cfg"), ("DQN", "env_cfg")]
    for key in schema(config_class(algo, section))
]
KEY_IDS = [f"{algo}-{section}.{key}" if section == "algo_cfg" else f"{section}.{key}" for algo, section, key in KEYS]
ALL_KEYS = sorted({key for _, _, key in KEYS})

# Text that YAML reads as something else, or that PyYAML's constructors choke on.
YAMLISH = [
    "", " ", "\t", "\n", "[1,", "]", "{a: b}", "{a: [1, {b: 2}]}", "[1, 2]", "[[]]", "{}", "- a\n- b", "a: 1\nb: 2",
    "key: value: x", "1e400", "-1e400", "1e-400", "1e3", "1.5", "-0.0", "+5", "-+5", "0x10", "0o17", "0b2", "1_000", "1:20",
    "nan", ".nan", "NaN", "inf", ".inf", "-.inf", "Infinity", "null", "~", "None", "true", "True", "yes", "on", "off",
    "2024-01-01", "2024-13-45", "0000-01-01", "2024-01-01T00:00:00+99:00", "!!timestamp x", "!!int abc", "!!int 0x",
    "!!float", "!!float x", "!!bool x", "!!binary é", "!!set [a]", "!!python/name:os.system", "!<tag:x> y", "&a [*a]",
    "*b", "&a {k: *a}", "[" * 600, "{a: " * 600, "'quoted'", '"unterminated', "@reserved", "`", "%YAML 1.1", "---",
    "...", "?", "|", ">", "#comment", "１２", "٣", "²", "1" * 5000, "a\nb", "\x85", "\u2028", "\x00", "\ufeff",
]  # fmt: skip
# Names and ids, valid and not, so that accepted values turn up among the rejected ones.
NAMES = ["DQN", "QLearning", "dqn", "NoSuchAlgo", "../DQN", "__init__", "gym", "Gym", "partial_observability"]
ENV_IDS = ["CartPole-v1", "Acrobot-v1", "CliffWalking-v1", "CartPoleNoVelocity-v1", "CartPole-v9", "cartpole-v1", "ALE/Pong-v5"]
EDGE_INTS = [0, 1, -1, -2, 2**31, 2**32 - 1, 2**32, 2**63, -(2**63), 10**400, -(10**400)]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1.0, 1.5, -1.0, 1e-300, 5e-324, 1e308, math.inf, -math.inf, math.nan]
EDGE_COLLECTIONS = [[], {}, [None], {1: 2}, {None: "x"}, {"a": math.nan}, [{"layer_type": "linear", 3: 4}], "{1: 2}", "[{~: x}]"]
EDGES = [*EDGE_INTS, *EDGE_FLOATS, *EDGE_COLLECTIONS, *YAMLISH, *NAMES, *ENV_IDS]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(EDGE_INTS),
    st.floats(),
    st.sampled_from(EDGE_FLOATS),
    st.text(max_size=20),
    st.sampled_from(YAMLISH + NAMES + ENV_IDS),
)
mapping_keys = st.one_of(
    st.text(max_size=8), st.sampled_from(["layer_type", "layer_size", "name", "kwargs"]), st.integers(), st.none()
)


def nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(mapping_keys, inner, max_size=3), max_leaves=8
    )


values = nested(scalars)


def flow_yaml(value: Any) -> str:
    """``value`` as one line of YAML, as a user would type it on the command line."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False)
    return text.removesuffix("...\n").strip()


# Text weighted towards the characters that mean something to YAML, argparse or a terminal.
tricky_text = st.text(st.sampled_from("-_.=:,#&*!?|>'\"[]{}~ \t\n\r\x00\x85\u2028é") | st.characters(), max_size=8)
texts = st.one_of(st.text(max_size=30), tricky_text, st.sampled_from(YAMLISH + NAMES + ENV_IDS), values.map(flow_yaml))


# ---------------------------------------------------------------- the oracle: what an accepted value must be


def _bounds(annotation: Any) -> list[Range]:
    return [bound for bound in typing.get_args(annotation)[1:] if isinstance(bound, Range)]


def _in_range(value: int | float, bound: Range) -> bool:
    if bound.minus_one_means_unlimited and value == -1:
        return True
    if bound.low is not None and not (value > bound.low if bound.low_open else value >= bound.low):
        return False
    return bound.high is None or value <= bound.high


def conforms(value: Any, annotation: Any) -> bool:
    """Whether ``value`` has the type ``annotation`` names and lies in its ranges (a finite float, never a bool for int)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return conforms(value, args[0]) and (value is None or all(_in_range(value, bound) for bound in _bounds(annotation)))
    if origin in (Union, types.UnionType):
        return any(conforms(value, arm) for arm in args)
    if origin is Literal:
        return any(type(value) is type(choice) and value == choice for choice in args)
    if origin is list:
        return type(value) is list and all(conforms(item, args[0]) for item in value)
    if origin is dict or annotation is dict:
        key_type, item_type = args or (Any, Any)
        return type(value) is dict and all(conforms(k, key_type) and conforms(v, item_type) for k, v in value.items())
    checks = {
        Any: lambda: True,
        type(None): lambda: value is None,
        bool: lambda: type(value) is bool,
        int: lambda: type(value) is int,
        float: lambda: type(value) is float and math.isfinite(value),
        str: lambda: type(value) is str,
    }
    return checks[annotation]()


@functools.cache
def section_schema(section: str, name: str) -> dict[str, Any]:
    """The keys of ``section`` when general_cfg's algo_name or env_name (whichever picks its class) is ``name``."""
    cls = {"general_cfg": lambda _: GeneralConfig, "algo_cfg": algo_config_class, "env_cfg": env_config_class}[section](name)
    return schema(cls)


def class_names(cfg: Config) -> dict[str, str]:
    return {"general_cfg": "", "algo_cfg": cfg.algo_name, "env_cfg": cfg.env_name}


def assert_typed(cfg: Config) -> None:
    """Every value of ``cfg`` conforms to its annotation; the algorithm, env folder and env id exist."""
    for section, section_values in cfg.sections().items():
        keys = section_schema(section, class_names(cfg)[section])
        assert list(section_values) == list(keys)
        for key, value in section_values.items():
            assert conforms(value, keys[key]), f"{section}.{key} accepted {value!r}, not {keys[key]}"
    assert cfg.algo_name in available(paths.ALGOS_DIR, "agent.py")
    assert cfg.env_name in available(paths.ENVS_DIR)
    assert cfg.id in gym.registry


def assert_value_round_trips(cfg: Config, section: str, key: str) -> None:
    """The value, as to_yaml writes it into config.yaml, reads back as itself."""
    annotation = section_schema(section, class_names(cfg)[section])[key]
    value = getattr(cfg, key)
    text = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=None)
    again = coerce(load_yaml(text)[key], annotation)
    assert flow_yaml(again) == flow_yaml(value)  # compared as YAML text, where a NaN inside a mapping equals itself


# ---------------------------------------------------------------- 1. every key, from a YAML layer and from the command line

# A few values a key may take besides the broad ones: its default, its Literal choices and valid names.
OWN_VALUES = {"algo_name": ["QLearning"], "id": ["Acrobot-v1", "CliffWalking-v1", "CartPole-v9"], "mode": ["test"]}


def _literal_choices(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    return [choice for arm in typing.get_args(annotation) for choice in _literal_choices(arm)]


@functools.cache
def key_values(algo: str, section: str, key: str) -> st.SearchStrategy[Any]:
    """Broad values for one key. Derandomized tests make the same choices for every key, so each key's edge cases start
    at a point of their own in EDGES: the keys of one type meet different edge cases between them."""
    cls = config_class(algo, section)
    own = [defaults(cls)[key], *_literal_choices(schema(cls)[key]), *OWN_VALUES.get(key, [])]
    start = zlib.crc32(f"{section}.{key}".encode()) % len(EDGES)
    return st.one_of(
        st.sampled_from(own + EDGES[start:] + EDGES[:start]), nested(scalars | st.sampled_from(own)), shaped(schema(cls)[key])
    )


@functools.cache
def shaped(annotation: Any) -> st.SearchStrategy[Any]:
    """Values shaped like ``annotation``, lists and mappings where it has them, with any scalar as leaf or mapping key."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return shaped(args[0])
    if origin in (Union, types.UnionType):
        return st.one_of(*(shaped(arm) for arm in args))
    if origin is list:
        return st.lists(shaped(args[0]), max_size=3)
    if origin is dict or annotation is dict:
        return st.dictionaries(scalars, shaped((args or (Any, Any))[1]), max_size=3)
    return scalars


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else flow_yaml(value)


@pytest.mark.parametrize(("algo", "section", "key"), KEYS, ids=KEY_IDS)
@settings(FUZZ, max_examples=10)
@given(data=st.data())
def test_yaml_value_of_every_key_is_accepted_typed_or_rejected_with_config_error(data, algo, section, key):
    value = data.draw(key_values(algo, section, key), label="value")
    layer = {"general_cfg": {"algo_name": algo}}
    layer.setdefault(section, {})[key] = value
    try:
        cfg = resolve([Layer("fuzz.yaml", layer)])
    except ConfigError:
        return
    assert_typed(cfg)
    assert_value_round_trips(cfg, section, key)


@pytest.mark.parametrize(("algo", "section", "key"), KEYS, ids=KEY_IDS)
@settings(FUZZ, max_examples=10)
@given(data=st.data())
def test_command_line_value_of_every_key_is_accepted_typed_or_rejected_with_config_error(data, algo, section, key):
    annotation = schema(config_class(algo, section))[key]
    text = data.draw(key_values(algo, section, key).map(as_text) | texts | valid_values(annotation).map(flow_yaml), label="text")
    layer = {"general_cfg": {"algo_name": algo}}
    parsed_section, parsed_key, value = parse_override(f"{section}.{key}={text}")  # as the command line reads it
    layer.setdefault(parsed_section, {})[parsed_key] = value
    try:
        cfg = resolve([Layer("command line", layer, from_text=True)])
    except ConfigError:
        return
    assert_typed(cfg)
    assert_value_round_trips(cfg, section, key)
    if annotation is str:
        assert getattr(cfg, key) == text  # a plain string key takes the text verbatim


# ---------------------------------------------------------------- valid values are never rejected


@functools.cache
def valid_values(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of type ``annotation`` inside its ranges, which the validator must return unchanged."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        (bound,) = _bounds(annotation)
        if args[0] is int:
            low = None if bound.low is None else math.floor(bound.low) + 1 if bound.low_open else math.ceil(bound.low)
            inside = st.integers(low, None if bound.high is None else math.floor(bound.high))
        else:
            inside = st.floats(bound.low, bound.high, exclude_min=bound.low_open, allow_nan=False, allow_infinity=False)
        return inside | st.just(-1) if bound.minus_one_means_unlimited else inside
    if origin in (Union, types.UnionType):
        return st.one_of(*(valid_values(arm) for arm in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(valid_values(args[0]), max_size=3)
    if origin is dict or annotation is dict:
        key_type, item_type = args or (Any, Any)
        return st.dictionaries(valid_values(key_type), valid_values(item_type), max_size=3)
    plain = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    )
    return {
        Any: plain,
        type(None): st.none(),
        bool: st.booleans(),
        int: st.integers() | st.sampled_from(EDGE_INTS),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(max_size=20),
    }[annotation]


ANNOTATIONS = {name: schema(config_class(algo, section))[key] for name, (algo, section, key) in zip(KEY_IDS, KEYS, strict=True)}


@pytest.mark.parametrize("annotation", list(ANNOTATIONS.values()), ids=list(ANNOTATIONS))
@settings(FUZZ, max_examples=10)
@given(data=st.data())
def test_valid_value_of_every_key_is_returned_unchanged_from_yaml_and_from_text(data, annotation):
    value = data.draw(valid_values(annotation), label="value")
    from_yaml = coerce(value, annotation)
    assert from_yaml == value and conforms(from_yaml, annotation)
    if str in typing.get_args(annotation) or annotation is str:
        return  # string keys take command-line text verbatim (str | None reads 'null' as None)
    from_text = coerce(flow_yaml(value), annotation, from_text=True)
    assert from_text == value and conforms(from_text, annotation)


# ---------------------------------------------------------------- 2. whole YAML files


def _splice(parts: tuple[str, int, int, str]) -> str:
    text, start, length, insert = parts
    start %= len(text) + 1
    return text[:start] + insert + text[start + length % 8 :]


YAML_TOKENS = [
    *SECTIONS, "algo_cfgs", ":", ": ", "\n", "\n  ", "  ", "\t", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "? ", "|\n", ">\n",
    "#", "'", '"', "%TAG ! x\n", "---\n", "...\n", "!!timestamp ", "!!int ", "!!float ", "!!bool ", "!!binary ", "!!set ",
    "!!python/object:os.system ", "<<: ", "2024-13-45", "1e400", ".nan", "null", "\x00", "\ufeff", "é", *ALL_KEYS,
]  # fmt: skip
documents = st.dictionaries(
    st.sampled_from([*SECTIONS, "algo_cfgs", "", "1"]),
    st.none() | values | st.dictionaries(st.sampled_from(ALL_KEYS) | st.text(max_size=8), values, max_size=4),
    max_size=3,
)
dumped = st.builds(
    lambda document, flow: yaml.safe_dump(document, default_flow_style=flow, sort_keys=False),
    documents,
    st.sampled_from([False, True, None]),
)
spliced = st.tuples(dumped, st.integers(0, 10**4), st.integers(0, 10**4), st.sampled_from(YAML_TOKENS) | st.text(max_size=4))
yaml_files = st.one_of(
    dumped,
    spliced.map(_splice),
    st.lists(st.sampled_from(YAML_TOKENS), max_size=30).map("".join),
    st.text(),
    st.binary(max_size=40),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ, max_examples=200)
@given(content=yaml_files)
def test_any_yaml_file_resolves_to_a_typed_config_or_a_config_error(scratch, content):
    path = scratch / "fuzz.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    try:
        cfg = resolve([Layer(str(path), read_yaml(path))])
    except ConfigError:
        return
    assert_typed(cfg)
    written = write_yaml(scratch / "config.yaml", to_yaml(cfg))
    assert to_yaml(resolve([Layer(str(written), read_yaml(written))])) == to_yaml(cfg)  # config.yaml repeats the run


# ---------------------------------------------------------------- 3. whole command lines

BAD_SEED = "general_cfg.seed=-1"  # fails validation whatever comes before it: no fuzzed command line starts a run
FLAGS = [
    "--yaml", "--algo", "--env", "--seed", "--mode", "--load",
    "--y", "--al", "--en", "--se", "--mo", "--lo", "--bogus", "--", "-",
]  # fmt: skip
argv_items = st.one_of(
    st.tuples(st.sampled_from(FLAGS) | tricky_text.map("-".__add__), texts).map(list),  # a flag and its value
    st.builds(
        "{}.{}={}".format, st.sampled_from([*SECTIONS, "algo_cfgs", ""]), st.sampled_from(ALL_KEYS) | tricky_text, texts
    ).map(lambda override: [override]),
    texts.map(lambda text: [text]),
)
argvs = (
    st.lists(argv_items, max_size=5)
    .map(lambda items: [token for item in items for token in item])
    .filter(lambda argv: not any(token.startswith(("-h", "--h")) for token in argv))  # --help prints usage and exits 0
)


class _NoRun:
    def __init__(self, cfg: Config) -> None:
        raise AssertionError(f"a fuzzed command line got past validation and would have started a run: {cfg}")


@settings(FUZZ, max_examples=150)
@given(argv=argvs)
def test_bad_command_line_exits_2_with_one_error_line(capsys, argv):
    capsys.readouterr()
    with mock.patch.object(cli, "Run", _NoRun):
        code = main([*argv, BAD_SEED])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.endswith("\n") and len(err.splitlines()) == 1, err
    assert err.startswith("error: ")


# ---------------------------------------------------------------- regressions for what the fuzzing found

# Scalars PyYAML matches but cannot build: ValueError, IndexError, KeyError, AttributeError or RecursionError escaped.
UNBUILDABLE = {
    "bad-date": "2024-13-45",
    "year-0": "0000-01-01",
    "bad-timestamp": "!!timestamp x",
    "empty-hex": "!!int 0x",
    "empty-float": "!!float",
    "bad-bool": "!!bool x",
    "5000-digits": "1" * 5000,
    "deep-nesting": "[" * 1000,
}


@pytest.mark.parametrize("value", list(UNBUILDABLE.values()), ids=list(UNBUILDABLE))
def test_yaml_file_value_pyyaml_cannot_build_is_malformed_yaml(tmp_path, value):
    path = write_yaml(tmp_path / "bad.yaml", f"algo_cfg:\n  lr: {value}\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        read_yaml(path)


@pytest.mark.parametrize("value", list(UNBUILDABLE.values()), ids=list(UNBUILDABLE))
def test_command_line_value_pyyaml_cannot_build_is_taken_as_text(value):
    with pytest.raises(ConfigError, match=r"command line: algo_cfg\.lr: expected a number, got '"):
        config_from_args([f"algo_cfg.lr={value}"])


@pytest.mark.parametrize("text", ["1" + "0" * 400, "1e400", "-1e400", "inf", ".inf", "-.inf"])
def test_float_key_rejects_infinite_and_overflowing_numbers(text):
    with pytest.raises(ConfigError, match=r"algo_cfg\.q_init: expected a finite number"):
        config_from_args(["--algo", "QLearning", f"algo_cfg.q_init={text}"])


def test_float_key_in_a_yaml_layer_rejects_an_integer_beyond_float_range():
    with pytest.raises(ConfigError, match=r"fuzz\.yaml: algo_cfg\.lr: expected a finite number"):
        resolve([Layer("fuzz.yaml", {"algo_cfg": {"lr": 10**400}})])


@pytest.mark.parametrize(
    ("override", "fragment"),
    [("env_cfg.kwargs={1: 2}", "at key 1: expected a string"), ("algo_cfg.value_layers=[{~: relu}]", "at key None")],
)
def test_mapping_keys_must_be_strings(override, fragment):
    with pytest.raises(ConfigError, match=override.partition("=")[0].replace(".", r"\.")) as error:
        config_from_args([override])
    assert fragment in str(error.value)


def test_defaults_get_their_declared_type():
    cfg = resolve([])
    assert type(cfg.epsilon_decay) is float  # float, though algos/DQN/config.py writes 1_000


def test_bad_default_is_a_config_error_naming_it(copy_algo):
    def negative_lr(folder):
        path = folder / "config.py"
        text = path.read_text()
        assert "] = 2.3e-3  # Adam" in text
        path.write_text(text.replace("] = 2.3e-3  # Adam", "] = -1.0  # Adam"))

    name = copy_algo(edit=negative_lr)
    with pytest.raises(ConfigError, match=r"defaults: algo_cfg\.lr: -1\.0 must be > 0"):
        config_from_args(["--algo", name])


@pytest.mark.parametrize(
    ("argv", "escaped"),
    [(["algo_cfg.bad\nkey=1"], "bad\\nkey"), (["--bogus\rflag"], "--bogus\\rflag"), (["algo_cfg.x\u2028y=1"], "x\\u2028y")],
)
def test_line_break_in_the_input_is_escaped_in_the_one_error_line(capsys, argv, escaped):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert escaped in err


def test_empty_yaml_path_is_a_missing_file_not_no_file():
    with pytest.raises(ConfigError, match="YAML file .* not found"):
        config_from_args(["--yaml", ""])
