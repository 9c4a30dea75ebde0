"""Tuple observations of Discrete parts for tabular agents (one index), and Blackjack-v1 as Sutton & Barto's example 5.3."""

from types import SimpleNamespace

import gymnasium as gym
import pytest
from gymnasium import spaces

from joyrl.blackjack import HIT, STICK, blackjack_states, book_action
from joyrl.envs import DiscreteTupleIndex, check_spaces, is_discrete_tuple, make_env
from joyrl.errors import ConfigError
from tests.helpers import ROOT, read_csv

PRESET = str(ROOT / "config" / "presets" / "Blackjack-v1_MonteCarlo.yaml")
QLEARNING = str(ROOT / "config" / "presets" / "Blackjack-v1_QLearning.yaml")
TINY = ["general_cfg.max_episode=300", "general_cfg.eval_per_episode=100", "general_cfg.online_eval_episode=20"]


def env_cfg(env_id, **changes):
    fields = {"id": env_id, "kwargs": {}, "max_step": -1, "render_mode": None, "wrappers": [], **changes}
    return SimpleNamespace(**fields)


class TupleEnv(gym.Env):
    """Observations from a Tuple space with offsets, to check the index against."""

    def __init__(self, space: spaces.Tuple) -> None:
        self.observation_space, self.action_space = space, spaces.Discrete(2)


def test_the_index_is_mixed_radix_and_gives_the_parts_back():
    space = spaces.Tuple((spaces.Discrete(3, start=-1), spaces.Discrete(4), spaces.Discrete(2, start=5)))
    wrapper = DiscreteTupleIndex(TupleEnv(space))
    assert wrapper.observation_space == spaces.Discrete(24)
    indices = [wrapper.observation(observation) for observation in (space.sample() for _ in range(200))]
    assert all(0 <= index < 24 for index in indices)
    every = [(a, b, c) for a in (-1, 0, 1) for b in range(4) for c in (5, 6)]
    assert [wrapper.observation(observation) for observation in every] == list(range(24))  # first part most significant
    assert [wrapper.parts(index) for index in range(24)] == every


def test_tabular_runs_get_blackjack_as_one_index_and_others_keep_the_tuple():
    indexed = make_env(env_cfg("Blackjack-v1", index_tuples=True), seed=1)
    assert indexed.observation_space == spaces.Discrete(32 * 11 * 2)
    observation, _ = indexed.reset()
    assert isinstance(observation, int) and 0 <= observation < 704
    plain = make_env(env_cfg("Blackjack-v1"), seed=1)
    assert is_discrete_tuple(plain.observation_space)


@pytest.mark.parametrize(("preset", "algo"), [(PRESET, "MonteCarlo"), (QLEARNING, "QLearning"), (QLEARNING, "Sarsa")])
def test_tabular_agents_train_and_test_on_blackjack(cli, preset, algo):
    trained = cli("--yaml", preset, "--algo", algo, *TINY)
    assert trained.code == 0, trained.err
    rows = read_csv(trained.folder / "results" / "res.csv")
    assert len(rows) == 300 and {row["reward"] for row in rows} <= {"-1", "0", "1"}
    assert (trained.folder / "videos" / "policy.png").is_file()  # the book's figures 5.1 and 5.2
    tested = cli("--load", str(trained.folder), "--mode", "test", "general_cfg.play_episodes=20")
    assert tested.code == 0, tested.err


def test_a_deep_agent_on_blackjack_is_one_line(cli):
    deep = cli("--algo", "DQN", "--env", "Blackjack-v1", "general_cfg.max_episode=10")
    assert deep.code == 2 and deep.err.count("\n") == 1
    assert (
        "DQN handles Box, Dict, Discrete, MultiDiscrete or MultiBinary observation spaces, but Blackjack-v1 has a Tuple of parts Discrete, Discrete, Discrete"
        in deep.err
    )


def test_book_policy_is_figure_5_2():
    assert book_action(20, 10, False) == STICK and book_action(16, 7, False) == HIT and book_action(16, 6, False) == STICK
    assert book_action(12, 3, False) == HIT and book_action(12, 4, False) == STICK and book_action(11, 6, False) == HIT
    assert book_action(18, 9, True) == HIT and book_action(18, 8, True) == STICK and book_action(18, 1, True) == HIT
    assert book_action(17, 5, True) == HIT and book_action(19, 10, True) == STICK
    wrapper = DiscreteTupleIndex(gym.make("Blackjack-v1"))
    states = blackjack_states(wrapper.observation)
    assert len(states) == 200 and len({index for *_, index in states}) == 200
    usable_hits = sum(book_action(player, dealer, True) == HIT for player, dealer, ace, _ in states if ace)
    hard_hits = sum(book_action(player, dealer, False) == HIT for player, dealer, ace, _ in states if not ace)
    assert (usable_hits, hard_hits) == (6 * 10 + 3, 7 + 4 * 5)  # the figure's H cells: 12-17 and soft 18 vs 9, 10, A; 12, 13-16


def test_a_tuple_with_a_box_part_is_refused_naming_its_parts():
    from algos.MonteCarlo.agent import Agent

    env = TupleEnv(spaces.Tuple((spaces.Discrete(3), spaces.Box(0, 1, (2,)))))
    with pytest.raises(
        ConfigError, match=r"handles Discrete or Tuple \(of Discrete parts\) observation spaces, .* Tuple of parts Discrete, Box"
    ):
        check_spaces(Agent, env, "MonteCarlo", "Mixed-v0")
