"""Difficulty figures of GorgeWalk-v0 on its default map, against the prototype's in TEACHING_ENVS.md.

    python benchmarks/teaching_envs_gorge.py [--episodes 20000] [--seed 0]

Computes, from the env's own ``P`` table:

- the optimal undiscounted return, by breadth-first search over (position, mask) states
  (every step costs the same, so the fewest steps to each (goal, mask) is optimal for that
  mask); the best path is replayed through ``env.step`` as a check;
- synchronous value iteration at gamma 0.99, tolerance 1e-6 (max |V_new - V| < tol):
  sweeps, time and V*(s0), deterministic and with ``slip_prob`` 0.2;
- a uniformly random policy's mean return and success rate (reaching G) within 400 and
  200 steps, over ``--episodes`` episodes run side by side on the ``P`` table.

Prints a markdown table and writes it to ``benchmarks/results/teaching_envs_gorge.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envs.gorge_walk import GorgeWalk  # noqa: E402

GAMMA, TOL = 0.99, 1e-6


def transition_arrays(env: GorgeWalk) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """P as arrays padded to the most outcomes: probs, next states, rewards, terminated, each (S, A, O)."""
    n_out = max(len(env.P[s][a]) for s in env.P for a in range(4))
    shape = (env.n_states, 4, n_out)
    probs, nexts, rewards, terms = np.zeros(shape), np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape, bool)
    for s, row in env.P.items():
        for a, outcomes in row.items():
            for o, (p, s_next, r, term) in enumerate(outcomes):
                probs[s, a, o], nexts[s, a, o], rewards[s, a, o], terms[s, a, o] = p, s_next, r, term
    return probs, nexts, rewards, terms


def optimal_paths(env: GorgeWalk, s0: int) -> dict[int, list[int]]:
    """Fewest-step action sequence from s0 to the goal for each final treasure mask (deterministic P)."""
    parent = {s0: (None, None)}
    queue, best = deque([s0]), {}
    while queue:
        s = queue.popleft()
        for a in range(4):
            (_, s_next, _, terminated) = env.P[s][a][0]
            if s_next in parent:
                continue
            parent[s_next] = (s, a)
            if terminated:
                best.setdefault(env.decode(s_next)[2], s_next)
            else:
                queue.append(s_next)
    paths = {}
    for mask, s in best.items():
        actions = []
        while parent[s][0] is not None:
            s, a = parent[s]
            actions.append(a)
        paths[mask] = actions[::-1]
    return paths


def replay(env: GorgeWalk, s0: int, actions: list[int]) -> tuple[float, bool, dict]:
    env.reset(seed=0, options={"start_state": s0})
    total, terminated, info = 0.0, False, {}
    for a in actions:
        _, reward, terminated, _, info = env.step(a)
        total += reward
    return total, terminated, info


def value_iteration(env: GorgeWalk) -> tuple[np.ndarray, int, float]:
    probs, nexts, rewards, terms = transition_arrays(env)
    value = np.zeros(env.n_states)
    started, sweeps = time.perf_counter(), 0
    while True:
        sweeps += 1
        q = (probs * (rewards + GAMMA * value[nexts] * ~terms)).sum(axis=2)  # (S, A)
        new_value = q.max(axis=1)
        delta = np.abs(new_value - value).max()
        value = new_value
        if delta < TOL:
            return value, sweeps, time.perf_counter() - started


def value_iteration_is_exact(env: GorgeWalk, value: np.ndarray) -> bool:
    """Whether one more sweep leaves V exactly as it is (deterministic P reaches the fixed point)."""
    probs, nexts, rewards, terms = transition_arrays(env)
    return bool(np.array_equal((probs * (rewards + GAMMA * value[nexts] * ~terms)).sum(axis=2).max(axis=1), value))


def greedy_rollout(env: GorgeWalk, value: np.ndarray, s0: int) -> tuple[float, int, int]:
    """Undiscounted return, steps and treasures of the greedy policy of V, stepped through the env."""
    probs, nexts, rewards, terms = transition_arrays(env)
    policy = (probs * (rewards + GAMMA * value[nexts] * ~terms)).sum(axis=2).argmax(axis=1)  # (S,)
    env.reset(seed=0, options={"start_state": s0})
    state, total, info = s0, 0.0, {}
    for _ in range(env.max_steps):
        state, reward, terminated, truncated, info = env.step(int(policy[state]))
        total += reward
        if terminated or truncated:
            break
    return total, info["steps"], info["collected"]


def random_policy(env: GorgeWalk, s0: int, horizon: int, episodes: int, seed: int) -> tuple[float, float, float]:
    """Mean return, its standard error and the success rate of uniform random actions."""
    _, nexts, rewards, terms = transition_arrays(env)  # deterministic: one outcome
    rng = np.random.default_rng(seed)
    state = np.full(episodes, s0)
    returns, done, success = np.zeros(episodes), np.zeros(episodes, bool), np.zeros(episodes, bool)
    for _ in range(horizon):
        actions = rng.integers(4, size=episodes)
        live = ~done
        returns[live] += rewards[state[live], actions[live], 0]
        success[live] = terms[state[live], actions[live], 0]
        state[live] = nexts[state[live], actions[live], 0]
        done |= success
    return returns.mean(), returns.std(ddof=1) / np.sqrt(episodes), success.mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = GorgeWalk()
    s0 = env.reset(seed=args.seed)[0]
    full = env.decode(s0)[2]
    rows = []

    paths = optimal_paths(env, s0)
    by_count: dict[int, tuple[float, int, bool, float]] = {}
    for mask, actions in paths.items():
        collected = (full & ~mask).bit_count()
        total, terminated, info = replay(env, s0, actions)
        if collected not in by_count or total > by_count[collected][0]:
            by_count[collected] = (total, len(actions), terminated, info["score"])
    best_all, best_none = by_count[env.n_treasures], by_count[0]
    rows.append(("optimal return, all treasures", "+78 in 52 steps", f"{best_all[0]:+.0f} in {best_all[1]} steps"))
    rows.append(("optimal return, goal only", "+22 in 28 steps", f"{best_none[0]:+.0f} in {best_none[1]} steps"))
    for count in range(1, env.n_treasures):
        total, steps, _, _ = by_count[count]
        rows.append((f"best return with exactly {count} of {env.n_treasures} treasures", "", f"{total:+.0f} in {steps} steps"))
    rows.append(("score of the optimal all-treasure path", "", f"{best_all[3]:.1f}"))

    value, sweeps, seconds = value_iteration(env)
    changed = f"{sweeps} run, V fixed after {sweeps - 1}" if value_iteration_is_exact(env, value) else f"{sweeps} run"
    rows.append(("value iteration sweeps, deterministic", "54", f"{changed} ({seconds * 1000:.0f} ms)"))
    rows.append(("V*(s0), deterministic", "57.7", f"{value[s0]:.1f}"))
    total, steps, collected = greedy_rollout(env, value, s0)
    rows.append(("greedy policy of V* (gamma 0.99), undiscounted", "", f"{total:+.0f} in {steps} steps, {collected} treasures"))
    slippery = GorgeWalk(is_slippery=True, slip_prob=0.2)
    value, sweeps, seconds = value_iteration(slippery)
    rows.append(("value iteration sweeps, slip_prob 0.2", "", f"{sweeps} run ({seconds * 1000:.0f} ms)"))
    rows.append(("V*(s0), slip_prob 0.2", "43.0", f"{value[s0]:.1f}"))

    for horizon, spec in ((400, "mean -368, 4% success"), (200, "0.15% success")):
        mean, error, rate = random_policy(env, s0, horizon, args.episodes, args.seed)
        measured = f"mean {mean:.1f} ± {error:.1f}, {100 * rate:.2f}% success"
        rows.append((f"random policy, {horizon} steps", spec, measured))

    notes = []
    if by_count[1][1] == best_none[1]:
        notes.append(
            f"The fewest steps to G is {best_none[1]}, and a route of that length crosses a treasure: "
            f"a shortest path that avoids every treasure earns {best_none[0]:+.0f}, one that crosses it {by_count[1][0]:+.0f}."
        )
    command = "python benchmarks/teaching_envs_gorge.py" + (
        f" --episodes {args.episodes} --seed {args.seed}" if (args.episodes, args.seed) != (20_000, 0) else ""
    )
    lines = [
        "# GorgeWalk-v0 difficulty (default map gorge16)",
        "",
        f"`{command}` on {date.today().isoformat()}. Optimal returns by BFS over (position, mask), replayed "
        f"through `env.step`; value iteration is synchronous, gamma {GAMMA}, tolerance {TOL:g}; the random policy "
        f"runs {args.episodes:,} episodes (seed {args.seed}) on the env's `P` table, ± is one standard error.",
        "",
        *notes,
        "",
        "| quantity | prototype (TEACHING_ENVS.md) | measured |",
        "|---|---|---|",
        *(f"| {name} | {spec} | {measured} |" for name, spec, measured in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "benchmarks" / "results" / "teaching_envs_gorge.md"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
