"""WindyGridworld-v0 and Racetrack-v0: the checker, P against step(), the book's numbers, hand-checked moves."""

import warnings
from collections import Counter, deque

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the custom envs)
from envs.racetrack import Racetrack, _segment_cells
from envs.windy_gridworld import WindyGridworld

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
# Racetrack actions: a = (dvrow + 1) * 3 + (dvcol + 1)
SLOWER, KEEP, FASTER_RIGHT, FASTER_UP, FASTER_BOTH = 3, 4, 5, 7, 8


def _frequencies_match(env, state, action, samples, reset_options):
    """Sample ``step`` from ``state`` and compare the next-state frequencies with ``P`` (4 standard errors)."""
    expected = Counter()
    for prob, nxt, _, _ in env.P[state][action]:
        expected[nxt] += prob
    seen = Counter()
    env.reset(seed=7)
    for _ in range(samples):
        env.reset(options=reset_options)
        seen[env.step(action)[0]] += 1
    assert set(seen) <= set(expected)
    for nxt, prob in expected.items():
        assert abs(seen[nxt] / samples - prob) <= 4 * np.sqrt(prob * (1 - prob) / samples) + 1e-9, (nxt, prob, seen[nxt])


def _rollout(env, seed, steps):
    """``steps`` random actions from ``reset(seed=seed)``, resetting after each episode."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    out = []
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out.append((obs, reward, terminated, info))
        if terminated or truncated:
            env.reset()
    return out


def _shortest_path(env) -> int:
    """Breadth-first search over P from the start state to the goal."""
    dist, queue = {env.start_state: 0}, deque([env.start_state])
    while queue:
        s = queue.popleft()
        for outcomes in env.P[s].values():
            for _, nxt, _, _ in outcomes:
                if nxt not in dist:
                    dist[nxt] = dist[s] + 1
                    queue.append(nxt)
    return dist[env.goal_state]


# --- WindyGridworld-v0 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"king_moves": True},
        {"stochastic_wind": True},
        {"king_moves": True, "stochastic_wind": True, "render_mode": "rgb_array"},
    ],
)
def test_windy_passes_the_checker(kwargs):
    env = gym.make("WindyGridworld-v0", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert env.spec.max_episode_steps == 1000
    assert env.action_space.n == (8 if kwargs.get("king_moves") else 4)


def test_windy_layout_attributes():
    env = WindyGridworld(king_moves=True)
    assert (env.nrow, env.ncol, env.observation_space.n) == (7, 10, 70)
    assert env.desc[3] == "S001112G10" and env.desc[0] == "0001112210"
    assert env.action_directions[:4] == [(-1, 0), (0, 1), (1, 0), (0, -1)]
    assert len(env.action_directions) == env.action_space.n == len(env.P[0])
    assert env.P[env.goal_state][UP] == [(1.0, env.goal_state, 0.0, True)]
    assert env.initial_state_distrib[env.start_state] == 1.0 == env.initial_state_distrib.sum()
    for s in range(70):
        for outcomes in env.P[s].values():
            assert sum(p for p, *_ in outcomes) == pytest.approx(1.0)


@pytest.mark.parametrize(("king_moves", "steps"), [(False, 15), (True, 7)])
def test_windy_optimal_path_length_from_the_book(king_moves, steps):
    env = WindyGridworld(king_moves=king_moves)
    assert _shortest_path(env) == steps


def test_windy_optimal_path_replayed_by_step():
    env = WindyGridworld()
    # right x9 (wind carries the agent to the top row), down x4, left x2: 15 steps
    actions = [RIGHT] * 9 + [DOWN] * 4 + [LEFT] * 2
    env.reset(seed=0)
    total, terminated = 0.0, False
    for action in actions:
        assert not terminated
        _, reward, terminated, _, _ = env.step(action)
        total += reward
    assert terminated and total == -15.0


def test_windy_wind_at_the_edges():
    env = WindyGridworld()
    s = lambda row, col: row * 10 + col  # noqa: E731
    assert env.P[s(0, 6)][RIGHT] == [(1.0, s(0, 7), -1.0, False)]  # wind 2 at the top edge: clipped, row 0
    assert env.P[s(0, 6)][DOWN] == [(1.0, s(0, 6), -1.0, False)]  # down 1, up 2: stays on the top row
    assert env.P[s(1, 3)][UP] == [(1.0, s(0, 3), -1.0, False)]  # up 1 + wind 1 clipped to row 0
    assert env.P[s(6, 4)][DOWN] == [(1.0, s(6, 4), -1.0, False)]  # down at the bottom, wind 1: stays
    assert env.P[s(4, 7)][RIGHT] == [(1.0, s(2, 8), -1.0, False)]  # the wind of the column left behind
    assert env.P[s(5, 7)][UP] == [(1.0, s(2, 7), -1.0, False)]
    assert env.P[s(5, 8)][LEFT] == [(1.0, s(4, 7), -1.0, False)]
    assert env.P[s(4, 7)][UP][0][3] is False and env.P[s(4, 6)][RIGHT] == [(1.0, s(2, 7), -1.0, False)]
    assert env.P[s(5, 6)][RIGHT] == [(1.0, s(3, 7), -1.0, True)]  # into the goal


def test_windy_stochastic_wind_outcomes():
    env = WindyGridworld(stochastic_wind=True)
    s = lambda row, col: row * 10 + col  # noqa: E731
    assert env.P[s(0, 4)][RIGHT] == [(1.0, s(0, 5), -1.0, False)]  # 0, 1, 2 all end on the top row
    assert sorted(env.P[s(1, 4)][RIGHT]) == [(1 / 3, s(1, 5), -1.0, False), (2 / 3, s(0, 5), -1.0, False)]
    assert len(env.P[s(3, 6)][RIGHT]) == 3  # pushes 1, 2, 3
    assert env.P[s(3, 1)][RIGHT] == [(1.0, s(3, 2), -1.0, False)]  # no wind, no noise


@pytest.mark.parametrize(("row", "col", "action"), [(3, 6, 1), (1, 4, 1), (6, 7, 2), (4, 5, 3)])
def test_windy_sampled_steps_match_P(row, col, action):
    env = WindyGridworld(stochastic_wind=True)
    state = row * 10 + col
    _frequencies_match(env, state, action, 1500, {"start_state": state})


def test_windy_start_state_option():
    env = WindyGridworld()
    assert WindyGridworld.supports_start_state
    assert env.reset(seed=1, options={"start_state": 12})[0] == 12
    assert env.reset()[0] == env.start_state == 30
    assert len(env.nonterminal_states) == 69 and env.goal_state not in env.nonterminal_states
    for bad in (env.goal_state, 70, -1, 3.0):
        with pytest.raises(ValueError, match="start_state"):
            env.reset(options={"start_state": bad})


def test_windy_same_seed_same_trajectory():
    def trajectory(seed):
        return _rollout(gym.make("WindyGridworld-v0", stochastic_wind=True, king_moves=True), seed, 300)

    assert trajectory(3) == trajectory(3)
    assert trajectory(3) != trajectory(4)


def test_windy_render():
    frame = WindyGridworld(render_mode="rgb_array")
    frame.reset(seed=0)
    image = frame.render()
    assert image.shape == (224, 320, 3) and image.dtype == np.uint8
    text = WindyGridworld(render_mode="ansi")
    text.reset(seed=0)
    assert text.render().splitlines()[3] == "x001112G10"


# --- Racetrack-v0 ------------------------------------------------------------------------

# Hand-made maps (row 0 at the top; velocities move up and right).
WALL_AHEAD = [
    "...F",
    "#..F",
    "S..#",
]
FINISH_STRAIGHT = [
    "#...F",
    "S....",
]


def _put(env, row, col, vrow, vcol, seed=0):
    return env.reset(seed=seed, options={"start_state": env.encode(row, col, vrow, vcol)})


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"obs_type": "box"},
        {"track": "right"},
        {"track": "right", "obs_type": "box", "render_mode": "rgb_array"},
        {"render_mode": "ansi"},
    ],
)
def test_racetrack_passes_the_checker(kwargs):
    env = gym.make("Racetrack-v0", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert env.spec.max_episode_steps == 1000 and env.action_space.n == 9


def test_racetrack_book_tracks():
    left, right = Racetrack(track="left"), Racetrack(track="right")
    assert (left.nrow, left.ncol, len(left.start_cells), len(left.finish_cells)) == (32, 17, 6, 6)
    assert (right.nrow, right.ncol, len(right.start_cells)) == (31, 32, 23)
    assert left.observation_space.n == 32 * 17 * 25
    assert np.flatnonzero(left.initial_state_distrib).tolist() == sorted(left.encode(r, c, 0, 0) for r, c in left.start_cells)
    assert left.initial_state_distrib.sum() == pytest.approx(1.0)
    for env in (left, right):
        for s in env.nonterminal_states[::97]:
            assert env.encode(*env.decode(s)) == s


def test_racetrack_segment_cells_follow_the_straight_line():
    assert _segment_cells((5, 0), (1, 0)) == [(4, 0), (3, 0), (2, 0), (1, 0)]
    assert _segment_cells((5, 0), (4, 1)) == [(4, 1)]  # through a corner: the two side cells are not entered
    assert _segment_cells((5, 0), (3, 3)) == [(5, 1), (4, 1), (4, 2), (3, 2), (3, 3)]
    assert _segment_cells((5, 0), (2, 2)) == [(4, 0), (4, 1), (3, 1), (3, 2), (2, 2)]


def test_racetrack_path_through_a_wall_is_a_crash():
    env = Racetrack(track=WALL_AHEAD, noise=0.0)
    _put(env, 2, 0, 0, 0)
    obs, reward, terminated, truncated, info = env.step(FASTER_UP)  # up one, into the wall at (1, 0)
    assert info["crashed"] and not terminated and not truncated and reward == -1.0
    assert env.decode(obs) == (2, 0, 0, 0) and info["crashes"] == 1  # the only start cell, stopped
    # up 2 from (2, 1) lands on the track at (0, 1) without touching a wall
    _put(env, 2, 1, 2, 0)
    obs, _, terminated, _, info = env.step(KEEP)
    assert not info["crashed"] and env.decode(obs) == (0, 1, 2, 0)


def test_racetrack_finish_is_checked_along_the_path():
    env = Racetrack(track=FINISH_STRAIGHT, noise=0.0)
    _put(env, 1, 0, 1, 3)  # up 1 and right 3: through (1, 1), (0, 2) to (0, 3), all on the track
    obs, reward, terminated, _, info = env.step(KEEP)
    assert not terminated and env.decode(obs) == (0, 3, 1, 3)
    _put(env, 0, 1, 0, 4)  # right 4 from (0, 1) would leave the map; the path reaches F at (0, 4) first
    obs, reward, terminated, _, info = env.step(KEEP)
    assert terminated and info["finished"] and not info["crashed"] and reward == -1.0
    assert env.decode(obs) == (0, 4, 0, 4)
    _put(env, 1, 3, 0, 2)  # right 2 from (1, 3): off the map at (1, 5), no finish cell on row 1
    _, _, terminated, _, info = env.step(KEEP)
    assert info["crashed"] and not terminated


def test_racetrack_wall_before_the_finish_crashes():
    env = Racetrack(track=["S.#F", "S..."], noise=0.0)
    _put(env, 0, 0, 0, 3)
    _, _, terminated, _, info = env.step(KEEP)
    assert info["crashed"] and not terminated


def test_racetrack_velocity_rules():
    env = Racetrack(track=["S..........F"], noise=0.0)
    _put(env, 0, 0, 0, 0)
    assert env.step(KEEP)[4]["velocity"] == (0, 0)  # may stay still on the start line
    info = env.step(FASTER_RIGHT)[4]
    assert info["velocity"] == (0, 1) and info["position"] == (0, 1)
    # off the start line the car cannot stop: the decrement is ignored
    env = Racetrack(track=["S..........F", "S..........."], noise=0.0)
    _put(env, 1, 2, 0, 1)
    info = env.step(SLOWER)[4]  # vcol - 1 would stop the car
    assert info["velocity"] == (0, 1) and info["position"] == (1, 3)
    _put(env, 1, 0, 0, 1)  # on the start line it can
    assert env.step(SLOWER)[4]["velocity"] == (0, 0)
    _put(env, 1, 1, 0, 4)
    info = env.step(FASTER_RIGHT)[4]  # at the top speed: stays 4
    assert info["velocity"] == (0, 4) and info["position"] == (1, 5)


def test_racetrack_random_driving_keeps_the_rules():
    env = gym.make("Racetrack-v0")
    obs, _ = env.reset(seed=5)
    env.action_space.seed(5)
    start_cells, crashes, finishes = set(env.unwrapped.start_cells), 0, 0
    for _ in range(3000):
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        row, col, vrow, vcol = env.unwrapped.decode(obs)
        assert 0 <= vrow <= 4 and 0 <= vcol <= 4
        assert (vrow, vcol) != (0, 0) or (row, col) in start_cells
        if info["crashed"]:
            crashes += 1
            assert (row, col) in start_cells and (vrow, vcol) == (0, 0)
        else:
            assert env.unwrapped.track[row][col] in ".SF"
        finishes += terminated
        if terminated or truncated:
            obs, _ = env.reset()
    assert crashes > 0


def test_racetrack_P_is_a_distribution_over_states():
    env = Racetrack(track="left")
    n, nonterminal = env.observation_space.n, set(env.nonterminal_states)
    for s in env.nonterminal_states[::7]:
        for outcomes in env.P[s].values():
            assert sum(p for p, *_ in outcomes) == pytest.approx(1.0)
            assert len({nxt for _, nxt, _, _ in outcomes}) == len(outcomes)
            for _, nxt, reward, terminated in outcomes:
                assert 0 <= nxt < n and reward == -1.0
                assert (nxt in nonterminal) != terminated
    assert env.P[0][0] == [(1.0, 0, 0.0, True)]  # off the track: absorbing


def test_racetrack_deterministic_steps_match_P():
    env = Racetrack(track=WALL_AHEAD + ["S..."], noise=0.0)
    env.reset(seed=0)
    for s in env.nonterminal_states:
        for a in range(9):
            env.reset(options={"start_state": s})
            obs, reward, terminated, _, info = env.step(a)
            outcomes = env.P[s][a]
            if info["crashed"]:
                assert {nxt for _, nxt, _, _ in outcomes} == {env.encode(r, c, 0, 0) for r, c in env.start_cells}
            else:
                assert outcomes == [(1.0, obs, reward, terminated)]


@pytest.mark.parametrize(
    ("state", "action"),
    [((2, 1, 1, 1), FASTER_RIGHT), ((3, 0, 0, 0), FASTER_UP), ((2, 2, 0, 1), FASTER_UP), ((1, 1, 1, 1), FASTER_BOTH)],
)
def test_racetrack_sampled_steps_match_P(state, action):
    env = Racetrack(track=WALL_AHEAD + ["S..."], noise=0.3)
    s = env.encode(*state)
    assert len(env.P[s][action]) >= 2  # noise (and crashes) make these stochastic
    _frequencies_match(env, s, action, 1500, {"start_state": s})


def test_racetrack_start_state_option():
    env = Racetrack()
    assert Racetrack.supports_start_state
    obs, info = env.reset(seed=2)
    assert info["position"] in env.start_cells and info["velocity"] == (0, 0)
    s = env.encode(10, 4, 2, 1)
    assert env.reset(options={"start_state": s})[0] == s
    finish = env.encode(0, 16, 0, 1)
    stopped_mid_track = env.encode(10, 4, 0, 0)
    for bad in (env.encode(0, 0, 1, 1), finish, stopped_mid_track, -1, env.observation_space.n):
        with pytest.raises(ValueError, match="start_state"):
            env.reset(options={"start_state": bad})
    assert env.encode(31, 3, 0, 0) in env.nonterminal_states  # stopped on the start line is fine


def test_racetrack_bad_arguments():
    for kwargs in (
        {"track": "oval"},
        {"track": ["S.F", ".."]},
        {"track": ["S.X"]},
        {"track": ["S.."]},
        {"noise": 1.5},
        {"obs_type": "image"},
    ):
        with pytest.raises(ValueError):
            Racetrack(**kwargs)


def test_racetrack_same_seed_same_trajectory():
    def trajectory(seed):
        return _rollout(gym.make("Racetrack-v0", track="right"), seed, 300)

    assert trajectory(11) == trajectory(11)
    assert trajectory(11) != trajectory(12)


def test_racetrack_box_observation():
    env = Racetrack(obs_type="box", noise=0.0)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and tuple(obs) == (*info["position"], 0.0, 0.0)
    obs, *_ = env.step(FASTER_UP)
    assert tuple(obs) == (info["position"][0] - 1, info["position"][1], 1.0, 0.0)


@pytest.mark.parametrize(("track", "shape"), [("left", (256, 136, 3)), ("right", (248, 256, 3))])
def test_racetrack_render(track, shape):
    env = Racetrack(track=track, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(FASTER_UP)
    image = env.render()
    assert image.shape == shape and image.dtype == np.uint8
    text = Racetrack(track=track, render_mode="ansi")
    text.reset(seed=0)
    assert text.render().count("@") == 1
