"""TreasureHunt difficulty and speed: a random policy and a BFS-greedy oracle, and raw env steps/s.

    python benchmarks/teaching_envs_treasure.py [--maps 5] [--random-episodes 8] [--speed-steps 20000]

Difficulty, for the four settings of TEACHING_ENVS.md (64x64 with 1000 steps and 0, 8 or 13
treasures; TreasureHunt-Small-v0, 32x32 with 300 steps and 4), each on ``--maps`` random maps
(``map_seed`` 0, 1, ...):

- random: uniform over the legal actions (``action_mask``), ``--random-episodes`` episodes
  per map (reset seeds 0, 1, ...: new treasure subsets);
- oracle: BFS-greedy without flash or buff (the buff is picked up when passed but gives no
  speed: ``buff_speed=1``): walk to the nearest remaining treasure by BFS distance, then to
  the goal. Its BFS avoids the goal's pick-up zone while treasures remain (entering it ends
  the episode); a treasure reachable only through that zone is left. 3 treasure draws per
  map (1 with 0 or 13 treasures, where there is nothing to draw).

Speed: env steps per second on one core through ``gymnasium.make`` (the registered wrappers
included), random legal actions, dict observations, shaped reward, episodes reset when they
end; with a new map every reset (the default) and on a fixed map (``map_seed=0``). The
median of ``--repeats`` runs of ``--speed-steps`` steps, in wall time and in process CPU time
(the two differ when other work shares the cores).

Writes ``benchmarks/results/teaching_envs_treasure.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402, F401 - registers the ids
from envs import treasure_maps as tm  # noqa: E402

SETTINGS = [  # (label, env id, kwargs)
    ("64x64, max 1000, 0 treasures", "TreasureHunt-v0", {"treasure_count": 0}),
    ("64x64, max 1000, 8 treasures", "TreasureHunt-v0", {"treasure_count": 8}),
    ("64x64, max 1000, 13 treasures", "TreasureHunt-v0", {"treasure_count": 13}),
    ("Small: 32x32, max 300, 4 treasures", "TreasureHunt-Small-v0", {}),
]
ORACLE_DRAWS = 3


def random_episode(env, seed: int, rng: np.random.Generator) -> dict:
    obs, info = env.reset(seed=seed)
    steps, done = 0, False
    while not done:
        legal = np.flatnonzero(info["action_mask"])
        obs, _, terminated, truncated, info = env.step(int(legal[rng.integers(len(legal))]))
        steps += 1
        done = terminated or truncated
    return {"score": info["score"], "steps": steps, "treasures": info["collected"], "success": terminated}


class Oracle:
    """BFS-greedy: nearest remaining treasure (avoiding the goal's pick-up zone), then the goal."""

    def __init__(self, env) -> None:
        lay = env.unwrapped.layout
        r, c = divmod(int(lay.slots[tm.GOAL]), lay.width)
        radius = env.unwrapped.pickup_radius
        avoid = lay.walkable.copy()
        avoid[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1] = False
        self.width = lay.width
        self.moves = np.array(lay.moves)
        self.avoid_moves = tm.move_table(avoid)
        self.treasure_fields = tm.bfs_fields(self.avoid_moves, lay.slots[tm.FIRST_TREASURE :].tolist())  # -1: unreachable
        self.goal_field = lay.fields[tm.GOAL]
        # directions whose outcome is the same on both maps (no slide that the zone alone causes)
        self.same = self.moves == self.avoid_moves

    def action(self, obs, info) -> int:
        cell = info["pos"][0] * self.width + info["pos"][1]
        remaining = np.flatnonzero(obs["vector"][2:15])
        distances = self.treasure_fields[remaining, cell]
        if (distances >= 0).any():
            nearest = remaining[distances >= 0][np.argmin(distances[distances >= 0])]
            field, moves, allowed = self.treasure_fields[nearest], self.avoid_moves[cell], self.same[cell]
        else:
            field, moves, allowed = self.goal_field, self.moves[cell], np.ones(8, bool)
        after = np.where(allowed & (field[moves] >= 0), field[moves], np.iinfo(np.int32).max)
        return int(np.argmin(after))


def oracle_episode(env, seed: int, oracles: dict, map_seed: int) -> dict:
    obs, info = env.reset(seed=seed)
    if map_seed not in oracles:
        oracles[map_seed] = Oracle(env)
    oracle = oracles[map_seed]
    steps, done = 0, False
    while not done:
        obs, _, terminated, truncated, info = env.step(oracle.action(obs, info))
        steps += 1
        done = terminated or truncated
    return {"score": info["score"], "steps": steps, "treasures": info["collected"], "success": terminated}


def summarise(rows: list[dict]) -> dict:
    scores, steps = [r["score"] for r in rows], [r["steps"] for r in rows]
    return {
        "n": len(rows),
        "score": statistics.fmean(scores),
        "score_range": (min(scores), max(scores)),
        "steps": statistics.fmean(steps),
        "steps_range": (min(steps), max(steps)),
        "treasures": statistics.fmean(r["treasures"] for r in rows),
        "success": statistics.fmean(float(r["success"]) for r in rows),
    }


def difficulty(maps: int, random_episodes: int) -> list[tuple[str, dict, dict]]:
    table = []
    for label, env_id, kwargs in SETTINGS:
        random_rows, oracle_rows = [], []
        draws = 1 if kwargs.get("treasure_count") in (0, 13) else ORACLE_DRAWS
        for map_seed in range(maps):
            env = gym.make(env_id, map_seed=map_seed, **kwargs)
            rng = np.random.default_rng(map_seed)
            random_rows += [random_episode(env, seed, rng) for seed in range(random_episodes)]
            oracle_env = gym.make(env_id, map_seed=map_seed, buff_speed=1, **kwargs)
            oracles: dict = {}
            oracle_rows += [oracle_episode(oracle_env, seed, oracles, map_seed) for seed in range(draws)]
        table.append((label, summarise(random_rows), summarise(oracle_rows)))
        print(label, table[-1][1], table[-1][2], flush=True)
    return table


def steps_per_second(steps: int, **kwargs) -> tuple[float, float]:
    env = gym.make("TreasureHunt-v0", **kwargs)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=0)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        mask = info["action_mask"]
        action = int(rng.integers(16)) if mask[8] else int(rng.integers(8))  # uniform over the legal actions
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def map_build_ms(repeats: int = 10) -> float:
    env = gym.make("TreasureHunt-v0")
    env.reset(seed=0)
    cpu = time.process_time()
    for _ in range(repeats):
        env.reset()
    return 1000 * (time.process_time() - cpu) / repeats


