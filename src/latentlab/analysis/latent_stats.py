"""One comparison table over all five methods, on the test split, and its verdict.

For each method: kNN accuracy (classifier fit on the training codes),
trustworthiness of the test codes as an embedding of the test images,
reconstruction MSE where the method reconstructs, and the moments of its test
codes with the KL of their gaussian fit to N(0, I), each ranked number with its
bootstrap interval (:mod:`latentlab.analysis.intervals`). The VAE adds its test
ELBO terms (computed by its training stage). Which method is best on what, and
only beyond noise: :mod:`latentlab.analysis.verdict`.

Every number here is computed on the grey levels of the images
(:func:`representation_splits`): binarisation, where the data set uses it,
concerns the likelihood alone. The raw pixels themselves are a reference row
(:func:`pixel_reference`): the kNN and probe accuracy any code should be read
against, and trustworthiness 1 by definition; they are not a method, so the
verdict does not rank them but says how the best method stands against them.
"""

from __future__ import annotations

import numpy as np

from latentlab.analysis.intervals import (
    Statistic,
    mean_statistic,
    percentile_interval,
    replicates,
    resamples,
)
from latentlab.analysis.latent import (
    aggregate_moments,
    bernoulli_decomposition,
    collapse_diagnosis,
    gaussian_fit_kl_to_prior,
    moments,
    posterior_prior_identities,
    project_2d,
    summarize_codes,
    vae_statistics,
)
from latentlab.analysis.metrics import (
    knn_correct,
    probe_correct,
    squared_error_per_item,
)
from latentlab.analysis.subsample import SUBSAMPLE_STREAM, subsample_rows
from latentlab.analysis.trustworthiness import (
    SharedDistances,
    trustworthiness_method,
    trustworthiness_statistic,
)
from latentlab.analysis.verdict import CRITERIA, verdicts
from latentlab.data.preprocess import grey_levels

METHODS = ("pca", "tsne", "ae", "dae", "vae")
REFERENCE = "pixels"  # the raw grey-level pixels, a reference row of the table
REFERENCE_CRITERIA = ("knn_accuracy", "probe_accuracy")


def representation_splits(splits: dict) -> dict:
    """``splits`` with ``x_train`` and ``x_test`` replaced by their grey levels.

    On a binarised data set ``x_<split>`` is one Bernoulli draw (or a threshold)
    of each image, the likelihood's input; every representation measure reads
    the grey levels instead (:func:`latentlab.data.preprocess.grey_levels`).
    """
    return {**splits, "x_train": grey_levels(splits, "train"),
            "x_test": grey_levels(splits, "test")}


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


def method_statistics(splits: dict, arrays: dict, *, knn_neighbors: int,
                      trustworthiness_neighbors: int, seed: int,
                      trustworthiness_max_points: int = 0,
                      distances: SharedDistances | None = None) -> dict[str, Statistic]:
    """Each ranked metric of one method as a statistic of resampled test rows.

    The rows index the test items the method's codes cover (all of the test
    split, or t-SNE's subsample). Accuracies, trustworthiness and recon MSE are
    means of per-item scores; the KL of the gaussian fit to N(0, I) is refitted
    on the resampled codes. Trustworthiness scores at most
    ``trustworthiness_max_points`` of those items (0: all;
    :func:`trustworthiness_statistic`).
    """
    y_train, x_test, y_test = aligned(splits, arrays)
    z_test, logvar = arrays["z_test"], arrays.get("logvar_test")
    stats = {}
    if has_labels(splits):  # without labels there is nothing to classify: the keys are left out
        stats["knn_accuracy"] = mean_statistic(knn_correct(arrays["z_train"], y_train, z_test,
                                                           y_test, knn_neighbors))
        stats["probe_accuracy"] = mean_statistic(probe_correct(arrays["z_train"], y_train,
                                                               z_test, y_test, seed))
    stats["trustworthiness"] = trustworthiness_statistic(
        x_test, z_test, trustworthiness_neighbors, trustworthiness_max_points, seed,
        distances if "index_test" not in arrays else None)
    if "recon_test" in arrays:
        stats["recon_mse"] = mean_statistic(squared_error_per_item(x_test, arrays["recon_test"]))
    stats["latent_kl_to_prior_nats"] = lambda rows: gaussian_fit_kl_to_prior(*aggregate_moments(
        z_test[rows], None if logvar is None else logvar[rows]))
    return stats


