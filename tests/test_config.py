"""joyrl.config: merge order, value checking, sections and the config.yaml round trip."""

import pytest
import yaml

from joyrl.cli import config_from_args
from joyrl.config import ConfigError, Layer, resolve, schema, to_yaml
from joyrl.validation import at_least_or_unlimited, coerce
from tests.helpers import ROOT, write_yaml


def test_defaults_are_dqn_on_cartpole():
    cfg = config_from_args([])
    assert (cfg.algo_name, cfg.id, cfg.mode, cfg.env_name) == ("DQN", "CartPole-v1", "train", "gym")
    assert cfg.lr == pytest.approx(2.3e-3)  # algos/DQN/config.py
    assert cfg.kwargs == {}  # envs/gym/config.py


def test_yaml_overrides_code_defaults_and_command_line_overrides_yaml(tmp_path):
    path = write_yaml(
        tmp_path / "run.yaml",
        {"general_cfg": {"seed": 3, "max_episode": 7}, "algo_cfg": {"lr": 0.01, "gamma": 0.5}, "env_cfg": {"id": "Acrobot-v1"}},
    )
    cfg = config_from_args(["--yaml", str(path), "--seed", "9", "algo_cfg.lr=0.02", "--env", "MountainCar-v0"])
    assert (cfg.seed, cfg.lr, cfg.id) == (9, 0.02, "MountainCar-v0")  # command line wins
    assert (cfg.max_episode, cfg.gamma) == (7, 0.5)  # the YAML wins over the defaults
    assert cfg.batch_size == 64  # untouched: DQN's default


def test_later_layer_wins():
    layers = [Layer("first", {"algo_cfg": {"lr": 0.1}}), Layer("second", {"algo_cfg": {"lr": 0.2}})]
    assert resolve(layers).lr == 0.2


def test_yaml_algo_name_brings_that_algorithms_defaults(tmp_path):
    path = write_yaml(tmp_path / "q.yaml", {"general_cfg": {"algo_name": "QLearning"}, "env_cfg": {"id": "CliffWalking-v1"}})
    cfg = config_from_args(["--yaml", str(path)])
    assert (cfg.lr, cfg.gamma, cfg.q_init) == (0.1, 0.9, 0.0)
    assert not hasattr(cfg, "batch_size")


def test_command_line_algo_replaces_the_yaml_algo(tmp_path):
    path = write_yaml(tmp_path / "dqn.yaml", {"general_cfg": {"algo_name": "DQN"}})
    cfg = config_from_args(["--yaml", str(path), "--algo", "QLearning"])
    assert cfg.algo_name == "QLearning"
    assert hasattr(cfg, "q_init")


def test_yaml_and_command_line_accept_1e_minus_4_for_floats(tmp_path):
    path = write_yaml(tmp_path / "lr.yaml", "algo_cfg:\n  lr: 1e-4\n")  # a string to YAML 1.1
    assert config_from_args(["--yaml", str(path)]).lr == pytest.approx(1e-4)
    assert config_from_args(["algo_cfg.lr=3e-4"]).lr == pytest.approx(3e-4)


def test_integer_keys_accept_integral_exponents():
    assert config_from_args(["general_cfg.max_env_steps=1e3"]).max_env_steps == 1000


@pytest.mark.parametrize("key", ["max_step", "max_episode"])
def test_minus_one_means_unlimited(key):
    assert getattr(config_from_args([f"general_cfg.{key}=-1"]), key) == -1


def test_minus_two_is_not_unlimited():
    with pytest.raises(ConfigError, match=r"general_cfg\.max_step: -2 must be >= 1 \(or -1 for no limit\)"):
        config_from_args(["general_cfg.max_step=-2"])


def test_at_least_or_unlimited_range():
    limit = at_least_or_unlimited(1)
    assert limit.violation(-1) is None
    assert limit.violation(1) is None
    assert limit.violation(0) is not None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("general_cfg.seed=abc", "expected an integer, got 'abc'"),
        ("general_cfg.seed=1.5", "expected an integer"),
        ("general_cfg.seed=-1", "must be >= 0"),
        ("algo_cfg.batch_size=-1", "must be >= 1"),
        ("algo_cfg.gamma=1.5", "must be <= 1"),
        ("algo_cfg.lr=0", "must be > 0"),
        ("algo_cfg.lr=fast", "expected a number"),
        ("general_cfg.online_eval=1", "expected true or false"),
        ("algo_cfg.epsilon_schedule=linera", "did you mean 'linear'"),
        ("algo_cfg.value_layers=5", "expected a list"),
        ("env_cfg.kwargs=[1]", "expected a mapping"),
    ],
)
def test_bad_values_name_the_key(override, message):
    key = override.partition("=")[0]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as error:
        config_from_args([override])
    assert message in str(error.value)


