"""The comparison without labels, and with t-SNE codes of a subsample."""

import numpy as np

from latentlab.analysis.latent_stats import (
    aligned,
    compare_methods,
    embedding_rows,
)
from latentlab.analysis.sweep import sweep_scores


def _splits(labelled=True):
    rng = np.random.default_rng(0)
    y_train, y_test = np.arange(60) % 3, np.arange(30) % 3
    x_train = rng.random((60, 6)) + y_train[:, None]
    x_test = rng.random((30, 6)) + y_test[:, None]
    if not labelled:
        y_train, y_test = np.full(60, -1), np.full(30, -1)
    return {"x_train": x_train, "x_test": x_test, "y_train": y_train, "y_test": y_test,
            "has_labels": np.asarray(labelled)}


def _compare(splits, codes):
    table, _ = compare_methods(splits, codes, {}, {}, knn_neighbors=3, trustworthiness_neighbors=3,
                               active_unit_threshold=0.01, collapse_min_active_fraction=0.5,
                               seed=0)
    return table


def test_without_labels_the_label_metrics_are_left_out():
    splits = _splits(labelled=False)
    codes = {"pca": {"z_train": splits["x_train"][:, :2], "z_test": splits["x_test"][:, :2]}}
    row = _compare(splits, codes)["pca"]
    assert "knn_accuracy" not in row and "probe_accuracy" not in row
    assert 0.0 <= row["trustworthiness"] <= 1.0
    sweep = sweep_scores(splits, {0.0: ("dae_sweep@0.0", {**codes["pca"],
                                                          "recon_test": splits["x_test"]})},
                         knn_neighbors=3, seed=0, bootstrap_samples=100, confidence=0.95,
                         labelled=False)
    assert set(sweep["0.0"]) == {"noise_level", "trained_by", "recon_mse", "recon_mse_ci_low",
                                 "recon_mse_ci_high"}
    assert sweep["best"] == {"by_recon_mse": 0.0} and list(sweep["verdict"]) == ["recon_mse"]
    # the raw pixels' reference row: without labels, trustworthiness 1 by definition alone
    assert _compare(splits, codes)["pixels"] == {"latent_dim": 6, "trustworthiness": 1.0}


def test_subsampled_codes_are_scored_against_their_own_rows():
    splits = _splits()
    rows_train, rows_test = np.arange(0, 60, 2), np.arange(0, 30, 3)
    tsne = {"z_train": splits["x_train"][rows_train, :2], "z_test": splits["x_test"][rows_test, :2],
            "index_train": rows_train, "index_test": rows_test}
    y_train, x_test, y_test = aligned(splits, tsne)
    np.testing.assert_array_equal(y_test, splits["y_test"][rows_test])
    assert len(y_train) == 30 and x_test.shape == (10, 6)
    row = _compare(splits, {"tsne": tsne})["tsne"]
    assert row["knn_accuracy"] == 1.0 and row["n_test_points"] == 10  # classes are separated
    csv_rows = embedding_rows(tsne["z_test"], splits["y_test"], 100, 0, tsne["index_test"])
    assert [r[0] for r in csv_rows] == rows_test.tolist()
    assert [r[3] for r in csv_rows] == splits["y_test"][rows_test].tolist()


def test_walks_pick_a_pair_without_labels():
    from latentlab.analysis.walks import pick_pair

    assert pick_pair(np.full(5, -1)) == (0, 4)
    assert pick_pair(np.array([3, 3, 1])) == (0, 2)
