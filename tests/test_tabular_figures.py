"""videos/policy.png: a tabular agent's V and greedy policy over a grid env, and no figure elsewhere."""

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from PIL import Image

import envs  # noqa: F401  (registers GorgeWalk-v0)
from joyrl.tabular_figures import figure_size, grid_of, save_policy_figure
from tests.helpers import QLEARNING_PRESET


def q_agent(q_table):
    """What the figure needs from a Q-table agent: the table and its greedy action."""
    return SimpleNamespace(q_table=q_table, predict_action=lambda state: int(q_table[state].argmax()))


def hand_set_q(n_states, n_actions, best_action):
    q_table = torch.zeros(n_states, n_actions, dtype=torch.float64)
    q_table[:, best_action] = torch.linspace(-1.0, 1.0, n_states, dtype=torch.float64)  # varying V, one best action
    q_table[:, best_action] += 2.0
    return q_table


@pytest.mark.parametrize(("env_id", "shape"), [("FrozenLake-v1", (4, 4)), ("CliffWalking-v1", (4, 12))])
def test_figure_of_a_hand_set_q_table_has_the_grid_size(env_id, shape, tmp_path):
    env = gym.make(env_id)
    path = save_policy_figure(q_agent(hand_set_q(env.observation_space.n, 4, 2)), env, tmp_path / "videos" / "policy.png", env_id)
    assert path == tmp_path / "videos" / "policy.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == figure_size(*shape)


def test_bigger_grids_draw_bigger_figures_up_to_a_cap():
    assert figure_size(4, 12)[0] > figure_size(4, 4)[0]
    assert figure_size(8, 8)[1] > figure_size(4, 4)[1]
    assert figure_size(200, 200)[0] < 1300  # cells shrink on large grids


def test_grid_layouts_and_action_directions():
    frozen = grid_of(gym.make("FrozenLake-v1"), 16)
    assert frozen.letters[0, 0] == "S" and frozen.letters[1, 1] == "H" and frozen.letters[3, 3] == "G"
    assert frozen.actions == ((0, -1), (1, 0), (0, 1), (-1, 0))  # LEFT DOWN RIGHT UP
    assert frozen.states[2, 3] == 11 and frozen.mask_bits == 0
    cliff = grid_of(gym.make("CliffWalking-v1"), 48)
    assert "".join(cliff.letters[3]) == "SCCCCCCCCCCG" and set("".join(cliff.letters[0])) == {"."}
    assert cliff.actions == ((-1, 0), (0, 1), (1, 0), (0, -1))  # UP RIGHT DOWN LEFT


def test_gorge_walk_cells_are_drawn_with_every_treasure_present(tmp_path):
    env = gym.make("GorgeWalk-v0", map_name="gorge8")
    unwrapped = env.unwrapped
    full_mask = unwrapped.n_masks - 1
    grid = grid_of(env, env.observation_space.n)
    assert grid.mask_bits == len(unwrapped.treasure_cells) == 2
    for row, col in [(1, 1), (3, 4), (6, 6)]:
        assert grid.states[row, col] == unwrapped.encode(row, col, full_mask)
    q_table = hand_set_q(env.observation_space.n, 4, 1)
    path = save_policy_figure(q_agent(q_table), env, tmp_path / "policy.png", "GorgeWalk")
    with Image.open(path) as image:
        assert image.size == figure_size(8, 8)


class Corridor(gym.Env):
    """A 1 x 4 grid that names its own action directions: 0 east, 1 west."""

    observation_space = spaces.Discrete(4)
    action_space = spaces.Discrete(2)
    desc = np.array([list("S..G")])
    action_directions = ((0, 1), (0, -1))

    def reset(self, *, seed=None, options=None):
        return 0, {}

    def step(self, action):
        return 0, 0.0, False, False, {}


def test_an_env_may_give_its_own_action_directions(tmp_path):
    grid = grid_of(Corridor(), 4)
    assert grid.actions == ((0, 1), (0, -1))
    values = SimpleNamespace(v_table=torch.arange(4.0), predict_action=lambda state: 0)  # a planner's V-table
    assert save_policy_figure(values, Corridor(), tmp_path / "policy.png", "corridor").is_file()


def test_a_q_table_held_by_a_qtable_object_is_found(tmp_path):
    q_table = hand_set_q(16, 4, 1)
    agent = SimpleNamespace(q=SimpleNamespace(tensor=q_table), predict_action=lambda state: 1)
    assert save_policy_figure(agent, gym.make("FrozenLake-v1"), tmp_path / "policy.png", "QTable").is_file()


@pytest.mark.parametrize(("env_id", "n_states"), [("Taxi-v4", 500), ("CartPole-v1", 4)])
def test_no_figure_off_a_grid(env_id, n_states, tmp_path):
    agent = q_agent(hand_set_q(n_states, 2, 0))
    assert save_policy_figure(agent, gym.make(env_id), tmp_path / "policy.png", env_id) is None
    assert not (tmp_path / "policy.png").exists()


def test_no_figure_for_an_agent_without_a_table(tmp_path):
    agent = SimpleNamespace(predict_action=lambda state: 0)
    assert save_policy_figure(agent, gym.make("FrozenLake-v1"), tmp_path / "policy.png", "DQN") is None
    assert not (tmp_path / "policy.png").exists()


def test_training_and_render_runs_write_the_policy_figure(cli):
    trained = cli("--yaml", QLEARNING_PRESET, "general_cfg.max_episode=20")
    assert trained.code == 0
    assert (trained.folder / "videos" / "policy.png").is_file()
    rendered = cli("--yaml", QLEARNING_PRESET, "--mode", "render", "--load", trained.folder, "general_cfg.play_episodes=1")
    assert rendered.code == 0
    assert (rendered.folder / "videos" / "video.gif").is_file()
    with Image.open(rendered.folder / "videos" / "policy.png") as image:
        assert image.size == figure_size(4, 12)
    tested = cli("--yaml", QLEARNING_PRESET, "--mode", "test", "--load", trained.folder, "general_cfg.play_episodes=1")
    assert not (tested.folder / "videos").exists()


def test_a_run_off_a_grid_writes_no_policy_figure(dqn_run):
    assert not (dqn_run / "videos").exists()
