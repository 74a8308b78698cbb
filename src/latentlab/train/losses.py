"""Loss terms, per example, in nats.

Convention (one for the whole project): every term is a sum over the pixels of
one example and is returned with shape ``(batch,)``; the caller takes the mean
over the batch. ``recon`` is the reconstruction negative log-likelihood
−log p(x|z) ≥ 0 for the Bernoulli likelihood, ``kl`` is KL(q(z|x) ‖ p(z)) ≥ 0,
and ``elbo = −recon − kl`` is the evidence lower bound on log p(x). β weighs
only the training objective, never the reported ELBO.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)


class ElboTerms(NamedTuple):
    """Per-example terms, each a Tensor of shape (batch,), in nats."""

    recon: torch.Tensor  # −E_q[log p(x|z)], one sample
    kl: torch.Tensor  # KL(q(z|x) ‖ N(0, I)), analytic
    elbo: torch.Tensor  # −recon − kl


def reconstruction_nll(
    x_logits: torch.Tensor, x: torch.Tensor, likelihood: str, gaussian_std: float = 1.0
) -> torch.Tensor:
    """−log p(x|z) per example, from the decoder's logits.

    Parameters
    ----------
    x_logits : Tensor of shape (batch, features)
        Decoder outputs; the pixel mean is ``sigmoid(x_logits)``.
    x : Tensor of shape (batch, features)
        Targets in [0, 1].
    likelihood : {"bernoulli", "gaussian"}
        ``bernoulli``: binary cross-entropy with logits. On grey levels in (0, 1)
        this evaluates the Bernoulli pmf at non-binary x: a common relaxation,
        not a normalised density, and the report says so.
        ``gaussian``: N(x; sigmoid(x_logits), gaussian_std²) per pixel, with the
        normalising constant, so the value is a true negative log density.

    Returns
    -------
    Tensor of shape (batch,), nats per example.
    """
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").sum(-1)
    if likelihood == "gaussian":
        mean = torch.sigmoid(x_logits)
        var = gaussian_std**2
        per_pixel = 0.5 * ((x - mean) ** 2 / var + math.log(var) + LOG_2PI)
        return per_pixel.sum(-1)
    raise ValueError(f"unknown likelihood {likelihood!r}")


def gaussian_kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) ‖ N(0, I)) per example, closed form (Kingma & Welling, App. B).

    KL = ½ Σ_i (mu_i² + σ_i² − log σ_i² − 1).

    Returns
    -------
    Tensor of shape (batch,), nats.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(-1)


def elbo_terms(
    x_logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    likelihood: str,
    gaussian_std: float = 1.0,
) -> ElboTerms:
    """The ELBO and its two terms for one reparameterised sample per example."""
    recon = reconstruction_nll(x_logits, x, likelihood, gaussian_std)
    kl = gaussian_kl_to_standard_normal(mu, logvar)
    return ElboTerms(recon=recon, kl=kl, elbo=-recon - kl)


def vae_objective(terms: ElboTerms, beta: float) -> torch.Tensor:
    """The training loss, a scalar: mean over the batch of recon + β·KL (β = 1: −ELBO)."""
    return (terms.recon + beta * terms.kl).mean()
