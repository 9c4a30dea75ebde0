"""``--load RUN`` takes RUN's own configuration: its algorithm, env and network, under the command line."""

import shutil

import pytest
import torch

from joyrl.cli import config_from_args
from joyrl.config import run_folder, tasks_dir_path
from joyrl.paths import ROOT
from tests.helpers import SMALL_NET, write_yaml

SMALL_LAYERS = [{"layer_type": "linear", "layer_size": [16], "activation": "relu"}]  # tests.helpers.SMALL_NET


@pytest.fixture
def tasks(tmp_path, dqn_run):
    """A tasks folder holding a copy of the tiny DQN run (trained with SMALL_NET, not DQN's default network)."""
    folder = tmp_path / "tasks"
    shutil.copytree(dqn_run, folder / dqn_run.name)
    return folder


def one_line_error(result, *fragments):
    assert result.code == 2 and result.folder is None
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    for fragment in fragments:
        assert fragment in result.err


@pytest.mark.parametrize("mode", ["test", "collect"])
def test_load_alone_tests_a_run_with_a_non_default_network(cli, tasks, dqn_run, mode):
    result = cli("--mode", mode, "--load", dqn_run.name, "general_cfg.max_episode=2", tasks_dir=tasks)
    assert result.code == 0, result.err
    assert "Test_" in result.folder.name or "Collect_" in result.folder.name


@pytest.mark.parametrize("target", ["", "models", "models/best.pt", "models/last.pt"])
def test_load_by_path_models_folder_or_checkpoint_finds_the_run(tasks, dqn_run, target):
    load = tasks / dqn_run.name / target
    cfg = config_from_args(["--mode", "test", "--load", str(load), f"general_cfg.tasks_dir={tasks}"])
    assert cfg.value_layers == SMALL_LAYERS
    assert cfg.learning_starts == 50  # the whole algo_cfg, not only the network


def test_layer_order_defaults_yaml_run_command_line(tmp_path, tasks, dqn_run):
    preset = write_yaml(
        tmp_path / "preset.yaml",
        {
            "general_cfg": {"algo_name": "DQN", "seed": 7, "max_step": 99},
            "algo_cfg": {"lr": 0.5, "value_layers": [{"layer_type": "linear", "layer_size": [64]}]},
        },
    )
    args = ["--yaml", str(preset), "--mode", "test", "--load", dqn_run.name, f"general_cfg.tasks_dir={tasks}"]
    cfg = config_from_args(args)
    assert cfg.value_layers == SMALL_LAYERS  # the run wins over the YAML
    assert cfg.max_step == -1  # the run's max_step, too
    assert cfg.seed == 7  # the run brings no seed: the YAML's stays
    assert cfg.mode == "test"
    cfg = config_from_args([*args, "algo_cfg.lr=1e-5", "general_cfg.max_step=30"])
    assert (cfg.lr, cfg.max_step, cfg.value_layers) == (1e-5, 30, SMALL_LAYERS)  # the command line wins over the run


def test_load_path_from_the_yaml_file_or_an_override(tmp_path, tasks, dqn_run):
    preset = write_yaml(tmp_path / "load.yaml", {"general_cfg": {"mode": "test", "load_path": dqn_run.name}})
    assert config_from_args(["--yaml", str(preset), f"general_cfg.tasks_dir={tasks}"]).value_layers == SMALL_LAYERS
    args = ["--mode", "test", f"general_cfg.load_path={dqn_run.name}", f"general_cfg.tasks_dir={tasks}"]
    assert config_from_args(args).value_layers == SMALL_LAYERS


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--algo", "QLearning"], ["that run is DQN on CartPole-v1", "the command line sets algo_name QLearning"]),
        (["--env", "Acrobot-v1"], ["that run is DQN on CartPole-v1", "the command line sets env id Acrobot-v1"]),
        (["env_cfg.id=Acrobot-v1"], ["the command line sets env id Acrobot-v1", "drop one of them"]),
    ],
)
def test_command_line_contradicting_the_run_is_one_line(cli, tasks, dqn_run, args, fragments):
    one_line_error(cli("--mode", "test", "--load", dqn_run.name, *args, tasks_dir=tasks), f"--load {dqn_run.name}", *fragments)


