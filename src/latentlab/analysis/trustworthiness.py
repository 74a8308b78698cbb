"""Trustworthiness as a statistic of resampled test rows: on every test point, or on a
seeded subsample of them when the test set is larger than
``latent_stats.trustworthiness_max_points``.

The subsample is a simple random sample (:mod:`latentlab.analysis.subsample`), the same
rows for every method of the same test split (a fair, paired comparison); each point
keeps its neighbourhoods in the *whole* test split
(:func:`~latentlab.analysis.metrics.trustworthiness_of_rows`), so the subsample mean is
an unbiased estimate of the whole split's trustworthiness. Its interval and standard
error come from the bootstrap over the test rows that every criterion uses
(:class:`~latentlab.analysis.intervals.MeanOverSubsample`): the SD of the bootstrap
replicates of the subsample mean, which for m ≪ n is sd / √m.
"""

from __future__ import annotations

import numpy as np

from latentlab.analysis.intervals import MeanOverSubsample, Statistic, mean_statistic
from latentlab.analysis.metrics import (
    distances_from_rows,
    trustworthiness_of_rows,
    trustworthiness_per_point,
)
from latentlab.analysis.subsample import is_subsample, subsample_rows

TRUSTWORTHINESS_METHOD = ("per-point contributions, neighbourhoods of the whole test set, "
                          "bootstrapped over points")
TRUSTWORTHINESS_SUBSAMPLE = ("per-point contributions of a seeded simple random subsample of "
                             "{m} of the {n} test points (the same points for every method), "
                             "neighbourhoods of the whole test set, bootstrapped over the test "
                             "points (each resample: the mean over its draws in the subsample)")


def trustworthiness_method(n_test: int, max_points: int, seed: int) -> str:
    """``trustworthiness_method`` of the verdict's protocol: every point, or the subsample."""
    m = len(subsample_rows(n_test, max_points, seed))
    return (TRUSTWORTHINESS_METHOD if m == n_test
            else TRUSTWORTHINESS_SUBSAMPLE.format(m=m, n=n_test))


class SharedDistances:
    """Pixel distances from the trustworthiness subsample to every test point, computed once.

    Every method covering the whole test split is scored on the same subsample of
    the same images, so the (m, n) distances in pixel space are shared; t-SNE on
    its own subsample of the split gets its own, uncached.
    """

    def __init__(self) -> None:
        self._of: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __call__(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if self._of is None or self._of[0] is not x or not np.array_equal(self._of[1], rows):
            self._of = (x, rows, distances_from_rows(x, rows))
        return self._of[2]


def trustworthiness_statistic(x_test: np.ndarray, z_test: np.ndarray, n_neighbors: int,
                              max_points: int, seed: int,
                              distances: SharedDistances | None = None) -> Statistic:
    """Trustworthiness of ``z_test`` as a statistic of resampled test rows.

    At or below ``max_points`` test points (or with no cap): the mean of every
    point's contribution, exactly as before the cap existed. Above it: the
    contributions of a seeded simple random subsample of ``max_points`` points
    (:func:`~latentlab.analysis.subsample.subsample_rows`, the same rows for every
    method of the same test split), neighbourhoods of the whole split
    (:func:`~latentlab.analysis.metrics.trustworthiness_of_rows`); its bootstrap
    over the test rows (:class:`~latentlab.analysis.intervals.MeanOverSubsample`)
    gives the interval and the standard error (``trustworthiness_se``: the SD of
    the bootstrap replicates), as wide as the subsample makes them.
    """
    n = len(x_test)
    rows = subsample_rows(n, max_points, seed)
    if not is_subsample(rows, n):
        return mean_statistic(trustworthiness_per_point(x_test, z_test, n_neighbors))
    shared = None if distances is None else distances(x_test, rows)
    return MeanOverSubsample(trustworthiness_of_rows(x_test, z_test, n_neighbors, rows, shared),
                             rows, n)
