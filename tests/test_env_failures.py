"""Faulty environments: a failed episode is dropped and the env rebuilt; too many failures in a row stop the run, saved."""

import errno
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import joyrl.checkpoints
import joyrl.logs
from joyrl.envs import EnvFailure, FaultTolerantEnv, make_env
from joyrl.logs import close_logger, get_logger
from tests.helpers import TINY_DQN, read_csv


def faulty(fault: str, tag: str, failing_instances: int = 1, at_step: int = 5, on_reset: bool = False) -> str:
    kwargs = f"fault: {fault}, tag: {tag}, failing_instances: {failing_instances}, at_step: {at_step}, on_reset: {str(on_reset).lower()}"
    return f"env_cfg.wrappers=[{{name: 'tests.faulty_env:FaultyEnv', kwargs: {{{kwargs}}}}}]"


def env_cfg(wrapper_kwargs: dict) -> object:
    wrappers = [{"name": "tests.faulty_env:FaultyEnv", "kwargs": wrapper_kwargs}]
    return type("Cfg", (), {"id": "CartPole-v1", "kwargs": {}, "max_step": -1, "wrappers": wrappers, "render_mode": None})()


@pytest.mark.parametrize("fault", ["raise", "nan_reward", "none_reward", "none_observation", "nan_observation"])
def test_each_fault_becomes_an_env_failure_and_the_next_reset_rebuilds(fault):
    env = make_env(env_cfg({"fault": fault, "tag": f"unit-{fault}", "at_step": 2}), seed=1)
    env.reset()
    env.step(0)
    with pytest.raises(EnvFailure):
        env.step(0)
    observation, _ = env.reset()  # a new, healthy instance
    assert env.rebuilds == 1
    assert np.isfinite(observation).all()
    _, reward, *_ = env.step(0)
    assert math.isfinite(reward)


@pytest.mark.parametrize("fault", ["raise", "none_reward", "nan_observation"])
def test_training_survives_one_failure(cli, fault):
    result = cli(*TINY_DQN, faulty(fault, f"train-{fault}"))
    assert result.code == 0
    assert "Traceback" not in result.err
    assert "training env failed (1/5 in a row) after episode 0" in result.err
    assert "episode dropped, env rebuilt" in result.err
    rows = read_csv(result.folder / "results" / "res.csv")
    assert [int(row["episode"]) for row in rows] == list(range(1, len(rows) + 1))
    assert int(rows[-1]["env_steps"]) >= 300
    assert all(math.isfinite(float(row["reward"])) for row in rows)


def test_a_failing_reset_is_recovered_too(cli):
    result = cli(*TINY_DQN, faulty("raise", "reset", on_reset=True))
    assert result.code == 0
    assert "reset raised ConnectionError: simulator connection lost" in result.err


def test_a_failing_evaluation_env_skips_that_evaluation(cli):
    # instance 1 is the training env, instance 2 the evaluation env: both fail once
    result = cli(*TINY_DQN, faulty("raise", "eval", failing_instances=2, at_step=1))
    assert result.code == 0
    assert "evaluation env failed" in result.err and "evaluation skipped" in result.err
    assert len(read_csv(result.folder / "results" / "eval.csv")) >= 1


def test_too_many_failures_in_a_row_stop_the_run_with_everything_saved(cli):
    result = cli(*TINY_DQN, faulty("raise", "always", failing_instances=10**6, at_step=20), "general_cfg.max_env_failures=3")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "stopped: the env failed 3 times in a row (max_env_failures)" in result.err
    assert "resume with: " in result.err
    assert (result.folder / "models" / "last.pt").is_file()


def test_a_full_disk_during_training_stops_cleanly_keeping_the_rows_written(cli, monkeypatch):
    real_write, writes = joyrl.logs.CSVRecorder.write, []

    def write_until_full(recorder, row):
        if recorder.path.name == "res.csv":
            if len(writes) == 4:
                raise OSError(errno.ENOSPC, "No space left on device", str(recorder.path))
            writes.append(row)
        real_write(recorder, row)

    monkeypatch.setattr(joyrl.logs.CSVRecorder, "write", write_until_full)
    result = cli(*TINY_DQN)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert f"stopped: cannot write {result.folder / 'results' / 'res.csv'}: No space left on device" in result.err
    assert len(read_csv(result.folder / "results" / "res.csv")) == 4
    assert (result.folder / "models" / "last.pt").is_file()


def test_a_checkpoint_that_cannot_be_written_is_reported_not_raised(cli, monkeypatch):
    def disk_full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(joyrl.checkpoints, "save_checkpoint", disk_full)
    result = cli(*TINY_DQN)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "No space left on device" in result.err
    assert "could not write models/last.pt" in result.err
    assert len(read_csv(result.folder / "results" / "res.csv")) >= 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_log_file_on_a_full_disk_warns_once_and_the_console_goes_on(capsys):
    logger = get_logger(Path("/dev/full"))  # every write fails with ENOSPC
    try:
        logger.info("first line")
        logger.info("second line")
    finally:
        close_logger()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert err.count("cannot write the log file /dev/full") == 1
    assert "first line" in err and "second line" in err


class _Recording(gym.Env):
    """A one-number env that records the actions it is given; its observation is set by the test."""

    def __init__(self, action_space: gym.spaces.Space, observation: np.ndarray) -> None:
        self.action_space = action_space
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, observation.shape, observation.dtype)
        self.observation = observation
        self.actions: list = []

    def reset(self, *, seed=None, options=None):
        return self.observation, {}

    def step(self, action):
        self.actions.append(action)
        return self.observation, 1.0, False, False, {}


def fault_tolerant(env: gym.Env) -> FaultTolerantEnv:
    return FaultTolerantEnv(env, rebuild=lambda count: env)


def test_a_discrete_env_gets_int_actions_as_its_space_s_own_integers():
    env = _Recording(gym.spaces.Discrete(3, start=-1, dtype=np.int32), np.zeros(2, np.float32))
    wrapped = fault_tolerant(env)
    for action in (-1, 1, np.int32(0), 7):
        wrapped.step(action)
    assert env.actions == [-1, 1, 0, 7]
    assert [type(action) for action in env.actions] == [np.int32, np.int32, np.int32, int]  # 7 is the env's to refuse
    box = _Recording(gym.spaces.Box(-1, 1, (1,)), np.zeros(2, np.float32))
    fault_tolerant(box).step(np.zeros(1, np.float32))
    assert type(box.actions[0]) is np.ndarray


@pytest.mark.parametrize("size", [4, 47, 48, 49, 500])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_an_observation_with_nan_or_inf_fails_at_any_size(size, bad):
    observation = np.ones(size, np.float32)
    observation[size // 2] = bad
    wrapped = fault_tolerant(_Recording(gym.spaces.Discrete(2), observation))
    with pytest.raises(EnvFailure, match="NaN or inf"):
        wrapped.step(0)


@pytest.mark.filterwarnings("ignore:overflow encountered")  # NumPy's, on the large array's float64 sum
@pytest.mark.parametrize("shape", [(3,), (2, 3), (100,)])
def test_finite_observations_whose_sum_overflows_pass(shape):
    observation = np.full(shape, np.finfo(np.float64).max, np.float64)  # finite; their sum is inf
    wrapped = fault_tolerant(_Recording(gym.spaces.Discrete(2), observation))
    assert wrapped.step(0)[0] is observation
    assert wrapped.reset()[0] is observation
