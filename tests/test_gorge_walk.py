"""GorgeWalk-v0: spaces, the P table against step(), rewards, score, truncation, rendering, seeding."""

import warnings
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers GorgeWalk-v0)
from envs.gorge_walk import DOWN, LEFT, RIGHT, UP, GorgeWalk


@pytest.fixture(scope="module")
def gorge16():
    return GorgeWalk()


@pytest.mark.parametrize(("obs_type", "render_mode"), [("discrete", "ansi"), ("features", "rgb_array")])
def test_check_env_is_clean(obs_type, render_mode):  # check_env also makes the env in the other render mode
    env = gym.make("GorgeWalk-v0", obs_type=obs_type, render_mode=render_mode, treasure_random=True, is_slippery=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)


def test_spaces_and_state_count(gorge16):
    assert gorge16.observation_space == gym.spaces.Discrete(16 * 16 * 16)
    assert gorge16.action_space == gym.spaces.Discrete(4)
    assert (gorge16.desc != "#").sum() == 145
    # walkable cells other than G (144) x 16 masks, less the 4 treasure cells x 8 masks with that treasure present
    assert len(gorge16.valid_states()) == 144 * 16 - 4 * 8
    assert len(gorge16.valid_states(include_goal=True)) == 145 * 16 - 4 * 8
    features = GorgeWalk(obs_type="features").observation_space
    assert features.shape == (16 + 16 + 4 + 25 + 7 * 5,) and features.dtype == np.float32


def test_encode_decode_round_trip(gorge16):
    states = np.arange(gorge16.n_states)
    assert all(gorge16.encode(*gorge16.decode(s)) == s for s in states)
    assert gorge16.decode(gorge16.reset(seed=0)[0]) == (1, 1, 0b1111)
    assert gorge16.encode(1, 1, 0b1111) == (1 * 16 + 1) * 16 + 15


def test_deterministic_step_matches_P_from_every_valid_state(gorge16):
    gorge16.reset(seed=0)
    for s in gorge16.valid_states():
        for a in range(4):
            ((prob, s_next, reward, terminated),) = gorge16.P[int(s)][a]
            gorge16.reset(options={"start_state": int(s)})
            obs, r, term, trunc, info = gorge16.step(a)
            assert (prob, obs, r, term, trunc) == (1.0, s_next, reward, terminated, False)
            assert info["state"] == obs


def test_walls_are_self_loops_and_the_goal_absorbs(gorge16):
    wall, goal = gorge16.encode(0, 0, 5), gorge16.encode(*gorge16.goal, 3)
    assert all(gorge16.P[wall][a] == [(1.0, wall, 0.0, False)] for a in range(4))
    assert all(gorge16.P[goal][a] == [(1.0, goal, 0.0, True)] for a in range(4))


