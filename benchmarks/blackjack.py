"""Blackjack-v1 as Sutton & Barto's example 5.3: does tabular control learn the policy of their figure 5.2?

    python benchmarks/blackjack.py [--algo MonteCarlo] [--seeds 1 2 3 4 5] [--hands 100000]

For each seed it trains ``config/presets/Blackjack-v1_<algo>.yaml`` (``python main.py``, under
``benchmarks/runs/blackjack/``), reads the Q-table from ``models/last.pt`` and compares the greedy
policy with the book's (``joyrl.blackjack.book_action``) on the states that occur when the book's
policy plays ``--hands`` hands, then plays those hands (the same deals: one env seed for both) with
each policy. It writes ``benchmarks/results/Blackjack-v1_<algo>.md`` and the first seed's figures 5.1
and 5.2 (``Blackjack-v1_<algo>.png``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from joyrl.blackjack import book_action, save_blackjack_figure  # noqa: E402
from joyrl.envs import DiscreteTupleIndex  # noqa: E402

RUNS_DIR = ROOT / "benchmarks" / "runs" / "blackjack"
TEST_SEED = 12345  # the hands both policies play


def train(algo: str, seed: int) -> np.ndarray:
    """Train the preset at ``seed``; the Q-table (states x actions) of its last checkpoint."""
    folder = RUNS_DIR / f"{algo}_seed{seed}"
    preset = ROOT / "config" / "presets" / f"Blackjack-v1_{algo}.yaml"
    args = ["--yaml", str(preset), "--seed", str(seed), f"general_cfg.tasks_dir={folder}", "general_cfg.save_fig=false"]
    done = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"python main.py {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    run = sorted(folder.glob("Train_*"))[-1]
    return torch.load(run / "models" / "last.pt", weights_only=True)["agent"]["q_table"].numpy()


def play(policy: Callable[[tuple], int], hands: int) -> tuple[float, list[tuple]]:
    """Mean return of ``policy`` over ``hands`` hands dealt from TEST_SEED, and every state it acted in."""
    env = gym.make("Blackjack-v1", sab=True)
    observation, _ = env.reset(seed=TEST_SEED)
    total, seen = 0.0, []
    for _ in range(hands):
        done = False
        while not done:
            seen.append(observation)
            observation, reward, terminated, truncated, _ = env.step(policy(observation))
            total += float(reward)
            done = terminated or truncated
        observation, _ = env.reset()
    return total / hands, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="MonteCarlo", choices=["MonteCarlo", "QLearning"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--hands", type=int, default=100_000)
    args = parser.parse_args()
    index = DiscreteTupleIndex(gym.make("Blackjack-v1", sab=True)).observation

    def book(observation: tuple) -> int:
        return book_action(int(observation[0]), int(observation[1]), bool(observation[2]))

    book_return, book_states = play(book, args.hands)
    occurring = sorted(set(book_states))
    rows, first_q = [], None
    for seed in args.seeds:
        q = train(args.algo, seed)
        first_q = q if first_q is None else first_q
        greedy = q.argmax(axis=1)
        agree = statistics.mean(float(greedy[index(state)] == book(state)) for state in occurring)
        learned_return, _ = play(lambda observation, greedy=greedy: int(greedy[index(observation)]), args.hands)
        rows.append((seed, agree, learned_return))
        print(f"seed {seed}: {agree:.1%} of {len(occurring)} states as figure 5.2; return {learned_return:+.4f}", flush=True)
    assert first_q is not None
    figure = ROOT / "benchmarks" / "results" / f"Blackjack-v1_{args.algo}.png"
    save_blackjack_figure(first_q, index, figure, f"{args.algo} on Blackjack-v1 (sab), seed {args.seeds[0]}")
    lines = [
        f"# {args.algo} on Blackjack-v1 against Sutton & Barto's figure 5.2",
        "",
        f"`python benchmarks/blackjack.py --algo {args.algo} --seeds {' '.join(map(str, args.seeds))} --hands {args.hands}` "
        f"on {date.today().isoformat()}: config/presets/Blackjack-v1_{args.algo}.yaml per seed; {args.hands:,} test hands "
        f"dealt from seed {TEST_SEED}, the same for every policy. The book's policy returns {book_return:+.4f} a hand on them; "
        f"its play visits {len(occurring)} states, on which the policies are compared.",
        "",
        "| seed | greedy policy as figure 5.2 | mean return | minus the book's policy's |",
        "|---|---|---|---|",
        *(f"| {seed} | {agree:.1%} | {ret:+.4f} | {ret - book_return:+.4f} |" for seed, agree, ret in rows),
        "",
        f"Figures 5.1 and 5.2 of seed {args.seeds[0]}: [{figure.name}]({figure.name}).",
        "",
    ]
    result = ROOT / "benchmarks" / "results" / f"Blackjack-v1_{args.algo}.md"
    result.write_text("\n".join(lines), encoding="utf-8")
    print(result.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
