"""joyrl/statistics.py: hand-computed cases, and the same numbers as SciPy and rliable where they are installed."""

import numpy as np
import pytest

from joyrl import statistics as st


def test_iqm_cuts_a_quarter_of_the_sorted_scores_from_each_end():
    assert st.iqm([4, 1, 3, 2]) == 2.5  # keeps 2, 3
    assert st.iqm([0, 1, 2, 3, 100]) == 2.0  # int(1.25) = 1 cut from each end: keeps 1, 2, 3
    assert st.iqm([[1, 10], [2, 20], [3, 30], [4, 40]]) == 9.25  # all 8 runs x tasks: keeps 3, 4, 10, 20
    assert st.iqm([7.0]) == 7.0


def test_mean_and_median_aggregate_the_per_task_means():
    scores = [[1, 10, 0], [3, 30, 2]]  # task means 2, 20, 1
    assert st.mean(scores) == pytest.approx(23 / 3)
    assert st.median(scores) == 2.0


def test_optimality_gap_counts_how_far_below_the_target_runs_fall():
    assert st.optimality_gap([0.5, 1.2, 0.8]) == pytest.approx(1 - (0.5 + 1.0 + 0.8) / 3)
    assert st.optimality_gap([500, 480], target=500) == 10.0
    assert st.optimality_gap([600, 700], target=500) == 0.0


def test_probability_of_improvement_counts_pairs_and_half_the_ties():
    assert st.probability_of_improvement([1, 2, 3], [2, 2]) == 0.5  # (2 wins + 2 ties / 2) / 6 pairs
    assert st.probability_of_improvement([3, 4], [1, 2]) == 1.0
    assert st.probability_of_improvement([1, 2], [3, 4]) == 0.0
    two_tasks = st.probability_of_improvement([[3, 0], [4, 0]], [[1, 1], [2, 1]])  # task 1: 1.0, task 2: 0.0
    assert two_tasks == 0.5
    with pytest.raises(ValueError, match="same tasks"):
        st.probability_of_improvement([[1, 2]], [[1, 2, 3]])


def test_scores_must_be_a_nonempty_runs_by_tasks_array():
    with pytest.raises(ValueError, match="n_runs, n_tasks"):
        st.iqm([])
    with pytest.raises(ValueError, match="n_runs, n_tasks"):
        st.iqm(np.zeros((2, 2, 2)))


def test_stratified_resampling_draws_runs_within_each_task():
    scores = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    copies = st.stratified_resample(scores, np.random.default_rng(0), 200)
    assert copies.shape == (200, 3, 2)
    assert set(np.unique(copies[:, :, 0])) == {1.0, 2.0, 3.0} and set(np.unique(copies[:, :, 1])) == {10.0, 20.0, 30.0}
    assert not np.array_equal(copies[:, :, 1], copies[:, :, 0] * 10)  # the tasks' runs are drawn apart


def test_bootstrap_ci_is_seeded_brackets_the_estimate_and_narrows_with_more_runs():
    rng = np.random.default_rng(1)
    few, many = rng.normal(100, 10, 5), rng.normal(100, 10, 50)
    low, high = st.bootstrap_ci(st.iqm, few, seed=3)
    assert low <= st.iqm(few) <= high
    assert st.bootstrap_ci(st.iqm, few, seed=3) == (low, high)
    many_low, many_high = st.bootstrap_ci(st.iqm, many, seed=3)
    assert many_high - many_low < high - low
    assert st.bootstrap_ci(st.mean, [5.0, 5.0, 5.0]) == (5.0, 5.0)
    x, y = rng.normal(1, 1, 10), rng.normal(0, 1, 10)
    poi_low, poi_high = st.bootstrap_ci(st.probability_of_improvement, x, y)
    assert 0 <= poi_low <= st.probability_of_improvement(x, y) <= poi_high <= 1
    with pytest.raises(ValueError, match="confidence"):
        st.bootstrap_ci(st.mean, few, confidence=95)


def test_the_estimates_equal_scipys_trimmed_mean_and_mann_whitney_u():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(7)
    for n_runs in (3, 4, 5, 10, 11):
        scores = rng.normal(size=(n_runs, 3)).round(1)  # rounded: ties happen
        assert st.iqm(scores) == pytest.approx(scipy_stats.trim_mean(scores, 0.25, axis=None))
        other = rng.normal(size=(n_runs + 2, 3)).round(1)
        u = [scipy_stats.mannwhitneyu(scores[:, m], other[:, m], alternative="greater").statistic for m in range(3)]
        expected = np.mean(u) / (n_runs * (n_runs + 2))
        assert st.probability_of_improvement(scores, other) == pytest.approx(expected)


def test_the_estimates_and_intervals_agree_with_rliable_when_it_is_installed():
    metrics = pytest.importorskip("rliable.metrics")
    library = pytest.importorskip("rliable.library")
    rng = np.random.default_rng(11)
    x, y = rng.normal(1.0, 0.5, size=(10, 4)), rng.normal(0.8, 0.5, size=(10, 4))
    assert st.iqm(x) == pytest.approx(metrics.aggregate_iqm(x))
    assert st.optimality_gap(x) == pytest.approx(metrics.aggregate_optimality_gap(x))
    assert st.probability_of_improvement(x, y) == pytest.approx(metrics.probability_of_improvement(x, y))
    points, intervals = library.get_interval_estimates({"x": x}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=4000)
    low, high = st.bootstrap_ci(st.iqm, x, n_samples=4000)
    assert low == pytest.approx(intervals["x"][0, 0], abs=0.03) and high == pytest.approx(intervals["x"][1, 0], abs=0.03)
