"""What only a trained decoder can show: log p(x) by importance sampling, and manifold walks.

Runs after training, on the saved models, so the number of importance samples
or interpolation steps can change without retraining anything. On a test set
larger than ``evaluate.iwae_max_images`` the IWAE estimate scores a seeded
simple random subsample of that many images (:mod:`latentlab.analysis.subsample`)
and says so, with the standard error of each mean over the images it scored.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from latentlab.analysis.iwae import iwae_bound
from latentlab.analysis.subsample import is_subsample, rule, standard_error, subsample_rows
from latentlab.analysis.walks import decode, interpolate, pick_pair, prior_quantile_grid
from latentlab.params import EvaluateParams
from latentlab.train.losses import reconstruction_nll


def model_log_likelihood(model: torch.nn.Module, likelihood: str, gaussian_std: float):
    """log p(x|z) of a trained decoder, for z of shape (n, k, latent_dim) → (n, k)."""

    def log_likelihood(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x_logits = model.decode(z)  # (n, k, features)
        x_rep = x[:, None].expand_as(x_logits)
        return -reconstruction_nll(x_logits, x_rep, likelihood, gaussian_std)

    return log_likelihood


def vae_log_px(model: torch.nn.Module, config: dict, x: np.ndarray, p: EvaluateParams) -> dict:
    """Means of the IWAE log p(x), the same-sample ELBO and their gap over the test images, nats.

    Scored on every test image, or on a seeded simple random subsample of
    ``p.iwae_max_images`` of them where the test set is larger
    (:func:`~latentlab.analysis.subsample.subsample_rows`). Each mean comes with
    its standard error over the images scored, sd / √m (``*_se_nats``,
    :func:`~latentlab.analysis.subsample.standard_error`); the gap's is paired
    (the SE of the per-image gaps), hence far smaller than log p(x)'s.

    Returns
    -------
    dict with the means, their SEs, ``n_images`` (scored), ``n_test`` (available),
    ``subsampled`` and ``subsample_rule`` (text).
    """
    rows = subsample_rows(len(x), p.iwae_max_images, p.seed)
    subsampled = is_subsample(rows, len(x))
    scored = x[rows] if subsampled else x  # at or below the cap: every image, in order
    x_t = torch.as_tensor(scored, dtype=torch.float32, device=next(model.parameters()).device)
    log_px, elbo = iwae_bound(model.encode,
                              model_log_likelihood(model, config["likelihood"],
                                                   config["gaussian_std"]),
                              x_t, p.iwae_samples, seed=p.seed, max_batch_mb=p.max_batch_mb)
    gap = log_px - elbo
    log_px_np, elbo_np, gap_np = (t.double().cpu().numpy() for t in (log_px, elbo, gap))
    return {
        "iwae_samples": p.iwae_samples,
        "log_px_nats": float(log_px.mean()),
        "elbo_k_nats": float(elbo.mean()),
        "gap_nats": float(gap.mean()),
        "gap_min_nats": float(gap.min()),  # ≥ 0 by Jensen, for every example
        "log_px_bits_per_dim": float(-log_px.mean()) / (x.shape[1] * math.log(2.0)),
        "log_px_se_nats": standard_error(log_px_np),
        "elbo_k_se_nats": standard_error(elbo_np),
        "gap_se_nats": standard_error(gap_np),
        "n_images": int(len(rows)),
        "n_test": int(len(x)),
        "subsampled": bool(subsampled),
        "subsample_rule": rule(len(x), p.iwae_max_images, p.seed),
    }


def walks(model: torch.nn.Module, z_test: np.ndarray, y_test: np.ndarray,
          p: EvaluateParams) -> dict[str, np.ndarray]:
    """Decoded interpolation between two test codes of different classes; a prior grid if 2-D.

    Returns
    -------
    dict with ``interpolation`` (steps, features) and, for a 2-D latent space,
    ``prior_grid`` (grid_steps², features).
    """
    a, b = pick_pair(y_test)
    out = {"interpolation": decode(model, interpolate(z_test[a], z_test[b],
                                                      p.interpolation_steps))}
    if z_test.shape[1] == 2:
        out["prior_grid"] = decode(model, prior_quantile_grid(p.grid_steps))
    return out
