"""Value iteration and policy iteration: a hand-solved MDP, agreement on the toy-text envs, the errors, a preset run."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from joyrl.cli import config_from_args
from joyrl.loops import run_greedy_episode
from joyrl.runner import Run
from tests.helpers import ROOT, read_csv

PLANNERS = ("ValueIteration", "PolicyIteration")


class ThreeStates(gym.Env):
    """s0: a0 -> s1 (r 0), a1 -> s2 (r 1, terminated). s1: a0 -> s0 (r 0), a1 -> s2 (r 10, terminated) or s1 (r 0), 1/2 each.
    s2 is only entered by terminating transitions; its own entries loop with r 1, so V(s2) = 1 / (1 - γ) = 10 at γ 0.9,
    which a backup that bootstrapped past a termination would wrongly add to V(s0) and V(s1).

    By hand at γ 0.9: V(s1) = 5 + 0.45 V(s1) = 100/11 (a1 beats a0's 0.9 V(s0) = 81/11); V(s0) = 0.9 V(s1) = 90/11
    (a0 beats a1's 1); V(s2) = 10 with both actions tied, so a0.
    """

    observation_space = spaces.Discrete(3)
    action_space = spaces.Discrete(2)

    def __init__(self, render_mode=None) -> None:
        self.render_mode = render_mode
        self.P = {
            0: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 2, 1.0, True)]},
            1: {0: [(1.0, 0, 0.0, False)], 1: [(0.5, 2, 10.0, True), (0.5, 1, 0.0, False)]},
            2: {0: [(1.0, 2, 1.0, False)], 1: [(1.0, 2, 1.0, False)]},
        }
        self.initial_state_distrib = np.array([1.0, 0.0, 0.0])
        self.state = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = 0
        return self.state, {}

    def step(self, action):
        outcomes = self.P[self.state][int(action)]
        index = self.np_random.choice(len(outcomes), p=[outcome[0] for outcome in outcomes])
        _, self.state, reward, terminated = outcomes[index]
        return self.state, reward, terminated, False, {}


class NoTable(ThreeStates):
    """Discrete spaces, but no transition table."""

    def __init__(self, render_mode=None) -> None:
        super().__init__(render_mode)
        del self.P


gym.register("ThreeStates-test-v0", entry_point=ThreeStates, max_episode_steps=50)
gym.register("NoTable-test-v0", entry_point=NoTable, max_episode_steps=50)


def planned(algo, env_id, *overrides):
    """A prepared run whose agent has planned until convergence."""
    cfg = config_from_args(["--algo", algo, "--env", env_id, *overrides])
    run = Run(cfg)
    run.prepare()
    while run.agent.update() is not None:
        pass
    return run


# ------------------------------------------------------------------ a hand-solved MDP


@pytest.mark.parametrize("algo", PLANNERS)
def test_planner_finds_the_hand_computed_values_and_policy(algo):
    run = planned(algo, "ThreeStates-test-v0", "algo_cfg.gamma=0.9", "algo_cfg.theta=1e-12")
    assert run.agent.converged
    np.testing.assert_allclose(run.agent.v_table.numpy(), [90 / 11, 100 / 11, 10.0], atol=1e-9)
    assert run.agent.policy.tolist() == [0, 1, 0]
    assert [run.agent.predict_action(s) for s in range(3)] == [run.agent.sample_action(s) for s in range(3)] == [0, 1, 0]
    assert run.agent.planning_stats()["v_start"] == pytest.approx(90 / 11)


def test_value_iteration_first_sweep_by_hand():
    cfg = config_from_args(["--algo", "ValueIteration", "--env", "ThreeStates-test-v0", "algo_cfg.gamma=0.9"])
    run = Run(cfg)
    run.prepare()
    stats = run.agent.update()
    # from V = 0: V(s0) = max(0, 1), V(s1) = max(0, 5), V(s2) = 1; the greedy policy of that V follows
    np.testing.assert_allclose(run.agent.v_table.numpy(), [1.0, 5.0, 1.0])
    assert run.agent.policy.tolist() == [0, 1, 0]  # s0: 0.9 · 5 > 1
    assert stats["sweeps"] == stats["iterations"] == 1 and stats["delta"] == 5.0 and stats["converged"] == 0


def test_policy_iteration_with_one_evaluation_sweep_per_iteration_converges_too():
    run = planned(
        "PolicyIteration", "ThreeStates-test-v0", "algo_cfg.gamma=0.9", "algo_cfg.theta=1e-12", "algo_cfg.eval_sweeps=1"
    )
    np.testing.assert_allclose(run.agent.v_table.numpy(), [90 / 11, 100 / 11, 10.0], atol=1e-9)
    assert run.agent.iterations == run.agent.sweeps > 1


@pytest.mark.parametrize("algo", PLANNERS)
def test_max_sweeps_stops_planning_unconverged(algo):
    run = planned(algo, "FrozenLake-v1", "algo_cfg.max_sweeps=5")
    assert run.agent.sweeps == 5 and not run.agent.converged
    assert run.agent.update() is None


# ------------------------------------------------------------------ the toy-text envs


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CliffWalking-v1", "Taxi-v4"])
def test_policy_and_value_iteration_agree(env_id):
    value_iteration, policy_iteration = (planned(algo, env_id).agent for algo in PLANNERS)
    assert value_iteration.converged and policy_iteration.converged
    np.testing.assert_allclose(value_iteration.v_table.numpy(), policy_iteration.v_table.numpy(), atol=1e-5)
    assert torch.equal(value_iteration.policy, policy_iteration.policy)
    # and both policies are greedy with respect to the optimal values
    q_values = value_iteration.model.backup(value_iteration.v_table.numpy(), 0.99)
    states = np.arange(len(q_values))
    for agent in (value_iteration, policy_iteration):
        assert (q_values[states, agent.policy.numpy()] >= q_values.max(axis=1) - 1e-6).all()


@pytest.mark.parametrize("algo", PLANNERS)
def test_cliff_walking_greedy_return_is_minus_13(algo):
    run = planned(algo, "CliffWalking-v1", "general_cfg.max_step=100")
    assert run_greedy_episode(run.env, run.agent) == {"ep_reward": -13.0, "ep_step": 13, "info": {"prob": 1.0}}
    # the step onto the goal terminates: V(above the goal) is its reward only, V(start) a 13-step discounted sum
    values = run.agent.v_table.numpy()
    assert values[35] == -1.0
    assert values[36] == pytest.approx(-(1 - 0.99**13) / (1 - 0.99))


def test_frozen_lake_undiscounted_optimum_is_the_known_success_probability():
    run = planned("ValueIteration", "FrozenLake-v1", "algo_cfg.gamma=1.0")
    assert run.agent.v_table[0].item() == pytest.approx(0.8235, abs=1e-3)  # P(reach the goal) with no time limit


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("algo", PLANNERS)
def test_env_without_a_transition_table_is_one_line_at_start_up(algo, cli):
    result = cli("--algo", algo, "--env", "NoTable-test-v0")
    assert result.code == 2 and result.folder is None
    assert result.err.count("\n") == 1
    assert "NoTable-test-v0 has none" in result.err and "P[s][a]" in result.err and "QLearning" in result.err


def test_env_without_discrete_spaces_is_one_line_at_start_up(cli):
    result = cli("--algo", "ValueIteration", "--env", "CartPole-v1")
    assert result.code == 2 and result.folder is None
    assert result.err.count("\n") == 1 and "Discrete observation spaces" in result.err


# ------------------------------------------------------------------ a preset, end to end


@pytest.fixture(scope="module")
def cliff_plan_run(tmp_path_factory):
    from tests.helpers import train

    return train(["--yaml", ROOT / "config/presets/CliffWalking-v1_ValueIteration.yaml"], tmp_path_factory.mktemp("plan"))


def test_preset_run_reports_one_sweep_per_episode_then_the_converged_plan(cliff_plan_run):
    res = read_csv(cliff_plan_run / "results" / "res.csv")
    stats = read_csv(cliff_plan_run / "results" / "train_stats.csv")
    assert len(res) == len(stats) == 30
    sweeps = [int(float(row["sweeps"])) for row in stats]
    assert sweeps == [min(episode, 15) for episode in range(1, 31)]  # converges at sweep 15, then only plays
    assert [float(row["converged"]) for row in stats].index(1.0) == 14
    assert float(stats[-1]["delta"]) == 0.0
    assert [float(row["reward"]) for row in res[14:]] == [-13.0] * 16
    assert float(read_csv(cliff_plan_run / "results" / "eval.csv")[-1]["eval_mean"]) == -13.0
    log = (cliff_plan_run / "logs" / "log.txt").read_text()
    assert "| sweeps 15 | delta 0 | converged 1 | plan_seconds" in log


def test_preset_checkpoint_holds_the_tables_and_tests_at_minus_13(cliff_plan_run, cli):
    state = torch.load(cliff_plan_run / "models" / "last.pt", weights_only=True)["agent"]
    assert state["v_table"].shape == (48,) and state["policy"].shape == (48,)
    assert state["converged"] is True and state["sweeps"] == 15
    preset = ROOT / "config/presets/CliffWalking-v1_ValueIteration.yaml"
    result = cli("--yaml", preset, "--mode", "test", "--load", cliff_plan_run, "general_cfg.play_episodes=3")
    assert result.code == 0
    assert [float(row["reward"]) for row in read_csv(result.folder / "results" / "res.csv")] == [-13.0] * 3
