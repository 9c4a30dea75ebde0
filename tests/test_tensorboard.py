"""general_cfg.tensorboard: every scalar of res.csv, eval.csv and train_stats.csv also in <run>/tb/."""

import importlib.util

import pytest

from tests.helpers import TINY_DQN, read_csv

pytest.importorskip("tensorboard")


def scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "tb"))
    events.Reload()
    return {tag: [(event.step, event.value) for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_every_csv_scalar_is_mirrored_at_its_env_step(cli):
    result = cli(*TINY_DQN, "general_cfg.tensorboard=true")
    assert result.code == 0
    tb = scalars(result.folder)
    rows = read_csv(result.folder / "results" / "res.csv")
    assert tb["train/reward"] == [(int(row["env_steps"]), pytest.approx(float(row["reward"]))) for row in rows]
    assert [value for _, value in tb["train/env_steps_per_second"]] == pytest.approx(
        [int(row["env_steps"]) / float(row["seconds"]) for row in rows], rel=1e-5
    )
    evals = read_csv(result.folder / "results" / "eval.csv")
    assert tb["eval/eval_mean"] == [(int(row["env_steps"]), pytest.approx(float(row["eval_mean"]))) for row in evals]
    stats = read_csv(result.folder / "results" / "train_stats.csv")
    assert stats and len(tb["stats/loss"]) == len(stats)


def test_without_the_package_the_key_is_one_line_before_the_run_folder(cli, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    result = cli(*TINY_DQN, "general_cfg.tensorboard=true")
    assert result.code == 2
    assert "pip install -r requirements-tensorboard.txt" in result.err
    assert result.folder is None


def test_off_by_default_no_tb_folder(dqn_run):
    assert not (dqn_run / "tb").exists()
