"""Bootstrap intervals over test images, and paired intervals of the difference of two methods.

Every method is scored on the same test images, so the question "is A better
than B?" is about the *difference* of their scores on those images: resampling
the images once and scoring both methods on the same resample (a paired
bootstrap) keeps what the two share (easy and hard images) out of the
difference's interval, which is far narrower than two overlapping marginal
intervals suggest. Intervals are percentile intervals (Efron & Tibshirani
1993, §13.3) of ``n_samples`` resamples drawn with one seed, so the same
params give the same bytes.

A *statistic* here is a function of a resample's row indices: the mean of a
per-image score (:func:`mean_statistic`), or anything recomputed on the
resampled rows (the KL of a gaussian fit to resampled codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Statistic = Callable[[np.ndarray], float]
"""Given row indices of shape (n,), the statistic on those rows."""


@dataclass(frozen=True, eq=False)
class MeanOf:
    """The mean of per-item scores over a resample's rows; answers many resamples at once."""

    per_item: np.ndarray  # shape (n,)

    def __call__(self, rows: np.ndarray):
        """Rows of shape (n,) give a float; rows of shape (n_samples, n) give (n_samples,)."""
        return self.per_item[rows].mean(axis=-1)


@dataclass(frozen=True, eq=False)
class MeanOverSubsample:
    """The mean of per-item scores known on a subsample of the n items, over a resample's rows.

    ``per_item`` holds the scores of the subsample's items (in ``rows`` order);
    a resample of all n rows is scored by the mean over its draws that fall in
    the subsample (with their multiplicity). So the subsampled statistic rides
    on the same resamples as every other criterion: its interval is the
    bootstrap over the test items of the subsample mean (a ratio estimator), as
    wide as the subsample's m items make it (≈ the bootstrap over the subsample
    itself), and the methods scored on the same subsample stay paired.
    """

    per_item: np.ndarray  # shape (m,), the scores of the subsample's items
    rows: np.ndarray  # shape (m,), their rows among the n items
    n: int

    def __post_init__(self):
        full = np.zeros(self.n, dtype=np.float64)
        full[self.rows] = self.per_item
        inside = np.zeros(self.n, dtype=np.float64)
        inside[self.rows] = 1.0
        object.__setattr__(self, "_full", full)
        object.__setattr__(self, "_inside", inside)

    def __call__(self, rows: np.ndarray):
        """Rows of shape (n,) give a float; rows of shape (n_samples, n) give (n_samples,)."""
        count = self._inside[rows].sum(axis=-1)
        if np.any(count == 0):
            raise ValueError("a resample drew no item of the subsample: raise the subsample size")
        return self._full[rows].sum(axis=-1) / count


def resamples(n: int, n_samples: int, seed: int) -> np.ndarray:
    """Row indices of ``n_samples`` bootstrap resamples of ``n`` items, shape (n_samples, n)."""
    if n < 2:
        raise ValueError(f"a bootstrap needs at least 2 items, got {n}")
    return np.random.default_rng(seed).integers(0, n, size=(n_samples, n))


def mean_statistic(per_item: np.ndarray) -> MeanOf:
    """The mean of ``per_item`` (shape (n,)) over a resample's rows."""
    return MeanOf(np.asarray(per_item, dtype=np.float64))


def replicates(statistic: Statistic, rows: np.ndarray) -> np.ndarray:
    """The statistic on every resample, shape (n_samples,)."""
    if isinstance(statistic, (MeanOf, MeanOverSubsample)):  # one indexing for all resamples
        return np.asarray(statistic(rows), dtype=np.float64)
    return np.array([statistic(r) for r in rows], dtype=np.float64)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap replicates (linear interpolation)."""
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [tail, 100.0 - tail])
    return float(low), float(high)
