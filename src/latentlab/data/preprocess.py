"""Scale images to [0, 1] and split them, stratified by label, with a seed.

The split is written in plain numpy (no scikit-learn import in this stage):
within each class the indices are permuted by one seeded generator and cut by
the requested fractions, so every split keeps the class proportions and the
same seed always gives the same split.
"""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def scale_to_unit(images: np.ndarray, pixel_max: float) -> np.ndarray:
    """Flatten ``(n, h, w)`` images to ``(n, h*w)`` float32 in [0, 1]."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    return np.clip(flat / np.float32(pixel_max), 0.0, 1.0)


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Return sorted index arrays ``{"train", "val", "test"}`` that partition ``labels``.

    Parameters
    ----------
    labels : ndarray of shape (n,)
    val_fraction, test_fraction : float
        Fractions in (0, 1) with a sum below 1; rounded per class, so each class
        with at least three examples appears in every split.
    seed : int
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n = len(idx)
        n_test = max(1, int(round(n * test_fraction))) if n >= 3 else 0
        n_val = max(1, int(round(n * val_fraction))) if n >= 3 else 0
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    return {name: np.sort(np.concatenate(parts[name])) for name in SPLITS}


def describe_splits(arrays: dict[str, np.ndarray], sha256: str) -> dict:
    """Counts per split and per class, and the checksum of the split arrays."""
    out: dict = {"sha256": sha256, "n_features": int(arrays["x_train"].shape[1])}
    for split in SPLITS:
        labels = arrays[f"y_{split}"]
        classes, counts = np.unique(labels, return_counts=True)
        out[split] = {"n": int(len(labels)),
                      "per_class": {str(int(c)): int(k) for c, k in zip(classes, counts)}}
    return out
