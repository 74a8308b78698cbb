"""One comparison table over all five methods, on the test split.

For each method: kNN accuracy (classifier fit on the training codes),
trustworthiness of the test codes as an embedding of the test images,
reconstruction MSE where the method reconstructs, and the moments of its test
codes with the KL of their gaussian fit to N(0, I). The VAE adds its test ELBO
terms (computed by its training stage).
"""

from __future__ import annotations

import numpy as np

from latentlab.latent import moments, project_2d, summarize_codes
from latentlab.metrics import knn_accuracy, reconstruction_mse, trustworthiness

METHODS = ("pca", "tsne", "ae", "dae", "vae")


def compare_methods(splits: dict, codes: dict[str, dict], vae_test: dict, *, knn_neighbors: int,
                    trustworthiness_neighbors: int) -> dict[str, dict]:
    """The table ``{method: {metric: value}}``.

    Parameters
    ----------
    splits : dict with ``x_test`` (n_test, features), ``y_train``, ``y_test``
    codes : ``{method: {"z_train", "z_test", optionally "recon_test", "logvar_test"}}``
        With ``logvar_test`` (the VAE) the latent moments are the aggregate
        posterior's, not only the means'.
    vae_test : the VAE's test metrics (``recon``, ``kl``, ``elbo``, ``bits_per_dim``), nats
    """
    table = {}
    for method, arrays in codes.items():
        row = {
            "knn_accuracy": knn_accuracy(arrays["z_train"], splits["y_train"], arrays["z_test"],
                                         splits["y_test"], knn_neighbors),
            "trustworthiness": trustworthiness(splits["x_test"], arrays["z_test"],
                                               trustworthiness_neighbors),
            **summarize_codes(arrays["z_test"], arrays.get("logvar_test")),
        }
        if "recon_test" in arrays:
            row["recon_mse"] = reconstruction_mse(splits["x_test"], arrays["recon_test"])
        table[method] = row
    if "vae" in table:
        table["vae"].update({f"test_{k}_nats": vae_test[k] for k in ("recon", "kl", "elbo")})
        table["vae"]["test_bits_per_dim"] = vae_test["bits_per_dim"]
    return table


def moment_rows(codes: dict[str, dict]) -> list[list]:
    """Rows ``[method, dim, mean, var]`` of the per-dimension moments of the test codes."""
    rows = []
    for method, arrays in codes.items():
        mean, var = moments(arrays["z_test"], arrays.get("logvar_test"))
        rows.extend([method, i, float(m), float(v)] for i, (m, v) in enumerate(zip(mean, var)))
    return rows


def embedding_rows(z_test: np.ndarray, y_test: np.ndarray) -> list[list]:
    """Rows ``[index, x, y, label]``: the test codes in 2-D, for scatter plots."""
    xy = project_2d(z_test)
    return [[i, float(a), float(b), int(label)]
            for i, ((a, b), label) in enumerate(zip(xy, y_test))]
