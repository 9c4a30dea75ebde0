"""Seeding: the env is seeded at its first reset only, and the same seed repeats a run."""

import random
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch

from joyrl.envs import SeedOnFirstReset, make_env
from joyrl.runtime import rng_states, seed_everything, set_rng_states
from tests.helpers import TINY_DQN, read_csv, train, without_seconds


def cartpole(seed):
    return SeedOnFirstReset(gym.make("CartPole-v1"), seed)


def resets(env, n):
    return [env.reset()[0] for _ in range(n)]


def test_first_reset_uses_the_seed():
    np.testing.assert_array_equal(cartpole(7).reset()[0], gym.make("CartPole-v1").reset(seed=7)[0])


def test_later_resets_do_not_repeat_the_first_start_state():
    first, second, third = resets(cartpole(7), 3)
    assert not np.array_equal(first, second)
    assert not np.array_equal(second, third)


def test_same_seed_gives_the_same_sequence_of_start_states():
    np.testing.assert_array_equal(resets(cartpole(7), 4), resets(cartpole(7), 4))


def test_an_explicit_seed_on_a_later_reset_still_wins():
    env = cartpole(7)
    env.reset()
    np.testing.assert_array_equal(env.reset(seed=3)[0], gym.make("CartPole-v1").reset(seed=3)[0])


def test_action_space_is_seeded():
    first, second = cartpole(5), cartpole(5)
    assert [first.action_space.sample() for _ in range(20)] == [second.action_space.sample() for _ in range(20)]


def test_make_env_wraps_with_seed_on_first_reset():
    cfg = SimpleNamespace(id="CartPole-v1", kwargs={}, max_step=-1, render_mode=None, wrappers=[])
    np.testing.assert_array_equal(resets(make_env(cfg, 11), 3), resets(make_env(cfg, 11), 3))


def draws():
    return np.random.rand(), random.random(), torch.rand(1).item()


def test_seed_everything_seeds_python_numpy_and_torch():
    seed_everything(3)
    first = draws()
    seed_everything(3)
    assert draws() == first


def test_rng_states_round_trip():
    seed_everything(3)
    saved = rng_states()
    first = draws()
    set_rng_states(saved)
    assert draws() == first


def test_rng_states_of_older_checkpoints_as_lists_of_ints_still_load():
    seed_everything(3)
    saved = rng_states()
    first = draws()
    version, key, gauss_next = saved["python"]
    older = {**saved, "python": [version, key.tolist(), gauss_next]}
    older["numpy"] = {**saved["numpy"], "state": {**saved["numpy"]["state"], "key": saved["numpy"]["state"]["key"].tolist()}}
    set_rng_states(older)
    assert draws() == first


@pytest.fixture(scope="module")
def two_runs_same_seed(tmp_path_factory):
    tasks = tmp_path_factory.mktemp("seeded")
    return train(TINY_DQN, tasks / "a"), train(TINY_DQN, tasks / "b")


@pytest.mark.parametrize("name", ["res.csv", "eval.csv", "train_stats.csv"])
def test_same_seed_twice_writes_identical_results(two_runs_same_seed, name):
    first, second = (read_csv(folder / "results" / name) for folder in two_runs_same_seed)
    assert len(first) > 1
    assert without_seconds(first) == without_seconds(second)


def test_another_seed_gives_other_results(two_runs_same_seed, tmp_path):
    other = train([*TINY_DQN, "--seed", "2"], tmp_path)
    first = read_csv(two_runs_same_seed[0] / "results" / "res.csv")
    assert without_seconds(read_csv(other / "results" / "res.csv")) != without_seconds(first)
