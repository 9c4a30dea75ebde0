"""KingWalk-v0 (MultiDiscrete actions) and SwitchPanel-v0 (MultiBinary actions): API, rewards, and their stated optima."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the project's envs)


@pytest.mark.parametrize("env_id", ["KingWalk-v0", "SwitchPanel-v0"])
def test_the_envs_pass_gymnasiums_checker(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def king_move(observation: np.ndarray, size: int = 7) -> np.ndarray:
    """The optimal action: each axis one step towards the goal (1 = stay)."""
    walker, goal = np.rint(observation[:2] * (size - 1)), np.rint(observation[2:] * (size - 1))
    return (np.sign(goal - walker) + 1).astype(np.int64)


def test_walking_straight_to_the_goal_earns_the_best_return_of_one_in_chebyshev_distance_steps():
    env = gym.make("KingWalk-v0")
    for seed in range(50):
        observation, info = env.reset(seed=seed)
        distance, total, steps, done = info["distance"], 0.0, 0, False
        assert distance >= 1
        while not done:
            observation, reward, terminated, truncated, _ = env.step(king_move(observation))
            total, steps, done = total + reward, steps + 1, terminated or truncated
        assert terminated and total == 1.0 and steps == distance
    env.close()


def test_a_king_step_that_does_not_come_closer_costs_one_and_the_walls_stop_it():
    walk = gym.make("KingWalk-v0").unwrapped
    walk.reset(seed=0)
    walk.walker, walk.goal = np.array([0, 0]), np.array([3, 3])
    assert walk.step(np.array([0, 0]))[1] == -1.0 and walk.walker.tolist() == [0, 0]  # into the corner: no closer
    assert walk.step(np.array([2, 2]))[1] == 0.0 and walk.distance() == 2  # diagonal: (1, 1), one closer
    assert walk.step(np.array([2, 1]))[1] == -1.0 and walk.distance() == 2  # (2, 1): the rows still 2 apart


def test_flipping_exactly_the_wrong_switches_solves_the_panel_in_one_step_with_return_zero():
    env = gym.make("SwitchPanel-v0")
    for seed in range(50):
        observation, _ = env.reset(seed=seed)
        switches, target = observation[:8], observation[8:]
        assert not np.array_equal(switches, target)
        _, reward, terminated, _, info = env.step((switches != target).astype(np.int8))
        assert (reward, terminated, info["wrong"]) == (0.0, True, 0)
    env.close()


def test_each_wrong_switch_costs_an_eighth_a_step():
    panel = gym.make("SwitchPanel-v0").unwrapped
    panel.reset(seed=0)
    panel.switches, panel.target = np.zeros(8, np.int8), np.ones(8, np.int8)
    _, reward, terminated, _, info = panel.step(np.array([1, 1, 1, 1, 1, 0, 0, 0], np.int8))
    assert (reward, terminated, info["wrong"]) == (-3 / 8, False, 3)
