"""Scale images to [0, 1], split them (stratified, seeded), subsample, binarise.

The split is written in plain numpy (no scikit-learn import in this stage):
within each class the indices are permuted by one seeded generator and cut by
the requested fractions, so every split keeps the class proportions and the
same seed always gives the same split. A data set with an official test split
(MNIST and its kin) keeps it as the test set; only the validation set is cut
from its training part.

Binarisation, for the Bernoulli likelihood (which is a normalised pmf only on
{0, 1} pixels):

* ``static``: every pixel becomes ``x > threshold``, once;
* ``dynamic``: every split is one seeded Bernoulli sample with the pixel's
  intensity as its probability (Salakhutdinov & Murray 2008), and the training
  stages draw a fresh sample of the training set each epoch from ``p_train``,
  the intensities kept for that (:mod:`latentlab.data.binarize`);
* ``none``: grey levels; with a Bernoulli likelihood the loss is then the usual
  relaxation, not a log-likelihood.

Binarisation concerns the likelihood only. With ``static`` or ``dynamic`` the
splits also keep the grey levels (``grey_<split>``; the training split's are
``p_train`` under ``dynamic``), and every representation measure reads them
through :func:`grey_levels`: the baselines fit on them, the trained encoders'
codes are computed from them, and kNN, the probe, trustworthiness and the
reconstruction error are scored on them, so one binarised draw of each image
neither costs the baselines information nor makes the comparison of codes
depend on it. The ELBO, the reconstruction NLL and log p(x) stay on the
binarised samples, where the Bernoulli likelihood is a normalised pmf.
"""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")
NO_LABEL = -1
# Offsets added to the seed so each random draw of this stage is independent of the others.
SUBSAMPLE_SEED_OFFSET = {"train": 101, "val": 102, "test": 103}
BINARIZE_SEED_OFFSET = {"train": 201, "val": 202, "test": 203}


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
        Fractions in [0, 1) with a sum below 1; rounded per class, so each class
        with at least three examples appears in every split whose fraction is > 0.
    seed : int
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n = len(idx)
        n_test = _share(n, test_fraction)
        n_val = _share(n, val_fraction)
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    return {name: np.sort(np.concatenate(parts[name])) for name in SPLITS}


def _share(n: int, fraction: float) -> int:
    if fraction <= 0 or n < 3:
        return 0
    return max(1, int(round(n * fraction)))


def official_split(labels: np.ndarray, is_test: np.ndarray, val_fraction: float,
                   seed: int) -> dict[str, np.ndarray]:
    """Keep the official test rows as test; cut a stratified validation set from the rest.

    ``val_fraction`` is then a fraction of the official training set.
    """
    train_rows = np.flatnonzero(~is_test)
    inner = stratified_split(labels[train_rows], val_fraction, 0.0, seed)
    return {"train": train_rows[inner["train"]], "val": train_rows[inner["val"]],
            "test": np.flatnonzero(is_test)}


