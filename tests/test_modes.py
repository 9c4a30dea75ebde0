"""Each mode end to end on tiny budgets, checking the files it writes."""

import os
import re
import shutil
from pathlib import Path
from unittest.mock import ANY

import gymnasium as gym
import pytest
import torch
from PIL import Image

from joyrl import checkpoints
from joyrl.media import FrameRecorder, save_gif
from joyrl.trajectories import FIELDS, TrajectoryWriter, load_trajectories
from tests.helpers import QLEARNING_PRESET, RES_COLUMNS, SMALL_NET, TINY_DQN, read_csv, train


def log_lines(folder):
    return (folder / "logs" / "log.txt").read_text().splitlines()


def checkpoint(path):
    return torch.load(path, weights_only=True)


# ------------------------------------------------------------------ train


def test_train_writes_the_run_folder(dqn_run):
    assert re.fullmatch(r"Train_CartPole-v1_DQN_\d{8}-\d{6}(_\d+)?", dqn_run.name)
    for name in ("config.yaml", "logs/log.txt", "models/last.pt", "models/best.pt", "results/res.csv", "results/eval.csv"):
        assert (dqn_run / name).is_file(), name
    assert (dqn_run / "results" / "rewards.png").read_bytes().startswith(b"\x89PNG")
    assert not list((dqn_run / "models").glob(".*"))  # no temporary checkpoint files left behind


def test_train_res_csv_has_one_row_per_episode(dqn_run):
    rows = read_csv(dqn_run / "results" / "res.csv")
    assert list(rows[0]) == RES_COLUMNS
    assert [int(row["episode"]) for row in rows] == list(range(1, len(rows) + 1))
    lengths = [int(row["length"]) for row in rows]
    assert [int(row["env_steps"]) for row in rows] == [sum(lengths[: i + 1]) for i in range(len(rows))]
    assert [float(row["reward"]) for row in rows] == lengths  # CartPole pays 1 per step
    assert int(rows[-2]["env_steps"]) < 300 <= int(rows[-1]["env_steps"])  # the budget is checked at episode ends


def test_train_evaluates_every_eval_per_episode_and_at_the_end(dqn_run):
    episodes = len(read_csv(dqn_run / "results" / "res.csv"))
    rows = read_csv(dqn_run / "results" / "eval.csv")
    assert list(rows[0]) == ["episode", "env_steps", "eval_mean", "eval_std", "eval_min", "eval_max", "seconds"]
    expected = list(range(5, episodes + 1, 5))
    if expected[-1] != episodes:
        expected.append(episodes)
    assert [int(row["episode"]) for row in rows] == expected


def test_train_saves_periodic_best_and_last_checkpoints(dqn_run):
    episodes = len(read_csv(dqn_run / "results" / "res.csv"))
    periodic = sorted(path.name for path in (dqn_run / "models").glob("episode_*.pt"))
    assert periodic == sorted(f"episode_{n}.pt" for n in range(5, episodes + 1, 5))
    last = checkpoint(dqn_run / "models" / "last.pt")
    assert last["algo_name"] == "DQN"
    assert last["progress"]["episode"] == episodes
    best_eval = max(float(row["eval_mean"]) for row in read_csv(dqn_run / "results" / "eval.csv"))
    assert checkpoint(dqn_run / "models" / "best.pt")["progress"]["best_eval"] == pytest.approx(best_eval, rel=1e-5)


def test_train_checkpoint_counts_agent_steps(dqn_run):
    last = checkpoint(dqn_run / "models" / "last.pt")
    assert last["agent"]["sample_count"] == last["progress"]["env_steps"]


