"""Sweeps: ``--seeds`` trains once per seed in parallel processes and summarises the seeds."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, TINY_DQN, read_csv, train, without_seconds

TINY = [arg for arg in TINY_DQN if arg not in ("--seed", "1")]


def sweep_folder(tasks):
    (folder,) = tasks.glob("Sweep_CartPole-v1_DQN_*")
    return folder


def test_a_sweep_runs_each_seed_as_the_single_run_and_summarises_them(cli, tmp_path):
    result = cli(*TINY, "--seeds", "1", "2", "--jobs", "2", "--threshold", "15")
    assert result.code == 0
    folder = sweep_folder(tmp_path)
    rows = read_csv(folder / "summary.csv")
    assert [row["seed"] for row in rows] == ["1", "2"] and {row["status"] for row in rows} == {"finished"}
    single = train([*TINY, "--seed", "2"], tmp_path / "single")
    (seed_2,) = (folder / "seed_2").glob("Train_*")
    assert without_seconds(read_csv(seed_2 / "results" / "res.csv")) == without_seconds(read_csv(single / "results" / "res.csv"))
    evals = read_csv(seed_2 / "results" / "eval.csv")
    assert float(rows[1]["final_eval"]) == pytest.approx(float(evals[-1]["eval_mean"]))
    assert float(rows[1]["best_eval"]) == pytest.approx(max(float(row["eval_mean"]) for row in evals))
    reached = next((row for row in evals if float(row["eval_mean"]) >= 15), None)
    assert rows[1]["steps_to_threshold"] == (reached["env_steps"] if reached else "")
    summary = (folder / "summary.md").read_text()
    assert "| IQM |" in summary and "| median |" in summary and "95% CI" in summary
    assert (folder / "curves.png").read_bytes().startswith(b"\x89PNG")
    log = (folder / "sweep.log").read_text()
    assert "seed 1: started" in log and "seed 2: finished" in log


def test_a_failing_seed_is_reported_and_the_others_finish(cli, tmp_path):
    failing = "env_cfg.wrappers=[{name: 'tests.my_env_module:FailForSeed', kwargs: {seed: 2}}]"
    result = cli(*TINY, "--seeds", "1", "2", "3", "--jobs", "2", failing, "general_cfg.max_env_failures=1")
    assert result.code == 1
    folder = sweep_folder(tmp_path)
    assert [row["status"] for row in read_csv(folder / "summary.csv")] == ["finished", "failed", "finished"]
    assert "seed 2: failed (exit 1)" in (folder / "sweep.log").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds"], "--seeds needs at least one seed"),
        (["--seeds", "1", "x"], "'x' is not an integer"),
        (["--seeds", "1", "2", "1"], "1 is given twice"),
        (["--seeds", "1", "--jobs", "0"], "--jobs 0: at least 1"),
        (["--jobs", "2"], "--jobs belongs to a sweep"),
        (["--seeds", "1", "--seed", "3"], "drop --seed"),
        (["--seeds", "1", "--mode", "test"], "mode test"),
    ],
)
def test_bad_sweep_arguments_are_one_line_and_no_folder(cli, tmp_path, args, message):
    result = cli(*TINY, *args)
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("Sweep_*"))


def test_ctrl_c_stops_every_seed_with_its_checkpoint_and_writes_the_summary(tmp_path):
    command = [sys.executable, "main.py", *TINY, "--seeds", "1", "2", "--jobs", "2", f"general_cfg.tasks_dir={tmp_path}"]
    command += ["general_cfg.max_env_steps=200000"]
    sweep = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        csvs = list(tmp_path.glob("Sweep_*/seed_*/Train_*/results/res.csv"))
        if len(csvs) == 2 and all(len(read_csv(path)) >= 3 for path in csvs):
            break
        time.sleep(0.2)
    sweep.send_signal(signal.SIGINT)
    _, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, err
    folder = sweep_folder(tmp_path)
    for seed in (1, 2):
        (run,) = (folder / f"seed_{seed}").glob("Train_*")
        assert (run / "models" / "last.pt").is_file()
    assert [row["status"] for row in read_csv(folder / "summary.csv")] == ["stopped", "stopped"]
    assert "SIGINT: stopping every seed" in err


# ------------------------------------------------------------------ --compare


def test_compare_puts_runs_and_sweeps_of_one_env_in_one_figure_and_table(cli, tmp_path, dqn_run):
    assert cli(*TINY, "--seeds", "2", "3").code == 0
    sweep = sweep_folder(tmp_path)
    result = cli("--compare", dqn_run, sweep)
    assert result.code == 0
    (out,) = tmp_path.glob("Compare_CartPole-v1_*")
    rows = read_csv(out / "compare.csv")
    assert [row["seeds"] for row in rows] == ["1", "2"]
    assert rows[0]["group"] == f"DQN ({dqn_run.name})" and rows[1]["group"] == f"DQN ({sweep.name})"  # same algorithm
    finals = [float(read_csv(run / "results" / "eval.csv")[-1]["eval_mean"]) for run in sorted(sweep.glob("seed_*/Train_*"))]
    assert float(rows[1]["final_mean"]) == pytest.approx(sum(finals) / 2, abs=0.01)
    table = (out / "compare.md").read_text()
    cells = [line.split(" | ") for line in table.splitlines() if line.startswith("| DQN (")][-2:]
    forward, backward = float(cells[0][2].split()[0]), float(cells[1][1].split()[0])
    assert forward + backward == pytest.approx(1.0)  # P(A > B) + P(B > A) = 1
    assert (out / "compare.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("case", ["other env", "not a run", "one folder", "missing", "extra keys"])
def test_compare_refuses_what_it_cannot_compare_in_one_line(cli, tmp_path, dqn_run, qlearning_run, case):
    args = {
        "other env": ([dqn_run, qlearning_run], "is on CartPole-v1 but"),
        "not a run": ([dqn_run, tmp_path], "not a training run"),
        "one folder": ([dqn_run], "at least two"),
        "missing": ([dqn_run, tmp_path / "nope"], "no such folder"),
        "extra keys": ([dqn_run, dqn_run, "algo_cfg.lr=1"], "takes no algo_cfg.lr"),
    }[case]
    result = cli("--compare", *args[0])
    assert result.code == 2
    assert args[1] in result.err and len(result.err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("Compare_*"))
