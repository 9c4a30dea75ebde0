"""Every bad input: one line on stderr naming the problem, exit code 2, no traceback, no run folder."""

import shutil
import subprocess
import sys

import pytest
import torch

from joyrl.cli import main
from tests.helpers import ROOT, SMALL_NET, write_yaml


def assert_rejected(result, tasks_dir, *fragments):
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.folder is None
    assert not tasks_dir.exists() or not any(tasks_dir.iterdir())


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["algo_cfg.bath_size=3"], ["algo_cfg.bath_size", "batch_size"]),
        (["general_cfg.max_episod=3"], ["max_episod", "max_episode"]),
        (["env_cfg.idd=CartPole-v1"], ["env_cfg.idd", "id"]),
        (["algo_cfg.batch_size=-1"], ["algo_cfg.batch_size", ">= 1"]),
        (["general_cfg.seed=abc"], ["general_cfg.seed", "abc"]),
        (["general_cfg.online_eval=maybe"], ["general_cfg.online_eval", "maybe"]),
        (["--mode", "fly"], ["general_cfg.mode", "fly", "train"]),
        (["--algo", "NoSuchAlgo"], ["NoSuchAlgo", "DQN", "QLearning"]),
        (["--env", "CartPole-v9"], ["CartPole-v9", "CartPole-v1"]),
        (["general_cfg.env_name=nowhere"], ["nowhere", "gym"]),
        (["--env", "Pendulum-v1"], ["DQN", "Discrete", "Pendulum-v1"]),
        (["--algo", "QLearning"], ["QLearning", "Discrete observation", "CartPole-v1"]),
        (["--algo", "DDPG", "--env", "CliffWalking-v1"], ["DDPG", "Box action", "CliffWalking-v1", "Discrete"]),
        (["foo_cfg.x=1"], ["unknown section", "foo_cfg"]),
        (["lr=3"], ["lr=3", "section.key=value"]),
        (["algo_cfg.lr"], ["algo_cfg.lr", "section.key=value"]),
        (["algo_cfg=3"], ["algo_cfg=3", "section.key=value"]),
        (["--bogus"], ["--bogus"]),
        (["algo_cfg.value_layers=[{layer_type: lstm, layer_size: [8]}]"], ["value_layers[0]", "lstm", "linear"]),
        (["algo_cfg.value_layers=[]"], ["value_layers", "empty"]),
        (["env_cfg.kwargs={foo: 1}"], ["env_cfg.kwargs", "foo"]),
        (["env_cfg.wrappers=[nope:Foo]"], ["env_cfg.wrappers", "nope:Foo"]),
        (["general_cfg.max_episode=-1", "general_cfg.max_env_steps=-1"], ["never end"]),
        (["general_cfg.load_checkpoint=true"], ["load_checkpoint", "load_path"]),
        (["general_cfg.mp_backend=spark"], ["mp_backend", "spark", "ray"]),
        (["general_cfg.n_workers=2"], ["n_workers", "mp_backend ray"]),
        (["algo_cfg.epsilon_start=0.5", "algo_cfg.epsilon_end=0.9"], ["epsilon_end", "epsilon_start"]),
        (["--mode", "test", "--load", "no_such_run"], ["no_such_run", "not found"]),
    ],
)
def test_bad_command_line(cli, tmp_path, args, fragments):
    assert_rejected(cli(*args), tmp_path, *fragments)


def test_seed_beyond_numpys_range(cli, tmp_path):
    assert_rejected(cli("general_cfg.seed=4294967296"), tmp_path, "general_cfg.seed")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu(cli, tmp_path):
    assert_rejected(cli("general_cfg.device=cuda"), tmp_path, "cuda", "cpu")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("general_cfg: {seed: 1\n", ["malformed YAML", "line"]),
        ("algo_cfg:\n  lr: 0.1\n   gamma: 0.9\n", ["malformed YAML", "line 3"]),
        ("algo_cfgs:\n  lr: 0.1\n", ["unknown section", "algo_cfgs", "algo_cfg"]),
        ("- general_cfg\n", ["expected a mapping"]),
        ("algo_cfg: [1, 2]\n", ["algo_cfg", "mapping"]),
        ("algo_cfg:\n  bath_size: 3\n", ["algo_cfg.bath_size", "batch_size"]),
        ("algo_cfg:\n  lr: -1\n", ["algo_cfg.lr", "> 0"]),
    ],
)
def test_bad_yaml_file(cli, tmp_path, text, fragments):
    path = write_yaml(tmp_path / "bad.yaml", text)
    tasks = tmp_path / "tasks"
    assert_rejected(cli("--yaml", path, tasks_dir=tasks), tasks, str(path), *fragments)


@pytest.mark.parametrize(
    ("text", "key"),
    [("general_cfg:\n  algo_name: NoSuchAlgo\n", "general_cfg.algo_name"), ("env_cfg:\n  id: CartPole-v9\n", "env_cfg.id")],
)
def test_unknown_algo_or_env_in_yaml_names_the_file_and_key(cli, tmp_path, text, key):
    path = write_yaml(tmp_path / "bad.yaml", text)
    tasks = tmp_path / "tasks"
    assert_rejected(cli("--yaml", path, tasks_dir=tasks), tasks, str(path), key)


