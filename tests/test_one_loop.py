"""The one-loop redesign's defects, each as a user met it: resume counts, play-mode defaults, fine-tuning,
trajectories of vector envs and Dict observations, errors in an algorithm's code, and the counters themselves."""

from __future__ import annotations

import pytest
import torch

from algos.DDPG.agent import Agent as DDPGAgent
from joyrl.counters import Counters
from joyrl.errors import ContractError
from joyrl.trajectories import load_trajectories
from tests.helpers import NO_WRAPPERS, SMALL_NET, TINY_DQN, TINY_PPO, read_csv

SIGINT_AT_STEP_300 = "env_cfg.wrappers=[{name: 'tests.faulty_env:SignalAtStep', kwargs: {step: 300}}]"


def checkpoint(path):
    return torch.load(path, weights_only=True)


# ------------------------------------------------------------------ defect 1: a resumed vector-env run keeps its count


def test_a_resumed_ppo_run_continues_its_env_step_count_and_stops_at_the_budget(cli):
    stopped = cli(*TINY_PPO, SIGINT_AT_STEP_300)
    assert stopped.code == 130
    before = checkpoint(stopped.folder / "models" / "last.pt")["progress"]["env_steps"]
    assert before > 0
    resumed = cli(*TINY_PPO, "general_cfg.load_checkpoint=true", "--load", stopped.folder, NO_WRAPPERS)
    assert resumed.code == 0, resumed.err
    steps = [int(row["env_steps"]) for row in read_csv(resumed.folder / "results" / "res.csv")]
    assert steps == sorted(steps)  # no fold back to 0
    new = [step for step in steps if step > before]
    assert new and new[0] - before <= 2 * 500  # counted on from the restored count
    assert 1500 <= steps[-1] < 1500 + 2 * 500  # the budget holds: at most one episode per env past it
    last = checkpoint(resumed.folder / "models" / "last.pt")
    assert last["progress"]["env_steps"] == steps[-1]
    assert last["progress"]["updates"] > checkpoint(stopped.folder / "models" / "last.pt")["progress"]["updates"]
    lrs = [float(row["lr"]) for row in read_csv(resumed.folder / "results" / "train_stats.csv")]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < lrs[0]  # one annealing schedule, not restarted


# ------------------------------------------------------------------ defect 4: play modes have their own episode counts


def test_play_modes_default_to_their_own_episode_counts(cli, dqn_run):
    tested = cli("--mode", "test", "--load", dqn_run)
    assert tested.code == 0 and len(read_csv(tested.folder / "results" / "res.csv")) == 10
    rendered = cli("--mode", "render", "--load", dqn_run)
    assert rendered.code == 0 and len(read_csv(rendered.folder / "results" / "res.csv")) == 1
    collected = cli("--mode", "collect", "--load", dqn_run)
    assert collected.code == 0 and len(load_trajectories(collected.folder / "traj" / "trajs_0.pkl")) == 100
    chosen = cli("--mode", "test", "--load", dqn_run, "general_cfg.play_episodes=3", "general_cfg.max_env_steps=5")
    assert chosen.code == 0 and len(read_csv(chosen.folder / "results" / "res.csv")) == 3  # the training budget is not used


# ------------------------------------------------------------------ defects 5 and 6: continue or fine-tune, said plainly


def test_train_with_load_but_neither_continue_nor_finetune_is_refused(cli, dqn_run):
    result = cli(*TINY_DQN, "--load", dqn_run)
    assert result.code == 2 and result.folder is None
    assert "load_checkpoint=true to continue that run exactly" in result.err and "finetune=true" in result.err
    both = cli(*TINY_DQN, "--load", dqn_run, "general_cfg.load_checkpoint=true", "general_cfg.finetune=true")
    assert both.code == 2 and "pick one" in both.err


def test_finetune_starts_from_the_weights_with_a_fresh_optimiser_schedule_and_counters(cli, dqn_run):
    result = cli(*TINY_DQN, "general_cfg.finetune=true", "--load", dqn_run, "algo_cfg.lr=1e-5", "algo_cfg.lr_end=null")
    assert result.code == 0, result.err
    assert "fine-tuning from" in result.err and "a fresh optimiser, schedules and counters" in result.err
    rows = read_csv(result.folder / "results" / "res.csv")
    assert rows[0]["episode"] == "1" and int(rows[0]["env_steps"]) == int(rows[0]["length"])  # counters from 0
    stats = read_csv(result.folder / "results" / "train_stats.csv")
    assert {float(row["lr"]) for row in stats} == {1e-5}  # the new step size from the first update
    last = checkpoint(result.folder / "models" / "last.pt")["agent"]
    assert last["sample_count"] == int(rows[-1]["env_steps"])
    adam_steps = {float(state["step"]) for state in last["optimizer"]["state"].values()}
    assert adam_steps == {float(last["update_count"])}  # the optimiser started with this run