def test_stop_at_eval_ends_training_at_the_first_evaluation_reaching_it(cli):
    full = cli("--yaml", QLEARNING_PRESET, "general_cfg.max_episode=400")
    evals = read_csv(full.folder / "results" / "eval.csv")
    first = next(row for row in evals if float(row["eval_mean"]) >= -13)
    assert int(first["episode"]) < 400
    stopped = cli("--yaml", QLEARNING_PRESET, "general_cfg.max_episode=400", "general_cfg.stop_at_eval=-13")
    assert stopped.code == 0
    assert read_csv(stopped.folder / "results" / "eval.csv")[-1] == {**first, "seconds": ANY}
    assert len(read_csv(stopped.folder / "results" / "res.csv")) == int(first["episode"])
    assert "reached stop_at_eval (-13)" in stopped.err
    assert (stopped.folder / "models" / "last.pt").exists()


def test_stop_at_eval_without_online_eval_is_a_config_error(cli):
    result = cli("--yaml", QLEARNING_PRESET, "general_cfg.stop_at_eval=-13", "general_cfg.online_eval=false")
    assert result.code == 2
    assert "stop_at_eval needs online_eval" in result.err


def test_an_env_without_a_time_limit_is_capped_and_says_so_once(cli):
    unlimited = cli(
        "--algo", "QLearning", "--env", "CliffWalking-v1", "general_cfg.max_episode=2", "general_cfg.online_eval=false"
    )
    assert unlimited.code == 0
    assert unlimited.err.count("CliffWalking-v1 has no time limit: each episode is truncated at 10,000 steps") == 1
    capped = cli("--yaml", QLEARNING_PRESET, "general_cfg.max_episode=2")  # the preset sets max_step
    assert "no time limit" not in capped.err


def test_log_file_repeats_the_console(cli):
    result = cli("--yaml", QLEARNING_PRESET, "general_cfg.max_episode=20")
    assert result.code == 0
    assert result.err.splitlines() == log_lines(result.folder)
    assert any("finished: 20 episodes" in line for line in result.err.splitlines())


def test_log_without_online_eval_has_no_minus_infinity(cli):
    result = cli("--yaml", QLEARNING_PRESET, "general_cfg.max_episode=5", "general_cfg.online_eval=false")
    assert result.code == 0
    assert "-inf" not in result.err


def test_no_figures_without_save_fig(cli):
    result = cli("--yaml", QLEARNING_PRESET, "general_cfg.max_episode=5", "general_cfg.save_fig=false")
    assert result.code == 0
    assert not list((result.folder / "results").glob("*.png"))


# ------------------------------------------------------------------ test


@pytest.mark.parametrize("how", ["folder", "name", "checkpoint"])
def test_test_mode_loads_a_run(cli, tmp_path, dqn_run, how):
    tasks = tmp_path / "tasks"
    shutil.copytree(dqn_run, tasks / dqn_run.name)
    load, loaded = {
        "folder": (dqn_run, dqn_run / "models" / "best.pt"),
        "name": (dqn_run.name, tasks / dqn_run.name / "models" / "best.pt"),
        "checkpoint": (dqn_run / "models" / "last.pt", dqn_run / "models" / "last.pt"),
    }[how]
    result = cli("--mode", "test", "--load", load, SMALL_NET, "general_cfg.play_episodes=3", tasks_dir=tasks)
    assert result.code == 0
    assert result.folder.name.startswith("Test_CartPole-v1_DQN_")
    assert f"loaded {loaded}" in result.err
    rows = read_csv(result.folder / "results" / "res.csv")
    assert list(rows[0]) == RES_COLUMNS
    assert [row["episode"] for row in rows] == ["1", "2", "3"]
    assert (result.folder / "config.yaml").is_file()
    assert (result.folder / "results" / "rewards.png").is_file()
    assert not (result.folder / "models").exists()


def test_test_mode_is_deterministic(cli, dqn_run):
    args = ("--mode", "test", "--load", dqn_run, SMALL_NET, "general_cfg.play_episodes=3")
    first, second = cli(*args), cli(*args)
    rows = [read_csv(result.folder / "results" / "res.csv") for result in (first, second)]
    assert [row["reward"] for row in rows[0]] == [row["reward"] for row in rows[1]]


# ------------------------------------------------------------------ render