def test_missing_yaml_file(cli, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    assert_rejected(cli("--yaml", missing), tmp_path, str(missing), "not found")


def test_unwritable_tasks_dir(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = main(["general_cfg.max_episode=1", f"general_cfg.tasks_dir={blocker / 'tasks'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: cannot write the run folder") and err.count("\n") == 1


@pytest.mark.parametrize("mode", ["test", "render", "collect"])
def test_play_modes_need_a_load_path(cli, tmp_path, mode):
    assert_rejected(cli("--mode", mode, SMALL_NET), tmp_path, f"mode {mode}", "load_path")


@pytest.mark.parametrize("mode", ["test", "render", "collect"])
def test_qlearning_checkpoint_loaded_by_dqn(cli, tmp_path, qlearning_run, mode):
    result = cli("--algo", "DQN", "--env", "CartPole-v1", "--mode", mode, "--load", qlearning_run, SMALL_NET)
    assert_rejected(result, tmp_path, "that run is QLearning on CliffWalking-v1", "the command line sets algo_name DQN")
    bare = bare_checkpoint(qlearning_run, tmp_path)  # no config.yaml beside it: the checkpoint itself refuses
    result = cli("--algo", "DQN", "--env", "CartPole-v1", "--mode", mode, "--load", bare, SMALL_NET)
    assert_rejected(result, tmp_path, "saved by QLearning, not DQN", "--algo QLearning")


def bare_checkpoint(run, tmp_path):
    """A copy of the run's best.pt outside any run folder (and outside tmp_path, which must stay empty)."""
    path = tmp_path.parent / f"{tmp_path.name}_bare" / "best.pt"
    path.parent.mkdir(exist_ok=True)
    shutil.copy(run / "models" / "best.pt", path)
    return path


@pytest.mark.parametrize("mode", ["test", "render", "collect"])
def test_dqn_checkpoint_with_other_network_sizes(cli, tmp_path, dqn_run, mode):
    other_net = "algo_cfg.value_layers=[{layer_type: linear, layer_size: [32]}]"
    result = cli("--mode", mode, "--load", dqn_run, other_net)
    assert_rejected(result, tmp_path, "does not fit this DQN config")


def test_dqn_checkpoint_on_another_env(cli, tmp_path, dqn_run):
    result = cli("--mode", "test", "--env", "Acrobot-v1", "--load", dqn_run, SMALL_NET)
    assert_rejected(result, tmp_path, "the command line sets env id Acrobot-v1")
    result = cli("--mode", "test", "--env", "Acrobot-v1", "--load", bare_checkpoint(dqn_run, tmp_path), SMALL_NET)
    assert_rejected(result, tmp_path, "does not fit")


def test_incompatible_checkpoint_for_continued_training(cli, tmp_path, qlearning_run):
    result = cli("general_cfg.load_checkpoint=true", "--load", qlearning_run, SMALL_NET)
    assert_rejected(result, tmp_path, "algo_cfg.value_layers is not a known key", "algo_cfg of QLearning")
    result = cli("general_cfg.load_checkpoint=true", "--load", bare_checkpoint(qlearning_run, tmp_path), SMALL_NET)
    assert_rejected(result, tmp_path, "saved by QLearning")


@pytest.mark.parametrize("target", ["config.yaml", "logs", "empty.pt"])
def test_load_path_that_is_not_a_checkpoint(cli, tmp_path, dqn_run, target):
    source = tmp_path / "source"
    shutil.copytree(dqn_run, source)
    (source / "empty.pt").touch()
    tasks = tmp_path / "tasks"
    result = cli("--mode", "test", "--load", source / target, SMALL_NET, tasks_dir=tasks)
    assert_rejected(result, tasks, str(source / target))


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"weights": torch.zeros(2)}, "not a JoyRL checkpoint (no format version)"),
        ({"format_version": 99, "algo_name": "DQN", "agent": {}, "progress": {}}, "has format 99"),
    ],
    ids=["plain-torch-file", "future-format"],
)
def test_foreign_torch_file_is_rejected(cli, tmp_path, payload, fragment):
    path = tmp_path / "foreign.pt"
    torch.save(payload, path)
    tasks = tmp_path / "tasks"
    assert_rejected(cli("--mode", "test", "--load", path, SMALL_NET, tasks_dir=tasks), tasks, str(path), fragment)


def test_network_size_mismatch_names_the_sizes(cli, tmp_path, dqn_run):
    other_net = "algo_cfg.value_layers=[{layer_type: linear, layer_size: [32]}]"
    result = cli("--mode", "test", "--load", dqn_run, other_net)
    assert_rejected(result, tmp_path, "size mismatch")
    assert not result.err.rstrip().endswith(":")


def test_run_folder_without_models(cli, tmp_path):
    (tmp_path / "source" / "results").mkdir(parents=True)
    tasks = tmp_path / "tasks"
    result = cli("--mode", "test", "--load", tmp_path / "source", SMALL_NET, tasks_dir=tasks)
    assert_rejected(result, tasks, "holds no best.pt or last.pt")


def test_space_mismatch_is_one_line_for_wide_boxes(cli, tmp_path):
    pytest.importorskip("Box2D")
    assert_rejected(cli("--algo", "QLearning", "--env", "LunarLander-v3"), tmp_path, "Discrete observation")


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert "section.key=value" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [["algo_cfg.bath_size=3"], ["--yaml", "{bad_yaml}"]],
    ids=["unknown-key", "malformed-yaml"],
)
def test_main_py_end_to_end_bad_input(tmp_path, args):
    bad_yaml = write_yaml(tmp_path / "bad.yaml", "general_cfg: [oops\n")
    args = [arg.format(bad_yaml=bad_yaml) for arg in args]
    tasks = tmp_path / "tasks"
    process = subprocess.run(
        [sys.executable, "main.py", *args, f"general_cfg.tasks_dir={tasks}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert "Traceback" not in process.stderr
    assert process.stderr.startswith("error: ") and process.stderr.count("\n") == 1
    assert process.stdout == ""
    assert not tasks.exists()
