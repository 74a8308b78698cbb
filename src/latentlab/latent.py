"""Statistics of latent codes: how far a method's codes are from the prior N(0, I).

An AE's codes are placed wherever the decoder finds them useful; nothing pulls
them towards any distribution. A VAE's KL term pulls each q(z|x), and so the
aggregate of the codes, towards N(0, I). These functions turn that into
numbers.
"""

from __future__ import annotations

import numpy as np


def diagonal_gaussian_kl_to_standard_normal(mean: np.ndarray, var: np.ndarray) -> float:
    """KL(N(mean, diag(var)) ‖ N(0, I)) in nats: ½ Σ_i (m_i² + v_i − log v_i − 1).

    Applied to the moments of a set of codes, it measures how far a gaussian fit
    of their distribution is from the prior; 0 means the fit is the prior.
    """
    mean, var = np.asarray(mean, np.float64), np.asarray(var, np.float64)
    # a dimension with variance 0 would make the KL infinite; keep it finite (and huge)
    var = np.maximum(var, np.finfo(np.float64).tiny)
    return float(0.5 * np.sum(mean**2 + var - np.log(var) - 1.0))


def moments(z: np.ndarray, logvar: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and variance of a method's codes.

    Parameters
    ----------
    z : ndarray of shape (n, d)
        Codes; for the VAE the posterior means mu(x).
    logvar : ndarray of shape (n, d), optional
        The VAE's posterior log-variances. Then the moments are those of the
        aggregate posterior q(z) = (1/n) Σ_x q(z|x), the distribution the prior
        is compared with: mean E[mu], variance Var(mu) + E[σ²] (law of total
        variance). The means alone would understate the spread.
    """
    z = np.asarray(z, dtype=np.float64)
    mean, var = z.mean(axis=0), z.var(axis=0)
    if logvar is not None:
        var = var + np.exp(np.asarray(logvar, dtype=np.float64)).mean(axis=0)
    return mean, var


def summarize_codes(z: np.ndarray, logvar: np.ndarray | None = None) -> dict[str, float]:
    """Mean |mean|, mean variance and KL of the gaussian fit to N(0, I) (see :func:`moments`)."""
    mean, var = moments(z, logvar)
    return {
        "latent_dim": int(z.shape[1]),
        "latent_mean_abs": float(np.mean(np.abs(mean))),
        "latent_var_mean": float(np.mean(var)),
        "latent_kl_to_prior_nats": diagonal_gaussian_kl_to_standard_normal(mean, var),
    }


def project_2d(z: np.ndarray) -> np.ndarray:
    """Codes in 2-D for plotting: as they are when d ≤ 2, else their first two principal components.

    Signs are fixed (largest loading positive) so the picture does not flip.

    Returns
    -------
    ndarray of shape (n, 2)
    """
    z = np.asarray(z, dtype=np.float64)
    if z.shape[1] == 2:
        return z
    if z.shape[1] == 1:
        return np.column_stack([z[:, 0], np.zeros(len(z))])
    centred = z - z.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    rows = np.arange(2)
    axes = axes * np.where(axes[rows, np.argmax(np.abs(axes), axis=1)] < 0, -1.0, 1.0)[:, None]
    return centred @ axes.T