def test_render_writes_an_animated_gif(cli, dqn_run):
    result = cli("--mode", "render", "--load", dqn_run, SMALL_NET, "general_cfg.play_episodes=2")
    assert result.code == 0
    first_length = int(read_csv(result.folder / "results" / "res.csv")[0]["length"])
    with Image.open(result.folder / "videos" / "video.gif") as gif:
        assert gif.format == "GIF"
        assert gif.size == (600, 400)
        assert 1 < gif.n_frames <= first_length + 1  # Pillow merges identical consecutive frames
        assert 20 <= gif.info["duration"] <= 50  # render_fps 30


def test_frame_recorder_keeps_the_first_episodes_only():
    env = FrameRecorder(gym.make("CliffWalking-v1", render_mode="rgb_array", max_episode_steps=4), n_episodes=1)
    for _ in range(2):
        env.reset(seed=0)
        for _ in range(4):
            env.step(0)
    assert len(env.frames) == 5  # the reset frame and four steps; the second episode is not recorded
    assert env.frames[0].ndim == 3 and env.frames[0].shape[2] == 3


def test_save_gif_without_frames_writes_nothing(tmp_path):
    assert save_gif([], tmp_path / "video.gif", fps=30) is None
    assert not (tmp_path / "video.gif").exists()


def test_rgb_array_render_mode_in_train_also_writes_a_gif(cli):
    result = cli(
        "--yaml",
        QLEARNING_PRESET,
        "general_cfg.max_episode=2",
        "general_cfg.max_step=5",
        "env_cfg.render_mode=rgb_array",
    )
    assert result.code == 0
    with Image.open(result.folder / "videos" / "video.gif") as gif:
        assert gif.n_frames > 1


# ------------------------------------------------------------------ collect


def test_collect_writes_trajectories(cli, dqn_run):
    result = cli("--mode", "collect", "--load", dqn_run, SMALL_NET, "general_cfg.play_episodes=3")
    assert result.code == 0
    assert sorted(path.name for path in (result.folder / "traj").iterdir()) == ["trajs_0.pkl"]
    trajectories = load_trajectories(result.folder / "traj" / "trajs_0.pkl")
    rows = read_csv(result.folder / "results" / "res.csv")
    assert isinstance(trajectories, list)
    assert len(trajectories) == len(rows) == 3
    for trajectory, row in zip(trajectories, rows, strict=True):
        assert set(trajectory) == set(FIELDS)
        steps = int(row["length"])
        assert all(len(trajectory[field]) == steps for field in FIELDS)
        assert trajectory["states"].shape == trajectory["next_states"].shape == (steps, 4)
        assert (trajectory["next_states"][:-1] == trajectory["states"][1:]).all()
        assert trajectory["rewards"].dtype == "float32"
        assert float(trajectory["rewards"].sum()) == float(row["reward"])
        ended = trajectory["terminated"] | trajectory["truncated"]
        assert ended.tolist() == [False] * (steps - 1) + [True]


def test_collect_traj_in_train_writes_every_episode(cli):
    result = cli(*TINY_DQN, "general_cfg.collect_traj=true", "general_cfg.online_eval=false")
    assert result.code == 0
    trajectories = load_trajectories(result.folder / "traj" / "trajs_0.pkl")
    rows = read_csv(result.folder / "results" / "res.csv")
    assert [len(trajectory["actions"]) for trajectory in trajectories] == [int(row["length"]) for row in rows]


def test_trajectory_writer_splits_files_at_per_file(tmp_path):
    writer = TrajectoryWriter(tmp_path / "traj", per_file=2)
    for i in range(5):
        writer.add({"rewards": [float(i)]})
    assert sorted(path.name for path in (tmp_path / "traj").iterdir()) == ["trajs_0.pkl", "trajs_1.pkl"]
    writer.flush()
    writer.flush()  # nothing pending: no empty file
    files = [load_trajectories(tmp_path / "traj" / f"trajs_{k}.pkl") for k in range(3)]
    assert [[t["rewards"][0] for t in file] for file in files] == [[0.0, 1.0], [2.0, 3.0], [4.0]]
    assert (writer.files_written, writer.trajectories_written) == (3, 5)
    assert len(list((tmp_path / "traj").iterdir())) == 3