def test_optional_string_accepts_null():
    assert config_from_args(["env_cfg.render_mode=null"]).render_mode is None
    assert config_from_args(["env_cfg.render_mode=rgb_array"]).render_mode == "rgb_array"


@pytest.mark.parametrize("load_path", ["2026-11-23", "123"])
def test_load_path_is_taken_verbatim(load_path):
    assert config_from_args(["--mode", "test", "--load", load_path]).load_path == load_path


def test_unknown_key_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"command line: algo_cfg\.bath_size is not a known key; did you mean batch_size"):
        config_from_args(["algo_cfg.bath_size=3"])


def test_unknown_key_in_yaml_names_the_file(tmp_path):
    path = write_yaml(tmp_path / "typo.yaml", {"algo_cfg": {"bath_size": 3}})
    with pytest.raises(ConfigError) as error:
        config_from_args(["--yaml", str(path)])
    assert str(path) in str(error.value)
    assert "algo_cfg.bath_size" in str(error.value)
    assert "batch_size" in str(error.value)


@pytest.mark.parametrize("override", ["algo_cfg.max_episode=3", "env_cfg.seed=3", "algo_cfg.algo_name=QLearning"])
def test_general_key_in_wrong_section_says_where_it_belongs(override):
    with pytest.raises(ConfigError, match="it belongs in general_cfg"):
        config_from_args([override])


@pytest.mark.parametrize(
    ("override", "owner"),
    [("general_cfg.batch_size=3", "algo_cfg"), ("env_cfg.lr=0.1", "algo_cfg"), ("algo_cfg.id=CartPole-v1", "env_cfg")],
)
def test_algo_or_env_key_in_wrong_section_says_where_it_belongs(override, owner):
    with pytest.raises(ConfigError, match=f"belongs in {owner}"):
        config_from_args([override])


def test_key_defined_in_two_sections_is_an_error(copy_algo):
    def add_seed(folder):
        path = folder / "config.py"
        text = path.read_text()
        header = "class AlgoConfig(ReplayQConfig):\n"
        assert header in text
        path.write_text(text.replace(header, header + "    seed: int = 1\n"))

    name = copy_algo(edit=add_seed)
    with pytest.raises(ConfigError, match="'seed' is defined in both general_cfg and algo_cfg"):
        config_from_args(["--algo", name])


def test_subclassed_config_keeps_the_parent_keys():
    from algos.DQN.config import AlgoConfig

    class DoubleConfig(AlgoConfig):
        double: bool = True  # a variant's one extra key

    assert set(schema(AlgoConfig)) | {"double"} == set(schema(DoubleConfig))


def test_coerce_reads_text_only_from_the_command_line():
    assert coerce("3", int, from_text=True) == 3
    assert coerce("[1, 2]", list[int], from_text=True) == [1, 2]
    assert coerce("true", bool, from_text=True) is True
    with pytest.raises(ValueError):
        coerce("true", bool)  # a quoted string in a YAML file is not a bool


def test_sections_keep_the_three_sections():
    sections = config_from_args(["algo_cfg.lr=0.5"]).sections()
    assert list(sections) == ["general_cfg", "algo_cfg", "env_cfg"]
    assert sections["algo_cfg"]["lr"] == 0.5
    assert "lr" not in sections["general_cfg"]
    assert sections["env_cfg"]["id"] == "CartPole-v1"


def test_to_yaml_fed_back_resolves_to_the_same_values(tmp_path):
    cfg = config_from_args(
        [
            "--algo",
            "DQN",
            "--seed",
            "4",
            "algo_cfg.lr=1e-4",
            "general_cfg.max_step=-1",
            "env_cfg.kwargs={sutton_barto_reward: true}",
        ]
    )
    path = write_yaml(tmp_path / "config.yaml", to_yaml(cfg))
    assert config_from_args(["--yaml", str(path)]).sections() == cfg.sections()


def test_written_config_yaml_repeats_the_run(dqn_run):
    written = dqn_run / "config.yaml"
    sections = yaml.safe_load(written.read_text())
    assert list(sections) == ["general_cfg", "algo_cfg", "env_cfg"]
    assert config_from_args(["--yaml", str(written)]).sections() == sections


def test_the_cartpole_dqn_preset_is_the_default_run():
    """`python main.py` and the preset resolve to the same config, so the preset's benchmark is the default's."""
    default = config_from_args([]).sections()
    preset = config_from_args(["--yaml", str(ROOT / "config" / "presets" / "CartPole-v1_DQN.yaml")]).sections()
    assert preset == default
