"""Scaling and the stratified, seeded split."""

import numpy as np
import pytest

from latentlab.data.preprocess import scale_to_unit, stratified_split


def _labels():
    return np.repeat(np.arange(10), [50, 60, 70, 80, 90, 100, 110, 120, 130, 140])


def test_split_partitions_all_indices():
    labels = _labels()
    parts = stratified_split(labels, 0.15, 0.2, seed=0)
    joined = np.concatenate([parts["train"], parts["val"], parts["test"]])
    assert sorted(joined.tolist()) == list(range(len(labels)))


def test_split_keeps_class_proportions():
    labels = _labels()
    parts = stratified_split(labels, 0.15, 0.2, seed=0)
    for cls, count in zip(*np.unique(labels, return_counts=True)):
        assert np.sum(labels[parts["test"]] == cls) == round(count * 0.2)
        assert np.sum(labels[parts["val"]] == cls) == round(count * 0.15)


def test_split_is_seeded():
    labels = _labels()
    a, b = stratified_split(labels, 0.1, 0.1, 3), stratified_split(labels, 0.1, 0.1, 3)
    c = stratified_split(labels, 0.1, 0.1, 4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])


def test_scale_to_unit():
    images = np.array([[[0, 8], [16, 4]]], dtype=np.uint8)
    out = scale_to_unit(images, 16.0)
    assert out.dtype == np.float32 and out.shape == (1, 4)
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0, 0.25]])
    assert scale_to_unit(images, 8.0).max() == 1.0  # clipped, never above 1


# --- official test split, stratified subsamples, binarisation ---------------------------------

from latentlab.data.preprocess import (  # noqa: E402
    bernoulli_sample, binarize_splits, cap_splits, describe_splits, official_split,
    stratified_subsample,
)


def test_official_test_split_is_kept_and_val_is_cut_from_train():
    labels = _labels()
    is_test = np.zeros(len(labels), bool)
    is_test[::7] = True
    parts = official_split(labels, is_test, 0.2, seed=0)
    np.testing.assert_array_equal(parts["test"], np.flatnonzero(is_test))
    assert not is_test[parts["train"]].any() and not is_test[parts["val"]].any()
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(len(labels)))
    train_labels = labels[~is_test]
    for cls, count in zip(*np.unique(train_labels, return_counts=True)):
        assert np.sum(labels[parts["val"]] == cls) == round(count * 0.2)


@pytest.mark.parametrize("size", [1, 7, 100, 333, 999])
def test_stratified_subsample_has_the_exact_size_and_class_shares(size):
    labels = _labels()  # 950 examples, classes of 50 .. 140
    rows = stratified_subsample(labels, size, seed=3)
    assert len(rows) == min(size, len(labels)) and len(set(rows.tolist())) == len(rows)
    assert np.all(np.diff(rows) > 0)
    _, counts = np.unique(labels, return_counts=True)
    got = np.array([np.sum(labels[rows] == c) for c in range(10)])
    share = counts * min(size, len(labels)) / len(labels)
    assert np.all(np.abs(got - share) < 1.0)  # within one row of the exact share


def test_stratified_subsample_is_seeded_and_takes_everything_when_small():
    labels = _labels()
    a, b = stratified_subsample(labels, 100, 5), stratified_subsample(labels, 100, 5)
    assert np.array_equal(a, b) and not np.array_equal(a, stratified_subsample(labels, 100, 6))
    np.testing.assert_array_equal(stratified_subsample(labels, 10_000, 0), np.arange(len(labels)))


def test_cap_splits_caps_only_the_splits_asked():
    labels = _labels()
    parts = stratified_split(labels, 0.15, 0.2, seed=0)
    capped = cap_splits(parts, labels, {"train": 100, "val": 0, "test": 50}, seed=0)
    assert (len(capped["train"]), len(capped["test"])) == (100, 50)
    np.testing.assert_array_equal(capped["val"], parts["val"])
    assert set(capped["train"].tolist()) <= set(parts["train"].tolist())


def _grey(n=400, d=30, seed=0):
    return {s: np.random.default_rng(seed + i).random((n, d), dtype=np.float32)
            for i, s in enumerate(("train", "val", "test"))}


def test_static_binarisation_thresholds_every_split():
    x = _grey()
    out = binarize_splits(x, "static", 0.3, seed=0)
    for s in ("train", "val", "test"):
        np.testing.assert_array_equal(out[f"x_{s}"], (x[s] > 0.3).astype(np.float32))
    assert "p_train" not in out


def test_dynamic_binarisation_samples_each_split_and_keeps_the_intensities():
    x = _grey()
    out = binarize_splits(x, "dynamic", 0.5, seed=0)
    np.testing.assert_array_equal(out["p_train"], x["train"])
    for s in ("train", "val", "test"):
        assert set(np.unique(out[f"x_{s}"]).tolist()) == {0.0, 1.0}
        # E[x] = p: the sample's mean is within 4 standard errors of the intensities' mean
        assert abs(out[f"x_{s}"].mean() - x[s].mean()) < 4 * 0.5 / np.sqrt(x[s].size)
    again = binarize_splits(x, "dynamic", 0.5, seed=0)
    assert all(np.array_equal(out[k], again[k]) for k in out)
    assert not np.array_equal(out["x_val"], binarize_splits(x, "dynamic", 0.5, 1)["x_val"])


def test_bernoulli_sample_of_zero_and_one_is_deterministic():
    p = np.array([[0.0, 1.0, 0.0, 1.0]], np.float32)
    np.testing.assert_array_equal(bernoulli_sample(p, 0), p)


def test_none_binarisation_passes_grey_levels_through():
    x = _grey()
    out = binarize_splits(x, "none", 0.5, seed=0)
    assert all(out[f"x_{s}"] is x[s] for s in ("train", "val", "test"))
    with pytest.raises(ValueError, match="unknown binarisation"):
        binarize_splits(x, "half", 0.5, 0)


def test_describe_leaves_missing_labels_out_of_the_class_counts():
    arrays = {f"{k}_{s}": v for s in ("train", "val", "test")
              for k, v in (("x", np.zeros((3, 2))), ("y", np.full(3, -1)))}
    meta = describe_splits(arrays, "ab", has_labels=False)
    assert meta["train"] == {"n": 3, "per_class": {}} and meta["has_labels"] is False


def test_splits_the_later_stages_cannot_use_are_refused_in_one_line():
    import pytest

    from latentlab.data.preprocess import check_splits, stratified_split
    from latentlab.errors import DataFileError

    labels = np.array([0, 0, 1, 1])  # two images per class: nothing left for val
    index = stratified_split(labels, 0.1, 0.25, seed=0)
    with pytest.raises(DataFileError, match=r"^preprocess: the val split is empty .*"
                                            r"raise preprocess.val_fraction$"):
        check_splits(index, labels, has_labels=True)
    labels = np.zeros(40, dtype=np.int64)  # one class: kNN and the probe have nothing to do
    index = stratified_split(labels, 0.2, 0.2, seed=0)
    with pytest.raises(DataFileError, match="the train split's labels hold one class"):
        check_splits(index, labels, has_labels=True)
    check_splits(index, labels, has_labels=False)  # unlabelled: one "class" is fine
