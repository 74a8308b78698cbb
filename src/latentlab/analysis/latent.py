"""Statistics of latent codes: how far a method's codes are from the prior N(0, I).

An AE's codes are placed wherever the decoder finds them useful; nothing pulls
them towards any distribution. A VAE's KL term pulls each q(z|x), and so the
aggregate of the codes, towards N(0, I). These functions turn that into
numbers.
"""

from __future__ import annotations

import numpy as np

from latentlab.analysis.gaussian_info import (
    gaussian_cross_entropy,
    gaussian_entropy,
    gaussian_kl,
    gaussian_kl_full,
    mutual_information_gaussian_encoder,
)
from latentlab.analysis.info import (
    cross_entropy,
    entropy,
    kl_divergence,
)


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


# Added to a fitted covariance so a dimension with zero spread keeps the KL finite (and huge).
COV_JITTER = 1e-9


def aggregate_moments(z: np.ndarray, logvar: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and full covariance (d, d) of a method's codes, or of the VAE's q(z).

    With ``logvar`` the covariance is that of the aggregate posterior
    q(z) = (1/n) Σ_x q(z|x): Cov(mu) + diag(E[σ²]) (law of total covariance).
    """
    z = np.asarray(z, dtype=np.float64)
    mean = z.mean(axis=0)
    cov = np.atleast_2d(np.cov(z, rowvar=False, bias=True))
    if logvar is not None:
        cov = cov + np.diag(np.exp(np.asarray(logvar, dtype=np.float64)).mean(axis=0))
    return mean, cov


def gaussian_fit_kl_to_prior(mean: np.ndarray, cov: np.ndarray) -> float:
    """KL(N(mean, cov) ‖ N(0, I)) in nats: how far a gaussian fit of the codes is from the prior."""
    cov = cov + COV_JITTER * np.eye(len(cov))
    return float(gaussian_kl_full(mean, cov))


def summarize_codes(z: np.ndarray, logvar: np.ndarray | None = None) -> dict[str, float]:
    """Mean |mean|, mean variance, and KL of the full-covariance gaussian fit to N(0, I).

    ``latent_kl_to_prior_nats`` uses the full covariance, so correlated codes
    count as far from the isotropic prior; ``latent_kl_to_prior_diag_nats``
    ignores the correlations (the KL of the per-dimension fit).
    """
    mean, var = moments(z, logvar)
    _, cov = aggregate_moments(z, logvar)
    return {
        "latent_dim": int(z.shape[1]),
        "latent_mean_abs": float(np.mean(np.abs(mean))),
        "latent_var_mean": float(np.mean(var)),
        "latent_kl_to_prior_nats": gaussian_fit_kl_to_prior(mean, cov),
        "latent_kl_to_prior_diag_nats": diagonal_gaussian_kl_to_standard_normal(mean, var),
    }


def per_dimension_kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """E_x KL(q(z_i|x) ‖ N(0, 1)) for each latent dimension i, nats, shape (d,).

    Sums to the VAE's average KL term; a dimension near 0 carries no
    information about x (it is collapsed onto the prior).
    """
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return (0.5 * (mu**2 + np.exp(logvar) - logvar - 1.0)).mean(axis=0)


def active_units(mu: np.ndarray, threshold: float) -> np.ndarray:
    """Which dimensions are active: Cov_x(E_q[z_i|x]) > threshold (Burda et al. 2016, §5.2).

    Returns
    -------
    ndarray of bool, shape (d,)
    """
    return np.asarray(mu, np.float64).var(axis=0) > threshold


# A dimension whose average KL(q(z_i|x) || p(z_i)) is below this carries next to no information.
COLLAPSED_KL_NATS = 0.01


def collapse_diagnosis(mu: np.ndarray, logvar: np.ndarray, *, active_threshold: float,
                       min_active_fraction: float) -> dict:
    """Flag posterior collapse, in words and numbers.

    Collapse is flagged when fewer than ``min_active_fraction`` of the latent
    dimensions are active (Cov_x(E_q[z_i|x]) > ``active_threshold``), or when
    most dimensions carry a KL below :data:`COLLAPSED_KL_NATS`.

    Returns
    -------
    dict with ``posterior_collapse`` (bool), ``active_units``, ``low_kl_dims``
    and ``collapse_message`` (one sentence for logs and the report).
    """
    active = int(active_units(mu, active_threshold).sum())
    low_kl = int((per_dimension_kl(mu, logvar) < COLLAPSED_KL_NATS).sum())
    d = int(np.shape(mu)[1])
    collapsed = active < min_active_fraction * d or low_kl > d / 2
    numbers = (f"{active} of {d} latent dimensions active (Cov_x(E_q[z_i|x]) > "
               f"{active_threshold:g}), {low_kl} with KL < {COLLAPSED_KL_NATS:g} nats")
    message = (f"posterior collapse: {numbers}; try a KL warm-up (train.vae.kl_schedule), a "
               "lower beta or a smaller latent_dim" if collapsed
               else f"no posterior collapse: {numbers}")
    return {"posterior_collapse": bool(collapsed), "active_units": active,
            "low_kl_dims": low_kl, "collapse_message": message}


def vae_statistics(mu: np.ndarray, logvar: np.ndarray, *, active_threshold: float,
                   seed: int) -> dict:
    """The VAE's latent diagnostics on one split: per-dimension KL, active units, I(x; z).

    ``mutual_information_nats`` estimates I(x; z) under the aggregate posterior
    (bounded by log n); the KL term decomposes as E_x KL(q(z|x) ‖ p(z)) =
    I(x; z) + KL(q(z) ‖ p(z)) (Hoffman & Johnson 2016), so ``kl_minus_mi_nats``
    estimates how far the aggregate posterior is from the prior.
    """
    kl_per_dim = per_dimension_kl(mu, logvar)
    active = active_units(mu, active_threshold)
    mi = mutual_information_gaussian_encoder(mu, logvar, n_samples_per_x=1, seed=seed)
    return {
        "kl_per_dim_nats": kl_per_dim.tolist(),
        "kl_nats": float(kl_per_dim.sum()),
        "active_units": int(active.sum()),
        "active_fraction": float(active.mean()),
        "mutual_information_nats": float(mi),
        "mutual_information_max_nats": float(np.log(len(mu))),
        "kl_minus_mi_nats": float(kl_per_dim.sum() - mi),
    }


def bernoulli_decomposition(x: np.ndarray, x_mean: np.ndarray) -> dict[str, float]:
    """H(p, q) = H(p) + KL(p ‖ q) for the Bernoulli reconstruction term, nats per example.

    Each pixel's target x_i ∈ [0, 1] is read as a Bernoulli distribution p_i and
    the decoder's mean x̂_i as q_i. The binary cross-entropy the models minimise
    is the cross-entropy Σ_i H(p_i, q_i); it splits into the data's own entropy
    Σ_i H(p_i), a floor no decoder can go below, and Σ_i KL(p_i ‖ q_i), the part
    training reduces. So minimising the cross-entropy is maximising the
    likelihood, and on grey levels the best NLL is the entropy, not 0.

    Parameters
    ----------
    x, x_mean : ndarray of shape (n, features), values in [0, 1]
    """
    eps = np.finfo(np.float64).eps
    per_row: dict[str, list[np.ndarray]] = {"cross_entropy": [], "entropy": [], "kl": []}
    for start in range(0, len(x), ROWS_PER_CHUNK):  # float64 (rows, features, 2) temporaries
        xs = np.asarray(x[start:start + ROWS_PER_CHUNK], np.float64)
        q1 = np.clip(np.asarray(x_mean[start:start + ROWS_PER_CHUNK], np.float64),
                     eps, 1.0 - eps)
        p = np.stack([xs, 1.0 - xs], axis=-1)  # (rows, features, 2)
        q = np.stack([q1, 1.0 - q1], axis=-1)
        per_row["cross_entropy"].append(cross_entropy(p, q).sum(-1))  # (rows,)
        per_row["entropy"].append(entropy(p).sum(-1))
        per_row["kl"].append(kl_divergence(p, q).sum(-1))
    mean = {key: float(np.concatenate(parts).mean()) for key, parts in per_row.items()}
    return {"recon_cross_entropy_nats": mean["cross_entropy"],
            "data_entropy_nats": mean["entropy"], "recon_kl_nats": mean["kl"]}


ROWS_PER_CHUNK = 1024
"""Rows of :func:`bernoulli_decomposition` at a time: each row's sums are the same, and
the means are over the same per-row values, whatever the chunk (on 10 500 test images
of 28×28 the whole-array version held 0.8 GB of temporaries)."""


def posterior_prior_identities(mu: np.ndarray, logvar: np.ndarray) -> dict[str, float]:
    """Cross-entropy, entropy and both KLs between each q(z|x) and the prior, averaged over x.

    Shows H(q, p) = H(q) + KL(q ‖ p) with the VAE's own posteriors, and that KL
    is not symmetric: KL(q ‖ p) (the ELBO's term) differs from KL(p ‖ q).
    """
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    zeros = np.zeros_like(mu)
    return {
        "posterior_cross_entropy_nats": float(gaussian_cross_entropy(mu, logvar).mean()),
        "posterior_entropy_nats": float(gaussian_entropy(logvar).mean()),
        "kl_q_p_nats": float(gaussian_kl(mu, logvar).mean()),
        "kl_p_q_nats": float(gaussian_kl(zeros, zeros, mu, logvar).mean()),
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
