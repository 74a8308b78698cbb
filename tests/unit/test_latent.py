"""Latent statistics: moments, KL of the gaussian fit to the prior, 2-D projection."""

import numpy as np
import pytest

from latentlab.latent import diagonal_gaussian_kl_to_standard_normal, project_2d, summarize_codes


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
