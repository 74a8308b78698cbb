"""Importance-weighted estimates of log p(x) for a gaussian encoder (Burda et al. 2016).

With K samples z_k ~ q(z|x) and log-weights
w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x),

    log p̂_K(x) = logsumexp_k(w_k) − log K      (the IWAE bound, ↑ log p(x) as K → ∞)
    ELBO_K(x)  = mean_k(w_k)                    (the ELBO with the same samples)

and log p̂_K(x) ≥ ELBO_K(x) for every sample set (Jensen), so the reported
variational gap log p(x) − ELBO ≈ KL(q(z|x) ‖ p(z|x)) is never negative.
The model enters through two callables, so a model with a closed-form
log p(x) (a linear-gaussian one) can check the estimator.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from latentlab.train.losses import LOG_2PI

Encode = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last axis."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def diagonal_gaussian_log_density(z: torch.Tensor, mu: torch.Tensor,
                                  logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last axis (broadcasts)."""
    return -0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + LOG_2PI).sum(-1)


@torch.no_grad()
def importance_log_weights(encode: Encode, log_likelihood: LogLikelihood, x: torch.Tensor,
                           k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The log-weights w of shape (n, k) for a batch ``x`` of shape (n, features).

    ``log_likelihood(x, z)`` takes x of shape (n, features) and z of shape
    (n, k, latent_dim) and returns log p(x|z) of shape (n, k), nats.
    """
    mu, logvar = encode(x)
    eps = torch.randn((len(x), k, mu.shape[-1]), generator=generator, dtype=mu.dtype,
                      device=mu.device)
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps  # (n, k, latent_dim)
    log_q = diagonal_gaussian_log_density(z, mu[:, None], logvar[:, None])
    return log_likelihood(x, z) + standard_normal_log_density(z) - log_q


def images_per_chunk(k: int, features: int, latent_dim: int, max_batch_mb: float) -> int:
    """How many images fit one chunk: the (n, k, features) logits dominate memory (float32)."""
    per_image = k * (features + 3 * latent_dim) * 4 * 3  # logits, their loss terms, z and eps
    return max(1, int(max_batch_mb * 2**20 // per_image))


@torch.no_grad()
def iwae_bound(encode: Encode, log_likelihood: LogLikelihood, x: torch.Tensor, k: int,
               seed: int, max_batch_mb: float = 256.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example IWAE estimate of log p(x) and the same-sample ELBO, nats.

    Parameters
    ----------
    x : Tensor of shape (n, features)
    k : int
        Importance samples per example.
    max_batch_mb : float
        Memory cap for one chunk of images × samples.

    Returns
    -------
    log_px, elbo : Tensors of shape (n,); ``log_px >= elbo`` elementwise.
    """
    generator = torch.Generator(device=x.device).manual_seed(seed)
    latent_dim = encode(x[:1])[0].shape[-1]
    step = images_per_chunk(k, x.shape[1], latent_dim, max_batch_mb)
    log_px, elbo = [], []
    for start in range(0, len(x), step):
        w = importance_log_weights(encode, log_likelihood, x[start:start + step], k, generator)
        log_px.append(torch.logsumexp(w, dim=1) - math.log(k))
        elbo.append(w.mean(dim=1))
    return torch.cat(log_px), torch.cat(elbo)
