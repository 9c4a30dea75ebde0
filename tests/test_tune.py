"""--tune: an Optuna study over a YAML's tune_space, each entry checked first; pruning, resuming, the best preset."""

from types import SimpleNamespace

import pytest

from joyrl.cli import config_from_args
from joyrl.tune import CHECKPOINTS, WARMUP, Study, TrialPruning, seed_score
from tests.helpers import read_csv, write_yaml

pytest.importorskip("optuna")

BASE = {
    "general_cfg": {
        "algo_name": "DQN",
        "max_env_steps": 400,
        "eval_per_episode": 5,
        "online_eval_episode": 2,
        "save_fig": False,
    },
    "algo_cfg": {
        "value_layers": [{"layer_type": "linear", "layer_size": [16], "activation": "relu"}],
        "learning_starts": 50,
        "train_freq": 4,
        "gradient_steps": 1,
        "buffer_size": 1000,
        "batch_size": 32,
    },
    "env_cfg": {"id": "CartPole-v1"},
}
SPACE = {
    "algo_cfg.lr": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
    "algo_cfg.target_update": {"low": 10, "high": 200},
    "algo_cfg.gamma": {"choices": [0.9, 0.99]},
}


def tune_yaml(tmp_path, space=SPACE):
    return write_yaml(tmp_path / "tune.yaml", {**BASE, "tune_space": space})


def test_a_study_runs_its_trials_writes_the_best_preset_and_resumes(cli, tmp_path):
    result = cli("--yaml", tune_yaml(tmp_path), "--tune", "3")
    assert result.code == 0
    (study,) = tmp_path.glob("Tune_CartPole-v1_DQN_*")
    trials = read_csv(study / "trials.csv")
    assert [row["state"] for row in trials] == ["COMPLETE"] * 3 and trials[0]["algo_cfg.gamma"] == "0.99"
    assert {row["algo_cfg.gamma"] for row in trials} <= {"0.9", "0.99"}
    assert all(10 <= int(row["algo_cfg.target_update"]) <= 200 for row in trials)
    best = max(trials, key=lambda row: float(row["value"]))
    preset = config_from_args(["--yaml", str(study / "best.yaml")])
    assert preset.target_update == int(best["algo_cfg.target_update"])
    assert preset.lr == pytest.approx(float(best["algo_cfg.lr"]), rel=1e-5)
    assert preset.max_env_steps == 400 and preset.tasks_dir == "tasks"  # the base config, without the study's trials folder
    assert (study / "importance.png").read_bytes().startswith(b"\x89PNG")
    log = (study / "tune.log").read_text()
    assert all(f"trial {n}: score" in log for n in range(3)) and "best: trial" in log
    assert cli("--yaml", tune_yaml(tmp_path), "--tune", "2", "--study", study).code == 0
    assert len(read_csv(study / "trials.csv")) == 5 and len(list(tmp_path.glob("Tune_*"))) == 1


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"algo_cfg.lrr": {"low": 1, "high": 2}}, "tune_space.algo_cfg.lrr: not a key"),
        ({"lr": {"low": 1, "high": 2}}, "write section.key"),
        ({"algo_cfg.target_update": {"low": 1.5, "high": 20}}, "low and high must be ints"),
        ({"algo_cfg.lr": {"low": 0.1, "high": 0.01}}, "low < high"),
        ({"algo_cfg.lr": {"low": 0.0, "high": 0.01, "log": True}}, "a log range needs low > 0"),
        ({"algo_cfg.lr": {"choices": []}}, "choices must be a non-empty list"),
        ({"algo_cfg.lr": {"choices": [0.001, -1]}}, "the value -1 is refused"),
        ({"general_cfg.device": {"low": 0, "high": 1}}, "is not a number"),
        ({"algo_cfg.lr": {"min": 0, "max": 1}}, "give {low: .., high: ..}"),
    ],
)
def test_a_bad_search_space_entry_is_one_line_before_any_trial(cli, tmp_path, space, message):
    result = cli("--yaml", tune_yaml(tmp_path, space), "--tune", "2")
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("Tune_*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tune", "0"], "at least 1 trial"),
        (["--tune", "x"], "give whole numbers"),
        (["--tune", "2", "--jobs", "0"], "1 process to run them"),
        (["--tune", "2", "--seeds", "1", "1"], "given twice"),
        (["--tune", "2", "--seeds"], "at least one seed"),
        (["--tune", "2", "--threshold", "100"], "--threshold belongs to a sweep"),
    ],
)
def test_bad_tune_arguments_are_one_line(cli, tmp_path, args, message):
    result = cli("--yaml", tune_yaml(tmp_path), *args)
    assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("Tune_*"))


def test_a_yaml_without_a_search_space_cannot_be_tuned_but_one_with_it_trains_as_usual(cli, tmp_path):
    plain = write_yaml(tmp_path / "plain.yaml", BASE)
    result = cli("--yaml", plain, "--tune", "2")
    assert result.code == 2 and "needs a tune_space section" in result.err
    assert cli("--yaml", tune_yaml(tmp_path)).code == 0  # without --tune the tune_space is not read


