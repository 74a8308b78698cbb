"""Known answers for the loss terms: closed-form KL, the ELBO of a tiny model by hand."""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from latentlab.train.losses import (
    elbo_terms,
    gaussian_kl_to_standard_normal,
    reconstruction_nll,
    vae_objective,
)


def test_gaussian_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(7, 5, generator=gen) * 2
    logvar = torch.randn(7, 5, generator=gen)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl_to_standard_normal(mu, logvar), expected)


def test_gaussian_kl_is_zero_at_the_prior_and_positive_elsewhere():
    zero = gaussian_kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4))
    assert torch.all(zero == 0)
    away = gaussian_kl_to_standard_normal(torch.full((3, 4), 0.1), torch.full((3, 4), -0.2))
    assert torch.all(away > 0)


def test_gaussian_kl_known_value():
    # one dimension, mu = 1, sigma^2 = e: 0.5 * (1 + e - 1 - 1) = 0.5 * (e - 1)
    kl = gaussian_kl_to_standard_normal(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert kl.item() == pytest.approx(0.5 * (math.e - 1.0))


def test_bernoulli_nll_by_hand():
    x = torch.tensor([[1.0, 0.0, 1.0]])
    logits = torch.tensor([[0.0, 2.0, -1.0]])
    p = torch.sigmoid(logits)[0]
    by_hand = -(math.log(p[0]) + math.log(1 - p[1]) + math.log(p[2]))
    assert reconstruction_nll(logits, x, "bernoulli").item() == pytest.approx(by_hand, rel=1e-6)


def test_gaussian_nll_by_hand():
    x = torch.tensor([[0.2, 0.9]])
    logits = torch.tensor([[0.0, 0.0]])  # mean 0.5
    std = 0.1
    by_hand = sum(0.5 * ((v - 0.5) / std) ** 2 + math.log(std) + 0.5 * math.log(2 * math.pi)
                  for v in (0.2, 0.9))
    assert reconstruction_nll(logits, x, "gaussian", std).item() == pytest.approx(by_hand, rel=1e-6)


def test_unknown_likelihood_is_rejected():
    with pytest.raises(ValueError, match="unknown likelihood"):
        reconstruction_nll(torch.zeros(1, 2), torch.zeros(1, 2), "poisson")


def test_elbo_of_a_tiny_model_by_hand():
    """A one-pixel, one-latent 'model': decoder logit = 2 z, z fixed by eps = 0."""
    x = torch.tensor([[1.0], [0.0]])
    mu = torch.tensor([[0.5], [-1.0]])
    logvar = torch.tensor([[0.0], [math.log(0.25)]])
    z = mu  # eps = 0
    logits = 2 * z
    terms = elbo_terms(logits, x, mu, logvar, "bernoulli")
    for i in range(2):
        p = 1 / (1 + math.exp(-logits[i, 0].item()))
        log_px_z = math.log(p) if x[i, 0] == 1 else math.log(1 - p)
        var = math.exp(logvar[i, 0].item())
        kl = 0.5 * (mu[i, 0].item() ** 2 + var - math.log(var) - 1)
        assert terms.recon[i].item() == pytest.approx(-log_px_z, rel=1e-6)
        assert terms.kl[i].item() == pytest.approx(kl, rel=1e-6)
        assert terms.elbo[i].item() == pytest.approx(log_px_z - kl, rel=1e-6)
    assert terms.elbo.shape == (2,)


def test_beta_weighs_only_the_objective():
    terms = elbo_terms(torch.zeros(4, 3), torch.ones(4, 3) * 0.5, torch.ones(4, 2),
                       torch.zeros(4, 2), "bernoulli")
    assert vae_objective(terms, 1.0).item() == pytest.approx(-terms.elbo.mean().item())
    assert vae_objective(terms, 4.0).item() == pytest.approx(
        (terms.recon + 4.0 * terms.kl).mean().item())