@pytest.mark.parametrize(
    ("preset", "fragment"),
    [
        ("CliffWalking-v1_QLearning.yaml", "sets algo_name QLearning"),
        ("Acrobot-v1_DQN.yaml", "sets env id Acrobot-v1"),
    ],
)
def test_yaml_contradicting_the_run_is_one_line(cli, tasks, dqn_run, preset, fragment):
    path = ROOT / "config" / "presets" / preset
    result = cli("--yaml", path, "--mode", "test", "--load", dqn_run.name, tasks_dir=tasks)
    one_line_error(result, "that run is DQN on CartPole-v1", f"{path} {fragment}", "drop one of them")


def test_yaml_agreeing_with_the_run_is_fine(tasks, dqn_run):
    path = ROOT / "config" / "presets" / "CartPole-v1_DQN.yaml"
    cfg = config_from_args(["--yaml", str(path), "--mode", "test", "--load", dqn_run.name, f"general_cfg.tasks_dir={tasks}"])
    assert cfg.value_layers == SMALL_LAYERS


def test_bare_checkpoint_elsewhere_keeps_todays_behaviour(cli, tmp_path, dqn_run):
    elsewhere = tmp_path / "elsewhere.pt"
    shutil.copy(dqn_run / "models" / "best.pt", elsewhere)
    cfg = config_from_args(["--mode", "test", "--load", str(elsewhere), f"general_cfg.tasks_dir={tmp_path}"])
    assert cfg.value_layers != SMALL_LAYERS  # DQN's defaults: nothing says otherwise
    one_line_error(cli("--mode", "test", "--load", elsewhere), "does not fit this DQN config")


def test_missing_load_path_is_the_runners_error(cli, tmp_path):
    one_line_error(cli("--mode", "test", "--load", "no_such_run"), "load_path 'no_such_run' not found")


def test_broken_run_config_names_the_file(cli, tasks, dqn_run):
    config = tasks / dqn_run.name / "config.yaml"
    config.write_text("algo_cfg:\n  bath_size: 3\n", encoding="utf-8")
    one_line_error(cli("--mode", "test", "--load", dqn_run.name, tasks_dir=tasks), str(config), "algo_cfg.bath_size")


def test_a_checkpoint_outside_models_or_a_folder_without_config_is_no_run(tmp_path, dqn_run):
    assert run_folder(str(dqn_run / "config.yaml"), tmp_path) is None
    assert run_folder(str(dqn_run / "logs"), tmp_path) is None
    assert run_folder(str(tmp_path), tmp_path) is None
    assert run_folder("x" * 5000, tmp_path) is None  # a name too long for the file system
    assert run_folder(dqn_run.name, dqn_run.parent) == dqn_run.resolve()


def test_relative_tasks_dir_starts_at_the_project_root(tmp_path):
    assert tasks_dir_path("tasks") == ROOT / "tasks"
    assert tasks_dir_path(None) == ROOT / "tasks"
    assert tasks_dir_path(str(tmp_path)) == tmp_path


def test_continued_training_takes_the_runs_network(cli, tasks, dqn_run):
    result = cli("general_cfg.load_checkpoint=true", "--load", dqn_run.name, "general_cfg.max_env_steps=400", tasks_dir=tasks)
    assert result.code == 0, result.err
    assert torch.load(result.folder / "models" / "last.pt", weights_only=True)["agent"]


def test_a_key_the_runs_algorithm_lacks_says_where_the_algorithm_came_from(cli, tmp_path, qlearning_run):
    result = cli("general_cfg.load_checkpoint=true", "--load", qlearning_run, SMALL_NET)
    one_line_error(
        result, "algo_cfg.value_layers is not a known key", "algo_cfg of QLearning", str(qlearning_run / "config.yaml")
    )
