"""Exact resume: a run stopped at step N and resumed matches one that was never stopped (DQN, CPU)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from algos.DQN.agent import Agent
from algos.DQN.config import AlgoConfig
from joyrl.config import defaults
from joyrl.envs import make_env
from joyrl.loops import StepTrainer
from tests.helpers import NO_WRAPPERS, TINY_DQN, read_csv, without_seconds

BUDGET = "general_cfg.max_env_steps=700"
EXACT = [*TINY_DQN, BUDGET, "general_cfg.save_buffer=true"]


def signal_at(step: int, signum: int = 2) -> str:
    return f"env_cfg.wrappers=[{{name: 'tests.faulty_env:SignalAtStep', kwargs: {{step: {step}, signum: {signum}}}}}]"


def load(path):
    return torch.load(path, weights_only=True)


def assert_same_agent(a: dict, b: dict) -> None:
    for name in ("policy_net", "target_net"):
        for key, tensor in a[name].items():
            assert torch.equal(tensor, b[name][key]), f"{name}.{key} differs"
    assert (a["sample_count"], a["update_count"]) == (b["sample_count"], b["update_count"])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from tests.helpers import train

    return train(EXACT, tmp_path_factory.mktemp("uninterrupted"))


@pytest.mark.parametrize(("step", "signum"), [(237, 2), (420, 15)], ids=["SIGINT-mid-episode", "SIGTERM-mid-episode"])
def test_stopped_and_resumed_run_matches_the_uninterrupted_one(cli, uninterrupted, step, signum):
    stopped = cli(*EXACT, signal_at(step, signum))
    assert stopped.code == 128 + signum
    last = load(stopped.folder / "models" / "last.pt")
    assert last["agent"]["sample_count"] == step  # stopped right after the step the signal arrived in
    assert last["trainer"]["steps"] == step - last["progress"]["env_steps"]  # the unfinished episode travels along
    assert len(last["memory"]["rewards"]) == step

    # the loaded run's env_cfg comes with it: drop the wrapper that stopped it
    resumed = cli(*EXACT, "general_cfg.load_checkpoint=true", "--load", stopped.folder, NO_WRAPPERS)
    assert resumed.code == 0
    assert "with its replay memory" in resumed.err
    for name in ("res.csv", "eval.csv", "train_stats.csv"):
        expected = without_seconds(read_csv(uninterrupted / "results" / name))
        assert without_seconds(read_csv(resumed.folder / "results" / name)) == expected, name
    assert_same_agent(load(resumed.folder / "models" / "last.pt")["agent"], load(uninterrupted / "models" / "last.pt")["agent"])


def test_without_the_buffer_the_resumed_run_refills_it_before_learning(cli):
    stopped = cli(*TINY_DQN, BUDGET, signal_at(237))
    checkpoint = load(stopped.folder / "models" / "last.pt")
    assert "memory" not in checkpoint

    cfg = SimpleNamespace(**defaults(AlgoConfig), n_states=4, n_actions=2, device="cpu", max_env_steps=700)
    cfg.value_layers = [{"layer_type": "linear", "layer_size": [16], "activation": "relu"}]
    cfg.learning_starts, cfg.train_freq, cfg.buffer_size = 50, 4, 1000
    agent = Agent(cfg)
    agent.load_state_dict(checkpoint["agent"])  # counters say learning is on; the memory is empty
    updated_at = None
    for transition in range(1, 61):
        agent.sample_count += 1
        agent.store_transition(np.zeros(4, np.float32), 0, 1.0, np.zeros(4, np.float32), False)
        if agent.update() is not None and updated_at is None:
            updated_at = transition
    assert updated_at is not None and updated_at >= 50


def test_a_replay_that_diverges_starts_a_new_episode():
    cfg = type("Cfg", (), {"id": "CartPole-v1", "kwargs": {}, "max_step": -1, "wrappers": [], "render_mode": None})()
    env = make_env(cfg, seed=3)
    trainer = StepTrainer()

    class Scripted:
        def sample_action(self, state):
            trainer.stop_requested = True  # stop after this first step
            return 0

        def store_transition(self, *args):
            pass

        def update(self):
            return None

    assert trainer.train_one_episode(env, Scripted(), cfg) is None
    saved = trainer.state_dict()
    assert saved["steps"] == 1 and saved["actions"].tolist() == [0]

    replayed = StepTrainer()
    assert replayed.load_state_dict(saved, make_env(cfg, seed=3))
    np.testing.assert_array_equal(replayed.episode.state, trainer.episode.state)

    saved["state"] = saved["state"] + 1.0  # not what the env gives back
    assert not replayed.load_state_dict(saved, make_env(cfg, seed=3))
    assert replayed.episode is None


def test_checkpoints_between_episodes_hold_no_unfinished_episode(dqn_run):
    periodic = load(next((dqn_run / "models").glob("episode_*.pt")))
    assert periodic["trainer"] == {}
    assert "memory" not in periodic


def test_the_loop_tells_the_agent_when_an_episode_ends():
    cfg = type("Cfg", (), {"id": "CartPole-v1", "kwargs": {}, "max_step": 7, "wrappers": [], "render_mode": None})()

    class Counting:
        ended = 0
        stored = 0

        def sample_action(self, state):
            return 0

        def store_transition(self, *args):
            self.stored += 1

        def update(self):
            return None

        def end_episode(self):
            self.ended += 1

    agent, trainer, env = Counting(), StepTrainer(), make_env(cfg, seed=1)
    first = trainer.train_one_episode(env, agent, cfg)
    assert agent.ended == 1 and agent.stored == first["ep_step"]
    second = trainer.train_one_episode(env, agent, cfg)
    assert agent.ended == 2 and agent.stored == first["ep_step"] + second["ep_step"]
