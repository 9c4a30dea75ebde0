"""mp_backend ray for real: a local Ray, workers feeding the learner, faults, Ctrl-C and resume (Ray is in requirements-ray.txt)."""

import logging
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from joyrl.errors import ConfigError
from tests.helpers import ROOT, SMALL_NET, TINY_DQN, TINY_PPO, read_csv

ray = pytest.importorskip("ray")

RAY = ["general_cfg.mp_backend=ray", "general_cfg.n_workers=2", "general_cfg.worker_steps=20", "general_cfg.worker_cpus=0.5"]


def test_ctrl_c_stops_the_workers_keeps_the_checkpoint_and_the_run_resumes_on_ray(tmp_path, cli):
    """First in this file: the run starts its own local Ray in a process of its own, and stops it."""
    tasks = tmp_path / "tasks"
    command = [
        sys.executable,
        "main.py",
        *TINY_DQN,
        *RAY,
        "general_cfg.max_env_steps=100000000",
        f"general_cfg.tasks_dir={tasks}",
    ]
    with open(tmp_path / "console.txt", "w") as console:
        process = subprocess.Popen(command, cwd=ROOT, stdout=console, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240  # a guard against hanging, not a timing check
            while not list(tasks.glob("*/results/res.csv")) or len(read_csv(next(tasks.glob("*/results/res.csv")))) < 20:
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "console.txt").read_text()
                time.sleep(0.2)
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code == 130
    folder = next(tasks.iterdir())
    assert (folder / "models" / "last.pt").is_file()
    rows = read_csv(folder / "results" / "res.csv")
    assert {row["worker"] for row in rows} == {"0", "1"}
    log = (folder / "logs" / "log.txt").read_text()
    resume = log.split("resume with: ")[1].splitlines()[0]
    with ray_running():
        result = cli(*shlex.split(resume)[2:], "general_cfg.max_env_steps=" + str(int(rows[-1]["env_steps"]) + 200))
    assert result.code == 0
    assert "continuing from" in (result.folder / "logs" / "log.txt").read_text()


class ray_running:
    """A local Ray for the tests that follow in this process (the run then neither starts nor stops one)."""

    def __enter__(self):
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        if not ray.is_initialized():
            ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, logging_level=logging.ERROR)
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="module")
def local_ray():
    with ray_running():
        yield
    ray.shutdown()


@pytest.fixture(scope="module")
def dqn_ray_run(local_ray, tmp_path_factory):
    tasks = tmp_path_factory.mktemp("dqn_ray")
    from tests.helpers import run_cli

    info = ["env_cfg.wrappers=[tests.my_env_module:StepInfo]", "general_cfg.info_keys=[steps]"]
    result = run_cli([*TINY_DQN, *RAY, *info, "general_cfg.max_env_steps=600", "general_cfg.log_per_episode=5"], tasks)
    assert result.code == 0
    return result.folder


def test_off_policy_workers_feed_the_learner_and_every_worker_is_recorded(dqn_ray_run):
    rows = read_csv(dqn_ray_run / "results" / "res.csv")
    assert list(rows[0])[-2:] == ["steps", "worker"]
    assert {row["worker"] for row in rows} == {"0", "1"}
    assert all(row["steps"] == row["length"] for row in rows)  # each episode's last info came with it
    assert int(rows[-1]["env_steps"]) >= 600
    assert sum(int(row["length"]) for row in rows) <= int(rows[-1]["env_steps"])
    stats = read_csv(dqn_ray_run / "results" / "train_stats.csv")
    assert stats and all(float(row["policy_lag"]) >= 0 for row in stats)
    log = (dqn_ray_run / "logs" / "log.txt").read_text()
    assert "ray: 2 workers x 1 envs (transitions) ready" in log
    assert "worker env steps/s 0:" in log and "learner waiting" in log
    assert (dqn_ray_run / "models" / "last.pt").is_file() and (dqn_ray_run / "models" / "best.pt").is_file()


def test_the_learner_keeps_the_update_to_data_ratio_over_all_workers(dqn_ray_run):
    import torch

    checkpoint = torch.load(dqn_ray_run / "models" / "last.pt", weights_only=False)
    env_steps = checkpoint["progress"]["env_steps"]
    agent = checkpoint["agent"]
    # env_steps counts the finished episodes; the learner has stored the steps of unfinished ones as well
    assert agent["sample_count"] >= env_steps
    # train_freq 4 from learning_starts 50, gradient_steps 1, counted over every transition the learner stored
    assert agent["update_count"] == len(range(52, agent["sample_count"] + 1, 4))