def compare_methods(splits: dict, codes: dict[str, dict], vae_test: dict, vae_log_px: dict, *,
                    knn_neighbors: int, trustworthiness_neighbors: int,
                    active_unit_threshold: float, collapse_min_active_fraction: float,
                    seed: int, bootstrap_samples: int = 1000, confidence: float = 0.95,
                    replicate_codes: dict[str, list[dict]] | None = None,
                    trustworthiness_max_points: int = 0,
                    ) -> tuple[dict[str, dict], dict[str, dict]]:
    """The table ``{method: {metric: value}}`` with intervals, and the verdict per criterion.

    Each ranked metric (:data:`~latentlab.analysis.verdict.CRITERIA`) gets
    ``<metric>_ci_low`` and ``<metric>_ci_high``: the ``confidence`` percentile
    interval over ``bootstrap_samples`` resamples of the test items (seeded by
    ``seed``; every method covering the whole test split is resampled on the
    same rows, so differences are paired). The verdict is
    :func:`~latentlab.analysis.verdict.verdicts` on those same resamples.

    Parameters
    ----------
    splits : dict with ``x_test`` (n_test, features), ``y_train``, ``y_test``
    codes : ``{method: {"z_train", "z_test", optionally "recon_test", "logvar_test"}}``
        With ``logvar_test`` (the VAE) the latent moments are the aggregate
        posterior's, not only the means'.
    vae_test : the VAE's test metrics (``recon``, ``kl``, ``elbo``, ``bits_per_dim``), nats
    vae_log_px : the evaluate stage's importance-weighted ``log_px_nats`` and ``gap_nats``
    replicate_codes : ``{method: [codes of each seed after the first]}``, optional
        The training-seed replicates: each method's row gains the spread of its
        criteria across seeds and the verdict whether a decided best holds across
        them (:mod:`latentlab.analysis.seed_spread`).
    trustworthiness_max_points : int
        Above this many test points trustworthiness scores a seeded subsample of
        this many, the same for every method (0: every point); each row records
        ``trustworthiness_se`` (the SD of its bootstrap replicates) and
        ``trustworthiness_n_points``.
    """
    table, on_resamples, rows_of = {}, {}, {}
    shared = {"trustworthiness_max_points": trustworthiness_max_points,
              "distances": SharedDistances()}
    for method, arrays in codes.items():
        stats = method_statistics(splits, arrays, knn_neighbors=knn_neighbors,
                                  trustworthiness_neighbors=trustworthiness_neighbors, seed=seed,
                                  **shared)
        n = len(arrays["z_test"])
        if n not in rows_of:
            rows_of[n] = resamples(n, bootstrap_samples, seed)
        row = {**summarize_codes(arrays["z_test"], arrays.get("logvar_test"))}
        on_resamples[method] = {}
        for key, statistic in stats.items():
            row[key] = float(statistic(np.arange(n)))
            on_resamples[method][key] = replicates(statistic, rows_of[n])
            row[f"{key}_ci_low"], row[f"{key}_ci_high"] = percentile_interval(
                on_resamples[method][key], confidence)
        row["trustworthiness_se"] = float(np.std(on_resamples[method]["trustworthiness"],
                                                 ddof=1))
        row["trustworthiness_n_points"] = int(min(n, trustworthiness_max_points or n))
        if "index_test" in arrays:
            row["n_test_points"] = int(len(arrays["index_test"]))
        if "recon_test" in arrays and method in ("ae", "dae", "vae"):  # sigmoid pixel means
            row.update(bernoulli_decomposition(splits["x_test"], arrays["recon_test"]))
        table[method] = row
    collapsed = False
    if "vae" in table:
        _add_vae_rows(table["vae"], codes["vae"], vae_test, vae_log_px,
                      active_unit_threshold, collapse_min_active_fraction, seed)
        collapsed = bool(table["vae"]["posterior_collapse"])
    verdict = verdicts(table, on_resamples, confidence=confidence, collapsed=collapsed)
    if replicate_codes:
        _add_seed_spread(table, verdict, splits, replicate_codes, knn_neighbors=knn_neighbors,
                         trustworthiness_neighbors=trustworthiness_neighbors, seed=seed,
                         **shared)
    if "x_train" in splits:
        n_test = len(splits["x_test"])
        rows = rows_of.get(n_test)
        rows = resamples(n_test, bootstrap_samples, seed) if rows is None else rows
        reference, reference_resamples = pixel_reference(
            splits, rows, knn_neighbors=knn_neighbors, seed=seed, confidence=confidence)
        table[REFERENCE] = reference
        against_reference(verdict, table, on_resamples, reference_resamples, confidence)
    return table, verdict


def _add_seed_spread(table: dict, verdict: dict, splits: dict,
                     replicate_codes: dict[str, list[dict]], **kw) -> None:
    """Each replicated method's spread across seeds, and the verdict checked against it."""
    from latentlab.analysis.seed_spread import check_verdict, seed_values, spread_columns

    for method, others in replicate_codes.items():
        if not others or method not in table:
            continue
        per_seed = [method_statistics(splits, arrays, **kw) for arrays in others]
        n_test = len(others[0]["z_test"])
        table[method].update(spread_columns(seed_values(table[method], per_seed, n_test)))
    check_verdict(verdict, table)


