"""Statistics of results over several seeds, as "Deep RL at the Edge of the Statistical Precipice" recommends.

Agarwal et al. (2021) report aggregates over runs with stratified bootstrap confidence intervals; their
library, rliable, defines the estimators this module follows (and tests/test_statistics.py checks against
it when it is installed). Scores are a ``(n_runs, n_tasks)`` array: ``scores[n, m]`` is run (seed) ``n``
on task (env) ``m``; a 1-d array is one task.

- ``iqm``: the interquartile mean, the mean of the middle 50% of all runs' scores (a 25% trimmed mean);
  robust to outlier seeds, and more efficient than the median.
- ``optimality_gap``: how far below ``target`` the runs fall on average (scores above it count as it).
- ``probability_of_improvement``: P(X > Y), the chance that a run of X scores above a run of Y on the same
  task (ties count half: the Mann-Whitney U statistic over n_x n_y), averaged over tasks.
- ``bootstrap_ci``: a percentile confidence interval of any of these, resampling runs with replacement
  within each task (stratified), or each algorithm's runs apart for a comparison of two.

Only NumPy: no SciPy or rliable (which needs pandas < 3) in the requirements.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def as_scores(scores: np.ndarray | list) -> np.ndarray:
    """``scores`` as a float ``(n_runs, n_tasks)`` array; a 1-d array is one task's runs."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"scores must be (n_runs, n_tasks) with at least one of each, got shape {array.shape}")
    return array


def iqm(scores: np.ndarray | list) -> float:
    """The interquartile mean of every run on every task: the 25% trimmed mean, as ``scipy.stats.trim_mean``.

    ``int(0.25 n)`` scores are cut from each end of the sorted ``n`` scores, so 4 runs keep 2 and 5 runs keep 3.
    """
    flat = np.sort(as_scores(scores), axis=None)
    cut = int(0.25 * flat.size)
    return float(flat[cut : flat.size - cut].mean())


def mean(scores: np.ndarray | list) -> float:
    """The mean over tasks of each task's mean over runs."""
    return float(as_scores(scores).mean(axis=0).mean())


def median(scores: np.ndarray | list) -> float:
    """The median over tasks of each task's mean over runs."""
    return float(np.median(as_scores(scores).mean(axis=0)))


def optimality_gap(scores: np.ndarray | list, target: float = 1.0) -> float:
    """``target`` minus the mean of the scores clipped at ``target``: 0 when every run reaches it."""
    return float(target - np.minimum(as_scores(scores), target).mean())


def probability_of_improvement(scores_x: np.ndarray | list, scores_y: np.ndarray | list) -> float:
    """P(X > Y): per task, the share of run pairs where X scores above Y (a tie counts half); the mean over tasks."""
    x, y = as_scores(scores_x), as_scores(scores_y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"X has {x.shape[1]} tasks and Y {y.shape[1]}: compare them on the same tasks")
    per_task = []
    for task in range(x.shape[1]):
        above = x[:, task, None] > y[None, :, task]
        ties = x[:, task, None] == y[None, :, task]
        per_task.append((above.sum() + 0.5 * ties.sum()) / above.size)
    return float(np.mean(per_task))


def stratified_resample(scores: np.ndarray, rng: np.random.Generator, n_samples: int) -> np.ndarray:
    """``n_samples`` bootstrap copies ``(n_samples, n_runs, n_tasks)``: each task's runs drawn with replacement."""
    n_runs, n_tasks = scores.shape
    rows = rng.integers(0, n_runs, size=(n_samples, n_runs, n_tasks))
    return scores[rows, np.arange(n_tasks)]


def bootstrap_ci(
    statistic: Callable[..., float],
    *score_sets: np.ndarray | list,
    confidence: float = 0.95,
    n_samples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """The percentile interval of ``statistic(*score_sets)`` over stratified bootstrap resamples.

    Each score set (one algorithm's runs) is resampled apart, within each task; with one set this is
    rliable's ``StratifiedBootstrap``, with two its ``StratifiedIndependentBootstrap``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    sets = [as_scores(scores) for scores in score_sets]
    rng = np.random.default_rng(seed)
    copies = [stratified_resample(scores, rng, n_samples) for scores in sets]
    values = np.array([statistic(*(copy[i] for copy in copies)) for i in range(n_samples)])
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
