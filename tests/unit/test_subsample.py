"""Issue 20: IWAE log p(x) and trustworthiness on a seeded subsample of a large test set."""

import math

import numpy as np
import pytest
import torch

from latentlab.analysis.evaluate import vae_log_px
from latentlab.analysis.intervals import MeanOverSubsample, replicates, resamples
from latentlab.analysis.latent_stats import compare_methods, verdict_record
from latentlab.analysis.metrics import (
    distances_from_rows,
    trustworthiness_of_rows,
    trustworthiness_per_point,
)
from latentlab.analysis.subsample import standard_error, subsample_rows
from latentlab.params import EvaluateParams, LatentStatsParams


# ---------------------------------------------------------------- the selection


def test_at_or_below_the_cap_every_item_is_kept_in_order():
    for n, cap in ((270, 270), (270, 2000), (270, 0), (270, None)):
        assert np.array_equal(subsample_rows(n, cap, seed=3), np.arange(n))


def test_above_the_cap_a_seeded_sample_of_exactly_cap_distinct_sorted_rows():
    rows = subsample_rows(10_000, 2000, seed=0)
    assert len(rows) == 2000 and len(np.unique(rows)) == 2000
    assert np.all(np.diff(rows) > 0) and rows.min() >= 0 and rows.max() < 10_000
    assert np.array_equal(rows, subsample_rows(10_000, 2000, seed=0))  # same seed, same rows
    assert not np.array_equal(rows, subsample_rows(10_000, 2000, seed=1))


def test_the_sample_is_not_stratified_but_uniform():
    # a simple random sample: every row equally likely, whatever its label (none needed)
    hits = np.zeros(1000)
    for seed in range(200):
        hits[subsample_rows(1000, 100, seed)] += 1
    assert hits.sum() == 200 * 100
    assert abs(hits[:500].sum() / hits.sum() - 0.5) < 0.02


def test_standard_error_of_the_mean_known_answer():
    assert standard_error(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(
        math.sqrt(5.0 / 3.0) / 2.0, rel=1e-12)  # sd (n - 1) = 1.2910, / sqrt(4)
    assert standard_error(np.array([7.0])) == 0.0


# ---------------------------------------------------------------- trustworthiness


def _points(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12))
    return x, x[:, :3] + 0.4 * rng.normal(size=(n, 3))


def test_trustworthiness_of_rows_equals_the_whole_sets_contributions():
    x, z = _points()
    full = trustworthiness_per_point(x, z, 6)
    rows = subsample_rows(len(x), 80, seed=0)
    np.testing.assert_allclose(trustworthiness_of_rows(x, z, 6, rows), full[rows], rtol=0,
                               atol=1e-12)
    shared = distances_from_rows(x, rows)
    np.testing.assert_allclose(trustworthiness_of_rows(x, z, 6, rows, shared), full[rows],
                               rtol=0, atol=1e-12)


def test_subsample_bootstrap_se_is_the_subsamples_standard_error():
    rng = np.random.default_rng(1)
    n, rows = 4000, subsample_rows(4000, 400, seed=0)
    values = rng.normal(0.9, 0.05, len(rows))
    statistic = MeanOverSubsample(values, rows, n)
    assert statistic(np.arange(n)) == pytest.approx(values.mean(), rel=1e-12)
    on = replicates(statistic, resamples(n, 2000, seed=0))
    assert np.std(on, ddof=1) == pytest.approx(standard_error(values), rel=0.1)


def _compare(x_test, codes, cap):
    rng = np.random.default_rng(2)
    splits = {"x_test": x_test, "y_test": np.arange(len(x_test)) % 3,
              "x_train": rng.normal(size=(60, x_test.shape[1])), "y_train": np.arange(60) % 3}
    train = {m: {"z_train": rng.normal(size=(60, 3)), **c} for m, c in codes.items()}
    return compare_methods(splits, train, {}, {}, knn_neighbors=3, trustworthiness_neighbors=5,
                           active_unit_threshold=0.01, collapse_min_active_fraction=0.5, seed=0,
                           bootstrap_samples=200, trustworthiness_max_points=cap)


