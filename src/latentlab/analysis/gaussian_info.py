"""Information theory of gaussians: entropy, KL, cross-entropy, and I(x; z) of a VAE encoder.

Every quantity is in nats. The identities the report cites, each checked in
``tests/unit/test_info.py``:

* the ELBO's KL term is the closed form :func:`gaussian_kl` (Kingma & Welling 2014, App. B);
* H(q, p) = H(q) + KL(q ‖ p), as for discrete distributions (:mod:`latentlab.analysis.info`);
* I(x; z) = E_x KL(q(z|x) ‖ q(z)) ≤ log N for the aggregate posterior of N codes.

Conventions. Gaussians are diagonal, given by ``mu`` and ``logvar`` of shape
(..., d), except in :func:`gaussian_kl_full`; leading axes are a batch and
broadcast. All functions are pure and compute in float64; none imports torch.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

LOG_2PI = math.log(2.0 * math.pi)

SYMMETRY_TOL = 1e-8
"""Relative tolerance for a covariance matrix to count as symmetric."""

MI_CHUNK_ELEMENTS = 2**22
"""Default chunk of :func:`mutual_information_gaussian_encoder`: (draws × codes) floats, 32 MiB."""


# --------------------------------------------------------------------------- helpers


def _floats(**arrays) -> list[np.ndarray]:
    """The named arrays as float64, checked finite and broadcastable together."""
    out = [np.asarray(a, dtype=np.float64) for a in arrays.values()]
    for name, a in zip(arrays, out):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} has a non-finite value (nan or inf)")
    shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(arrays, out))
    try:
        shape = np.broadcast_shapes(*(a.shape for a in out))
    except ValueError:
        raise ValueError(f"shapes do not broadcast: {shapes}") from None
    if len(shape) == 0:
        raise ValueError(f"need a last axis of dimensions (..., d), got {shapes}")
    return out


# --------------------------------------------------------------------------- gaussians


def gaussian_entropy(logvar):
    """Differential entropy of N(mu, diag(exp(logvar))): ½ Σ_i (1 + log 2π + logvar_i).

    It does not depend on the mean, and it is negative for small variances.

    Parameters
    ----------
    logvar : array_like of shape (..., d)
        Log-variances.

    Returns
    -------
    float or ndarray of shape (...)
        H(N) in nats.
    """
    (logvar,) = _floats(logvar=logvar)
    return 0.5 * np.sum(1.0 + LOG_2PI + logvar, axis=-1)


def gaussian_kl(mu_q, logvar_q, mu_p=0.0, logvar_p=0.0):
    """KL(q ‖ p) between diagonal gaussians, closed form, summed over dimensions.

    KL = ½ Σ_i [logvar_p − logvar_q + (σ_q² + (mu_q − mu_p)²) / σ_p² − 1]
    (Kingma & Welling 2014, App. B, for p = N(0, I), the default).

    Parameters
    ----------
    mu_q, logvar_q : array_like of shape (..., d)
        Mean and log-variance of q.
    mu_p, logvar_p : array_like broadcastable to (..., d), default 0
        Mean and log-variance of p; the default p is N(0, I).

    Returns
    -------
    float or ndarray of shape (...)
        KL(q ‖ p) ≥ 0 in nats.
    """
    mu_q, logvar_q, mu_p, logvar_p = _floats(
        mu_q=mu_q, logvar_q=logvar_q, mu_p=mu_p, logvar_p=logvar_p
    )
    per_dim = (logvar_p - logvar_q
               + np.exp(logvar_q - logvar_p) + (mu_q - mu_p) ** 2 * np.exp(-logvar_p) - 1.0)
    return 0.5 * per_dim.sum(axis=-1)


def gaussian_cross_entropy(mu_q, logvar_q, mu_p=0.0, logvar_p=0.0):
    """Cross-entropy H(q, p) = −E_{z~q}[log p(z)] of diagonal gaussians = H(q) + KL(q ‖ p).

    Computed from its own closed form,
    ½ Σ_i [log 2π + logvar_p + (σ_q² + (mu_q − mu_p)²) / σ_p²],
    not as the sum, so that the identity is a check.

    Parameters
    ----------
    mu_q, logvar_q : array_like of shape (..., d)
        Mean and log-variance of q, the distribution z is drawn from.
    mu_p, logvar_p : array_like broadcastable to (..., d), default 0
        Mean and log-variance of p, the density evaluated; default N(0, I).

    Returns
    -------
    float or ndarray of shape (...)
        H(q, p) in nats.
    """
    mu_q, logvar_q, mu_p, logvar_p = _floats(
        mu_q=mu_q, logvar_q=logvar_q, mu_p=mu_p, logvar_p=logvar_p
    )
    per_dim = LOG_2PI + logvar_p + (np.exp(logvar_q) + (mu_q - mu_p) ** 2) * np.exp(-logvar_p)
    return 0.5 * per_dim.sum(axis=-1)


def _covariance(cov, name: str, d: int) -> np.ndarray:
    """``cov`` as float64, checked to be a stack of symmetric positive-definite (d, d) matrices."""
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim < 2 or cov.shape[-2:] != (d, d):
        raise ValueError(f"{name} must have shape (..., {d}, {d}), got {cov.shape}")
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{name} has a non-finite value (nan or inf)")
    scale = np.max(np.abs(cov), axis=(-2, -1), keepdims=True)
    if np.any(np.abs(cov - np.swapaxes(cov, -1, -2)) > SYMMETRY_TOL * scale):
        raise ValueError(f"{name} is not symmetric")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} is not positive definite") from None
    return cov


def gaussian_kl_full(mean_q, cov_q, mean_p=None, cov_p=None):
    """KL(q ‖ p) between full-covariance gaussians, closed form.

    KL = ½ [tr(Σ_p⁻¹ Σ_q) + (μ_p − μ_q)ᵀ Σ_p⁻¹ (μ_p − μ_q) − d + log det Σ_p − log det Σ_q],
    with Σ_p⁻¹ applied by ``solve`` and the determinants by ``slogdet``. For
    diagonal covariances it equals :func:`gaussian_kl`.

    Parameters
    ----------
    mean_q : array_like of shape (..., d)
        Mean of q.
    cov_q : array_like of shape (..., d, d)
        Covariance of q, symmetric positive definite.
    mean_p : array_like of shape (..., d), optional
        Mean of p; default 0.
    cov_p : array_like of shape (..., d, d), optional
        Covariance of p; default the identity.

    Returns
    -------
    float or ndarray of shape (...)
        KL(q ‖ p) ≥ 0 in nats.
    """
    mean_q = np.asarray(mean_q, dtype=np.float64)
    if mean_q.ndim == 0:
        raise ValueError(f"mean_q must have shape (..., d), got {mean_q.shape}")
    d = mean_q.shape[-1]
    mean_p = np.zeros(d) if mean_p is None else np.asarray(mean_p, dtype=np.float64)
    if mean_p.ndim == 0 or mean_p.shape[-1] != d:
        raise ValueError(f"mean_p must have shape (..., {d}), got {mean_p.shape}")
    if not (np.all(np.isfinite(mean_q)) and np.all(np.isfinite(mean_p))):
        raise ValueError("mean_q or mean_p has a non-finite value (nan or inf)")
    cov_q = _covariance(cov_q, "cov_q", d)
    cov_p = np.eye(d) if cov_p is None else _covariance(cov_p, "cov_p", d)

    diff = (mean_p - mean_q)[..., None]  # (..., d) -> (..., d, 1): solve wants a matrix
    batch = np.broadcast_shapes(diff.shape[:-2], cov_q.shape[:-2], cov_p.shape[:-2])
    cov_p = np.broadcast_to(cov_p, batch + (d, d))
    trace = np.trace(np.linalg.solve(cov_p, np.broadcast_to(cov_q, batch + (d, d))),
                     axis1=-2, axis2=-1)
    mahalanobis = np.sum(diff * np.linalg.solve(cov_p, np.broadcast_to(diff, batch + (d, 1))),
                         axis=(-2, -1))
    _, logdet_p = np.linalg.slogdet(cov_p)  # sign is +1: checked positive definite
    _, logdet_q = np.linalg.slogdet(cov_q)
    return 0.5 * (trace + mahalanobis - d + logdet_p - logdet_q)


# --------------------------------------------------------------------------- Monte Carlo


def gaussian_log_density(z, mu, logvar):
    """log N(z; mu, diag(exp(logvar))) = −½ Σ_i [log 2π + logvar_i + (z_i − mu_i)² / σ_i²].

    Parameters
    ----------
    z : array_like of shape (..., d)
        Points.
    mu, logvar : array_like broadcastable to (..., d)
        Mean and log-variance.

    Returns
    -------
    float or ndarray of shape (...)
        Log density in nats (per unit volume of z-space).
    """
    z, mu, logvar = _floats(z=z, mu=mu, logvar=logvar)
    per_dim = LOG_2PI + logvar + (z - mu) ** 2 * np.exp(-logvar)
    return -0.5 * per_dim.sum(axis=-1)


def monte_carlo_gaussian_kl(mu_q, logvar_q, mu_p, logvar_p, n_samples: int, seed: int):
    """Monte-Carlo estimate of KL(q ‖ p) = E_{z~q}[log q(z) − log p(z)] for diagonal gaussians.

    The estimate is the sample mean over ``n_samples`` draws z ~ q; its standard
    error is the sample standard deviation / √n_samples, so it shrinks as
    1/√n. It converges to :func:`gaussian_kl`; a VAE trained with a sampled
    KL term uses one such draw per example.

    Parameters
    ----------
    mu_q, logvar_q : array_like of shape (..., d)
        q, the distribution sampled from.
    mu_p, logvar_p : array_like broadcastable to (..., d)
        p.
    n_samples : int
        Number of draws, ≥ 2 (for the standard error).
    seed : int
        Seed of the numpy generator.

    Returns
    -------
    estimate : float or ndarray of shape (...)
        Estimated KL(q ‖ p) in nats.
    standard_error : float or ndarray of shape (...)
        Its standard error in nats.
    """
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer ≥ 2, got {n_samples!r}")
    mu_q, logvar_q, mu_p, logvar_p = _floats(
        mu_q=mu_q, logvar_q=logvar_q, mu_p=mu_p, logvar_p=logvar_p
    )
    shape = np.broadcast_shapes(mu_q.shape, logvar_q.shape)
    rng = np.random.default_rng(seed)
    z = mu_q + np.exp(0.5 * logvar_q) * rng.standard_normal((int(n_samples),) + shape)
    log_ratio = gaussian_log_density(z, mu_q, logvar_q) - gaussian_log_density(z, mu_p, logvar_p)
    # log_ratio: (n_samples, ...), one value per draw
    estimate = log_ratio.mean(axis=0)
    standard_error = log_ratio.std(axis=0, ddof=1) / math.sqrt(n_samples)
    return estimate, standard_error


def mutual_information_gaussian_encoder(
    mu, logvar, n_samples_per_x: int = 1, seed: int = 0, chunk_size: int | None = None
) -> float:
    """I(x; z) of a gaussian encoder under its aggregate posterior, Monte Carlo, in nats.

    With q(z) = (1/N) Σ_m q(z|x_m) the aggregate posterior of the N codes,

        I(x; z) = E_x E_{q(z|x)}[log q(z|x) − log q(z)] = E_x KL(q(z|x) ‖ q(z)),

    estimated with ``n_samples_per_x`` draws z ~ q(z|x_n) per code and
    log q(z) = logsumexp_m log q(z|x_m) − log N (Hoffman & Johnson 2016; the
    ``calc_mi`` of He et al. 2019). Unlike that code, log q(z|x_n) is evaluated
    at the same z rather than replaced by −H(q(z|x_n)): each term is then at
    most log N (the sum over m includes m = n), and it is exactly 0 when all
    q(z|x_m) are equal. So I ≈ 0 for a collapsed encoder and I ≤ log N always.

    The squared distances are expanded, Σ_i (z_i − mu_mi)² / σ_mi² =
    Σ z²/σ² − 2 Σ z mu/σ² + Σ mu²/σ², so a chunk costs two matrix products and
    chunk_size · N floats, never chunk_size · N · d. Codes are first centred on
    their mean (the estimate is translation invariant), which keeps the
    cancellation error near 1e-16 · (spread of the codes / smallest σ)² nats.

    Parameters
    ----------
    mu, logvar : array_like of shape (N, d)
        The encoder's means and log-variances for N inputs.
    n_samples_per_x : int
        Draws from each q(z|x_n).
    seed : int
        Seed of the draws, ``default_rng(seed).standard_normal((N, n_samples_per_x, d))``,
        taken all at once, so they do not depend on ``chunk_size``.
    chunk_size : int, optional
        Draws scored against all N components at once; memory is a few arrays
        of chunk_size · N floats. Default: ``MI_CHUNK_ELEMENTS // N``.

    Returns
    -------
    float
        Estimated I(x; z) in nats, in [≈0, log N].
    """
    mu, logvar = _floats(mu=mu, logvar=logvar)
    if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[0] == 0:
        raise ValueError(f"mu and logvar must both have shape (N, d) with N ≥ 1, "
                         f"got {mu.shape} and {logvar.shape}")
    if int(n_samples_per_x) != n_samples_per_x or n_samples_per_x < 1:
        raise ValueError(f"n_samples_per_x must be an integer ≥ 1, got {n_samples_per_x!r}")
    n, d = mu.shape
    if chunk_size is None:
        chunk_size = max(1, MI_CHUNK_ELEMENTS // n)
    elif int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer ≥ 1, got {chunk_size!r}")
    chunk_size, per_x = int(chunk_size), int(n_samples_per_x)

    mu = mu - mu.mean(axis=0)  # translation invariant; shrinks |z|, |mu| before the expansion
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((n, per_x, d))
    z = (mu[:, None, :] + np.exp(0.5 * logvar)[:, None, :] * eps).reshape(n * per_x, d)
    owner = np.repeat(np.arange(n), per_x)  # z[i] ~ q(z | x_owner[i])

    precision = np.exp(-logvar)  # (N, d), 1 / σ²
    precision_t = precision.T  # (d, N)
    mu_precision_t = (mu * precision).T  # (d, N)
    # log N(z; mu_m, σ_m²) = const_m − ½ Σ z²/σ_m² + Σ z mu_m/σ_m²
    const = -0.5 * (d * LOG_2PI + logvar.sum(axis=-1) + np.sum(mu**2 * precision, axis=-1))

    log_q_z = np.empty(len(z))  # log q(z_i), the aggregate posterior
    log_q_z_given_own_x = np.empty(len(z))  # log q(z_i | x_owner[i])
    for start in range(0, len(z), chunk_size):
        block = z[start:start + chunk_size]  # (chunk, d)
        # (chunk, d) @ (d, N) -> (chunk, N): log q(z_i | x_m) for every component m
        log_q_z_given_x = const + block @ mu_precision_t - 0.5 * (block**2 @ precision_t)
        rows = slice(start, start + len(block))
        log_q_z[rows] = logsumexp(log_q_z_given_x, axis=1) - math.log(n)
        # the very entries the logsumexp summed, so each term is ≤ log N exactly
        log_q_z_given_own_x[rows] = log_q_z_given_x[np.arange(len(block)), owner[rows]]
    return float(np.mean(log_q_z_given_own_x - log_q_z))
