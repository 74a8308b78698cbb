"""Which test items a costly estimate scores, and the standard error of its mean.

The IWAE estimate of log p(x) costs K decoder passes per image and exact
trustworthiness an n × n rank table, so on a large test set both score a seeded
subsample of at most ``max_items`` items (0 or None: every item). The subsample
is a simple random sample without replacement, *not* stratified by label:

* its mean is an unbiased estimate of the whole test set's mean, and the
  standard error of the mean, sd / √m, is the textbook one, with nothing to
  weight (a stratified sample needs per-stratum variances and weights);
* it needs no labels, so an unlabelled ``custom`` data set is treated alike;
* proportional stratification by class would only remove the between-class share
  of the variance: measured on 10 000 synthetic MNIST-sized test images, 4–7 % for
  per-point trustworthiness (the SE would shrink by ≤ 3.5 %), 22 % for per-image
  log p(x) (≤ 12 %, what 1.3× the images buy) and 2 % for the ELBO gap
  (benchmarks/README.md, "Subsampled estimates").

Where the test set is no larger than ``max_items`` every item is scored, in its
own order, so the numbers are those of the whole set, bit for bit.
The draw has its own random stream (:data:`SUBSAMPLE_STREAM`, beside the
params' seed), so it does not coincide with the bootstrap's resamples.
"""

from __future__ import annotations

import math

import numpy as np

SUBSAMPLE_STREAM = 20  # np.random.default_rng([SUBSAMPLE_STREAM, seed]): issue 20's draw


def subsample_rows(n: int, max_items: int | None, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded simple random sample of at most ``max_items`` of ``n``.

    Parameters
    ----------
    n : int
        Items available (the test split's size).
    max_items : int or None
        The cap; 0 or None means every item.
    seed : int
        The params' seed; the same seed, ``n`` and cap give the same rows.

    Returns
    -------
    ndarray of int64, shape (min(n, max_items),), increasing; ``arange(n)`` at or
    below the cap.
    """
    if not max_items or n <= max_items:
        return np.arange(n)
    rng = np.random.default_rng([SUBSAMPLE_STREAM, seed])
    return np.sort(rng.choice(n, size=max_items, replace=False))


def is_subsample(rows: np.ndarray, n: int) -> bool:
    """Whether ``rows`` (from :func:`subsample_rows`) leave out any of the ``n`` items."""
    return len(rows) < n


def rule(n: int, max_items: int | None, seed: int) -> str:
    """The selection rule in words, for the metrics JSON and the report."""
    m = min(n, max_items) if max_items else n
    if m == n:
        return f"all {n} test items (cap {max_items or 'none'})"
    return (f"simple random sample without replacement of {m} of {n} test items "
            f"(numpy default_rng([{SUBSAMPLE_STREAM}, {seed}]))")


def standard_error(values: np.ndarray) -> float:
    """Standard error of the mean of ``values`` (shape (m,)): sd / √m, sd with m − 1.

    The test items are a sample of the data distribution, so this is the error of
    the mean as an estimate of the expected score, whether ``values`` cover the
    whole test set or a simple random subsample of it (no finite-population
    correction: the target is the distribution's mean, as for the bootstrap
    intervals, not the particular test set's). 0.0 for fewer than 2 values.
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return 0.0
    return float(v.std(ddof=1) / math.sqrt(len(v)))