def fmt_range(low: float, high: float) -> str:
    return f"{low:.0f}–{high:.0f}"


def write(path: Path, args, table, speed: dict, build_ms: float) -> None:
    lines = [
        "# TreasureHunt: difficulty and speed",
        "",
        f"`python benchmarks/teaching_envs_treasure.py --maps {args.maps} --random-episodes {args.random_episodes} "
        f"--speed-steps {args.speed_steps} --repeats {args.repeats}` on {date.today().isoformat()}, "
        f"{os.cpu_count()} cores (shared; load average {os.getloadavg()[0]:.1f} at the end), numpy {np.__version__}, "
        f"gymnasium {gym.__version__}.",
        "",
        f"Difficulty: {args.maps} random maps per setting (`map_seed` 0–{args.maps - 1}); random policy uniform over legal "
        f"actions, {args.random_episodes} episodes per map; BFS-greedy oracle without flash or buff (`buff_speed=1`), "
        f"{ORACLE_DRAWS} treasure draws per map (1 for 0 and 13 treasures). Score = 150 + 0.2·(max_steps − t) + "
        "100·treasures at the goal, 0 on truncation. Means, with the range over episodes.",
        "",
        "| setting | random: score | random: steps | random: treasures | random: success "
        "| oracle: score | oracle: steps | oracle: treasures | oracle: success |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, rnd, orc in table:
        lines.append(
            f"| {label} | {rnd['score']:.0f} ({fmt_range(*rnd['score_range'])}) | {rnd['steps']:.0f} "
            f"| {rnd['treasures']:.2f} | {rnd['success']:.0%} "
            f"| {orc['score']:.0f} ({fmt_range(*orc['score_range'])}) | {orc['steps']:.0f} ({fmt_range(*orc['steps_range'])}) "
            f"| {orc['treasures']:.2f} | {orc['success']:.0%} |"
        )
    lines += [
        "",
        "Speed: `TreasureHunt-v0` through `gymnasium.make` (registered wrappers included), random legal actions, "
        f"dict observations, shaped reward; median of {args.repeats} runs of {args.speed_steps} steps on one core.",
        "",
        "| map | env steps/s (wall) | env steps/s (process CPU time) |",
        "|---|---|---|",
    ]
    for name, (wall, cpu) in speed.items():
        lines.append(f"| {name} | {wall:,.0f} | {cpu:,.0f} |")
    lines += [
        "",
        "Process CPU time is the one-core figure; wall time is lower when other work shares the cores (see the load "
        "average above).",
        "",
        f"Building a 64x64 map with its 16 BFS fields on reset: {build_ms:.0f} ms of CPU time.",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=5)
    parser.add_argument("--random-episodes", type=int, default=8)
    parser.add_argument("--speed-steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    table = difficulty(args.maps, args.random_episodes)
    speed = {}
    for name, kwargs in (("new map every reset (default)", {}), ("fixed map (`map_seed=0`)", {"map_seed": 0})):
        runs = [steps_per_second(args.speed_steps, **kwargs) for _ in range(args.repeats)]
        speed[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        print(name, speed[name], flush=True)
    build_ms = map_build_ms()
    path = ROOT / "benchmarks" / "results" / "teaching_envs_treasure.md"
    write(path, args, table, speed, build_ms)
    print(path.read_text())


if __name__ == "__main__":
    main()
