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


ROWS_CHUNK_MB = 64  # memory of one chunk of query rows × all points (distances, comparisons)


def distances_from_rows(x, rows: np.ndarray) -> np.ndarray:
    """Euclidean distances from the points ``rows`` to all n points of ``x``; shape (m, n).

    A point's distance to itself is +inf (it is not its own neighbour). Computed
    in chunks of rows, as :func:`trustworthiness_of_rows` would; pass the result
    to it to share the cost between embeddings of the same ``x``.
    """
    from sklearn.metrics import pairwise_distances

    x, rows = np.asarray(x), np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), len(x)), dtype=np.result_type(x.dtype, np.float32))
    step = max(1, int(ROWS_CHUNK_MB * 2**20 // (len(x) * out.itemsize)))
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        out[start:start + len(chunk)] = pairwise_distances(x[chunk], x)
        out[start + np.arange(len(chunk)), chunk] = np.inf
    return out


def trustworthiness_of_rows(x, z, n_neighbors: int, rows: np.ndarray,
                            distances: np.ndarray | None = None) -> np.ndarray:
    """The per-point trustworthiness t_i of the query points ``rows`` only; shape (m,).

    The same t_i as :func:`trustworthiness_per_point` (neighbourhoods, k and the
    normalisation of the *whole* set of n points), computed for m query points in
    O(m n) memory and time instead of O(n²) and O(n² log n): point i's distances
    are never sorted, the rank of each of its k neighbours in ``z`` being counted,
    r(i, j) = 1 + #{l ≠ i : d_x(i, l) < d_x(i, j)}. With distinct distances this
    is the sorted rank exactly; a tie takes the lowest of its ranks (a sort
    orders ties arbitrarily). So the mean over a simple random sample of rows is
    an unbiased estimate of the whole set's trustworthiness
    (:mod:`latentlab.analysis.subsample`).

    Parameters
    ----------
    x : array of shape (n, features); z : array of shape (n, latent_dim)
    rows : int array of shape (m,), distinct indices into the n points
    distances : array of shape (m, n), optional
        :func:`distances_from_rows` of ``x`` and ``rows``, when already computed.
    """
    from sklearn.neighbors import NearestNeighbors

    x, z, rows = np.asarray(x), np.asarray(z), np.asarray(rows, dtype=np.int64)
    n = len(x)
    k = min(n_neighbors, (n - 1) // 2)
    found = NearestNeighbors(n_neighbors=k + 1).fit(z).kneighbors(z[rows],
                                                                   return_distance=False)
    # drop each query itself, as kneighbors() without X does (the first column if a
    # duplicate point displaced it): (m, k + 1) → (m, k)
    keep = found != rows[:, None]
    keep[keep.all(axis=1), 0] = False
    neighbours_in_z = found[keep].reshape(len(rows), k)
    step = max(1, int(ROWS_CHUNK_MB * 2**20 // (n * (8 + k))))
    penalty = np.empty(len(rows), dtype=np.float64)
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        dist = (distances_from_rows(x, chunk) if distances is None
                else distances[start:start + step])  # (chunk, n)
        to_neighbour = np.take_along_axis(dist, neighbours_in_z[start:start + step], axis=1)
        rank = 1 + (dist[:, None, :] < to_neighbour[:, :, None]).sum(axis=2)  # (chunk, k)
        penalty[start:start + len(chunk)] = np.where(rank > k, rank - k, 0).sum(axis=1)
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