@pytest.mark.parametrize("start", [(1, 1, 0b1111), (4, 5, 0b0010)])  # the corner S; next to treasure 1, above a wall
def test_slippery_step_frequencies_match_P(start):
    env = GorgeWalk(is_slippery=True, slip_prob=0.3)
    env.reset(seed=3)
    s, n = env.encode(*start), 2000
    for a in range(4):
        expected = {(s_next, r): p for p, s_next, r, _ in env.P[s][a]}
        assert sum(expected.values()) == pytest.approx(1.0)
        counts = Counter()
        for _ in range(n):
            env.reset(options={"start_state": s})
            obs, r, *_ = env.step(a)
            counts[(obs, r)] += 1
        assert set(counts) <= set(expected)
        for key, p in expected.items():
            assert abs(counts[key] / n - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-9, (a, key)


def test_slip_sends_half_to_each_perpendicular_move():
    env = GorgeWalk(desc=["#####", "#...#", "#.S.#", "#..G#", "#####"], is_slippery=True, slip_prob=0.2)
    s = env.encode(2, 2, 0)
    outcomes = {env.decode(s_next)[:2]: p for p, s_next, _, _ in env.P[s][UP]}
    assert outcomes == pytest.approx({(1, 2): 0.8, (2, 3): 0.1, (2, 1): 0.1})


def test_hand_checked_gorge8_episode():
    env = GorgeWalk(map_name="gorge8")
    obs, info = env.reset(seed=0)
    assert info == {"pos": (1, 1), "mask": 0b11, "collected": 0, "steps": 0, "state": obs, "score": 0.0}
    actions = [RIGHT, RIGHT, UP, RIGHT, DOWN, DOWN, RIGHT, RIGHT, DOWN, DOWN, DOWN]
    rewards, masks, positions = [], [], []
    for a in actions:
        obs, r, terminated, truncated, info = env.step(a)
        rewards.append(r)
        masks.append(info["mask"])
        positions.append(info["pos"])
        assert env.decode(obs) == (*info["pos"], info["mask"])
    assert rewards == [-1, 19, -1, -1, -1, -1, -1, -1, -1, -1, 49]  # treasure 0 at step 2, a bump at step 3
    assert positions[:4] == [(1, 2), (1, 3), (1, 3), (1, 4)] and positions[-1] == (6, 6)
    assert masks == [0b11] + [0b10] * 10  # bit 0 cleared on pickup; treasure 1 stays
    assert (terminated, truncated, info["collected"]) == (True, False, 1)
    assert info["score"] == pytest.approx(150 + 0.2 * (400 - 11) + 100 * 1)


def test_score_during_the_episode_counts_treasures():
    env = GorgeWalk(map_name="gorge8")
    env.reset(seed=0)
    env.step(RIGHT)
    assert env.step(RIGHT)[4]["score"] == 100.0


def test_timeout_truncates_with_score_zero():
    env = gym.make("GorgeWalk-v0", map_name="gorge8")
    env.reset(seed=0)
    env.step(RIGHT)
    env.step(RIGHT)  # one treasure: the running score is 100
    for t in range(3, 400):
        _, _, terminated, truncated, info = env.step(UP)  # bumps
        assert not (terminated or truncated) and info["score"] == 100.0, t
    _, reward, terminated, truncated, info = env.step(UP)
    assert (reward, terminated, truncated, info["score"], info["steps"]) == (-1.0, False, True, 0.0, 400)


def test_env_truncates_by_itself_at_max_steps_and_goal_on_the_last_step_scores():
    env = GorgeWalk(map_name="gorge8", max_steps=11)  # no TimeLimit wrapper
    env.reset(seed=0)
    for a in [RIGHT, RIGHT, UP, RIGHT, DOWN, DOWN, RIGHT, RIGHT, DOWN, DOWN]:
        assert not any(env.step(a)[2:4])
    _, _, terminated, truncated, info = env.step(DOWN)  # step 11 enters G
    assert (terminated, truncated, info["score"]) == (True, False, 250.0)
    env.reset()
    results = [env.step(LEFT) for _ in range(11)]
    assert results[-1][3] is True and results[-1][4]["score"] == 0.0 and not results[-2][3]


def test_reward_cfg_and_bump_penalty():
    env = GorgeWalk(map_name="gorge8", reward_cfg={"bump_penalty": -0.5, "treasure": 5.0})
    env.reset(seed=0)
    assert env.step(UP)[1] == -1.5
    env.step(RIGHT)
    assert env.step(RIGHT)[1] == 4.0
    with pytest.raises(ValueError, match="unknown reward_cfg keys"):
        GorgeWalk(reward_cfg={"bump": -1})


def test_treasure_options():
    env = GorgeWalk(treasures=[1, 3])
    assert env.reset(seed=0)[1]["mask"] == 0b1010
    env = GorgeWalk(treasure_random=True, treasure_count=2)
    masks = {env.reset(seed=seed)[1]["mask"] for seed in range(30)}
    assert all(m.bit_count() == 2 for m in masks) and len(masks) > 1
    env = GorgeWalk(treasure_random=True)
    assert len({env.reset(seed=seed)[1]["mask"].bit_count() for seed in range(60)}) == 5  # counts 0..4
    for kwargs in ({"treasures": [4]}, {"treasure_count": 2}, {"treasure_random": True, "treasures": [0]}):
        with pytest.raises(ValueError):
            GorgeWalk(**kwargs)


def test_config_errors():
    with pytest.raises(ValueError, match="needs is_slippery=True"):
        GorgeWalk(slip_prob=0.3)
    with pytest.raises(ValueError, match="unknown map_name"):
        GorgeWalk(map_name="gorge9")
    with pytest.raises(ValueError, match="exactly one S and one G"):
        GorgeWalk(desc=["S..", "..."])
    with pytest.raises(ValueError, match="cannot be reached"):
        GorgeWalk(desc=["S.#T", "..#G"])


def test_same_seed_same_episode():
    def run(seed):
        env = GorgeWalk(is_slippery=True, treasure_random=True, obs_type="features")
        trace = [env.reset(seed=seed)[1]["state"]]
        actions = np.random.default_rng(0).integers(4, size=100)
        trace += [(env.step(a)[4]["state"]) for a in actions]
        return trace

    first = run(7)
    assert run(7) == first
    assert run(8) != first


def test_reset_start_state_option(gorge16):
    s = gorge16.encode(13, 2, 0b0101)
    obs, info = gorge16.reset(seed=0, options={"start_state": s})
    assert obs == s and info["pos"] == (13, 2) and info["mask"] == 0b0101 and info["steps"] == 0
    treasure0 = gorge16.treasure_cells[0]
    for bad in (gorge16.encode(0, 0, 15), gorge16.encode(*gorge16.goal, 0), gorge16.encode(*treasure0, 1), -1, 10**6):
        with pytest.raises(ValueError, match="not in valid_states"):
            gorge16.reset(options={"start_state": bad})
    assert gorge16.reset(options={"start_state": gorge16.encode(*treasure0, 0b1110)})[0] == gorge16.encode(*treasure0, 0b1110)
    with pytest.raises(ValueError, match="unknown reset options"):
        gorge16.reset(options={"start": s})


def test_features_observation():
    env = GorgeWalk(map_name="gorge8", obs_type="features")
    obs, _ = env.reset(seed=0)
    rows, cols, bits, walls, rest = np.split(obs, [8, 16, 18, 43])
    assert rows.argmax() == 1 and cols.argmax() == 1 and rows.sum() == cols.sum() == 1
    assert bits.tolist() == [1, 1]
    assert walls.reshape(5, 5)[2].tolist() == [1, 1, 0, 0, 0]  # row 1 of the map: "#S.T..."; off-map counts as wall
    goal_bins, t0_bins, t1_bins = rest.reshape(3, 7)
    assert t0_bins.tolist() == [0, 1, 0, 0, 0, 0, 0]  # treasure 0 is 2 steps away: bin 1-2
    assert goal_bins.sum() == t1_bins.sum() == 1
    env.step(RIGHT)
    obs = env.step(RIGHT)[0]
    assert obs[16:18].tolist() == [0, 1] and obs[43 + 7 : 43 + 14].sum() == 0  # collected: no distance bins


def test_rendering():
    env = GorgeWalk(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8

    def centre(cell):
        return tuple(frame[cell[0] * 16 + 8, cell[1] * 16 + 8])

    cells = {"agent": env.start, "wall": (0, 0), "floor": (1, 2), "goal": env.goal, "treasure": env.treasure_cells[0]}
    assert len({centre(c) for c in cells.values()}) == len(cells)
    env.reset(options={"start_state": env.encode(2, 2, 0b1111)})
    start_colour = centre(env.start)  # the start cell, no longer under the agent
    assert start_colour not in {centre(c) for c in cells.values() if c != env.start}

    text = GorgeWalk(map_name="gorge8", render_mode="ansi")
    text.reset(seed=0)
    text.step(RIGHT)
    text.step(RIGHT)
    assert text.render().splitlines()[1] == "#S.A...#"
    small = GorgeWalk(map_name="gorge8", render_mode="rgb_array")
    small.reset(seed=0)
    assert small.render().shape == (128, 128, 3)


def test_initial_state_distribution_matches_reset():
    env = GorgeWalk(map_name="gorge8", treasure_random=True)  # count uniform in 0..2, then a uniform subset
    start = env.encode(*env.start, 0)
    assert env.initial_state_distrib[start : start + 4] == pytest.approx([1 / 3, 1 / 6, 1 / 6, 1 / 3])
    env.reset(seed=0)
    counts, n = Counter(env.reset()[0] for _ in range(3000)), 3000
    for s, p in enumerate(env.initial_state_distrib):
        assert abs(counts[s] / n - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-9
    assert GorgeWalk().initial_state_distrib[GorgeWalk().encode(1, 1, 0b1111)] == 1.0
