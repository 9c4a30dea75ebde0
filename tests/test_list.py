"""``--list`` and the suggestions for a mistyped algorithm or YAML path."""

import re
from pathlib import Path

import pytest

from joyrl.cli import main
from joyrl.errors import ConfigError
from tests.helpers import ROOT, write_yaml


def listing(capsys) -> tuple[str, str]:
    capsys.readouterr()
    code = main(["--list"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return out, err


def row(out: str, first: str) -> list[str]:
    """The cells of the row starting with ``first`` (columns are two or more spaces apart)."""
    line = next(line for line in out.splitlines() if line.split() and line.split()[0] == first)
    return re.split(r"\s{2,}", line.strip())


def test_list_shows_algorithms_presets_and_custom_envs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, _ = listing(capsys)
    assert row(out, "DQN") == ["DQN", "Box, Dict, Discrete, MultiDiscrete, MultiBinary", "Discrete", "honoured", "transitions"]
    assert row(out, "PPO")[-1] == "rollouts" and row(out, "RainbowDQN")[-1] == "episodes"
    assert row(out, "DRQN")[-1] == row(out, "TD3_BC")[-1] == row(out, "GAIL")[-1] == "-"
    assert row(out, "QLearning") == ["QLearning", "Discrete, Tuple", "Discrete", "-", "-"]
    assert row(out, "CartPole-v1_DQN.yaml") == ["CartPole-v1_DQN.yaml", "DQN", "CartPole-v1"]
    assert row(out, "CliffWalking-v1_QLearning.yaml") == ["CliffWalking-v1_QLearning.yaml", "QLearning", "CliffWalking-v1"]
    assert row(out, "GorgeWalk-v0")[:2] == ["GorgeWalk-v0", "400"]
    for name in ("Algorithms", "Presets", "Custom envs", "TreasureHunt-v0", "PPO", "ALE-Pong-v5_DQN_CNN.yaml"):
        assert name in out
    assert "CartPole-v1 " not in out.split("Custom envs")[1]  # Gymnasium's own ids are not the project's
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing was written


def test_list_counts_every_algorithm_and_preset(capsys):
    out, _ = listing(capsys)
    algos = [path.name for path in (ROOT / "algos").iterdir() if (path / "agent.py").exists()]
    presets = [path.name for path in (ROOT / "config" / "presets").glob("*.yaml")]
    for name in algos + presets:
        assert row(out, name)


def test_an_agent_without_supported_spaces_reads_any(capsys, copy_algo):
    def plain_agent(folder: Path) -> None:
        (folder / "agent.py").write_text("class Agent:\n    pass\n", encoding="utf-8")

    name = copy_algo(edit=plain_agent)
    out, _ = listing(capsys)
    assert row(out, name) == [name, "any", "any", "-", "-"]


def test_list_with_other_arguments_is_one_error_line(capsys):
    capsys.readouterr()
    assert main(["--list", "--algo", "DQN"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --list takes no other arguments") and err.count("\n") == 1


@pytest.mark.parametrize(("typed", "suggested"), [("ppo", "PPO"), ("dqn", "DQN"), ("qlearning", "QLearning"), ("Ppo", "PPO")])
def test_unknown_algorithm_suggests_a_case_only_difference(cli, typed, suggested):
    result = cli("--algo", typed)
    assert result.code == 2
    assert f"did you mean {suggested}?" in result.err


def test_misspelled_preset_path_suggests_the_closest_file(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("--yaml", "config/presets/CartPole_DQN.yaml")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "did you mean config/presets/CartPole-v1_DQN.yaml?" in result.err


def test_yaml_suggestion_ignores_case_and_looks_in_the_same_folder(cli, tmp_path):
    write_yaml(tmp_path / "My_Run.yaml", {})
    result = cli("--yaml", tmp_path / "my_run.yaml")
    assert f"did you mean {tmp_path / 'My_Run.yaml'}?" in result.err


def test_yaml_in_a_missing_folder_suggests_a_preset(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("--yaml", tmp_path / "nowhere" / "cliffwalking-v1_qlearning.yaml")
    assert "did you mean config/presets/CliffWalking-v1_QLearning.yaml?" in result.err


def test_yaml_with_nothing_close_keeps_the_example(cli, tmp_path):
    result = cli("--yaml", tmp_path / "zzzz.yaml")
    assert "not found; give a path such as config/presets/CartPole-v1_DQN.yaml" in result.err


def test_the_readme_spaces_table_is_the_declarations():
    from joyrl.cli import SPACES_END, SPACES_START, spaces_table

    block = (ROOT / "README.md").read_text(encoding="utf-8").split(SPACES_START)[1].split(SPACES_END)[0]
    assert block == "\n" + spaces_table(), "README's spaces table is stale: run python main.py --list --readme"
    assert "| MonteCarlo | Discrete, Tuple | Discrete | - | - |" in block


def test_list_readme_writes_between_the_markers_and_readme_alone_is_one_line(tmp_path, cli):
    from joyrl.cli import SPACES_END, SPACES_START, spaces_table, write_spaces_table

    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n{SPACES_START}\nold\n{SPACES_END}\nafter\n", encoding="utf-8")
    write_spaces_table(readme)
    assert readme.read_text(encoding="utf-8") == f"# title\n{SPACES_START}\n{spaces_table()}{SPACES_END}\nafter\n"
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no <!-- spaces-table:start -->"):
        write_spaces_table(readme)
    result = cli("--readme")
    assert result.code == 2 and result.err == "error: --readme goes with --list: python main.py --list --readme\n"
