"""The tabular learners: each update rule on a hand-computed example, exploring starts, and learning CliffWalking-v1."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace

import gymnasium as gym
import pytest
import torch
from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv

from joyrl.cli import config_from_args
from joyrl.config import algo_config_class, defaults
from joyrl.runner import Run
from joyrl.tabular import QTable, start_states, supports_start_state
from tests.helpers import ROOT

START_ID = "TabularTestStartCliff-v0"


class StartableCliff(CliffWalkingEnv):
    """CliffWalking that can start anywhere off the cliff and the goal: ``reset(options={"start_state": s})``."""

    supports_start_state = True
    nonterminal_states = tuple(s for s in range(48) if s < 37)  # 37..46 are the cliff, 47 the goal
    starts: list[int] = []  # every start state, for the test to read

    def reset(self, *, seed=None, options=None):
        observation, info = super().reset(seed=seed)
        if options and "start_state" in options:
            self.s = observation = int(options["start_state"])
        StartableCliff.starts.append(int(observation))
        return observation, info


if START_ID not in gym.registry:
    gym.register(id=START_ID, entry_point=StartableCliff, max_episode_steps=100)


def make_agent(algo: str, n_states: int = 3, n_actions: int = 2, **overrides):
    """An algorithm's agent with its config defaults, ``overrides`` and a small table."""
    cfg = SimpleNamespace(**defaults(algo_config_class(algo)), n_states=n_states, n_actions=n_actions)
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return importlib.import_module(f"algos.{algo}.agent").Agent(cfg)


def constant_epsilon(epsilon: float) -> dict:
    return {"epsilon_start": epsilon, "epsilon_end": epsilon}


# ------------------------------------------------------------------ the Q-table


def test_q_table_breaks_ties_towards_the_lowest_action_and_shares_memory_with_its_tensor():
    table = QTable(2, 3, 0.0)
    table.values[0] = [1.0, 5.0, 5.0]
    assert table.greedy(0) == 1
    assert table.greedy(1) == 0
    assert table.tensor[0, 2].item() == 5.0  # the checkpointed tensor sees writes through the view
    assert table.epsilon_greedy(0, 0.0) == 1
    assert table.max(0) == 5.0


@pytest.mark.parametrize(
    ("epsilon", "expected"),
    [(0.0, 2.0), (1.0, 1.0), (0.3, 0.8 * 2 + 0.1 * 2 + 0.1 * -1)],  # π = ε/3 each, + (1 - ε) on one of the tied maxima
)
def test_expectation_under_epsilon_greedy_with_tied_maxima(epsilon, expected):
    table = QTable(1, 3, 0.0)
    table.values[0] = [2.0, 2.0, -1.0]
    assert table.expectation(0, epsilon) == pytest.approx(expected)


def test_qlearning_update_is_unchanged():
    agent = make_agent("QLearning", lr=0.5, gamma=0.9)
    agent.q.values[1] = [1.0, 5.0]
    agent.store_transition(0, 0, 1.0, 1, False)
    assert agent.update()["td_error"] == pytest.approx(1.0 + 0.9 * 5.0)
    assert agent.q.values[0, 0] == pytest.approx(0.5 * (1.0 + 0.9 * 5.0))


# ------------------------------------------------------------------ Sarsa and Expected Sarsa


def test_sarsa_target_uses_the_next_action_it_then_takes(monkeypatch):
    agent = make_agent(
        "Sarsa", lr=0.5, gamma=0.9, epsilon_start=1.0, epsilon_end=0.0, epsilon_decay=10, epsilon_schedule="linear"
    )
    agent.q.values[1] = [1.0, 5.0]
    drawn = []

    def behaviour(state, epsilon):  # the ε-greedy draw picks the non-greedy a' = 0
        drawn.append((state, epsilon))
        return 0

    monkeypatch.setattr(agent.q, "epsilon_greedy", behaviour)
    assert agent.sample_action(0) == 0  # step 1 of 10: ε = 0.9
    agent.store_transition(0, 0, 1.0, 1, False)
    assert drawn[-1] == (1, pytest.approx(0.8))  # a' is drawn in s' with the ε of the step that takes it
    agent.update()
    assert agent.q.values[0, 0] == pytest.approx(0.5 * (1.0 + 0.9 * 1.0))  # Q(s', a') = 1, not max = 5
    assert agent.sample_action(1) == 0 and len(drawn) == 2  # the next action is a', not a fresh draw
    assert agent.sample_count == 2