def pixel_reference(splits: dict, rows: np.ndarray, *, knn_neighbors: int, seed: int,
                    confidence: float) -> tuple[dict, dict[str, np.ndarray]]:
    """The raw grey-level pixels scored as if they were codes: the reference row.

    kNN and the probe on the pixels themselves (on the same resampled test rows as
    the methods, so the comparison is paired), and trustworthiness 1.0 by
    definition (an embedding of the images into themselves keeps every
    neighbourhood), not computed. Without labels only the trustworthiness.

    Returns
    -------
    row : ``{"latent_dim", "trustworthiness", <criterion>, <criterion>_ci_low, _ci_high}``
    on_resamples : ``{criterion: its value on each resample of rows}``
    """
    x_train, x_test = splits["x_train"], splits["x_test"]
    row: dict = {"latent_dim": int(x_test.shape[1]), "trustworthiness": 1.0}
    on_resamples = {}
    if not has_labels(splits):
        return row, on_resamples
    per_item = {
        "knn_accuracy": knn_correct(x_train, splits["y_train"], x_test, splits["y_test"],
                                    knn_neighbors),
        "probe_accuracy": probe_correct(x_train, splits["y_train"], x_test, splits["y_test"],
                                        seed),
    }
    for key in REFERENCE_CRITERIA:
        statistic = mean_statistic(per_item[key])
        row[key] = float(statistic(np.arange(len(x_test))))
        on_resamples[key] = replicates(statistic, rows)
        row[f"{key}_ci_low"], row[f"{key}_ci_high"] = percentile_interval(on_resamples[key],
                                                                          confidence)
    return row, on_resamples


def against_reference(verdict: dict[str, dict], table: dict[str, dict],
                      on_resamples: dict[str, dict], reference: dict[str, np.ndarray],
                      confidence: float) -> None:
    """Add ``reference`` to each criterion the pixels have: how the top method stands.

    ``{"method": "pixels", "value", "ci_low", "ci_high", "top_minus_reference": {"low",
    "high"}}``: the paired interval of the top method's score minus the pixels',
    signed so that positive means the top method is better (as the verdict's
    ``differences``).
    """
    for key, values in reference.items():
        criterion = verdict.get(key)
        if not criterion or criterion["top"] is None:
            continue
        sign = 1.0 if CRITERIA[key] == "max" else -1.0
        low, high = percentile_interval(sign * (on_resamples[criterion["top"]][key] - values),
                                        confidence)
        row = table[REFERENCE]
        criterion["reference"] = {"method": REFERENCE, "value": row[key],
                                  "ci_low": row[f"{key}_ci_low"],
                                  "ci_high": row[f"{key}_ci_high"],
                                  "top_minus_reference": {"low": low, "high": high}}


def _add_vae_rows(vae: dict, arrays: dict, vae_test: dict, vae_log_px: dict,
                  active_unit_threshold: float, collapse_min_active_fraction: float,
                  seed: int) -> None:
    """The VAE's own columns: test ELBO terms, log p(x), I(x; z), active units, collapse."""
    vae.update({f"test_{k}_nats": vae_test[k] for k in ("recon", "kl", "elbo")})
    vae["test_bits_per_dim"] = vae_test["bits_per_dim"]
    vae.update({"test_log_px_nats": vae_log_px["log_px_nats"],
                "test_log_px_bits_per_dim": vae_log_px["log_px_bits_per_dim"],
                "test_gap_nats": vae_log_px["gap_nats"],
                "iwae_samples": vae_log_px["iwae_samples"]})
    for key, copy in (("log_px_se_nats", "test_log_px_se_nats"),  # older evaluate: absent
                      ("n_images", "test_log_px_n_images"),
                      ("subsampled", "test_log_px_subsampled")):
        if key in vae_log_px:
            vae[copy] = vae_log_px[key]
    stats = vae_statistics(arrays["z_test"], arrays["logvar_test"],
                           active_threshold=active_unit_threshold, seed=seed)
    stats.pop("kl_per_dim_nats")  # a list: written to its own CSV by kl_per_dim_rows
    vae.update(stats)
    vae.update(collapse_diagnosis(arrays["z_test"], arrays["logvar_test"],
                                  active_threshold=active_unit_threshold,
                                  min_active_fraction=collapse_min_active_fraction))
    vae.update(posterior_prior_identities(arrays["z_test"], arrays["logvar_test"]))


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


def verdict_record(verdict: dict[str, dict], p, splits: dict) -> dict:
    """``metrics/verdict.json``: how the intervals were made, and the verdict per criterion.

    The protocol says how many test points trustworthiness scored
    (``trustworthiness_n_points``), whether that is a subsample
    (``trustworthiness_subsampled``), its cap and the random stream it was drawn
    from (``trustworthiness_subsample_stream``, with the params' ``seed``).
    """
    n_test = int(len(splits["x_test"]))
    m = int(len(subsample_rows(n_test, p.trustworthiness_max_points, p.seed)))
    return {"protocol": {"bootstrap_samples": p.bootstrap_samples, "confidence": p.confidence,
                         "n_test": n_test, "seed": p.seed,
                         "trustworthiness_method": trustworthiness_method(
                             n_test, p.trustworthiness_max_points, p.seed),
                         "trustworthiness_n_points": m,
                         "trustworthiness_subsampled": m < n_test,
                         "trustworthiness_max_points": int(p.trustworthiness_max_points),
                         "trustworthiness_subsample_stream": SUBSAMPLE_STREAM},
            "criteria": verdict}
