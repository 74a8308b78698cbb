"""Downstream quality of a representation, on the test split, per test item and on average.

kNN accuracy (a probe of class structure: the classifier is fit on training
codes), trustworthiness (Venna & Kaski 2001: are the codes' neighbours
neighbours in pixel space?) and reconstruction error. Each comes per test item
first (``*_per_item``), so :mod:`latentlab.analysis.intervals` can resample the
items; the average is the mean of those.
"""

from __future__ import annotations

import numpy as np


def knn_correct(z_train, y_train, z_test, y_test, n_neighbors: int) -> np.ndarray:
    """Whether a k-nearest-neighbour classifier fit on ``z_train`` gets each test item right.

    Returns
    -------
    ndarray of shape (n_test,), float 0.0 or 1.0
    """
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=n_neighbors).fit(z_train, y_train)
    return (clf.predict(z_test) == y_test).astype(np.float64)


def knn_accuracy(z_train, y_train, z_test, y_test, n_neighbors: int) -> float:
    """Accuracy in [0, 1] of a k-nearest-neighbour classifier fit on ``z_train``."""
    return float(np.mean(knn_correct(z_train, y_train, z_test, y_test, n_neighbors)))


def probe_correct(z_train, y_train, z_test, y_test, seed: int) -> np.ndarray:
    """Whether a logistic-regression probe on standardised codes gets each test item right.

    A linear probe asks whether the classes are *linearly* separable in the
    code space, which kNN (local) does not. Shape (n_test,), 0.0 or 1.0.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    probe.fit(z_train, y_train)
    return (probe.predict(z_test) == y_test).astype(np.float64)


def probe_accuracy(z_train, y_train, z_test, y_test, seed: int) -> float:
    """Accuracy in [0, 1] of the logistic-regression probe of :func:`probe_correct`."""
    return float(np.mean(probe_correct(z_train, y_train, z_test, y_test, seed)))


def trustworthiness_per_point(x, z, n_neighbors: int) -> np.ndarray:
    """Each point's share of the trustworthiness of ``z`` as an embedding of ``x``; shape (n,).

    Trustworthiness (Venna & Kaski 2001) penalises, for every point i, the
    points among its k nearest neighbours in ``z`` that are not among its k
    nearest in ``x``, by how far down the ``x`` ranking they are:
    T = 1 − 2 / (n k (2n − 3k − 1)) Σ_i Σ_{j ∈ U_k(i)} (r(i, j) − k). Written as
    the mean over i of t_i = 1 − 2 Σ_j (r(i, j) − k) / (k (2n − 3k − 1)), the
    value is a mean over points that a bootstrap can resample (neighbourhoods
    stay those of the whole set). Computed as scikit-learn's
    ``sklearn.manifold.trustworthiness`` does; the mean equals it (a unit test
    checks). ``n_neighbors`` is capped below n/2, the largest value the measure
    allows.
    """
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors

    x, z = np.asarray(x), np.asarray(z)
    n = len(x)
    k = min(n_neighbors, (n - 1) // 2)
    dist_x = pairwise_distances(x)
    np.fill_diagonal(dist_x, np.inf)  # a point is not its own neighbour
    rank_order = np.argsort(dist_x, axis=1)
    ranks_in_x = np.empty((n, n), dtype=np.int64)  # ranks_in_x[i, j]: rank of j among i's
    ranks_in_x[np.arange(n)[:, None], rank_order] = np.arange(1, n + 1)
    neighbours_in_z = NearestNeighbors(n_neighbors=k).fit(z).kneighbors(return_distance=False)
    excess = ranks_in_x[np.arange(n)[:, None], neighbours_in_z] - k  # (n, k)
    penalty = np.where(excess > 0, excess, 0).sum(axis=1)
    return 1.0 - penalty * (2.0 / (k * (2.0 * n - 3.0 * k - 1.0)))


def trustworthiness(x, z, n_neighbors: int) -> float:
    """Trustworthiness of ``z`` as an embedding of ``x``, in [0, 1].

    The mean of :func:`trustworthiness_per_point`; scikit-learn's value to the last bits.
    """
    return float(np.mean(trustworthiness_per_point(x, z, n_neighbors)))


def squared_error_per_item(x, recon) -> np.ndarray:
    """Mean squared error per pixel of each item, on the [0, 1] scale (recon clipped); (n,)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    recon = np.asarray(recon, dtype=np.float64).reshape(len(x), -1)
    return np.mean((np.clip(recon, 0.0, 1.0) - x) ** 2, axis=1)


def reconstruction_mse(x, recon) -> float:
    """Mean squared error per pixel, on the [0, 1] scale (recon clipped to [0, 1])."""
    return float(np.mean(squared_error_per_item(x, recon)))