def test_sarsa_terminal_step_draws_no_next_action_and_episode_end_drops_a_pending_one():
    agent = make_agent("Sarsa", lr=0.5, gamma=0.9, **constant_epsilon(0.0))
    agent.q.values[1] = [1.0, 5.0]
    agent.store_transition(0, 1, 2.0, 1, True)
    assert agent.next_action is None
    agent.update()
    assert agent.q.values[0, 1] == pytest.approx(1.0)  # target r alone
    agent.store_transition(0, 1, 0.0, 1, False)  # a truncated step: a' drawn for the bootstrap ...
    agent.update()
    assert agent.next_action == 1
    agent.end_episode()  # ... and not carried into the next episode
    assert agent.next_action is None


def test_sarsa_checkpoint_keeps_a_pending_next_action():
    agent = make_agent("Sarsa", **constant_epsilon(0.0))
    agent.store_transition(0, 0, 0.0, 2, False)
    restored = make_agent("Sarsa")
    restored.load_state_dict(agent.state_dict())
    assert restored.next_action == agent.next_action == 0


def test_expected_sarsa_target_is_the_expectation_under_the_next_steps_epsilon():
    agent = make_agent("ExpectedSarsa", n_actions=3, lr=0.5, gamma=0.9, **constant_epsilon(0.3))
    agent.q.values[1] = [2.0, 2.0, -1.0]
    agent.store_transition(0, 0, 1.0, 1, False)
    agent.update()
    expectation = 0.8 * 2.0 + 0.1 * 2.0 + 0.1 * -1.0  # 1.7
    assert agent.q.values[0, 0] == pytest.approx(0.5 * (1.0 + 0.9 * expectation))


# ------------------------------------------------------------------ Monte Carlo

# s0 -a0-> (r 1) s1 -a1-> (r 2) s0 -a0-> (r 3) s2: the pair (s0, a0) is visited twice. With γ = 0.5,
# G_2 = 3, G_1 = 2 + 0.5 * 3 = 3.5, G_0 = 1 + 0.5 * 3.5 = 2.75.
EPISODE = [(0, 0, 1.0, 1), (1, 1, 2.0, 0), (0, 0, 3.0, 2)]


def play(agent, terminated: bool = True) -> list:
    results = []
    for t, (state, action, reward, next_state) in enumerate(EPISODE):
        agent.store_transition(state, action, reward, next_state, terminated and t == len(EPISODE) - 1)
        results.append(agent.update())
    agent.end_episode()
    return results


@pytest.mark.parametrize(
    ("visit", "lr", "q00", "n00", "q11"),
    [
        ("first", None, 2.75, 1, 3.5),  # G_0 only
        ("every", None, (3.0 + 2.75) / 2, 2, 3.5),  # the mean of G_2 and G_0
        ("every", 0.5, 0.5 * 3.0 + 0.5 * (2.75 - 0.5 * 3.0), 2, 0.5 * 3.5),  # 1.5, then 1.5 + 0.5 (2.75 - 1.5) = 2.125
    ],
)
def test_monte_carlo_first_and_every_visit_returns(visit, lr, q00, n00, q11):
    agent = make_agent("MonteCarlo", gamma=0.5, visit=visit, lr=lr)
    results = play(agent)
    assert results[:2] == [None, None]  # nothing is learned before the episode ends
    assert agent.q.values[0, 0] == pytest.approx(q00)
    assert agent.q.values[1, 1] == pytest.approx(q11)
    assert agent.visits[0, 0].item() == n00
    assert not agent.episode


def test_monte_carlo_truncated_return_bootstraps_from_the_last_state_or_is_discarded():
    agent = make_agent("MonteCarlo", gamma=0.5, **constant_epsilon(0.0))
    agent.q.values[2] = [4.0, 0.0]  # V(s_T) = 4 under the greedy policy (ε = 0)
    play(agent, terminated=False)
    assert agent.q.values[0, 0] == pytest.approx(1 + 0.5 * (2 + 0.5 * (3 + 0.5 * 4.0)))  # G_0 = 3.25
    discarding = make_agent("MonteCarlo", gamma=0.5, truncation="discard")
    play(discarding, terminated=False)
    assert not discarding.q.values.any() and not discarding.episode


