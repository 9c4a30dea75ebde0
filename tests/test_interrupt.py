"""Ctrl-C (SIGINT) and SIGTERM during training: save, keep the results, say how to resume."""

import shlex
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, TINY_DQN, read_csv


def wait_for_rows(tasks, process, rows_wanted=3, deadline_s=120):
    """The run folder once its res.csv holds ``rows_wanted`` rows (a guard against hanging, not a timing check)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it was interrupted"
        for res_csv in tasks.glob("*/results/res.csv"):
            if len(read_csv(res_csv)) >= rows_wanted:
                return res_csv.parent.parent
        time.sleep(0.1)
    raise AssertionError("res.csv never filled")


@pytest.fixture(scope="module", params=[signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def interrupted(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param.name)
    tasks = tmp / "tasks"
    with open(tmp / "console.txt", "w") as console:
        process = subprocess.Popen(
            [sys.executable, "main.py", *TINY_DQN, "general_cfg.max_env_steps=100000000", f"general_cfg.tasks_dir={tasks}"],
            cwd=ROOT,
            stdout=console,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell may ignore SIGINT
        )
        try:
            folder = wait_for_rows(tasks, process)
            rows_before = len(read_csv(folder / "results" / "res.csv"))
            process.send_signal(request.param)
            code = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return request.param, code, folder, rows_before, (tmp / "console.txt").read_text()


def test_exit_code_is_128_plus_the_signal(interrupted):
    signum, code, *_ = interrupted
    assert code == 128 + signum  # 130 for SIGINT, 143 for SIGTERM


def test_last_checkpoint_and_results_are_kept(interrupted):
    _, _, folder, rows_before, console = interrupted
    assert "Traceback" not in console
    assert (folder / "models" / "last.pt").is_file()
    rows = read_csv(folder / "results" / "res.csv")
    assert len(rows) >= rows_before
    assert [int(row["episode"]) for row in rows] == list(range(1, len(rows) + 1))
    assert (folder / "results" / "rewards.png").is_file()


def test_log_says_how_to_resume_and_the_command_works(interrupted, cli):
    _, _, folder, _, _ = interrupted
    log = (folder / "logs" / "log.txt").read_text()
    assert "interrupted at episode" in log
    command = next(line for line in log.splitlines() if "resume with: " in line).split("resume with: ", 1)[1]
    words = shlex.split(command)
    assert words[:2] == ["python", "main.py"]
    last = read_csv(folder / "results" / "res.csv")[-1]
    budget = int(last["env_steps"]) + 50
    result = cli(*words[2:], f"general_cfg.max_env_steps={budget}", tasks_dir=folder.parent)
    assert result.code == 0
    earlier = read_csv(folder / "results" / "res.csv")
    resumed = read_csv(result.folder / "results" / "res.csv")
    assert resumed[: len(earlier)] == earlier  # the curve continues the interrupted one
    assert [int(row["episode"]) for row in resumed] == list(range(1, len(resumed) + 1))
    assert len(resumed) > len(earlier)


def logged_episodes(folder):
    """The episodes the log reported as finished, in order."""
    lines = (folder / "logs" / "log.txt").read_text().splitlines()
    return [int(line.split("| episode ")[1].split()[0]) for line in lines if "| episode " in line]


def test_a_killed_run_keeps_every_episode_older_than_results_flush_seconds(tmp_path):
    tasks = tmp_path / "tasks"
    process = subprocess.Popen(
        [sys.executable, "main.py", *TINY_DQN, "general_cfg.max_env_steps=100000000", "general_cfg.log_per_episode=1"]
        + [f"general_cfg.tasks_dir={tasks}", "general_cfg.results_flush_seconds=0.3"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        folder = wait_for_rows(tasks, process, rows_wanted=8)
        reported = logged_episodes(folder)  # each logged after its row was written, so its row is due by +0.3 s
        time.sleep(1.0)
    finally:
        process.kill()  # SIGKILL: no handler runs, nothing is flushed at exit
        process.wait()
    res_csv = folder / "results" / "res.csv"
    assert res_csv.read_text().endswith("\n")  # no half-written row
    rows = read_csv(res_csv)
    assert [int(row["episode"]) for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) >= max(reported)  # every episode reported a second before the kill is in res.csv
