"""Latent statistics: moments, KL of the gaussian fit to the prior, 2-D projection."""

import numpy as np
import pytest

from latentlab.analysis.latent import (
    diagonal_gaussian_kl_to_standard_normal,
    project_2d,
    summarize_codes,
)


def test_kl_of_the_prior_itself_is_zero():
    assert diagonal_gaussian_kl_to_standard_normal(np.zeros(4), np.ones(4)) == 0.0


def test_kl_known_value():
    # mean 2, var 1 in one dimension: 0.5 * 4 = 2 nats
    assert diagonal_gaussian_kl_to_standard_normal([2.0], [1.0]) == pytest.approx(2.0)


def test_prior_samples_score_near_zero_and_shifted_codes_do_not():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((20000, 5))
    assert summarize_codes(z)["latent_kl_to_prior_nats"] < 0.01
    far = summarize_codes(3 * z + 5)
    assert far["latent_kl_to_prior_nats"] > 50 and far["latent_mean_abs"] == pytest.approx(5, 0.02)


def test_project_2d_keeps_distances_of_planar_data():
    rng = np.random.default_rng(1)
    plane = rng.standard_normal((100, 2)) * [3.0, 1.0]
    z = np.column_stack([plane, np.zeros((100, 3))]) @ np.linalg.qr(rng.standard_normal((5, 5)))[0]
    xy = project_2d(z)
    d_in = np.linalg.norm(z[:, None] - z[None], axis=-1)
    d_out = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.testing.assert_allclose(d_in, d_out, atol=1e-8)


def test_project_2d_sign_is_canonical():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((50, 4)) * [4, 2, 1, 0.5]
    np.testing.assert_allclose(project_2d(-z), -project_2d(z), atol=1e-9)


def test_aggregate_posterior_adds_the_posterior_variance():
    rng = np.random.default_rng(3)
    mu = rng.standard_normal((5000, 3)) * 0.6  # Var(mu) = 0.36
    logvar = np.full_like(mu, np.log(0.64))   # E[sigma^2] = 0.64, so Var(z) = 1
    means_only = summarize_codes(mu)
    aggregate = summarize_codes(mu, logvar)
    assert aggregate["latent_var_mean"] == pytest.approx(1.0, abs=0.03)
    assert aggregate["latent_kl_to_prior_nats"] < 0.01 < means_only["latent_kl_to_prior_nats"]


def test_an_encoder_that_outputs_the_prior_has_zero_kl_no_active_units_and_no_information():
    from latentlab.analysis.latent import vae_statistics

    mu, logvar = np.zeros((300, 4)), np.zeros((300, 4))
    stats = vae_statistics(mu, logvar, active_threshold=0.01, seed=0)
    assert stats["kl_nats"] == 0.0 and stats["kl_per_dim_nats"] == [0.0] * 4
    assert stats["active_units"] == 0
    assert abs(stats["mutual_information_nats"]) < 1e-12


def test_an_informative_encoder_has_active_units_and_information():
    from latentlab.analysis.latent import active_units, per_dimension_kl, vae_statistics

    rng = np.random.default_rng(0)
    mu = np.column_stack([rng.standard_normal(500) * 2, np.zeros(500)])  # dim 1 collapsed
    logvar = np.column_stack([np.full(500, np.log(0.01)), np.zeros(500)])
    assert active_units(mu, 0.01).tolist() == [True, False]
    kl = per_dimension_kl(mu, logvar)
    assert kl[1] == 0.0 and kl[0] > 1.0
    stats = vae_statistics(mu, logvar, active_threshold=0.01, seed=0)
    assert 1.0 < stats["mutual_information_nats"] <= stats["mutual_information_max_nats"]
    assert stats["kl_minus_mi_nats"] >= -0.05  # KL = I(x;z) + KL(q(z)||p(z)) >= I(x;z)


def test_full_covariance_fit_sees_correlations_the_diagonal_fit_misses():
    from latentlab.analysis.latent import aggregate_moments, gaussian_fit_kl_to_prior

    rng = np.random.default_rng(4)
    u = rng.standard_normal(20000)
    z = np.column_stack([u, u + 0.05 * rng.standard_normal(20000)])  # unit variances, corr ~1
    summary = summarize_codes(z)
    assert summary["latent_kl_to_prior_diag_nats"] < 0.01
    assert summary["latent_kl_to_prior_nats"] > 1.0
    mean, cov = aggregate_moments(z)
    assert gaussian_fit_kl_to_prior(mean, cov) == summary["latent_kl_to_prior_nats"]


