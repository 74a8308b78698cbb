"""Information theory of discrete distributions: entropy, cross-entropy and KL divergence.

Every quantity is in nats unless a function takes ``base="bits"``; one bit is
ln 2 nats. The identities the report cites, each checked in ``tests/unit/test_info.py``:

* H(p, q) = H(p) + KL(p ‖ q), so minimising cross-entropy over q minimises KL;
* KL(p ‖ q) ≥ 0 with equality only at p = q (Gibbs), and KL(p ‖ q) ≠ KL(q ‖ p) in general.

Their gaussian counterparts, the ELBO's closed-form KL and I(x; z), are in
:mod:`latentlab.analysis.gaussian_info`.

Conventions. Discrete distributions are arrays of probabilities along the last
axis; leading axes are a batch and broadcast. 0·log 0 = 0, and KL(p ‖ q) =
H(p, q) = +inf where q = 0 < p. All functions are pure and compute in float64;
none imports torch.
"""

from __future__ import annotations

import math

import numpy as np

LN2 = math.log(2)

SUM_TOL = 1e-6
"""How far from 1 a probability vector may sum (float32 softmax rounding); then renormalised."""

_BASES = {"nats": 1.0, "bits": LN2}


def _nats_per_unit(base: str) -> float:
    """How many nats one unit of ``base`` is: 1 for nats, ln 2 for bits."""
    try:
        return _BASES[base]
    except (KeyError, TypeError):
        raise ValueError(f"base must be 'nats' or 'bits', got {base!r}") from None


def _distribution(p, name: str) -> np.ndarray:
    """``p`` as float64, checked to be probabilities along the last axis, renormalised."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"{name} needs at least one outcome on its last axis, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} has a non-finite probability (nan or inf)")
    if np.any(p < 0):
        raise ValueError(f"{name} has a negative probability, min {p.min():.3g}")
    total = p.sum(axis=-1, keepdims=True)
    worst = np.max(np.abs(total - 1.0))
    if worst > SUM_TOL:
        raise ValueError(f"{name} must sum to 1 along the last axis (within {SUM_TOL:g}), "
                         f"off by up to {worst:.3g}")
    # rounding within SUM_TOL would otherwise let KL come out negative by up to SUM_TOL
    return p / total


def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    """Two checked distributions over the same outcomes, broadcast to one shape."""
    p, q = _distribution(p, "p"), _distribution(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same number of outcomes, "
                         f"got shapes {p.shape} and {q.shape}")
    try:
        return tuple(np.broadcast_arrays(p, q))
    except ValueError:
        raise ValueError(f"p and q have batch shapes that do not broadcast: "
                         f"{p.shape} and {q.shape}") from None


def _p_log(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """p · log x elementwise, 0 where p = 0 (0·log 0 = 0), −inf where x = 0 < p."""
    with np.errstate(divide="ignore"):
        log_x = np.log(x)  # log 0 = −inf
    # `where` skips p = 0 entries, which stay 0 instead of 0·(−inf) = nan
    return np.multiply(p, log_x, out=np.zeros(np.broadcast_shapes(p.shape, x.shape)), where=p > 0)


# --------------------------------------------------------------------------- discrete


def entropy(p, base: str = "nats"):
    """Shannon entropy H(p) = −Σ_k p_k log p_k, with 0·log 0 = 0.

    0 ≤ H(p) ≤ log K: 0 for a one-hot p, log K for the uniform distribution on K outcomes.

    Parameters
    ----------
    p : array_like of shape (..., K)
        Probabilities along the last axis (non-negative, summing to 1).
    base : {"nats", "bits"}
        Unit of the result; bits = nats / ln 2.

    Returns
    -------
    float or ndarray of shape (...)
        H(p) in ``base``.
    """
    unit = _nats_per_unit(base)
    p = _distribution(p, "p")
    # 0.0 − x rather than −x, so that a one-hot p gives 0.0, not −0.0
    return (0.0 - _p_log(p, p).sum(axis=-1)) / unit


def cross_entropy(p, q, base: str = "nats"):
    """Cross-entropy H(p, q) = −Σ_k p_k log q_k = H(p) + KL(p ‖ q).

    The expected code length, or negative log-likelihood, of data from p under
    the model q; for the empirical distribution p̂ of samples it is their mean
    negative log-likelihood under q. Terms with p_k = 0 are 0; it is +inf where
    q_k = 0 < p_k.

    Parameters
    ----------
    p : array_like of shape (..., K)
        The data distribution.
    q : array_like of shape (..., K)
        The model distribution; leading axes broadcast against p's.
    base : {"nats", "bits"}
        Unit of the result.

    Returns
    -------
    float or ndarray of shape (...)
        H(p, q) ≥ H(p), in ``base``.
    """
    unit = _nats_per_unit(base)
    p, q = _pair(p, q)
    return (0.0 - _p_log(p, q).sum(axis=-1)) / unit  # p_k > 0 = q_k gives +inf


def kl_divergence(p, q, base: str = "nats"):
    """Kullback–Leibler divergence KL(p ‖ q) = Σ_k p_k log(p_k / q_k) = H(p, q) − H(p).

    KL ≥ 0 with equality iff p = q (Gibbs' inequality); it is not symmetric.
    Terms with p_k = 0 are 0; it is +inf where q_k = 0 < p_k.

    Parameters
    ----------
    p : array_like of shape (..., K)
        The distribution expectations are taken under.
    q : array_like of shape (..., K)
        The reference distribution; leading axes broadcast against p's.
    base : {"nats", "bits"}
        Unit of the result.

    Returns
    -------
    float or ndarray of shape (...)
        KL(p ‖ q) in ``base``.
    """
    unit = _nats_per_unit(base)
    p, q = _pair(p, q)
    # Σ p log p − Σ p log q, termwise; q_k = 0 < p_k makes the term +inf
    return (_p_log(p, p) - _p_log(p, q)).sum(axis=-1) / unit
