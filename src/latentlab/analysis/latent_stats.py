"""One comparison table over all five methods, on the test split.

For each method: kNN accuracy (classifier fit on the training codes),
trustworthiness of the test codes as an embedding of the test images,
reconstruction MSE where the method reconstructs, and the moments of its test
codes with the KL of their gaussian fit to N(0, I). The VAE adds its test ELBO
terms (computed by its training stage).
"""

from __future__ import annotations

import numpy as np

from latentlab.analysis.latent import (
    bernoulli_decomposition,
    collapse_diagnosis,
    moments,
    posterior_prior_identities,
    project_2d,
    summarize_codes,
    vae_statistics,
)
from latentlab.analysis.metrics import (
    knn_accuracy,
    probe_accuracy,
    reconstruction_mse,
    trustworthiness,
)

METHODS = ("pca", "tsne", "ae", "dae", "vae")
LABEL_METRICS = ("knn_accuracy", "probe_accuracy")


def has_labels(splits: dict) -> bool:
    """False when the data set has no labels (``has_labels`` of the splits): skip label metrics."""
    return bool(splits["has_labels"]) if "has_labels" in splits else True


def aligned(splits: dict, arrays: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y_train``, ``x_test``, ``y_test`` of the rows a method's codes cover.

    t-SNE on a subsample records the rows it embedded (``index_train``,
    ``index_test``); every other method covers whole splits.
    """
    if "index_test" not in arrays:
        return splits["y_train"], splits["x_test"], splits["y_test"]
    rows_train, rows_test = arrays["index_train"], arrays["index_test"]
    return splits["y_train"][rows_train], splits["x_test"][rows_test], splits["y_test"][rows_test]


def compare_methods(splits: dict, codes: dict[str, dict], vae_test: dict, vae_log_px: dict, *,
                    knn_neighbors: int, trustworthiness_neighbors: int,
                    active_unit_threshold: float, collapse_min_active_fraction: float,
                    seed: int) -> dict[str, dict]:
    """The table ``{method: {metric: value}}``.

    Parameters
    ----------
    splits : dict with ``x_test`` (n_test, features), ``y_train``, ``y_test``
    codes : ``{method: {"z_train", "z_test", optionally "recon_test", "logvar_test"}}``
        With ``logvar_test`` (the VAE) the latent moments are the aggregate
        posterior's, not only the means'.
    vae_test : the VAE's test metrics (``recon``, ``kl``, ``elbo``, ``bits_per_dim``), nats
    vae_log_px : the evaluate stage's importance-weighted ``log_px_nats`` and ``gap_nats``
    """
    table = {}
    labelled = has_labels(splits)
    for method, arrays in codes.items():
        y_train, x_test, y_test = aligned(splits, arrays)
        row = {}
        if labelled:  # without labels there is nothing to classify: the keys are left out
            row["knn_accuracy"] = knn_accuracy(arrays["z_train"], y_train, arrays["z_test"],
                                               y_test, knn_neighbors)
            row["probe_accuracy"] = probe_accuracy(arrays["z_train"], y_train, arrays["z_test"],
                                                   y_test, seed)
        row.update({
            "trustworthiness": trustworthiness(x_test, arrays["z_test"],
                                               trustworthiness_neighbors),
            **summarize_codes(arrays["z_test"], arrays.get("logvar_test")),
        })
        if "index_test" in arrays:
            row["n_test_points"] = int(len(arrays["index_test"]))
        if "recon_test" in arrays:
            row["recon_mse"] = reconstruction_mse(splits["x_test"], arrays["recon_test"])
        if "recon_test" in arrays and method in ("ae", "dae", "vae"):  # sigmoid pixel means
            row.update(bernoulli_decomposition(splits["x_test"], arrays["recon_test"]))
        table[method] = row
    if "vae" in table:
        vae = table["vae"]
        vae.update({f"test_{k}_nats": vae_test[k] for k in ("recon", "kl", "elbo")})
        vae["test_bits_per_dim"] = vae_test["bits_per_dim"]
        vae.update({"test_log_px_nats": vae_log_px["log_px_nats"],
                    "test_log_px_bits_per_dim": vae_log_px["log_px_bits_per_dim"],
                    "test_gap_nats": vae_log_px["gap_nats"],
                    "iwae_samples": vae_log_px["iwae_samples"]})
        stats = vae_statistics(codes["vae"]["z_test"], codes["vae"]["logvar_test"],
                               active_threshold=active_unit_threshold, seed=seed)
        stats.pop("kl_per_dim_nats")  # a list: written to its own CSV by kl_per_dim_rows
        vae.update(stats)
        vae.update(collapse_diagnosis(codes["vae"]["z_test"], codes["vae"]["logvar_test"],
                                      active_threshold=active_unit_threshold,
                                      min_active_fraction=collapse_min_active_fraction))
        vae.update(posterior_prior_identities(codes["vae"]["z_test"], codes["vae"]["logvar_test"]))
    return table


def kl_per_dim_rows(vae_codes: dict, active_unit_threshold: float) -> list[list]:
    """Rows ``[dim, kl_nats, code_variance, active]`` of the VAE on the test split."""
    from latentlab.analysis.latent import active_units, per_dimension_kl

    mu, logvar = vae_codes["z_test"], vae_codes["logvar_test"]
    kl = per_dimension_kl(mu, logvar)
    active = active_units(mu, active_unit_threshold)
    return [[i, float(k), float(v), int(a)]
            for i, (k, v, a) in enumerate(zip(kl, np.var(mu, axis=0), active))]


def moment_rows(codes: dict[str, dict]) -> list[list]:
    """Rows ``[method, dim, mean, var]`` of the per-dimension moments of the test codes."""
    rows = []
    for method, arrays in codes.items():
        mean, var = moments(arrays["z_test"], arrays.get("logvar_test"))
        rows.extend([method, i, float(m), float(v)] for i, (m, v) in enumerate(zip(mean, var)))
    return rows


def covariance_rows(codes: dict[str, dict]) -> list[list]:
    """Rows ``[method, i, j, mean_i, cov_ij]``: each method's aggregate mean and full covariance.

    For the VAE these are the moments of the aggregate posterior q(z), the
    gaussian fit whose KL to N(0, I) is ``latent_kl_to_prior_nats``.
    """
    from latentlab.analysis.latent import aggregate_moments

    rows = []
    for method, arrays in codes.items():
        mean, cov = aggregate_moments(arrays["z_test"], arrays.get("logvar_test"))
        rows.extend([method, i, j, float(mean[i]), float(cov[i, j])]
                    for i in range(len(mean)) for j in range(len(mean)))
    return rows


def embedding_rows(z_test: np.ndarray, y_test: np.ndarray, max_points: int,
                   seed: int, index_test: np.ndarray | None = None) -> list[list]:
    """Rows ``[index, x, y, label]``: the test codes in 2-D, for scatter plots.

    At most ``max_points`` rows, a seeded subsample in index order (browsers
    choke on 10 000-point Vega plots); ``index`` is the row in the test split
    (``index_test[i]`` when the codes cover only those rows, as t-SNE's
    subsample does). ``label`` is -1 for a data set without labels.
    """
    xy = project_2d(z_test)
    rows = np.arange(len(xy)) if index_test is None else np.asarray(index_test)
    keep = np.arange(len(xy))
    if len(keep) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(xy), max_points, replace=False))
    return [[int(rows[i]), float(xy[i, 0]), float(xy[i, 1]), int(y_test[rows[i]])]
            for i in keep]


def dae_sweep_scores(splits: dict, sweep_codes: dict[float, dict], *,
                     knn_neighbors: int, seed: int) -> dict[str, dict]:
    """Score each corruption level's DAE on clean test inputs.

    Returns
    -------
    ``{str(level): {"noise_level", "recon_mse", "knn_accuracy", "probe_accuracy"}}``,
    plus ``"best"``: the level with the lowest recon MSE and the one with the
    highest probe accuracy (the report compares them with the 25 % claim).
    """
    scores = {}
    labelled = has_labels(splits)
    for level, arrays in sorted(sweep_codes.items()):
        scores[str(level)] = {
            "noise_level": level,
            "recon_mse": reconstruction_mse(splits["x_test"], arrays["recon_test"]),
        }
        if labelled:
            scores[str(level)].update({
                "knn_accuracy": knn_accuracy(arrays["z_train"], splits["y_train"],
                                             arrays["z_test"], splits["y_test"], knn_neighbors),
                "probe_accuracy": probe_accuracy(arrays["z_train"], splits["y_train"],
                                                 arrays["z_test"], splits["y_test"], seed),
            })
    rows = list(scores.values())
    scores["best"] = {"by_recon_mse": min(rows, key=lambda r: r["recon_mse"])["noise_level"]}
    if labelled:
        scores["best"]["by_probe_accuracy"] = max(
            rows, key=lambda r: r["probe_accuracy"])["noise_level"]
        scores["best"]["by_knn_accuracy"] = max(
            rows, key=lambda r: r["knn_accuracy"])["noise_level"]
    return scores