def test_bernoulli_cross_entropy_is_entropy_plus_kl_and_the_floor_is_the_entropy():
    from latentlab.analysis.latent import bernoulli_decomposition

    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (50, 16))
    recon = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    d = bernoulli_decomposition(x, recon)
    expected = d["data_entropy_nats"] + d["recon_kl_nats"]
    assert d["recon_cross_entropy_nats"] == pytest.approx(expected)
    assert d["recon_kl_nats"] > 0
    perfect = bernoulli_decomposition(x, x)
    assert perfect["recon_kl_nats"] == pytest.approx(0.0, abs=1e-9)
    assert perfect["recon_cross_entropy_nats"] == pytest.approx(perfect["data_entropy_nats"])
    binary = bernoulli_decomposition(np.round(x), np.round(x))
    assert binary["data_entropy_nats"] == 0.0  # binary pixels: the floor is 0


def test_posterior_identities_hold_and_kl_is_asymmetric():
    from latentlab.analysis.latent import posterior_prior_identities

    rng = np.random.default_rng(6)
    mu, logvar = rng.normal(0, 1, (40, 3)), rng.normal(-1, 0.5, (40, 3))
    ids = posterior_prior_identities(mu, logvar)
    assert ids["posterior_cross_entropy_nats"] == pytest.approx(
        ids["posterior_entropy_nats"] + ids["kl_q_p_nats"])
    assert ids["kl_q_p_nats"] > 0 and ids["kl_p_q_nats"] > 0
    assert abs(ids["kl_q_p_nats"] - ids["kl_p_q_nats"]) > 0.1


def test_covariance_rows_hold_the_aggregate_posterior_moments():
    from latentlab.analysis.latent_stats import covariance_rows

    rng = np.random.default_rng(7)
    mu = rng.standard_normal((400, 2)) * [0.5, 0.8]
    logvar = np.log(np.full((400, 2), [0.75, 0.36]))
    rows = covariance_rows({"vae": {"z_test": mu, "logvar_test": logvar},
                            "ae": {"z_test": mu * 3}})
    cov = {(m, i, j): c for m, i, j, _, c in rows}
    assert cov[("vae", 0, 0)] == pytest.approx(mu[:, 0].var() + 0.75)
    assert cov[("vae", 0, 1)] == pytest.approx(np.cov(mu.T, bias=True)[0, 1])
    assert cov[("ae", 1, 1)] == pytest.approx(9 * mu[:, 1].var())
    assert len(rows) == 2 * 4


def test_collapse_is_flagged_for_an_encoder_that_returns_the_prior_and_not_for_a_healthy_one():
    from latentlab.analysis.latent import collapse_diagnosis

    prior = collapse_diagnosis(np.zeros((200, 6)), np.zeros((200, 6)), active_threshold=0.01,
                               min_active_fraction=0.5)
    assert prior["posterior_collapse"] and prior["active_units"] == 0
    assert prior["low_kl_dims"] == 6 and prior["collapse_message"].startswith("posterior collapse")
    rng = np.random.default_rng(8)
    healthy = collapse_diagnosis(rng.standard_normal((200, 6)), np.full((200, 6), -2.0),
                                 active_threshold=0.01, min_active_fraction=0.5)
    assert not healthy["posterior_collapse"] and healthy["active_units"] == 6
    assert healthy["collapse_message"].startswith("no posterior collapse: 6 of 6")


def test_embedding_rows_are_a_seeded_subsample_in_index_order():
    from latentlab.analysis.latent_stats import embedding_rows

    rng = np.random.default_rng(9)
    z, y = rng.standard_normal((500, 4)), rng.integers(0, 10, 500)
    rows = embedding_rows(z, y, max_points=100, seed=0)
    assert len(rows) == 100 and rows == embedding_rows(z, y, max_points=100, seed=0)
    index = [r[0] for r in rows]
    assert index == sorted(index) and all(r[3] == y[r[0]] for r in rows)
    assert len(embedding_rows(z, y, max_points=1000, seed=0)) == 500


def test_bernoulli_decomposition_in_chunks_of_rows_is_bitwise_the_whole_array(monkeypatch):
    from latentlab.analysis import latent as latent_module

    rng = np.random.default_rng(3)
    x, x_mean = rng.random((2500, 30)), rng.random((2500, 30))
    chunked = latent_module.bernoulli_decomposition(x, x_mean)  # 3 chunks of ≤ 1024 rows
    monkeypatch.setattr(latent_module, "ROWS_PER_CHUNK", 10_000)
    assert latent_module.bernoulli_decomposition(x, x_mean) == chunked