def test_trustworthiness_at_or_below_the_cap_is_the_whole_sets():
    x, z = _points()
    codes = {"pca": {"z_test": z}, "ae": {"z_test": x[:, 4:7]}}
    uncapped, _ = _compare(x, codes, 0)
    capped, _ = _compare(x, codes, len(x))
    for m in codes:
        for key in ("trustworthiness", "trustworthiness_ci_low", "trustworthiness_ci_high"):
            assert capped[m][key] == uncapped[m][key]
        assert capped[m]["trustworthiness"] == pytest.approx(
            trustworthiness_per_point(x, codes[m]["z_test"], 5).mean(), abs=1e-12)
        assert capped[m]["trustworthiness_n_points"] == len(x)


def test_above_the_cap_every_method_scores_the_same_subsample():
    x, z = _points()
    codes = {"pca": {"z_test": z}, "ae": {"z_test": x[:, 4:7]}}
    table, _ = _compare(x, codes, 120)
    rows = subsample_rows(len(x), 120, seed=0)
    for m in codes:
        expected = trustworthiness_per_point(x, codes[m]["z_test"], 5)[rows].mean()
        assert table[m]["trustworthiness"] == pytest.approx(expected, abs=1e-12)
        assert table[m]["trustworthiness_n_points"] == 120
        assert table[m]["trustworthiness_se"] > 0
    p = LatentStatsParams(knn_neighbors=3, trustworthiness_neighbors=5, plot_points=10, seed=0,
                          trustworthiness_max_points=120)
    protocol = verdict_record({}, p, {"x_test": x})["protocol"]
    assert protocol["trustworthiness_subsampled"] is True
    assert protocol["trustworthiness_n_points"] == 120
    assert "120 of the 300" in protocol["trustworthiness_method"]


# ---------------------------------------------------------------- IWAE log p(x)


def _vae():
    from latentlab.models import build_model

    torch.manual_seed(0)
    return build_model("vae", 16, (8,), 2, "relu")


def _evaluate(cap):
    return EvaluateParams(iwae_samples=8, interpolation_steps=2, grid_steps=2, max_batch_mb=4.0,
                          num_threads=1, seed=0, iwae_max_images=cap)


CONFIG = {"likelihood": "bernoulli", "gaussian_std": 0.1}


def test_iwae_at_or_below_the_cap_uses_every_image():
    x = np.random.default_rng(0).random((150, 16)).astype(np.float32)
    uncapped = vae_log_px(_vae(), CONFIG, x, _evaluate(0))
    capped = vae_log_px(_vae(), CONFIG, x, _evaluate(150))
    assert capped == {**uncapped, "subsample_rule": capped["subsample_rule"]}
    assert capped["n_images"] == capped["n_test"] == 150 and not capped["subsampled"]


def test_iwae_above_the_cap_scores_the_seeded_subsample_with_its_se():
    from latentlab.analysis.evaluate import model_log_likelihood
    from latentlab.analysis.iwae import iwae_bound

    x = np.random.default_rng(0).random((500, 16)).astype(np.float32)
    model = _vae()
    out = vae_log_px(model, CONFIG, x, _evaluate(120))
    rows = subsample_rows(500, 120, seed=0)
    log_px, elbo = iwae_bound(model.encode, model_log_likelihood(model, "bernoulli", 0.1),
                              torch.as_tensor(x[rows]), 8, seed=0, max_batch_mb=4.0)
    assert out["n_images"] == 120 and out["n_test"] == 500 and out["subsampled"]
    assert out["log_px_nats"] == pytest.approx(float(log_px.mean()), rel=1e-6)
    assert out["log_px_se_nats"] == pytest.approx(standard_error(log_px.double().numpy()),
                                                  rel=1e-6)
    assert out["gap_se_nats"] == pytest.approx(
        standard_error((log_px - elbo).double().numpy()), rel=1e-6)
    assert "120 of 500" in out["subsample_rule"]
