"""Downstream quality of a representation, on the test split.

kNN accuracy (a probe of class structure: the classifier is fit on training
codes), trustworthiness (Venna & Kaski 2001: are the codes' neighbours
neighbours in pixel space?) and reconstruction error.
"""

from __future__ import annotations

import numpy as np


def knn_accuracy(z_train, y_train, z_test, y_test, n_neighbors: int) -> float:
    """Accuracy in [0, 1] of a k-nearest-neighbour classifier fit on ``z_train``."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=n_neighbors).fit(z_train, y_train)
    return float(np.mean(clf.predict(z_test) == y_test))


def probe_accuracy(z_train, y_train, z_test, y_test, seed: int) -> float:
    """Accuracy in [0, 1] of a logistic-regression probe on standardised codes.

    A linear probe asks whether the classes are *linearly* separable in the
    code space, which kNN (local) does not.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    probe.fit(z_train, y_train)
    return float(np.mean(probe.predict(z_test) == y_test))


def trustworthiness(x, z, n_neighbors: int) -> float:
    """scikit-learn's trustworthiness of ``z`` as an embedding of ``x``, in [0, 1].

    ``n_neighbors`` is capped below n/2, the largest value the measure allows.
    """
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    k = min(n_neighbors, (len(x) - 1) // 2)
    return float(sk_trustworthiness(x, z, n_neighbors=k))


def reconstruction_mse(x, recon) -> float:
    """Mean squared error per pixel, on the [0, 1] scale (recon clipped to [0, 1])."""
    return float(np.mean((np.clip(recon, 0.0, 1.0) - x) ** 2))