def test_finetune_loads_the_weights_of_the_run(cli, dqn_run):
    """With no learning at all (learning_starts beyond the budget) the fine-tuned net is the loaded one."""
    args = ("general_cfg.finetune=true", "--load", dqn_run, "algo_cfg.learning_starts=100000", "general_cfg.max_env_steps=50")
    result = cli(*TINY_DQN, *args)
    assert result.code == 0, result.err
    loaded = checkpoint(dqn_run / "models" / "last.pt")["agent"]["policy_net"]
    tuned = checkpoint(result.folder / "models" / "last.pt")["agent"]["policy_net"]
    assert all(torch.equal(loaded[key], tuned[key]) for key in loaded)


# ------------------------------------------------------------------ defect 8: trajectories of every sub-env, Dict parts


def test_collect_traj_with_a_vector_env_records_every_sub_envs_episodes(cli):
    result = cli(*TINY_PPO, "general_cfg.max_env_steps=400", "general_cfg.collect_traj=true", "algo_cfg.n_envs=3")
    assert result.code == 0, result.err
    lengths = sorted(int(row["length"]) for row in read_csv(result.folder / "results" / "res.csv"))
    trajectories = [t for path in sorted((result.folder / "traj").glob("*.pkl")) for t in load_trajectories(path)]
    assert sorted(len(t["actions"]) for t in trajectories) == lengths  # every finished episode of the 3 envs, and only those


def test_dict_observation_trajectories_hold_one_array_per_part(cli):
    from tests.test_masks import MASKED_ENV  # registers the env

    layers = "{vector: [{layer_type: linear, layer_size: [8]}]}"
    trained = cli("--algo", "DQN", "--env", MASKED_ENV, "general_cfg.max_env_steps=120", f"algo_cfg.value_layers={layers}")
    assert trained.code == 0, trained.err
    collected = cli("--mode", "collect", "--load", trained.folder, "general_cfg.play_episodes=2")
    assert collected.code == 0, collected.err
    for trajectory in load_trajectories(collected.folder / "traj" / "trajs_0.pkl"):
        steps = len(trajectory["actions"])
        for field in ("states", "next_states"):
            assert trajectory[field]["vector"].shape == (steps, 3) and trajectory[field]["action_mask"].shape == (steps, 4)
        assert all(trajectory["states"]["action_mask"][t, a] for t, a in enumerate(trajectory["actions"]))


# ------------------------------------------------------------------ defect 9: a bug in an algorithm's code


def test_an_exception_in_the_algorithm_is_logged_in_full_and_the_work_kept(copy_algo, cli):
    def break_update(folder):
        path = folder / "agent.py"
        source = path.read_text(encoding="utf-8")
        marker = "        lr = self.learning_rate(self.sample_count)\n"
        path.write_text(source.replace(marker, "        raise KeyError('my bug')\n" + marker, 1), encoding="utf-8")

    result = cli(*TINY_DQN, "--algo", copy_algo(edit=break_update))
    assert result.code == 1
    log = (result.folder / "logs" / "log.txt").read_text(encoding="utf-8")
    assert "stopped: the algorithm raised KeyError: 'my bug'" in log
    assert "Traceback" in log and "raise KeyError('my bug')" in log  # the traceback, in the file too
    assert "resume with: python main.py" in log
    assert (result.folder / "models" / "last.pt").is_file()


# ------------------------------------------------------------------ the counters


def test_counters_count_episodes_steps_and_updates_and_survive_a_checkpoint():
    counters = Counters()
    first = {"ep_reward": 1.0, "ep_step": 7, "n_updates": 2, "loss": 0.5}
    assert counters.count(first) == 7 and first == {"ep_reward": 1.0, "ep_step": 7, "loss": 0.5}
    assert counters.count({"ep_reward": 0.0, "ep_step": 3, "env_steps_taken": 12}) == 12  # a vector trainer's steps
    assert (counters.episode, counters.env_steps, counters.updates, counters.weight_version) == (2, 19, 2, 2)
    restored = Counters()
    restored.load_state_dict(counters.state_dict())
    assert (restored.episode, restored.env_steps, restored.updates) == (2, 19, 2)
    assert restored.seconds >= counters.state_dict()["seconds"] - 1e-3


def test_a_variant_cannot_act_around_the_framework(copy_algo, cli):
    """A copied DQN that defines predict_action is refused when its class is created: one clear line, exit 2."""

    def override(folder):
        path = folder / "agent.py"
        source = path.read_text(encoding="utf-8")
        method = "    def exploration_epsilon(self) -> float | None:\n"
        path.write_text(
            source.replace(method, "    def predict_action(self, state):\n        return 0\n\n" + method), encoding="utf-8"
        )

    result = cli(*TINY_DQN, "--algo", copy_algo(edit=override), SMALL_NET)
    assert result.code == 2 and result.folder is None
    assert "which joyrl.acting.ScoredActions owns" in result.err


def test_a_box_action_variant_cannot_scale_its_own_actions():
    """DDPG's family acts through joyrl.acting.ScaledActions: a subclass defining sample_action is refused at once."""
    with pytest.raises(ContractError, match="which joyrl.acting.ScaledActions owns"):
        type("MyDDPG", (DDPGAgent,), {"sample_action": lambda self, state: state})


def test_a_load_path_too_long_for_the_file_system_is_one_line(cli):
    result = cli("--mode", "test", "--load", "x" * 300)
    assert result.code == 2 and result.folder is None
    assert result.err.startswith("error: load_path") and "File name too long" in result.err and "Traceback" not in result.err