def test_pruning_reports_the_first_evaluation_in_each_share_of_the_budget_after_the_warmup_and_the_earlier_seeds():
    reports = []
    trial = SimpleNamespace(report=lambda value, step: reports.append((value, step)), should_prune=lambda: len(reports) >= 3)
    cfg = SimpleNamespace(max_env_steps=CHECKPOINTS * 100, max_episode=-1)
    first_seed = TrialPruning(trial, cfg, seed_index=0)
    early, at_warmup, same_part, later = (WARMUP - 1) * 100, WARMUP * 100 + 10, WARMUP * 100 + 50, (WARMUP + 2) * 100
    for env_steps, score in [(early, 5.0), (at_warmup, 9.0), (same_part, 10.0), (later, 20.0)]:
        first_seed.on_evaluation(SimpleNamespace(env_steps=env_steps), {"eval_mean": score})
    assert reports == [(9.0, WARMUP), (20.0, WARMUP + 2)] and not first_seed.wants_stop
    second_seed = TrialPruning(trial, cfg, seed_index=1)
    second_seed.on_evaluation(SimpleNamespace(env_steps=CHECKPOINTS * 100 + 10), {"eval_mean": 30.0})  # past the budget
    assert reports[-1] == (30.0, CHECKPOINTS + 1 + CHECKPOINTS) and second_seed.wants_stop and second_seed.pruned
    by_episode = TrialPruning(trial, SimpleNamespace(max_env_steps=-1, max_episode=40), seed_index=0)
    by_episode.on_evaluation(SimpleNamespace(env_steps=5000, episode=20), {"eval_mean": 1.0})
    assert reports[-1] == (1.0, CHECKPOINTS // 2)


def test_a_trial_trains_every_seed_and_the_first_trial_is_the_configurations_own_values(cli, tmp_path):
    result = cli("--yaml", tune_yaml(tmp_path), "--tune", "2", "--seeds", "3", "4")
    assert result.code == 0
    (study,) = tmp_path.glob("Tune_CartPole-v1_DQN_*")
    trials = read_csv(study / "trials.csv")
    own = config_from_args(["--yaml", str(tune_yaml(tmp_path))])
    assert (
        float(trials[0]["algo_cfg.lr"]) == pytest.approx(own.lr) and int(trials[0]["algo_cfg.target_update"]) == own.target_update
    )
    for row in trials:
        scores = [float(value) for value in row["seed_scores"].split()]
        assert len(scores) == 2 and len(row["finals"].split()) == 2 and float(row["value"]) == pytest.approx(sum(scores) / 2)
        folders = row["run_folders"].split()
        assert [config_from_args(["--yaml", f"{folder}/config.yaml"]).seed for folder in folders] == [3, 4]
        assert all(f"trials/trial_{row['number']}/" in folder for folder in folders)
    assert "trial 0 (the configuration's own values)" in (study / "tune.log").read_text()
    assert config_from_args(["--yaml", str(study / "best.yaml")]).seed == own.seed
    result = cli("--yaml", tune_yaml(tmp_path), "--tune", "1", "--seeds", "3", "--study", study)
    assert result.code == 2 and "continue it with --seeds 3 4" in result.err


def test_trials_run_in_several_processes_and_their_lines_reach_the_console(cli, tmp_path):
    result = cli("--yaml", tune_yaml(tmp_path), "--tune", "3", "--jobs", "2")
    assert result.code == 0
    (study,) = tmp_path.glob("Tune_CartPole-v1_DQN_*")
    trials = read_csv(study / "trials.csv")
    assert [row["state"] for row in trials] == ["COMPLETE"] * 3
    assert len({(row["algo_cfg.lr"], row["algo_cfg.gamma"]) for row in trials}) == 3  # the workers' samplers differ
    assert (study / "worker_0.txt").is_file() and (study / "worker_1.txt").is_file()
    assert all(f"trial {n}: score" in result.out for n in range(3))  # echoed from tune.log
    assert (study / "best.yaml").is_file()


def test_a_seeds_score_is_the_mean_of_its_evaluations_in_the_last_fifth_of_the_budget():
    rows = [{"episode": str(10 * i), "env_steps": str(steps), "eval_mean": str(value)} for i, (steps, value) in enumerate(
        [(100, 10.0), (790, 400.0), (800, 500.0), (900, 150.0), (1000, 500.0)]
    )]  # fmt: skip
    assert seed_score(rows, SimpleNamespace(max_env_steps=1000, max_episode=-1)) == pytest.approx((500 + 150 + 500) / 3)
    assert seed_score(rows[:2], SimpleNamespace(max_env_steps=1000, max_episode=-1)) == 400.0  # none late: the last
    by_episodes = SimpleNamespace(max_env_steps=-1, max_episode=35)  # the last fifth: episodes 28-35, so 30 and 40
    assert seed_score(rows, by_episodes) == pytest.approx((150 + 500) / 2)


def test_the_best_trial_is_the_highest_score_then_the_one_that_learned_sooner():
    def trial(number, value, mean_eval):
        return SimpleNamespace(number=number, value=value, user_attrs={"mean_eval": mean_eval})

    trials = [trial(0, 500.0, 300.0), trial(1, 480.0, 450.0), trial(2, 500.0, 350.0), trial(3, 500.0, 350.0)]
    assert Study.best_trial(None, trials).number == 2  # type: ignore[arg-type]


def test_pruning_stops_the_run_when_the_pruner_says_so():
    reports = []
    trial = SimpleNamespace(report=lambda value, step: reports.append((value, step)), should_prune=lambda: len(reports) >= 2)
    pruning = TrialPruning(trial, SimpleNamespace(max_env_steps=2000, max_episode=-1))
    pruning.on_evaluation(SimpleNamespace(env_steps=1000), {"eval_mean": 9.0})
    assert not pruning.wants_stop
    pruning.on_evaluation(SimpleNamespace(env_steps=1500), {"eval_mean": 12.0})
    assert reports == [(9.0, 10), (12.0, 15)] and pruning.wants_stop and pruning.pruned