def test_on_policy_workers_play_synchronous_rounds_of_their_share_of_the_envs(local_ray, cli):
    result = cli(*TINY_PPO, *RAY[:2], "algo_cfg.n_envs=4", "general_cfg.max_env_steps=1200", "general_cfg.online_eval=true")
    assert result.code == 0
    log = (result.folder / "logs" / "log.txt").read_text()
    assert "ray: 2 workers x 2 envs (rollouts) ready" in log
    rows = read_csv(result.folder / "results" / "res.csv")
    assert {row["worker"] for row in rows} == {"0", "1"}
    stats = read_csv(result.folder / "results" / "train_stats.csv")
    assert all(float(row["policy_lag"]) == 0 for row in stats)


def test_a_worker_env_that_raises_drops_its_episode_and_the_run_goes_on(local_ray, cli):
    wrapper = "env_cfg.wrappers=[{name: 'tests.faulty_env:FaultyEnv', kwargs: {fault: raise, at_step: 5, tag: ray_raise}}]"
    result = cli(*TINY_DQN, *RAY, wrapper)
    assert result.code == 0
    log = (result.folder / "logs" / "log.txt").read_text()
    assert "env failed" in log and "simulator crashed" in log


def test_a_worker_process_that_dies_is_restarted_and_the_run_goes_on(local_ray, cli, tmp_path_factory):
    marker = tmp_path_factory.mktemp("marker") / "died"
    kwargs = f"{{step: 30, marker: '{marker}', spare_pid: {os.getpid()}}}"
    # one worker: the run can only go on once the learner has seen the death and Ray has restarted it
    wrapper = f"env_cfg.wrappers=[{{name: 'tests.faulty_env:ExitOnceAtStep', kwargs: {kwargs}}}]"
    result = cli(
        *TINY_DQN, *RAY, "general_cfg.n_workers=1", "general_cfg.worker_timeout=900", wrapper
    )  # restarts on a busy machine
    assert result.code == 0 and marker.exists()
    log = (result.folder / "logs" / "log.txt").read_text()
    assert "died" in log and "Ray restarts it" in log
    assert int(read_csv(result.folder / "results" / "res.csv")[-1]["env_steps"]) >= 300


def test_a_worker_that_keeps_dying_stops_the_run_with_everything_saved(local_ray, cli):
    kwargs = f"{{step: 5, marker: '', spare_pid: {os.getpid()}}}"
    wrapper = f"env_cfg.wrappers=[{{name: 'tests.faulty_env:ExitOnceAtStep', kwargs: {kwargs}}}]"
    result = cli(
        *TINY_DQN, *RAY, "general_cfg.n_workers=1", "general_cfg.max_env_failures=1", "general_cfg.worker_timeout=900", wrapper
    )
    assert result.code == 1
    log = (result.folder / "logs" / "log.txt").read_text()
    assert "stopped: worker 0 died 2 times in a row without sending data (max_env_failures)" in log
    assert (result.folder / "models" / "last.pt").is_file() and "resume with:" in log


def test_more_workers_than_the_cluster_has_cpus_is_one_line_before_the_run_folder(local_ray, cli):
    result = cli(*TINY_DQN, "general_cfg.mp_backend=ray", "general_cfg.n_workers=3")
    assert result.code == 2 and result.folder is None
    assert "n_workers x worker_cpus = 3 CPUs" in result.err


def test_an_unreachable_cluster_address_is_one_line_within_seconds():
    from joyrl.ray_setup import join_cluster

    started = time.monotonic()
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster at 127.0.0.1:9"):
        join_cluster(ray, "127.0.0.1:9")
    assert time.monotonic() - started < 15


def test_without_ray_installed_the_run_says_how_to_install_it(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    result = cli(*TINY_DQN, "general_cfg.mp_backend=ray")
    assert result.code == 2 and result.folder is None
    assert "pip install -r requirements-ray.txt" in result.err and result.err.count("\n") == 1


def test_play_modes_run_in_one_process_whatever_the_backend(dqn_ray_run, cli):
    result = cli(*TINY_DQN, *RAY, "--mode", "test", "--load", dqn_ray_run, "general_cfg.play_episodes=2")
    assert result.code == 0
    assert len(read_csv(result.folder / "results" / "res.csv")) == 2


def test_single_process_runs_refuse_several_workers(cli):
    result = cli(*TINY_DQN, "general_cfg.n_workers=2", SMALL_NET)
    assert result.code == 2 and "mp_backend ray" in result.err


class NiceProbe:
    def niceness(self) -> int:
        return os.nice(0)


def test_workers_run_at_the_learners_priority_not_rays_nice_15(local_ray):
    from types import SimpleNamespace

    from joyrl.distributed import worker_options

    probe = ray.remote(NiceProbe).options(**worker_options(SimpleNamespace(worker_cpus=1.0))).remote()
    assert ray.get(probe.niceness.remote()) == os.nice(0)
    ray.kill(probe)
