"""Scaling and the stratified, seeded split."""

import numpy as np

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