def stratified_subsample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded subsample of ``size`` rows with the class proportions.

    Each class gets its share of ``size`` rounded down, and the rows left over
    go to the classes with the largest remainders (Hamilton's method), so the
    result has exactly ``min(size, n)`` rows and every class at most one row
    away from its exact share.
    """
    n = len(labels)
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / n
    take = np.floor(exact).astype(int)
    leftover = size - int(take.sum())
    order = np.lexsort((classes, -(exact - take)))  # largest remainder first, ties by class
    take[order[:leftover]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == cls), k, replace=False)
              for cls, k in zip(classes, take) if k > 0]
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)


def cap_splits(index: dict[str, np.ndarray], labels: np.ndarray, caps: dict[str, int],
               seed: int) -> dict[str, np.ndarray]:
    """Each split reduced to at most ``caps[split]`` rows (0: uncapped), stratified, seeded."""
    out = {}
    for split, rows in index.items():
        cap = caps.get(split, 0)
        if cap and len(rows) > cap:
            rows = rows[stratified_subsample(labels[rows], cap, seed +
                                             SUBSAMPLE_SEED_OFFSET[split])]
        out[split] = rows
    return out


def check_splits(index: dict[str, np.ndarray], labels: np.ndarray, has_labels: bool) -> None:
    """Refuse splits the later stages cannot use, before minutes of training find out.

    Every split must hold an image (a class with fewer than three images can leave the
    validation or test split empty), and labelled data must hold two classes in the
    training and test splits (kNN and the probe classify; one class is nothing to tell
    apart).

    Raises
    ------
    DataFileError
        One line naming the split and what to change.
    """
    from latentlab.errors import DataFileError

    fix = {"train": "lower preprocess.val_fraction and preprocess.test_fraction",
           "val": "raise preprocess.val_fraction", "test": "raise preprocess.test_fraction"}
    total = sum(len(rows) for rows in index.values())
    for split in SPLITS:
        if len(index[split]) == 0:
            raise DataFileError(f"preprocess: the {split} split is empty ({total} images in all, "
                                f"split per class); give more images per class, or "
                                f"{fix[split]}")
    if not has_labels:
        return
    for split in ("train", "test"):
        classes = np.unique(labels[index[split]])
        if len(classes) < 2:
            raise DataFileError(
                f"preprocess: the {split} split's labels hold one class "
                f"({', '.join(str(int(c)) for c in classes)}); kNN and the probe need two: "
                "give images of more classes, or mark the data unlabelled (custom data "
                "without labels)")


def binarize_static(x: np.ndarray, threshold: float) -> np.ndarray:
    """``x > threshold`` as float32 0/1."""
    return (x > threshold).astype(np.float32)


def bernoulli_sample(p: np.ndarray, seed: int) -> np.ndarray:
    """One seeded sample ``x ~ Bernoulli(p)`` elementwise, float32 0/1."""
    rng = np.random.default_rng(seed)
    return (rng.random(p.shape, dtype=np.float32) < p).astype(np.float32)


def binarize_splits(x: dict[str, np.ndarray], mode: str, threshold: float,
                    seed: int) -> dict[str, np.ndarray]:
    """The ``x_<split>`` arrays as the likelihood sees them, and the grey levels kept.

    With ``static`` the grey levels are ``grey_<split>``; with ``dynamic``,
    ``grey_val``, ``grey_test`` and ``p_train`` (the training intensities, which
    the training stages also resample ``x_train`` from each epoch). With
    ``none`` nothing is added: ``x_<split>`` are the grey levels.

    Parameters
    ----------
    x : ``{split: (n, features) float32 in [0, 1]}``
    mode : ``none`` | ``static`` | ``dynamic``
    """
    if mode == "none":
        return {f"x_{s}": x[s] for s in SPLITS}
    if mode == "static":
        return {**{f"x_{s}": binarize_static(x[s], threshold) for s in SPLITS},
                **{f"grey_{s}": x[s] for s in SPLITS}}
    if mode == "dynamic":
        out = {f"x_{s}": bernoulli_sample(x[s], seed + BINARIZE_SEED_OFFSET[s]) for s in SPLITS}
        out["p_train"] = x["train"]  # the training stages resample x_train from it each epoch
        out.update({f"grey_{s}": x[s] for s in ("val", "test")})
        return out
    raise ValueError(f"unknown binarisation {mode!r}; expected none, static or dynamic")


def grey_levels(splits: dict[str, np.ndarray], split: str) -> np.ndarray:
    """The grey-level images of ``split``, whatever the binarisation.

    ``grey_<split>`` where the splits are binarised (``p_train`` for the
    training split under ``dynamic``), else ``x_<split>`` itself. Every
    representation measure reads its images here; only the likelihood reads
    ``x_<split>``.
    """
    for key in _grey_level_keys(split):
        if key in splits:
            return splits[key]
    raise KeyError(f"x_{split}")


def _grey_level_keys(split: str) -> tuple[str, ...]:
    """Where ``splits.npz`` keeps the grey levels of ``split``, in the order to look."""
    return (f"grey_{split}", *(("p_train",) if split == "train" else ()), f"x_{split}")


def read_representation_splits(path) -> dict[str, np.ndarray]:
    """What the representation measures read of ``splits.npz``, and nothing more.

    The labels of the training and test splits, ``has_labels`` and the grey levels of
    both splits (the arrays :func:`grey_levels` finds): not the binarised draws, not
    the validation split. On 59 500 training images of 28×28 that leaves out
    ``x_train`` (187 MB of float32) and the rest.
    """
    from latentlab import io

    grey = tuple(key for split in ("train", "test") for key in _grey_level_keys(split)[:-1])
    arrays = io.read_npz(path, required=("y_train", "y_test"), optional=(*grey, "has_labels"))
    for split in ("train", "test"):
        if not any(key in arrays for key in _grey_level_keys(split)):  # not binarised
            arrays.update(io.read_npz(path, required=(f"x_{split}",), optional=()))
    return arrays


def describe_splits(arrays: dict[str, np.ndarray], sha256: str, **extra) -> dict:
    """Counts per split and per class, the checksum of the split arrays, and ``extra``."""
    out: dict = {"sha256": sha256, "n_features": int(arrays["x_train"].shape[1]), **extra}
    for split in SPLITS:
        labels = arrays[f"y_{split}"]
        classes, counts = np.unique(labels[labels != NO_LABEL], return_counts=True)
        out[split] = {"n": int(len(labels)),
                      "per_class": {str(int(c)): int(k) for c, k in zip(classes, counts)}}
    return out
