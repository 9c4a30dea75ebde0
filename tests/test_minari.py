"""Minari (optional extra, installed for the tests): JoyRL trajectories exported and read back, and learned from."""

from __future__ import annotations

import numpy as np
import pytest

from joyrl.datasets import load_dataset
from joyrl.errors import JoyRLError
from joyrl.minari_io import export_minari, main
from tests.helpers import tiny_dataset

pytest.importorskip("minari")


@pytest.fixture
def minari_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_exported_trajectories_read_back_the_same(minari_home, tmp_path, env_id):
    source = load_dataset(str(tiny_dataset(env_id)), tmp_path)
    folder = export_minari(source, f"joyrl/{env_id.lower()}/test-v0", env_id, "random")
    assert folder.is_dir() and str(folder).startswith(str(minari_home))
    back = load_dataset(f"minari:joyrl/{env_id.lower()}/test-v0", tmp_path)
    assert back.n_episodes == source.n_episodes and (back.episode_starts == source.episode_starts).all()
    for name in ("observations", "actions", "rewards", "next_observations", "terminated", "truncated"):
        np.testing.assert_allclose(getattr(back, name), getattr(source, name), err_msg=name)
    assert back.meta[0]["env_id"] == env_id


def test_the_export_command_and_an_offline_run_on_the_minari_dataset(minari_home, cli, capsys):
    assert main(["export", str(tiny_dataset("CartPole-v1")), "joyrl/cartpole/random-v0"]) == 0
    assert "joyrl/cartpole/random-v0: 8 episodes" in capsys.readouterr().out
    result = cli(
        "--algo", "DQN", "--env", "CartPole-v1", "general_cfg.dataset=minari:joyrl/cartpole/random-v0",
        "general_cfg.max_updates=10", "general_cfg.eval_per_updates=5", "general_cfg.online_eval_episode=1",
        "algo_cfg.learning_starts=32", "algo_cfg.gradient_steps=1",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "dataset: 8 episodes" in result.err


def test_an_unknown_minari_dataset_is_one_line(minari_home, tmp_path):
    with pytest.raises(JoyRLError, match="no local Minari dataset 'joyrl/none/nothing-v0'"):
        load_dataset("minari:joyrl/none/nothing-v0", tmp_path)