def test_monte_carlo_checkpoint_keeps_the_unfinished_episode():
    agent = make_agent("MonteCarlo", gamma=0.5)
    for state, action, reward, next_state in EPISODE[:2]:
        agent.store_transition(state, action, reward, next_state, False)
    buffer = io.BytesIO()
    torch.save(agent.state_dict(), buffer)
    buffer.seek(0)
    restored = make_agent("MonteCarlo", gamma=0.5)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.episode == agent.episode
    state, action, reward, next_state = EPISODE[2]
    restored.store_transition(state, action, reward, next_state, True)
    restored.update()
    assert restored.q.values[0, 0] == pytest.approx(2.75)


# ------------------------------------------------------------------ Dyna-Q


def test_dynaq_planning_repeats_q_learning_on_the_model():
    agent = make_agent("DynaQ", lr=0.5, gamma=0.9, planning_steps=3)
    agent.store_transition(0, 1, 1.0, 1, True)
    agent.update()  # the real update, then three planning updates on the only pair in the model
    assert agent.q.values[0, 1] == pytest.approx(1.0 - 0.5**4)
    assert agent.model == {(0, 1): (1.0, 1, True)}


def test_dynaq_model_keeps_the_last_outcome():
    agent = make_agent("DynaQ", planning_steps=0)
    agent.store_transition(0, 1, 1.0, 1, False)
    agent.update()
    agent.store_transition(0, 1, 0.0, 2, True)
    agent.update()
    assert agent.model[0, 1] == (0.0, 2, True)
    assert agent.observed_states == [0] and agent.actions_taken == {0: [1]}


def test_dynaq_plus_adds_the_bonus_in_planning():
    agent = make_agent("DynaQ", n_actions=1, lr=0.5, gamma=0.9, planning_steps=0, kappa=0.1)
    agent.sample_action(0)  # real step 1
    agent.store_transition(0, 0, 1.0, 1, True)
    agent.update()
    assert agent.q.values[0, 0] == pytest.approx(0.5)
    agent.sample_count = 101  # τ = 100 real steps since (0, 0) was tried
    agent.plan()  # target r + κ√τ = 1 + 0.1 * 10 = 2
    assert agent.q.values[0, 0] == pytest.approx(0.5 + 0.5 * (2.0 - 0.5))


def test_dynaq_plus_models_untried_actions_as_staying_put():
    agent = make_agent("DynaQ", n_actions=3, planning_steps=0, kappa=0.1)
    agent.sample_action(0)
    agent.store_transition(0, 1, 1.0, 1, True)
    agent.update()
    assert agent.model == {(0, 0): (0.0, 0, False), (0, 1): (1.0, 1, True), (0, 2): (0.0, 0, False)}
    assert agent.last_tried == {(0, 0): 0, (0, 1): 1, (0, 2): 0}
    assert agent.actions_taken == {0: [0, 1, 2]}  # planning may pick the untried ones
    plain = make_agent("DynaQ", n_actions=3, planning_steps=0)
    plain.store_transition(0, 1, 1.0, 1, True)
    plain.update()
    assert plain.actions_taken == {0: [1]}


def test_dynaq_checkpoint_restores_the_model_in_order():
    agent = make_agent("DynaQ", n_states=4, planning_steps=2, kappa=0.01)
    for state, action, reward, next_state in [(2, 1, 1.0, 3), (0, 0, -1.0, 2), (2, 0, 0.5, 1)]:
        agent.sample_action(state)
        agent.store_transition(state, action, reward, next_state, False)
        agent.update()
    buffer = io.BytesIO()
    torch.save(agent.state_dict(), buffer)
    buffer.seek(0)
    restored = make_agent("DynaQ", n_states=4, planning_steps=2, kappa=0.01)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    for name in ("model", "last_tried", "observed_states", "actions_taken"):
        assert getattr(restored, name) == getattr(agent, name), name


# ------------------------------------------------------------------ exploring starts


