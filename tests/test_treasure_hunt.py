"""TreasureHunt: maps, dynamics (moves, flash, buff), observations, every reward term, score."""

import warnings
from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401 - registers the ids
from envs import treasure_maps as tm
from envs.treasure_hunt import REWARD_WEIGHTS, TreasureHunt

E, NE, N, NW, W, SW, S, SE = range(8)
FLASH = 8  # + direction

# 7 x 12, floor everywhere inside; buff pinned in a corner, out of the way.
OPEN = """
############
#..........#
#..........#
#..........#
#..........#
#B.........#
############
"""


def make(map_=OPEN, **kwargs):
    kwargs = {"treasure_ids": [], "view": 3, **kwargs}
    return TreasureHunt(map=map_, **kwargs)


def start(env, row, col, **options):
    obs, info = env.reset(seed=0, options={"start": (row, col), **options})
    return obs, info


def reference_bfs(walkable, source):
    table, dist = tm.move_table(walkable), np.full(walkable.size, -1)
    dist[source], queue = 0, deque([source])
    while queue:
        u = queue.popleft()
        for v in table[u]:
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


# ---------------------------------------------------------------- env checker, seeding


@pytest.mark.parametrize("obs_mode", ["dict", "flat"])
def test_check_env_is_clean_in_both_observation_modes(obs_mode):
    for env_id in ("TreasureHunt-Small-v0", "TreasureHunt-v0"):
        env = gym.make(env_id, obs_mode=obs_mode, render_mode="rgb_array", map_seed=0 if env_id == "TreasureHunt-v0" else None)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env.unwrapped, skip_render_check=False)


