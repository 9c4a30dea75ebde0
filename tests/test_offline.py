"""Learning from data: datasets read from collect runs, collection of a chosen quality, the offline loop."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from algos.DQN.agent import Agent
from joyrl.cli import config_from_args
from joyrl.datasets import Dataset, check_dataset_fits, fill_memory, load_dataset
from joyrl.envs import env_info, make_env
from joyrl.errors import JoyRLError
from joyrl.trajectories import read_trajectory_file
from tests.helpers import SMALL_NET, read_csv, train

OFFLINE_DQN = [
    "--algo",
    "DQN",
    "--env",
    "CartPole-v1",
    SMALL_NET,
    "algo_cfg.learning_starts=32",
    "algo_cfg.batch_size=32",
    "algo_cfg.gradient_steps=1",
    "algo_cfg.target_update=20",
    "general_cfg.max_updates=60",
    "general_cfg.eval_per_updates=20",
    "general_cfg.online_eval_episode=2",
    "general_cfg.save_fig=false",
]


@pytest.fixture(scope="module")
def collected(dqn_run, tmp_path_factory):
    """Two collect runs of the tiny DQN: greedy (4 episodes) and epsilon 0.5 (3 episodes)."""
    tasks = tmp_path_factory.mktemp("collected")
    greedy = train(["--mode", "collect", "--load", dqn_run, "general_cfg.play_episodes=4"], tasks)
    noisy = train(
        ["--mode", "collect", "--load", dqn_run, "general_cfg.play_episodes=3", "general_cfg.collect_exploration=epsilon",
         "general_cfg.collect_epsilon=0.5"],
        tasks,
    )  # fmt: skip
    return greedy, noisy


# ------------------------------------------------------------------ datasets


def test_a_dataset_keeps_episodes_and_terminated_apart_from_truncated(collected, tmp_path):
    greedy, noisy = collected
    dataset = load_dataset([str(greedy), str(noisy / "traj" / "trajs_0.pkl")], tmp_path)
    assert dataset.n_episodes == 7 and len(dataset.sources) == 2
    lengths = [int(row["length"]) for folder in collected for row in read_csv(folder / "results" / "res.csv")]
    assert [end - start for start, end in dataset.episode_bounds()] == lengths
    assert dataset.n_transitions == sum(lengths) == len(dataset.actions) == len(dataset.observations)
    ends = np.zeros(dataset.n_transitions, bool)
    ends[[end - 1 for _, end in dataset.episode_bounds()]] = True
    assert ((dataset.terminated | dataset.truncated) == ends).all()  # each episode ends exactly at its last step
    assert dataset.actions.dtype == np.int64 and dataset.observations.shape[1:] == (4,)
    assert "7 episodes" in dataset.summary() and "return mean" in dataset.summary()


def test_a_glob_and_a_run_folder_name_under_tasks_find_the_files(collected):
    greedy, noisy = collected
    by_glob = load_dataset(str(greedy.parent / "Collect_*"), greedy.parent)
    by_name = load_dataset(greedy.name, greedy.parent)  # a run folder name, looked for under tasks/
    assert by_glob.n_episodes == 7 and by_name.n_episodes == 4


def test_collect_records_how_it_collected_and_epsilon_changes_the_actions(collected):
    greedy, noisy = collected
    greedy_meta, greedy_trajectories = read_trajectory_file(greedy / "traj" / "trajs_0.pkl")
    noisy_meta, _ = read_trajectory_file(noisy / "traj" / "trajs_0.pkl")
    assert greedy_meta["exploration"]["kind"] == "none" and greedy_meta["policy"].endswith("best.pt")
    assert noisy_meta["exploration"] == {"kind": "epsilon", "epsilon": 0.5, "noise_std": 0.1}
    assert noisy_meta["env_id"] == "CartPole-v1" and noisy_meta["algo_name"] == "DQN"
    # the recorded action is the one that ran: replaying a greedy episode's actions gives its observations
    assert len(greedy_trajectories) == 4


def test_epsilon_collection_records_the_random_actions_it_took(collected, dqn_run):
    """With epsilon 0.5 about a quarter of the actions differ from the greedy one (half random, half of those wrong)."""
    _, noisy = collected
    dataset = load_dataset(str(noisy), noisy.parent)
    cfg = config_from_args(["--load", str(dqn_run), "--mode", "test"])
    env = make_env(cfg, seed=1)
    for key, value in env_info(env).items():
        setattr(cfg, key, value)
    agent = Agent(cfg)
    agent.load_state_dict(torch.load(dqn_run / "models" / "best.pt", weights_only=True)["agent"])
    greedy = np.array([agent.predict_action(observation) for observation in dataset.observations])
    differ = float((greedy != dataset.actions).mean())
    assert 0.1 < differ < 0.45, differ


def test_gaussian_collection_on_discrete_actions_is_one_line(cli, dqn_run):
    result = cli("--mode", "collect", "--load", dqn_run, "general_cfg.collect_exploration=gaussian")
    assert result.code == 2 and "gaussian adds noise to Box actions" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(
    ("dataset", "message"),
    [("nowhere/at/all", "no trajs_*.pkl found"), ("EMPTY", "holds no trajectories"), ("CORRUPT", "cannot be read")],
)
def test_a_missing_empty_or_corrupt_dataset_is_one_line_before_any_folder(cli, tmp_path, dataset, message):
    data = tmp_path / "data"
    data.mkdir()
    if dataset == "EMPTY":
        (data / "trajs_0.pkl").write_bytes(
            pickle.dumps({"format": "joyrl-trajectories", "version": 1, "meta": {}, "trajectories": []})
        )
        dataset = str(data / "trajs_0.pkl")
    elif dataset == "CORRUPT":
        (data / "trajs_0.pkl").write_bytes(b"not a pickle")
        dataset = str(data / "trajs_0.pkl")
    result = cli(*OFFLINE_DQN, f"general_cfg.dataset={dataset}", tasks_dir=tmp_path / "tasks")
    assert result.code == 2 and result.folder is None
    assert message in result.err and result.err.count("\n") == 1


def test_data_of_another_env_or_action_type_is_refused(collected, tmp_path):
    dataset = load_dataset(str(collected[0]), tmp_path)
    acrobot = make_env(SimpleNamespace(id="Acrobot-v1", kwargs={}, wrappers=[], max_step=-1, render_mode=None), seed=1)
    with pytest.raises(JoyRLError, match="do not fit the env"):
        check_dataset_fits(dataset, acrobot, "DQN")
    pendulum = make_env(SimpleNamespace(id="Pendulum-v1", kwargs={}, wrappers=[], max_step=-1, render_mode=None), seed=1)
    box_data = Dataset(**{**dataset.__dict__, "observations": np.zeros((dataset.n_transitions, 3), np.float32)})
    with pytest.raises(JoyRLError, match="the dataset holds discrete actions"):
        check_dataset_fits(box_data, pendulum, "SAC")


def test_an_algorithm_that_cannot_learn_offline_is_one_line(cli, collected):
    result = cli("--algo", "PPO", "--env", "CartPole-v1", f"general_cfg.dataset={collected[0]}")
    assert result.code == 2 and "PPO cannot learn from a dataset" in result.err


def test_fill_memory_hands_every_transition_to_the_agent_in_episode_order(collected, tmp_path):
    dataset = load_dataset(str(collected[0]), tmp_path)

    class Recorder:
        memory = None

        def __init__(self):
            self.calls, self.fitted = [], None

        def fit_dataset(self, data):
            self.fitted = data

        def store_transition(self, state, action, reward, next_state, terminated):
            self.calls.append(("step", int(action), terminated))

        def end_episode(self):
            self.calls.append(("end",))

    agent = Recorder()
    fill_memory(agent, dataset)
    assert agent.fitted is dataset
    assert [call for call in agent.calls if call[0] == "step"] == [
        ("step", int(a), bool(t)) for a, t in zip(dataset.actions, dataset.terminated, strict=True)
    ]
    assert sum(call == ("end",) for call in agent.calls) == dataset.n_episodes and agent.calls[-1] == ("end",)


# ------------------------------------------------------------------ the offline loop


def test_offline_dqn_learns_from_the_data_alone_and_records_against_updates(cli, collected):
    result = cli(*OFFLINE_DQN, f"general_cfg.dataset={collected[0]}")
    assert result.code == 0, result.err
    assert "dataset: 4 episodes" in result.err and "finished: 60 updates from the dataset" in result.err
    evaluations = read_csv(result.folder / "results" / "eval.csv")
    assert [row["updates"] for row in evaluations] == ["20", "40", "60"]
    stats = read_csv(result.folder / "results" / "train_stats.csv")
    assert [row["updates"] for row in stats] == ["20", "40", "60"] and "loss" in stats[0]
    assert not (result.folder / "results" / "res.csv").exists()  # no training episodes: no env step learned from
    last = torch.load(result.folder / "models" / "last.pt", weights_only=True)
    assert last["progress"]["updates"] == 60 and last["progress"]["env_steps"] == 0
    assert last["agent"]["update_count"] == 60 and last["agent"]["sample_count"] == 0
    assert (result.folder / "models" / "best.pt").is_file()


def test_offline_training_resumes_its_update_count(cli, collected):
    first = cli(*OFFLINE_DQN, f"general_cfg.dataset={collected[0]}", "general_cfg.max_updates=40")
    assert first.code == 0
    resumed = cli(*OFFLINE_DQN, f"general_cfg.dataset={collected[0]}", "general_cfg.load_checkpoint=true", "--load", first.folder)
    assert resumed.code == 0, resumed.err
    assert "continuing from" in resumed.err and "at update 40" in resumed.err
    assert [row["updates"] for row in read_csv(resumed.folder / "results" / "eval.csv")] == ["20", "40", "60"]
    spent = cli(*OFFLINE_DQN, f"general_cfg.dataset={collected[0]}", "general_cfg.load_checkpoint=true", "--load", resumed.folder)
    assert spent.code == 2 and "max_updates (60 updates)" in spent.err


def test_an_offline_run_that_learns_nothing_says_why(cli, collected):
    result = cli(*OFFLINE_DQN, f"general_cfg.dataset={collected[0]}", "algo_cfg.learning_starts=100000")
    assert result.code == 1
    assert "learned nothing in 1000 calls" in result.err and "resume with" in result.err
