"""general_cfg.info_keys: numbers from the env's info at each episode's end, in res.csv, eval.csv, the log and a figure."""

import pytest

from joyrl.vector_loop import sub_env_info
from tests.helpers import RES_COLUMNS, TINY_DQN, TINY_PPO, read_csv

STEP_INFO = "env_cfg.wrappers=[tests.my_env_module:StepInfo]"


def test_step_loop_records_the_last_info_of_each_episode_and_the_evaluations_mean(cli):
    result = cli(*TINY_DQN, STEP_INFO, "general_cfg.info_keys=[steps, long]")
    assert result.code == 0
    rows = read_csv(result.folder / "results" / "res.csv")
    assert list(rows[0]) == [*RES_COLUMNS, "steps", "long"]
    for row in rows:  # CartPole pays 1 a step, so the return is the length is the step count in the last info
        assert int(row["steps"]) == int(row["length"]) == float(row["reward"])
        assert float(row["long"]) == float(int(row["length"]) >= 15)
    evaluations = read_csv(result.folder / "results" / "eval.csv")
    assert list(evaluations[0])[-2:] == ["eval_steps", "eval_long"]
    for row in evaluations:
        assert float(row["eval_steps"]) == pytest.approx(float(row["eval_mean"]))
    assert (result.folder / "results" / "info_steps.png").read_bytes().startswith(b"\x89PNG")
    log = (result.folder / "logs" / "log.txt").read_text()
    assert f"| steps {rows[9]['steps']} |" in log  # the 10th episode's console line


def test_vector_loop_records_each_sub_envs_own_last_info(cli):
    result = cli(*TINY_PPO, STEP_INFO, "general_cfg.info_keys=[steps]")
    assert result.code == 0
    rows = read_csv(result.folder / "results" / "res.csv")
    assert len(rows) > 20
    assert all(int(row["steps"]) == int(row["length"]) for row in rows)


def test_test_mode_records_them_too(cli):
    trained = cli(*TINY_DQN, STEP_INFO, "general_cfg.info_keys=[steps]")
    played = cli("--mode", "test", "--load", trained.folder, "general_cfg.play_episodes=3")
    assert played.code == 0
    rows = read_csv(played.folder / "results" / "res.csv")
    assert [int(row["steps"]) for row in rows] == [int(row["length"]) for row in rows]


def test_a_missing_key_or_text_is_reported_once_and_left_blank(cli):
    result = cli(*TINY_DQN, STEP_INFO, "general_cfg.info_keys=[name, stepz]")
    assert result.code == 0
    log = (result.folder / "logs" / "log.txt").read_text()
    assert log.count("'name' is str, not a number") == 1
    assert log.count("'stepz' is not in the info at an episode's end (it has: steps, long, name)") == 1
    rows = read_csv(result.folder / "results" / "res.csv")
    assert {row["name"] for row in rows} == {row["stepz"] for row in rows} == {""}
    assert {row["eval_name"] for row in read_csv(result.folder / "results" / "eval.csv")} == {"nan"}


@pytest.mark.parametrize(
    ("keys", "message"),
    [("[reward]", "reward would overwrite a column of res.csv or eval.csv"), ("[a, a]", "has duplicates")],
)
def test_a_key_that_clashes_with_a_column_or_repeats_is_a_config_error(cli, keys, message):
    result = cli(*TINY_DQN, f"general_cfg.info_keys={keys}")
    assert result.code == 2
    assert message in result.err
    assert result.folder is None


def test_sub_env_info_picks_one_sub_env_out_of_the_batched_info():
    infos = {"score": [1.0, 2.0], "_score": [True, True], "only_1": [0, 7], "_only_1": [False, True]}
    infos |= {"terms": {"a": [3, 4], "_a": [True, True]}, "_terms": [True, True]}
    assert sub_env_info(infos, 0) == {"score": 1.0, "terms": {"a": 3}}
    assert sub_env_info(infos, 1) == {"score": 2.0, "only_1": 7, "terms": {"a": 4}}
