"""Bootstrap intervals and verdicts: known answers, paired beats marginal, ties and exclusions."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.analysis.intervals import (
    mean_statistic,
    percentile_interval,
    replicates,
    resamples,
)
from latentlab.analysis.latent_stats import compare_methods
from latentlab.analysis.metrics import trustworthiness, trustworthiness_per_point
from latentlab.analysis.verdict import decide, exclusions


def test_resamples_are_seeded_and_cover_the_rows():
    a, b = resamples(50, 200, seed=3), resamples(50, 200, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (200, 50) and a.min() == 0 and a.max() == 49
    assert not np.array_equal(a, resamples(50, 200, seed=4))
    with pytest.raises(ValueError, match="at least 2"):
        resamples(1, 10, seed=0)


def test_the_interval_of_a_proportion_matches_its_normal_approximation():
    correct = np.zeros(400)
    correct[:200] = 1.0  # accuracy 0.5 on 400 items: standard error 0.025
    low, high = percentile_interval(replicates(mean_statistic(correct), resamples(400, 4000, 0)),
                                    0.95)
    assert low == pytest.approx(0.5 - 1.96 * 0.025, abs=0.006)
    assert high == pytest.approx(0.5 + 1.96 * 0.025, abs=0.006)


def test_a_generic_statistic_is_computed_per_resample():
    values = np.arange(10.0)
    rows = resamples(10, 50, 0)
    np.testing.assert_allclose(replicates(lambda r: float(np.median(values[r])), rows),
                               np.median(values[rows], axis=1))


def test_a_paired_difference_is_decided_where_marginal_intervals_overlap():
    # B gets right exactly what A does, plus 12 more of 300 items: marginal intervals overlap
    # widely, yet on every resample B is ahead, so the paired interval excludes zero
    a = np.zeros(300)
    a[:150] = 1.0
    b = a.copy()
    b[150:162] = 1.0
    rows = resamples(300, 1000, 0)
    on = {m: replicates(mean_statistic(v), rows) for m, v in (("a", a), ("b", b))}
    a_low, a_high = percentile_interval(on["a"], 0.95)
    b_low, b_high = percentile_interval(on["b"], 0.95)
    assert b_low < a_high  # the marginal intervals overlap
    verdict = decide({"a": a.mean(), "b": b.mean()}, on, "max", 0.95)
    assert verdict["top"] == "b" and verdict["decided"] and verdict["leaders"] == ["b"]
    assert verdict["differences"]["a"]["low"] > 0


def test_an_exact_tie_names_both_leaders_alike_and_decides_nothing():
    x = np.array([1.0, 0.0, 1.0, 1.0, 0.0] * 20)
    rows = resamples(100, 500, 0)
    on = {m: replicates(mean_statistic(x), rows) for m in ("pca", "ae")}
    verdict = decide({"pca": 0.6, "ae": 0.6}, on, "max", 0.95)
    assert verdict["leaders"] == ["pca", "ae"] and not verdict["decided"]
    assert verdict["differences"]["ae"] == {"low": 0.0, "high": 0.0}


def test_lower_is_better_flips_the_sign_of_the_differences():
    rng = np.random.default_rng(0)
    small, large = rng.random(200) * 0.01, rng.random(200) * 0.01 + 0.05
    rows = resamples(200, 500, 0)
    on = {m: replicates(mean_statistic(v), rows) for m, v in (("ae", small), ("vae", large))}
    verdict = decide({"vae": large.mean(), "ae": small.mean()}, on, "min", 0.95)
    assert verdict["ranked"] == ["ae", "vae"] and verdict["decided"]
    assert verdict["differences"]["vae"]["low"] > 0  # positive: the top is better


def test_tsne_is_never_ranked_and_a_collapsed_vae_never_crowned_on_the_prior():
    table = {"pca": {"knn_accuracy": 0.9, "latent_kl_to_prior_nats": 2.0},
             "tsne": {"knn_accuracy": 0.99, "latent_kl_to_prior_nats": 600.0},
             "vae": {"knn_accuracy": 0.5, "latent_kl_to_prior_nats": 0.001}}
    assert exclusions("knn_accuracy", table, collapsed=True) == {"tsne": "transductive"}
    assert exclusions("latent_kl_to_prior_nats", table, collapsed=True) == {
        "tsne": "transductive", "vae": "collapsed"}
    assert exclusions("latent_kl_to_prior_nats", table, collapsed=False) == {
        "tsne": "transductive"}
    assert exclusions("recon_mse", {"tsne": {}, "ae": {"recon_mse": 0.1}}, False) == {
        "tsne": "no_value"}


def test_per_point_trustworthiness_averages_to_scikit_learns():
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    rng = np.random.default_rng(1)
    x = rng.random((120, 16))
    z = x[:, :3] + 0.05 * rng.random((120, 3))
    per_point = trustworthiness_per_point(x, z, 7)
    assert per_point.shape == (120,) and per_point.max() <= 1.0
    assert trustworthiness(x, z, 7) == pytest.approx(sk_trustworthiness(x, z, n_neighbors=7),
                                                     abs=1e-12)
    assert np.all(trustworthiness_per_point(x, x * 3.0, 7) == 1.0)  # an isometry up to scale


def _splits_and_codes(collapsed_vae: bool):
    rng = np.random.default_rng(0)
    y_train, y_test = np.arange(120) % 3, np.arange(60) % 3
    x_train = (rng.random((120, 6)) + y_train[:, None]) / 3.0  # pixels in [0, 1]
    x_test = (rng.random((60, 6)) + y_test[:, None]) / 3.0
    splits = {"x_train": x_train, "x_test": x_test, "y_train": y_train, "y_test": y_test}
    good = {"z_train": x_train[:, :3], "z_test": x_test[:, :3], "recon_test": x_test}
    # a VAE whose means are ~0 and variances ~1 everywhere: collapsed, yet closest to N(0, I)
    mu_tr, mu_te = 1e-3 * rng.standard_normal((120, 4)), 1e-3 * rng.standard_normal((60, 4))
    vae = {"z_train": mu_tr, "z_test": mu_te, "logvar_test": np.zeros((60, 4)),
           "recon_test": np.full_like(x_test, x_test.mean())}
    if not collapsed_vae:
        vae.update(z_train=3 * x_train[:, :4] - 1.5, z_test=3 * x_test[:, :4] - 1.5,
                   logvar_test=np.full((60, 4), -2.0), recon_test=x_test)
    tsne_rows = np.arange(0, 60, 2)
    tsne = {"z_train": y_train[:, None] * 10.0 + rng.random((120, 2)),
            "z_test": y_test[tsne_rows, None] * 10.0 + rng.random((30, 2)),
            "index_train": np.arange(120), "index_test": tsne_rows}
    return splits, {"pca": good, "tsne": tsne, "ae": dict(good), "vae": vae}


def _compare(splits, codes):
    vae_test = {"recon": 1.0, "kl": 1.0, "elbo": -2.0, "bits_per_dim": 0.1}
    log_px = {"log_px_nats": -1.9, "log_px_bits_per_dim": 0.1, "gap_nats": 0.1,
              "iwae_samples": 10}
    return compare_methods(splits, codes, vae_test, log_px, knn_neighbors=3,
                           trustworthiness_neighbors=3, active_unit_threshold=0.01,
                           collapse_min_active_fraction=0.5, seed=0, bootstrap_samples=300)


def test_the_comparison_carries_intervals_and_its_verdict_ranks_only_beyond_noise():
    table, verdict = _compare(*_splits_and_codes(collapsed_vae=True))
    for method in ("pca", "ae", "vae"):
        row = table[method]
        for key in ("knn_accuracy", "trustworthiness", "recon_mse", "latent_kl_to_prior_nats"):
            assert row[f"{key}_ci_low"] <= row[f"{key}_ci_high"]
    assert table["tsne"]["knn_accuracy"] == 1.0  # separated classes, on its own 30 points
    knn = verdict["knn_accuracy"]
    assert knn["excluded"] == {"tsne": "transductive"} and "tsne" not in knn["ranked"]
    assert knn["leaders"][:2] == ["pca", "ae"] and not knn["decided"]  # identical codes: tied
    prior = verdict["latent_kl_to_prior_nats"]
    assert table["vae"]["posterior_collapse"]
    assert table["vae"]["latent_kl_to_prior_nats"] < table["pca"]["latent_kl_to_prior_nats"]
    assert prior["excluded"]["vae"] == "collapsed" and prior["top"] != "vae"
    _, healthy = _compare(*_splits_and_codes(collapsed_vae=False))
    assert "vae" in healthy["latent_kl_to_prior_nats"]["ranked"]