def test_exploring_starts_on_an_env_without_support_is_one_config_error(cli):
    result = cli("--algo", "MonteCarlo", "--env", "CliffWalking-v1", "algo_cfg.exploring_starts=true")
    assert result.code == 2
    assert result.folder is None
    assert result.err.count("\n") == 1
    assert "exploring_starts" in result.err and "supports_start_state" in result.err


def test_start_state_support_is_read_from_the_env_class():
    assert supports_start_state(START_ID)
    assert not supports_start_state("CliffWalking-v1")
    assert list(start_states(gym.make("CliffWalking-v1"), 48)) == list(range(48))
    assert start_states(gym.make(START_ID), 48) == list(range(37))


def test_exploring_starts_start_in_random_states_with_a_random_first_action():
    cfg = config_from_args(
        ["--algo", "MonteCarlo", "--env", START_ID, "algo_cfg.exploring_starts=true", "algo_cfg.epsilon_end=0.0"]
    )
    cfg.epsilon_start = 0.0  # greedy after the first action
    run = Run(cfg)
    run.prepare()
    StartableCliff.starts.clear()
    first_actions = []
    for _ in range(40):
        run.trainer.stop_requested = True  # stop after the first step, to see the first action
        run.trainer.train_one_episode(run.env, run.agent, cfg)
        first_actions.append(run.trainer.episode.actions[0] if run.trainer.episode else None)
        run.trainer.stop_requested = False
        run.trainer.train_one_episode(run.env, run.agent, cfg)
    assert set(StartableCliff.starts) <= set(range(37)) and len(set(StartableCliff.starts)) > 15
    assert len({action for action in first_actions if action is not None}) == 4  # greedy alone would repeat one


def test_exploring_start_episode_stopped_part_way_replays_from_its_start():
    cfg = config_from_args(["--algo", "MonteCarlo", "--env", START_ID, "algo_cfg.exploring_starts=true"])
    run = Run(cfg)
    run.prepare()
    run.trainer.stop_requested = True
    while run.trainer.train_one_episode(run.env, run.agent, cfg) is not None:  # until one stops part-way
        pass
    saved = run.trainer.state_dict()
    assert "start_state" in saved
    fresh = Run(config_from_args(["--algo", "MonteCarlo", "--env", START_ID, "algo_cfg.exploring_starts=true"]))
    fresh.prepare()
    assert fresh.trainer.load_state_dict(saved, fresh.env)
    assert fresh.trainer.episode.state == run.trainer.episode.state


# ------------------------------------------------------------------ learning CliffWalking-v1


def greedy_cliff_walk(algo: str, episodes: int) -> tuple[float, list[int]]:
    """Train ``algo`` with its CliffWalking-v1 preset for ``episodes``; the return and states of one greedy episode."""
    cfg = config_from_args(["--yaml", str(ROOT / "config" / "presets" / f"CliffWalking-v1_{algo}.yaml")])
    run = Run(cfg)
    run.prepare()
    for _ in range(episodes):
        run.trainer.train_one_episode(run.env, run.agent, cfg)
    state, _ = run.env.reset()
    ep_reward, states, done = 0.0, [state], False
    while not done:
        state, reward, terminated, truncated, _ = run.env.step(run.agent.predict_action(state))
        ep_reward, done = ep_reward + reward, terminated or truncated
        states.append(state)
    return ep_reward, states


def test_qlearning_and_dynaq_learn_the_cliff_edge_and_dynaq_in_a_quarter_of_the_episodes():
    assert greedy_cliff_walk("QLearning", 500)[0] == -13
    assert greedy_cliff_walk("DynaQ", 30)[0] == -13
    assert greedy_cliff_walk("QLearning", 30)[0] != -13  # Q-learning alone has not got there yet


EDGE = set(range(25, 35))  # row 2, columns 1-10: the cells along the cliff (row 3, columns 1-10)


@pytest.mark.parametrize(("algo", "episodes"), [("Sarsa", 1000), ("ExpectedSarsa", 300), ("MonteCarlo", 600)])
def test_on_policy_methods_learn_a_safe_path(algo, episodes):
    """The ε-greedy policy's values make the greedy path keep a row between it and the cliff (-15, -17 or a detour)."""
    ep_reward, states = greedy_cliff_walk(algo, episodes)
    assert states[-1] == 47  # the goal, without a fall (which would cost -100)
    assert -21 <= ep_reward <= -15
    assert not EDGE & set(states)
