"""t-SNE above baselines.tsne.max_points: a seeded, stratified subsample, recorded."""

import numpy as np

from latentlab.analysis.baselines import embed_tsne, tsne_subsample


def test_no_subsample_at_or_below_the_cap():
    y_train, y_test = np.arange(80) % 4, np.arange(20) % 4
    rows_train, rows_test = tsne_subsample(y_train, y_test, 100, seed=0)
    np.testing.assert_array_equal(rows_train, np.arange(80))
    np.testing.assert_array_equal(rows_test, np.arange(20))


def test_subsample_keeps_split_and_class_proportions_and_is_seeded():
    y_train, y_test = np.arange(600) % 3, np.arange(200) % 4
    rows_train, rows_test = tsne_subsample(y_train, y_test, 100, seed=0)
    assert (len(rows_train), len(rows_test)) == (75, 25)
    assert np.bincount(y_train[rows_train]).tolist() == [25, 25, 25]
    assert sorted(np.bincount(y_test[rows_test]).tolist()) == [6, 6, 6, 7]
    again = tsne_subsample(y_train, y_test, 100, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((rows_train, rows_test), again))
    assert not np.array_equal(rows_train, tsne_subsample(y_train, y_test, 100, seed=1)[0])


def test_embed_tsne_embeds_the_subsample_and_says_so():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.random((90, 5)), rng.random((30, 5))
    y_train, y_test = np.arange(90) % 3, np.arange(30) % 3
    result, seconds = embed_tsne(x_train, x_test, perplexity=5.0, max_iter=250,
                                 early_exaggeration=12.0, init="pca", learning_rate="auto",
                                 seed=0, max_points=40, y_train=y_train, y_test=y_test)
    assert result["z_train"].shape == (30, 2) and result["z_test"].shape == (10, 2)
    assert len(result["index_train"]) == 30 and len(result["index_test"]) == 10
    assert result["subsampled"] is True and result["n_points_embedded"] == 40
    assert (result["n_points_available"], result["max_points"]) == (120, 40)
    full, _ = embed_tsne(x_train, x_test, perplexity=5.0, max_iter=250, early_exaggeration=12.0,
                         init="pca", learning_rate="auto", seed=0, max_points=1000,
                         y_train=y_train, y_test=y_test)
    assert full["subsampled"] is False and full["z_test"].shape == (30, 2) and seconds >= 0
