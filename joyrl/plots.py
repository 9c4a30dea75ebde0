"""Learning curves a person would put in a paper: raw data faint, a smoothed line over it.

matplotlib is imported when a figure is drawn, not at start-up (it costs about 0.5 s).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def smooth(values: np.ndarray, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average, debiased so the start is not pulled towards zero."""
    out = np.empty(len(values))
    average, norm = 0.0, 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out[i] = average / norm
    return out


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """A results CSV as one float array per column (empty when the file has no rows)."""
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        return {}
    columns = {}
    for key in rows[0]:
        try:
            columns[key] = np.array([float(row[key]) for row in rows])
        except (TypeError, ValueError):
            continue
    return columns


def evaluation_curve(results_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """A run's greedy evaluations from its eval.csv: (env steps, or updates offline; means); None without any."""
    columns = read_columns(results_dir / "eval.csv")
    if "eval_mean" not in columns:
        return None
    return columns["env_steps" if "env_steps" in columns else "updates"], columns["eval_mean"]


def plot_training(results_dir: Path, title: str, show: bool = False) -> Path | None:
    """``rewards.png``: episode returns against env steps, with online evaluations overlaid (mean ± std)."""
    return _plot_curve(results_dir, title, "reward", "eval_mean", "episode return", results_dir / "rewards.png", show)


def plot_info(results_dir: Path, title: str, key: str, show: bool = False) -> Path | None:
    """``info_<key>.png``: an ``info_keys`` value at each episode's end against env steps, with the evaluations' means."""
    return _plot_curve(results_dir, title, key, f"eval_{key}", key, results_dir / f"info_{key}.png", show)


def _plot_curve(results_dir: Path, title: str, column: str, eval_column: str, name: str, path: Path, show: bool) -> Path | None:
    train = read_columns(results_dir / "res.csv")
    if column not in train:
        return None
    evaluation = read_columns(results_dir / "eval.csv")
    fig, ax = _subplots()
    ax.plot(train["env_steps"], train[column], color="tab:blue", alpha=0.25, linewidth=0.8, label=name)
    ax.plot(train["env_steps"], smooth(train[column]), color="tab:blue", linewidth=1.8, label="smoothed (EMA 0.9)")
    if eval_column in evaluation:
        mean = evaluation[eval_column]
        ax.plot(
            evaluation["env_steps"],
            mean,
            color="tab:orange",
            marker="o",
            markersize=3,
            linewidth=1.4,
            label="greedy evaluation (mean)",
        )
        if column == "reward":
            std = evaluation["eval_std"]
            ax.fill_between(evaluation["env_steps"], mean - std, mean + std, color="tab:orange", alpha=0.2, linewidth=0)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(name if column == "reward" else f"{name} at the episode's end")
    return _finish(fig, ax, title, path, show)


def plot_offline(results_dir: Path, title: str, data_return: float, show: bool = False) -> Path | None:
    """``rewards.png`` of offline training: greedy evaluations against updates, beside the dataset's mean return."""
    evaluation = read_columns(results_dir / "eval.csv")
    if not evaluation:
        return None
    fig, ax = _subplots()
    mean, std = evaluation["eval_mean"], evaluation["eval_std"]
    ax.plot(
        evaluation["updates"], mean, color="tab:orange", marker="o", markersize=3, linewidth=1.4, label="greedy evaluation (mean)"
    )
    ax.fill_between(evaluation["updates"], mean - std, mean + std, color="tab:orange", alpha=0.2, linewidth=0)
    ax.axhline(data_return, color="tab:gray", linestyle="--", linewidth=1.2, label=f"dataset's mean return {data_return:.1f}")
    ax.set_xlabel("updates (no env steps: learned from the dataset alone)")
    ax.set_ylabel("episode return")
    return _finish(fig, ax, title, results_dir / "rewards.png", show)


def plot_episodes(results_dir: Path, title: str, show: bool = False) -> Path | None:
    """``rewards.png`` for test-like modes: the return of each episode and their mean."""
    data = read_columns(results_dir / "res.csv")
    if not data:
        return None
    fig, ax = _subplots()
    ax.plot(data["episode"], data["reward"], color="tab:blue", marker="o", markersize=3, linewidth=1, label="episode return")
    ax.axhline(
        data["reward"].mean(), color="tab:orange", linestyle="--", linewidth=1.2, label=f"mean {data['reward'].mean():.1f}"
    )
    ax.set_xlabel("episode")
    ax.set_ylabel("episode return")
    return _finish(fig, ax, title, results_dir / "rewards.png", show)


def plot_update_stats(results_dir: Path, title: str, show: bool = False, x: str = "env_steps") -> Path | None:
    """``train_stats.png``: each statistic the agent's ``update()`` returns (loss, epsilon, ...) against ``x``
    (env steps; offline, updates)."""
    stats = read_columns(results_dir / "train_stats.csv")
    names = [name for name in stats if name not in ("episode", "env_steps", "updates")]
    if not names:
        return None
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(names), 1, figsize=(7, 1.9 * len(names) + 0.8), dpi=120, sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        ax.plot(stats[x], stats[name], color="tab:green", linewidth=1.2)  # unsmoothed: schedules must not lag
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("environment steps" if x == "env_steps" else x)
    axes[0, 0].set_title(f"{title}: update statistics ({'per episode' if x == 'env_steps' else 'per interval'}, mean)")
    fig.tight_layout()
    path = results_dir / "train_stats.png"
    fig.savefig(path)
    if show and plt.get_backend().lower() != "agg":
        plt.show()
    plt.close(fig)
    return path


def plot_seed_curves(
    groups: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    title: str,
    threshold: float | None,
    path: Path,
    ylabel: str = "greedy evaluation return",
    lines: dict[str, float] | None = None,
) -> Path | None:
    """Evaluations of seeds, by group (a sweep, or each algorithm compared): each seed faint, the group's IQM
    on a common grid with its 95% bootstrap band.

    A group's grid spans the steps every one of its seeds reached; each seed is interpolated linearly
    between its evaluations.
    """
    groups = {label: curves for label, curves in groups.items() if curves}
    if not groups:
        return None
    from joyrl import statistics as st

    fig, ax = _subplots()
    for number, (label, curves) in enumerate(groups.items()):
        colour = f"C{number % 10}"
        for x, y in curves:
            ax.plot(x, y, color=colour, alpha=0.2, linewidth=0.8)
        grid = np.linspace(max(x[0] for x, _ in curves), min(x[-1] for x, _ in curves), 50)
        stacked = np.array([np.interp(grid, x, y) for x, y in curves])  # (n_seeds, 50)
        center = [st.iqm(stacked[:, i]) for i in range(grid.size)]
        band = np.array([st.bootstrap_ci(st.iqm, stacked[:, i], n_samples=500) for i in range(grid.size)])
        ax.plot(grid, center, color=colour, linewidth=2, label=f"{label}: IQM of {len(curves)} seeds (faint: each)")
        ax.fill_between(grid, band[:, 0], band[:, 1], color=colour, alpha=0.2, linewidth=0)
    if threshold is not None:
        ax.axhline(threshold, color="tab:gray", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    for number, (label, level) in enumerate((lines or {}).items()):  # reference levels (an oracle's score)
        ax.axhline(level, color="black", linestyle=(":", "-.", "--")[number % 3], linewidth=1, label=label)
    ax.set_xlabel("environment steps (bands: 95% bootstrap CI of the IQM)")
    ax.set_ylabel(ylabel)
    return _finish(fig, ax, title, path, False)


def plot_bars(values: dict[str, float], title: str, path: Path) -> Path:
    """A horizontal bar per name (a tuning study's key importances), the largest on top."""
    fig, ax = _subplots()
    names = list(values)[::-1]
    ax.barh(names, [values[name] for name in names], color="tab:blue")
    ax.set_xlabel("importance")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _subplots():
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 4.2), dpi=120)


def _finish(fig, ax, title: str, path: Path, show: bool) -> Path:
    import matplotlib.pyplot as plt

    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    if show and plt.get_backend().lower() != "agg":  # Agg (headless) has no window to show
        plt.show()
    plt.close(fig)
    return path
