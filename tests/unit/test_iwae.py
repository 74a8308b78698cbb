"""The importance-weighted log p(x) against a linear-gaussian model, where log p(x) is exact.

p(z) = N(0, I), p(x|z) = N(Wz + b, σ²I)  ⇒  p(x) = N(b, WWᵀ + σ²I), and the
exact posterior is N(S Wᵀ(x − b)/σ², S) with S = (I + WᵀW/σ²)⁻¹.
"""

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from latentlab.analysis.iwae import images_per_chunk, iwae_bound
from latentlab.train.losses import LOG_2PI

SIGMA = 0.5


def _model(w: torch.Tensor, b: torch.Tensor, posterior_scale: float = 1.0):
    d = w.shape[1]
    s = torch.linalg.inv(torch.eye(d, dtype=w.dtype) + w.T @ w / SIGMA**2)

    def encode(x):
        mu = (x - b) @ w @ s.T / SIGMA**2
        var = torch.diagonal(s) * posterior_scale  # exact when s is diagonal and scale 1
        return mu, torch.log(var).expand_as(mu)

    def log_likelihood(x, z):
        mean = z @ w.T + b  # (n, k, D)
        return -0.5 * (((x[:, None] - mean) / SIGMA) ** 2 + 2 * math.log(SIGMA) + LOG_2PI).sum(-1)

    def exact_log_px(x):
        cov = (w @ w.T + SIGMA**2 * torch.eye(len(b), dtype=w.dtype)).numpy()
        return multivariate_normal(mean=b.numpy(), cov=cov).logpdf(x.numpy())

    return encode, log_likelihood, exact_log_px


def _data(w, b, n=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, w.shape[1], generator=gen, dtype=w.dtype)
    return z @ w.T + b + SIGMA * torch.randn(n, len(b), generator=gen, dtype=w.dtype)


def _orthogonal_w(d_x=6, d_z=2):
    q, _ = torch.linalg.qr(torch.randn(d_x, d_x, generator=torch.Generator().manual_seed(1),
                                       dtype=torch.float64))
    return q[:, :d_z] * torch.tensor([2.0, 0.7], dtype=torch.float64)


def test_exact_posterior_gives_exact_log_px_and_zero_gap():
    w, b = _orthogonal_w(), torch.linspace(-1, 1, 6, dtype=torch.float64)
    encode, loglik, exact = _model(w, b)
    x = _data(w, b)
    log_px, elbo = iwae_bound(encode, loglik, x, k=3, seed=0)
    np.testing.assert_allclose(log_px.numpy(), exact(x), atol=1e-9)
    np.testing.assert_allclose(elbo.numpy(), exact(x), atol=1e-9)


def test_iwae_approaches_log_px_as_k_grows_with_an_approximate_posterior():
    w, b = _orthogonal_w(), torch.zeros(6, dtype=torch.float64)
    encode, loglik, exact = _model(w, b, posterior_scale=3.0)  # too wide: a real gap
    x = _data(w, b, n=60)
    truth = exact(x).mean()
    errors = {}
    for k in (1, 10, 1000):
        log_px, elbo = iwae_bound(encode, loglik, x, k=k, seed=0)
        assert torch.all(log_px >= elbo - 1e-12)  # the gap is never negative
        errors[k] = truth - log_px.mean().item()
    assert errors[1] > errors[10] > errors[1000] >= -0.01
    assert errors[1] > 0.3 and errors[1000] < 0.05


def test_chunking_changes_only_the_draws_and_the_same_seed_repeats_exactly():
    w, b = _orthogonal_w(), torch.zeros(6, dtype=torch.float64)
    encode, loglik, exact = _model(w, b, posterior_scale=2.0)
    x = _data(w, b, n=30)
    whole, _ = iwae_bound(encode, loglik, x, k=2000, seed=3, max_batch_mb=1e6)
    assert images_per_chunk(2000, 6, 2, 0.2) < 30  # several chunks
    chunked, _ = iwae_bound(encode, loglik, x, k=2000, seed=3, max_batch_mb=0.2)
    again, _ = iwae_bound(encode, loglik, x, k=2000, seed=3, max_batch_mb=0.2)
    assert torch.equal(chunked, again)
    assert abs(whole.mean().item() - chunked.mean().item()) < 0.01
    assert abs(chunked.mean().item() - exact(x).mean()) < 0.02


def test_images_per_chunk_respects_the_memory_cap():
    n = images_per_chunk(k=1000, features=784, latent_dim=20, max_batch_mb=256)
    assert n * 1000 * (784 + 60) * 4 * 3 <= 256 * 2**20 < (n + 1) * 1000 * (784 + 60) * 4 * 3


@pytest.mark.parametrize("k", [1, 7])
def test_output_shapes(k):
    w, b = _orthogonal_w(), torch.zeros(6, dtype=torch.float64)
    encode, loglik, _ = _model(w, b)
    log_px, elbo = iwae_bound(encode, loglik, _data(w, b, n=5), k=k, seed=0)
    assert log_px.shape == elbo.shape == (5,)