def test_same_seed_gives_the_same_episode_and_another_seed_another_map():
    def rollout(seed):
        env = gym.make("TreasureHunt-Small-v0", buff_channel=True)
        obs, info = env.reset(seed=seed)
        out = [obs["image"], obs["vector"]]
        rng = np.random.default_rng(0)
        for _ in range(60):
            mask = info["action_mask"]
            obs, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(mask))))
            out += [obs["image"], obs["vector"], np.array([reward, info["score"]])]
            if terminated or truncated:
                break
        return out, env.unwrapped.layout.walkable

    (a, map_a), (b, map_b), (_, map_c) = rollout(7), rollout(7), rollout(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert np.array_equal(map_a, map_b) and not np.array_equal(map_a, map_c)


def test_map_seed_fixes_the_map_and_none_draws_a_new_one_each_reset():
    fixed = TreasureHunt(size=32, map_seed=3)
    fixed.reset(seed=0)
    first = fixed.layout.walkable.copy()
    fixed.reset()
    assert np.array_equal(first, fixed.layout.walkable)
    fresh = TreasureHunt(size=32)
    fresh.reset(seed=0)
    first = fresh.layout.walkable.copy()
    fresh.reset()
    assert not np.array_equal(first, fresh.layout.walkable)


# ---------------------------------------------------------------- maps


@pytest.mark.parametrize("size, seed", [(64, 0), (64, 1), (32, 2), (33, 3), (16, 4)])
def test_random_maps_are_connected_walled_and_their_slots_and_fields_are_right(size, seed):
    walkable = tm.generate_maze(size, np.random.default_rng(seed))
    assert walkable.shape == (size, size)
    assert not walkable[[0, -1], :].any() and not walkable[:, [0, -1]].any()
    assert 0.45 < walkable.mean() < 0.75
    floor = walkable.ravel()
    table = tm.move_table(walkable)
    slots, fields = tm.place_slots(walkable, table)
    reached = reference_bfs(walkable, int(slots[0]))
    assert ((reached >= 0) == floor).all()  # every walkable cell is reachable
    assert floor[slots].all() and len(set(slots.tolist())) == 16
    for k in (0, 1, 15):
        assert np.array_equal(fields[k], reference_bfs(walkable, int(slots[k])))
    for k in range(1, 16):  # farthest-point sampling: slot k is farthest from slots 0..k-1
        assert slots[k] == np.argmax(np.where(floor, fields[:k].min(0), -1))


def test_shipped_maps_and_ascii_maps_load():
    env = TreasureHunt(map="maze32", view=8)
    env.reset(seed=0)
    assert env.layout.walkable.shape == (32, 32)
    with pytest.raises(ValueError, match="unknown map"):
        TreasureHunt(map="nope")
    with pytest.raises(ValueError, match="not connected"):
        TreasureHunt(map=["#####", "#.#.#", "#####"])


def test_slots_sit_where_the_ascii_pins_them():
    env = make("#######\n#S.B.T#\n#..G..#\n#######", treasure_ids=[0])
    env.reset(seed=0)
    assert [divmod(int(c), 7) for c in env.layout.slots[:4]] == [(1, 3), (2, 3), (1, 1), (1, 5)]
    assert env.start_cell == 1 * 7 + 1


def test_random_start_lands_out_of_every_pick_up_zone():
    env = TreasureHunt(size=32, map_seed=1, random_start=True, treasure_count=13)
    starts = set()
    for seed in range(5):
        env.reset(seed=seed)
        starts.add(env.start_cell)
        assert env.layout.walkable.flat[env.start_cell] and env.layout.pickup_zone[env.start_cell] & env._present == 0
    assert len(starts) == 5


# ---------------------------------------------------------------- moves


def test_moves_follow_the_compass_and_a_blocked_diagonal_slides_or_bumps():
    env = make()
    start(env, 3, 5)
    for action, pos in [
        (E, (3, 6)),
        (NE, (2, 7)),
        (N, (1, 7)),
        (W, (1, 6)),
        (SW, (2, 5)),
        (S, (3, 5)),
        (SE, (4, 6)),
        (NW, (3, 5)),
    ]:
        assert env.step(action)[4]["pos"] == pos
    start(env, 1, 5)
    assert env.step(NE)[4]["pos"] == (1, 6)  # north is wall: slides east
    start(env, 3, 10)
    assert env.step(NE)[4]["pos"] == (2, 10)  # east is wall: slides north
    start(env, 1, 10)
    *_, info = env.step(NE)
    assert info["pos"] == (1, 10) and info["bumps"] == 1 and info["reward_terms"]["bump"] == REWARD_WEIGHTS["bump"]
    pillar = make("#####\n#...#\n#.#.#\n#...#\n#B..#\n#####")
    start(pillar, 1, 1)
    assert pillar.step(SE)[4]["pos"] == (1, 2)  # diagonal cell is a wall, both sides free: horizontal first


# ---------------------------------------------------------------- flash


def test_flash_lands_flash_distance_away_through_walls_and_in_the_nearest_walkable_cell():
    walled = """
    ###############
    #.....#.......#
    #.....#.......#
    #.....#.......#
    #B............#
    ###############
    """.replace(" ", "")
    env = make(walled, flash_distance=8, flash_cooldown=5)
    start(env, 2, 1)
    info = env.step(FLASH + E)[4]
    assert info["pos"] == (2, 9) and info["flash_used"] == 1  # through the wall
    assert env.last_flash == (2 * 15 + 1, 2 * 15 + 9)
    start(env, 2, 8)
    assert env.step(FLASH + E)[4]["pos"] == (2, 13)  # clamped to the map's edge (a wall), then to the floor
    start(env, 2, 12)
    assert env.step(FLASH + W)[4]["pos"] == (2, 4)
    env = make(walled, flash_distance=7)
    start(env, 2, 13)
    assert env.step(FLASH + W)[4]["pos"] == (2, 7)  # (2, 6) is wall: (2, 5) and (2, 7) tie, the one nearer the origin wins


def test_flash_cooldown_mask_and_vector():
    env = make(flash_distance=2, flash_cooldown=3)
    obs, info = start(env, 3, 3)
    assert obs["action_mask"].tolist() == [1] * 16 and obs["vector"][31] == 1 and obs["vector"][32] == 0
    obs, *_, info = env.step(FLASH + E)
    assert info["pos"] == (3, 5)
    for k in range(3):  # 3 steps on cooldown
        assert obs["action_mask"].tolist() == [1] * 8 + [0] * 8 and np.array_equal(info["action_mask"], obs["action_mask"])
        assert obs["vector"][31] == 0 and obs["vector"][32] == pytest.approx((3 - k) / 3)
        obs, *_, info = env.step(FLASH + W)  # illegal: runs as a move west
        assert info["pos"] == (3, 4 - k) and info["flash_used"] == 1
    assert obs["action_mask"].tolist() == [1] * 16 and obs["vector"][31] == 1
    assert env.step(FLASH + W)[4]["pos"] == (3, 1)  # (3, 0) is the outer wall


# ---------------------------------------------------------------- buff


def test_buff_doubles_moves_and_its_sub_steps_never_skip_a_treasure():
    corridor = "###########\n#BT.T....G#\n#.........#\n###########"
    env = make(corridor, treasure_ids=[0, 1], pickup_radius=0, buff_duration=3)
    obs, _ = start(env, 2, 1)
    assert obs["vector"][28] == 1
    obs, *_, info = env.step(N)
    assert info["buff_count"] == 1 and info["reward_terms"]["buff"] == REWARD_WEIGHTS["buff"]
    assert obs["vector"][28] == 0 and obs["vector"][33] == 1
    info = env.step(E)[4]  # two sub-steps: (1, 2) holds treasure 0, then (1, 3)
    assert info["pos"] == (1, 3) and info["collected"] == 1
    info = env.step(E)[4]  # (1, 4) holds treasure 1, then (1, 5)
    assert info["pos"] == (1, 5) and info["collected"] == 2
    obs, *_, info = env.step(E)  # the third and last fast step
    assert info["pos"] == (1, 7) and obs["vector"][33] == 0
    assert env.step(E)[4]["pos"] == (1, 8)


def test_buff_respawns_buff_respawn_steps_after_its_pick_up():
    env = make(buff_respawn=3, buff_duration=1)
    start(env, 5, 2)
    assert env.step(W)[4]["buff_count"] == 1
    env.step(E)
    obs, *_ = env.step(E)
    assert obs["vector"][28] == 0
    obs, *_ = env.step(E)
    assert obs["vector"][28] == 1


# ---------------------------------------------------------------- observation


def test_image_is_row_major_north_up_and_vector_separates_presence_from_distance():
    env = make("#######\n#.....#\n#.B.T.#\n#.....#\n#...G.#\n#######", treasure_ids=[0], view=2, buff_channel=True)
    obs, _ = start(env, 3, 3)
    image, vector = obs["image"], obs["vector"]
    assert image.shape == (5, 5, 5)
    assert image[0, 0, :].tolist() == [0, 0, 0, 0, 0] and image[0, 4, :].tolist() == [1] * 5  # row 5 is the south wall
    assert image[1, 1, 3] == 1 and image[1].sum() == 1  # treasure at (2, 4): up 1, right 1
    assert image[2, 3, 3] == 1  # goal at (4, 4)
    assert image[3, 2, 2] == pytest.approx(0.2)  # memory of the start cell
    assert image[4, 1, 1] == 1  # buff at (2, 2)
    assert vector[0] == pytest.approx(3 / 5) and vector[1] == pytest.approx(3 / 6)
    assert vector[2] == 1 and vector[3:15].sum() == 0  # treasure 0 present, the others absent
    assert vector[15] == pytest.approx(1 / 14) and (vector[16:28] == 1).all()  # distance 1 / (2 * 7)
    assert vector[29] == pytest.approx(1 / 14) and vector[30] == pytest.approx(1 / 14)
    assert vector[34] == 1


def test_view_limited_distances_hide_treasures_never_seen():
    corridor = "############\n#S.......T.#\n#B.........#\n############"
    env = make(corridor, treasure_ids=[0], view=2, global_distances=False, buff_speed=1)
    obs, _ = env.reset(seed=0)
    assert obs["vector"][2] == 1 and obs["vector"][15] == 1  # present, distance hidden
    for _ in range(5):
        obs, *_ = env.step(E)
    assert obs["vector"][15] == 1  # (1, 6): 3 cells away, outside the view
    obs, *_ = env.step(E)
    assert obs["vector"][15] == pytest.approx(2 / 24)  # seen from (1, 7)
    obs, *_ = env.step(W)
    assert obs["vector"][15] == pytest.approx(3 / 24)  # and remembered


def test_target_positions_give_where_each_present_treasure_the_buff_and_the_goal_are():
    corridor = "############\n#S.......T.#\n#B......G..#\n############"
    env = make(corridor, treasure_ids=[0], view=2, global_distances=False, buff_speed=1, target_positions=True)
    assert env.observation_space["vector"].shape == (65,)
    obs, _ = env.reset(seed=0)
    positions = obs["vector"][35:].reshape(15, 2)
    assert (positions[0] == 0).all()  # treasure 0 at (1, 9): not seen yet
    assert positions[13] == pytest.approx([2 / 3, 1 / 11]) and positions[14] == pytest.approx([2 / 3, 8 / 11])
    assert (positions[1:13] == 0).all()  # treasures not in this episode
    for _ in range(6):
        obs, *_ = env.step(E)
    assert obs["vector"][35:37] == pytest.approx([1 / 3, 9 / 11])  # seen from (1, 7)
    obs, *_ = env.step(E)  # picked up from (1, 8)
    assert (obs["vector"][35:37] == 0).all()
    assert make(target_positions=False).observation_space["vector"].shape == (35,)
    flat = make(corridor, treasure_ids=[0], view=2, obs_mode="flat", target_positions=True)
    assert flat.observation_space.shape == (4 * 5 * 5 + 65 + 16,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make("TreasureHunt-Small-v0", target_positions=True).unwrapped)


# ---------------------------------------------------------------- rewards and score


def test_each_reward_term_fires():
    rooms = "#########\n#S.T....#\n#.......#\n#B....TG#\n#########"  # treasures at (1, 3) and (3, 6)
    env = make(rooms, treasure_ids=[0, 1])
    start(env, 1, 1)
    terms = env.step(E)[4]["reward_terms"]  # to (1, 2), next to treasure 0
    assert terms["treasure"] == 1.0 and terms["step"] == -0.002
    assert terms["dist_treasure"] == pytest.approx((2 - 1) / 18) and terms["dist_goal"] == 0
    assert env.step(N)[4]["reward_terms"]["bump"] == -0.01
    env.step(W)
    assert env.step(E)[4]["reward_terms"]["repeat"] == pytest.approx(-0.01 * 0.2)  # (1, 2) visited 3 times
    terms = env.step(FLASH + W)[4]["reward_terms"]  # lands 1 cell away: a flash into the wall
    assert terms["flash_wall"] == -0.1 and env.flash_used == 1

    env = make(rooms, treasure_ids=[0, 1], reward_weights={"missed_treasure": -0.5})
    start(env, 3, 5)
    _, reward, terminated, _, info = env.step(E)  # treasure 1 and the goal at once; treasure 0 missed
    terms = info["reward_terms"]
    assert terminated and terms["treasure"] == 1 and terms["goal"] == 1.5 and terms["missed_treasure"] == -0.5
    assert reward == pytest.approx(sum(terms.values()))

    buff = make("#####\n#S.B#\n#...#\n#G..#\n#####")
    start(buff, 1, 1)
    assert buff.step(E)[4]["reward_terms"]["buff"] == 0.05

    no_treasure = make("#########\n#S......#\n#B.....G#\n#########")
    start(no_treasure, 1, 1)
    terms = no_treasure.step(SE)[4]["reward_terms"]
    assert terms["dist_goal"] == pytest.approx((6 - 5) / 18) and terms["dist_treasure"] == 0


def test_score_mode_rewards_sum_to_the_score_over_100_and_truncation_scores_0():
    corridor = "##########\n#S.T...G.#\n#.......B#\n##########"
    env = make(corridor, treasure_ids=[0], reward_mode="score", max_steps=20)
    obs, info = env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(E)
        total += reward
        done = terminated or truncated
    assert terminated and not truncated and info["collected"] == 1
    assert info["score"] == pytest.approx(150 + 0.2 * (20 - 5) + 100)  # goal reached from (1, 6) in 5 steps
    assert total == pytest.approx(info["score"] / 100)

    env = make(corridor, treasure_ids=[0], max_steps=3)
    env.reset(seed=0)
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(W)
    assert truncated and not terminated and info["score"] == 0
    registered = gym.make("TreasureHunt-Small-v0", map_seed=0)
    assert registered.spec.max_episode_steps == registered.unwrapped.max_steps == 300


def test_bad_configuration_is_refused():
    for kwargs, match in [
        ({"obs_mode": "pixels"}, "obs_mode"),
        ({"reward_weights": {"bumpy": 1.0}}, "unknown reward_weights"),
        ({"treasure_count": 14}, "treasure_count"),
        ({"treasure_ids": [0, 0]}, "treasure_ids"),
        ({"flash_cooldown": 0}, "flash_cooldown"),
    ]:
        with pytest.raises(ValueError, match=match):
            make(**kwargs)


# ---------------------------------------------------------------- rendering


def test_render_gives_an_rgb_frame_at_8_px_per_cell_and_ansi_text():
    env = gym.make("TreasureHunt-Small-v0", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(FLASH + E)
    frame = env.render()
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    assert (frame == (0, 200, 230)).all(axis=2).any()  # the flash line
    text = make(OPEN, render_mode="ansi")
    start(text, 2, 2)
    drawn = text.render()
    assert isinstance(drawn, str) and drawn.splitlines()[2][2] == "A"