# ------------------------------------------------------------------ continue training


def test_load_checkpoint_continues_training(cli, dqn_run):
    first = read_csv(dqn_run / "results" / "res.csv")
    result = cli(*TINY_DQN, "general_cfg.load_checkpoint=true", "--load", dqn_run, "general_cfg.max_env_steps=600")
    assert result.code == 0
    assert f"continuing from {dqn_run / 'models' / 'last.pt'}" in result.err
    all_rows = read_csv(result.folder / "results" / "res.csv")
    assert all_rows[: len(first)] == first  # the loaded run's rows first: the curve continues
    rows = all_rows[len(first) :]
    assert int(rows[0]["episode"]) == int(first[-1]["episode"]) + 1
    assert int(rows[0]["env_steps"]) == int(first[-1]["env_steps"]) + int(rows[0]["length"])
    assert float(rows[0]["seconds"]) > float(first[-1]["seconds"])  # the clock continues too
    assert int(rows[-2]["env_steps"]) < 600 <= int(rows[-1]["env_steps"])
    last = checkpoint(result.folder / "models" / "last.pt")
    assert last["progress"] == {**last["progress"], "episode": int(rows[-1]["episode"]), "env_steps": int(rows[-1]["env_steps"])}
    assert last["agent"]["sample_count"] == int(rows[-1]["env_steps"])  # restored, then counted on


def test_continuing_a_run_whose_budget_is_spent_is_one_clear_line_and_no_folder(cli, tmp_path, dqn_run):
    result = cli(*TINY_DQN, "general_cfg.load_checkpoint=true", "--load", dqn_run)
    assert result.code == 2 and result.folder is None
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert "has used its whole budget, max_env_steps (300 env steps)" in result.err
    assert "general_cfg.finetune=true" in result.err


@pytest.mark.parametrize(
    ("keep", "expected"), [(2, ["episode_8.pt", "episode_10.pt"]), (0, [f"episode_{n}.pt" for n in range(2, 11, 2)])]
)
def test_keep_checkpoints_bounds_the_periodic_ones(tmp_path, keep, expected):
    args = [*TINY_DQN, "general_cfg.max_env_steps=100000", "general_cfg.max_episode=10", "general_cfg.model_save_fre=2"]
    run = train([*args, f"general_cfg.keep_checkpoints={keep}"], tmp_path)
    periodic = sorted((path.name for path in (run / "models").glob("episode_*.pt")), key=lambda name: int(name[8:-3]))
    assert periodic == expected
    assert (run / "models" / "best.pt").is_file() and (run / "models" / "last.pt").is_file()


def test_periodic_checkpoints_come_no_sooner_than_model_save_seconds(tmp_path):
    args = [*TINY_DQN, "general_cfg.max_env_steps=100000", "general_cfg.max_episode=10", "general_cfg.model_save_fre=2"]
    run = train([*args, "general_cfg.model_save_seconds=3600"], tmp_path)
    assert sorted(path.name for path in (run / "models").glob("episode_*.pt")) == ["episode_2.pt"]  # the first at once
    assert (run / "models" / "last.pt").is_file()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names an fd through /proc")
def test_last_and_best_are_fsynced_before_their_rename_the_periodic_ones_only_renamed(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(checkpoints.os, "fsync", lambda fd: synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name))
    args = [*TINY_DQN, "general_cfg.max_env_steps=100000", "general_cfg.max_episode=10", "general_cfg.model_save_fre=2"]
    run = train(args, tmp_path)
    assert sorted(path.name for path in (run / "models").glob("episode_*.pt"))  # written, and renamed into place
    assert not list((run / "models").glob(".*"))  # no temporary file left
    assert {name.split(".pt.")[0] for name in synced} == {".best", ".last"}
