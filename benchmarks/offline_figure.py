"""One figure of offline runs side by side: greedy evaluation against updates, the mean over seeds with each seed faint.

    python benchmarks/offline_figure.py --title "CartPole-v1, uniformly random data" \
        --out benchmarks/results/CartPole-v1-random.png \
        CartPole-v1-random_BC CartPole-v1-random_DQN CartPole-v1-random_BCQ CartPole-v1-random_CQL

Each name is a benchmark of ``benchmarks/benchmark.py`` whose runs are under ``benchmarks/runs/<name>/``;
the dataset's mean return is drawn as a dashed line when ``--data-return`` is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from joyrl.plots import read_columns  # noqa: E402

RUNS = ROOT / "benchmarks" / "runs"


def curves(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(updates, eval_mean) of each seed's last run of benchmark ``name``."""
    found = []
    for seed in sorted(RUNS.joinpath(name).glob("seed_*")):
        runs = sorted(seed.glob("Train_*"))
        if runs:
            columns = read_columns(runs[-1] / "results" / "eval.csv")
            found.append((columns["updates"], columns["eval_mean"]))
    if not found:
        raise SystemExit(f"no runs of {name} under {RUNS}; run benchmarks/benchmark.py first")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", help="benchmark names (their runs are under benchmarks/runs/)")
    parser.add_argument("--title", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data-return", type=float, help="the dataset's mean episode return, drawn dashed")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for index, name in enumerate(args.names):
        color = f"C{index}"
        runs = curves(name)
        for updates, returns in runs:
            ax.plot(updates, returns, color=color, alpha=0.2, linewidth=0.8)
        length = min(len(updates) for updates, _ in runs)
        mean = np.mean([returns[:length] for _, returns in runs], axis=0)
        label = f"{name.rpartition('_')[2]} (mean of {len(runs)} seeds)"
        ax.plot(runs[0][0][:length], mean, color=color, linewidth=1.8, label=label)
    if args.data_return is not None:
        ax.axhline(
            args.data_return, color="tab:gray", linestyle="--", linewidth=1.2, label=f"dataset's mean return {args.data_return:g}"
        )
    ax.set_xlabel("updates (learned from the dataset alone)")
    ax.set_ylabel("greedy evaluation return (10 episodes)")
    ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, frameon=False)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"figure: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
