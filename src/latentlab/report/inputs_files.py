"""Read one stage output at a time, and check it for what the report uses.

Each ``read_*`` function reads one file and checks it for the keys, columns and
shapes the report needs; a problem is a one-line
:class:`~latentlab.io.DataFileError` that names the file and the stage to rerun.
The constants say what each file must hold. Checks that need two files at once
(a copy that must agree with its source, a best level that must be the best)
live with the reader of the second; checks across the whole set of inputs are in
:mod:`latentlab.report.inputs_checks`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from latentlab import params as params_module
from latentlab.io import DataFileError, read_csv, read_json
from latentlab.params import MODELS
from latentlab.report.inputs import CRITERIA, METHODS, REFERENCE, ReportPaths
from latentlab.report.inputs_sweep import check_sweep_protocol, check_sweep_verdict

SOURCE_KEYS = ("name", "origin", "n_examples", "image_shape", "n_classes", "sha256")
SPLIT_KEYS = ("x_train", "x_val", "x_test", "y_train", "y_val", "y_test", "image_shape")
CODE_KEYS = {
    "pca": ("z_test", "recon_test", "explained_variance_ratio"),
    "tsne": ("z_train", "z_test"),
    **{model: ("z_test", "recon_test", "prior_samples") for model in MODELS},
}
TRAIN_KEYS = ("test", "best_epoch", "epochs_run", "stopped_early", "likelihood")
TEST_KEYS = {"ae": ("recon", "bits_per_dim"), "dae": ("recon", "bits_per_dim"),
             "vae": ("recon", "kl", "elbo", "bits_per_dim")}
RECON_COLUMNS = ("epoch", "train_loss", "train_recon", "val_loss", "val_recon")
CURVE_COLUMNS = {"ae": RECON_COLUMNS, "dae": RECON_COLUMNS,
                 "vae": RECON_COLUMNS + ("train_kl", "train_elbo", "train_beta", "val_kl",
                                         "val_elbo")}
BASELINE_KEYS = {"pca": ("explained_variance_ratio_sum", "n_components"),
                 "tsne": ("kl_divergence", "n_iter", "embedded")}
# t-SNE on a subsample (metrics/baseline/tsne.json); all or none of them (older runs: none)
TSNE_SUBSAMPLE_KEYS = ("subsampled", "n_points_embedded", "n_points_available", "max_points")
# The label-based metrics: present only for a data set with labels (``has_labels``).
LABEL_KEYS = ("knn_accuracy", "probe_accuracy")
STATS_KEYS = ("trustworthiness", "latent_dim", "latent_mean_abs", "latent_var_mean",
              "latent_kl_to_prior_nats", "latent_kl_to_prior_diag_nats")
# The Bernoulli reconstruction term read as H(p, q) = H(p) + KL(p ‖ q), per model.
RECON_INFO_KEYS = ("recon_cross_entropy_nats", "data_entropy_nats", "recon_kl_nats")
VAE_STATS_KEYS = ("test_log_px_nats", "test_log_px_bits_per_dim", "test_gap_nats",
                  "iwae_samples", "kl_nats", "active_units", "active_fraction",
                  "mutual_information_nats", "mutual_information_max_nats", "kl_minus_mi_nats",
                  "posterior_cross_entropy_nats", "posterior_entropy_nats", "kl_q_p_nats",
                  "kl_p_q_nats")
EVALUATE_KEYS = ("iwae_samples", "log_px_nats", "elbo_k_nats", "gap_nats", "gap_min_nats",
                 "log_px_bits_per_dim")
# evaluate.json key -> the copy latent_stats.json keeps under 'vae' (they must agree)
EVALUATE_COPIES = {"log_px_nats": "test_log_px_nats", "gap_nats": "test_gap_nats",
                   "iwae_samples": "iwae_samples"}
WALK_KEYS = ("pair",) + tuple(f"interpolation_{m}" for m in MODELS)
KL_PER_DIM_COLUMNS = ("dim", "kl_nats", "code_variance", "active")
SWEEP_SCORES = ("recon_mse",) + LABEL_KEYS  # with labels; without, recon_mse alone
MOMENT_COLUMNS = ("method", "dim", "mean", "var")
EMBEDDING_COLUMNS = ("index", "x", "y", "label")


def sweep_scores(has_labels: bool) -> tuple[str, ...]:
    """The DAE sweep's scores: recon MSE, and kNN and probe accuracy where there are labels."""
    return SWEEP_SCORES if has_labels else SWEEP_SCORES[:1]


def require_keys(obj: Any, keys: tuple[str, ...], path: Path, where: str = "") -> None:
    """Raise DataFileError unless ``obj`` is a dict holding every key."""
    if not isinstance(obj, dict):
        raise DataFileError(f"{path}: expected a JSON object{where}; "
                            "rerun the stage that writes it")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise DataFileError(f"{path}: lacks key(s) {', '.join(missing)}{where}; "
                            "rerun the stage that writes it")


def read_object(path: Path, keys: tuple[str, ...]) -> dict:
    obj = read_json(path)
    require_keys(obj, keys, path)
    return obj


def read_train_metrics(path: Path, model: str, binarize: str) -> dict:
    """A model's metrics; a recorded ``binarize`` must be the data's (older files lack it)."""
    obj = read_object(path, TRAIN_KEYS)
    require_keys(obj["test"], TEST_KEYS[model], path, where=" under 'test'")
    if "binarize" in obj and obj["binarize"] != binarize:
        raise DataFileError(f"{path}: binarize is {obj['binarize']!r} but the splits are "
                            f"{binarize!r}; rerun train")
    return obj


def read_baseline(path: Path, method: str) -> dict:
    """A baseline's metrics; t-SNE's subsample keys, where present, all of them."""
    obj = read_object(path, BASELINE_KEYS[method])
    if method == "tsne" and any(k in obj for k in TSNE_SUBSAMPLE_KEYS):
        require_keys(obj, TSNE_SUBSAMPLE_KEYS, path)
    return obj


def interval_keys(key: str) -> tuple[str, str]:
    """The keys of a criterion's 95 % interval beside its value in latent_stats.json."""
    return f"{key}_ci_low", f"{key}_ci_high"


def read_latent_stats(path: Path, has_labels: bool) -> dict[str, dict]:
    """The comparison table; every value of a criterion (:data:`CRITERIA`) has its interval."""
    obj = read_object(path, METHODS)
    keys = (LABEL_KEYS if has_labels else ()) + STATS_KEYS
    for method in METHODS:
        row = obj[method]
        require_keys(row, keys, path, where=f" under '{method}'")
        if not has_labels:  # stale label metrics of an earlier labelled run: not shown
            _drop_label_metrics(row)
        for key in CRITERIA:
            if key in row:
                require_keys(row, interval_keys(key), path, where=f" under '{method}'")
                check_interval(row, key, path, method)
    for model in MODELS:
        require_keys(obj[model], RECON_INFO_KEYS, path, where=f" under '{model}'")
    require_keys(obj["vae"], VAE_STATS_KEYS, path, where=" under 'vae'")
    if REFERENCE in obj:  # the raw pixels: a reference row, shown but not ranked
        _check_reference_row(obj[REFERENCE], has_labels, path)
    return obj


def _check_reference_row(row: Any, has_labels: bool, path: Path) -> None:
    """The pixels' row: its dimension, trustworthiness 1 and, with labels, the accuracies
    with their intervals (stale ones dropped without labels, as for the methods)."""
    where = f" under '{REFERENCE}'"
    require_keys(row, ("latent_dim", "trustworthiness"), path, where=where)
    if not has_labels:
        _drop_label_metrics(row)
        return
    for key in LABEL_KEYS:
        require_keys(row, (key, *interval_keys(key)), path, where=where)
        check_interval(row, key, path, REFERENCE)


def _drop_label_metrics(row: dict) -> None:
    """Forget a row's kNN and probe accuracies and their intervals (a data set without labels
    shows none, even where an earlier labelled run left them in the file)."""
    for key in LABEL_KEYS:
        for stale in (key, *interval_keys(key)):
            row.pop(stale, None)


def check_interval(row: Mapping[str, Any], key: str, path: Path, where: str,
                   rerun: str = "rerun latent_stats") -> None:
    """``row[key]`` and its interval bounds are numbers with low <= high (the value itself
    may lie outside: a percentile interval need not hold a biased statistic)."""
    low, high = (row[k] for k in interval_keys(key))
    if not all(_is_number(v) for v in (row[key], low, high)) or low > high:
        raise DataFileError(f"{path}: {where}.{key} must be a number with an interval "
                            f"low <= high, got {row[key]!r} [{low!r}, {high!r}]; {rerun}")


def _is_number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def read_evaluate(paths: ReportPaths, vae_stats: dict) -> dict:
    """``evaluate.json``'s vae entry; latent_stats.json's copies of it must agree."""
    obj = read_object(paths.evaluate, ("vae",))
    vae = obj["vae"]
    require_keys(vae, EVALUATE_KEYS, paths.evaluate, where=" under 'vae'")
    for key, copy in EVALUATE_COPIES.items():
        if not math.isclose(float(vae[key]), float(vae_stats[copy]), rel_tol=1e-9):
            raise DataFileError(f"{paths.latent_stats}: vae.{copy} = {vae_stats[copy]} but "
                                f"{paths.evaluate} has {key} = {vae[key]}; rerun latent_stats")
    return vae


def read_kl_per_dim(path: Path, vae_stats: dict) -> dict[str, np.ndarray]:
    """The VAE's per-dimension KL; one row per latent dim, ``active`` agreeing with the count."""
    table = read_table(path, KL_PER_DIM_COLUMNS)
    order = np.argsort(table["dim"], kind="stable")
    table = {k: v[order] for k, v in table.items()}
    table["dim"] = table["dim"].astype(int)
    if not np.isin(table["active"], (0.0, 1.0)).all():
        raise DataFileError(f"{path}: column active holds a value other than 0 and 1")
    table["active"] = table["active"].astype(bool)
    if len(table["dim"]) != int(vae_stats["latent_dim"]):
        raise DataFileError(f"{path}: {len(table['dim'])} rows, expected one per latent "
                            f"dimension ({vae_stats['latent_dim']}); rerun latent_stats")
    if int(table["active"].sum()) != int(vae_stats["active_units"]):
        raise DataFileError(f"{path}: {int(table['active'].sum())} active rows but "
                            f"active_units = {vae_stats['active_units']}; rerun latent_stats")
    return table


# The sweep's scores file holds one entry per level (keyed ``str(float(level))``) and these.
SWEEP_META_KEYS = ("best", "verdict", "protocol")
SWEEP_RERUN = "rerun latent_stats"


def sweep_columns(names: tuple[str, ...]) -> tuple[str, ...]:
    """Each score followed by its interval bounds: the sweep's CSV columns after the level."""
    return tuple(c for score in names for c in (score, *interval_keys(score)))


def read_dae_sweep(paths: ReportPaths, has_labels: bool) -> dict:
    """The sweep's scores with their intervals, the stage that trained each level, and the
    verdict per score: checked against each other, the plot CSV and params.

    The levels are the sweep's every member (``DaeSweepParams.all_levels``: the
    ``dae_sweep@<level>`` stages' and ``train.dae``'s own, trained by ``train@dae``).
    Without labels the scores are recon MSE alone (no kNN or probe accuracy).

    Returns
    -------
    ``{"noise_type", "levels" (sorted, ndarray), "keys" (the file's key per level),
    "trained_by" (stage per level), "train_dae_level" (float or None), "scores" (names),
    <score>, <score>_ci_low, <score>_ci_high (ndarrays by level), "best" ({by_<score>:
    level}), "verdict" ({score: {"better", "top", "ranked", "leaders", "decided",
    "differences": {key: (low, high)}}}, levels by key), "protocol"}``
    """
    sweep = params_module.load("dae_sweep", paths.params)
    stages = dict(sweep.members)
    names = sweep_scores(has_labels)
    columns = sweep_columns(names)
    plot, path = paths.dae_sweep_plot, paths.dae_sweep_scores
    table = read_table(plot, ("noise_level",) + columns)
    order = np.argsort(table["noise_level"], kind="stable")
    table = {k: v[order] for k, v in table.items()}
    obj = read_object(path, SWEEP_META_KEYS)
    rows = _sweep_levels(obj, path)
    levels = [float(v) for v in table["noise_level"]]
    expected = sorted(float(v) for v in sweep.all_levels)
    for where, found in ((plot, levels), (path, sorted(rows))):
        if sorted(found) != expected:
            raise DataFileError(f"{where}: levels {sorted(found)} differ from the sweep's "
                                f"{expected} (params.yaml's dae_sweep.levels and train.dae's "
                                f"level); {SWEEP_RERUN}")
    keys = tuple(rows[level][0] for level in levels)
    for i, level in enumerate(levels):
        key, row = rows[level]
        require_keys(row, ("trained_by",) + columns, path, where=f" under '{key}'")
        if row["trained_by"] != stages[level]:
            raise DataFileError(f"{path}: {key}.trained_by is {row['trained_by']!r} but "
                                f"params.yaml has {stages[level]} train it; {SWEEP_RERUN}")
        for score in names:
            check_interval(row, score, path, key, SWEEP_RERUN)
        for column in columns:
            if not math.isclose(float(row[column]), table[column][i], rel_tol=1e-9):
                raise DataFileError(f"{path}: {key}.{column} = {row[column]} differs from "
                                    f"{plot} ({table[column][i]}); {SWEEP_RERUN}")
    require_keys(obj["verdict"], names, path, where=" under 'verdict'")
    values = {s: {key: float(row[s]) for key, row in rows.values()} for s in names}
    verdict = {s: check_sweep_verdict(obj["verdict"][s], s, values[s], path) for s in names}
    require_keys(obj["best"], tuple(f"by_{s}" for s in names), path, where=" under 'best'")
    best = {f"by_{s}": obj["best"][f"by_{s}"] for s in names}
    _check_sweep_best(best, verdict, path)
    return {"noise_type": sweep.noise_type, "levels": table["noise_level"], "keys": keys,
            "trained_by": tuple(stages[level] for level in levels),
            "train_dae_level": sweep.train_dae_level, "scores": names,
            **{c: table[c] for c in columns},
            "best": {f"by_{s}": float(verdict[s]["top"]) for s in names},
            "verdict": verdict, "protocol": check_sweep_protocol(obj["protocol"], path)}


def _sweep_levels(obj: dict, path: Path) -> dict[float, tuple[str, dict]]:
    """``{level: (its key, its entry)}``: every key but :data:`SWEEP_META_KEYS` is a level
    (``str(float(level))``), its entry's ``noise_level``."""
    rows = {}
    for key, row in obj.items():
        if key in SWEEP_META_KEYS:
            continue
        require_keys(row, ("noise_level",), path, where=f" under '{key}'")
        try:
            level = float(key)
        except ValueError:
            level = None
        if level is None or not _is_number(row["noise_level"]) \
                or not math.isclose(row["noise_level"], level, rel_tol=1e-9):
            raise DataFileError(f"{path}: key {key!r} is not a corruption level or differs from "
                                f"its noise_level {row['noise_level']!r}; {SWEEP_RERUN}")
        rows[level] = (key, row)
    return rows


def _check_sweep_best(best: Mapping[str, Any], verdict: Mapping[str, dict], path: Path) -> None:
    """Each ``best.by_<score>`` must be the level of that score's verdict's top."""
    for score, v in verdict.items():
        by, top = f"by_{score}", float(v["top"])
        if not _is_number(best[by]) or not math.isclose(best[by], top, rel_tol=1e-9):
            raise DataFileError(f"{path}: best.{by} = {best[by]} but verdict.{score}.top is "
                                f"{v['top']}; {SWEEP_RERUN}")


def read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing; run from the repository root") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: unreadable ({type(exc).__name__})") from None


def read_table(path: Path, columns: tuple[str, ...],
               text_columns: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Read a CSV into one array per column: float, or str for ``text_columns``.

    Raises DataFileError on a missing file or column, no rows, or a non-number.
    """
    rows = read_csv(path)
    if not rows:
        raise DataFileError(f"{path}: no rows; rerun the stage that writes it")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise DataFileError(f"{path}: lacks column(s) {', '.join(missing)}; "
                            "rerun the stage that writes it")
    table = {}
    for column in columns:
        cells = [row[column] for row in rows]
        if column in text_columns:
            table[column] = np.array(cells, dtype=str)
            continue
        try:
            table[column] = np.array([float(c) for c in cells])
        except (TypeError, ValueError):
            raise DataFileError(f"{path}: column {column} holds a value that is not a number; "
                                "rerun the stage that writes it") from None
    return table


def read_embedding(path: Path) -> dict[str, np.ndarray]:
    table = read_table(path, EMBEDDING_COLUMNS)
    for column in ("index", "label"):  # integers written as CSV text
        values = table[column]
        if not (np.isfinite(values) & (values == np.round(values))).all():
            raise DataFileError(f"{path}: column {column} holds a value that is not an "
                                "integer; rerun latent_stats")
        table[column] = values.astype(np.int64)
    for column in ("x", "y"):
        if not np.isfinite(table[column]).all():
            raise DataFileError(f"{path}: column {column} holds a value that is not finite; "
                                "rerun latent_stats")
    return table


def read_moments(path: Path) -> dict[str, dict[str, np.ndarray]]:
    table = read_table(path, MOMENT_COLUMNS, text_columns=("method",))
    moments = {}
    for method in METHODS:
        mask = table["method"] == method
        if not mask.any():
            raise DataFileError(f"{path}: no rows for method {method}; rerun latent_stats")
        order = np.argsort(table["dim"][mask], kind="stable")
        moments[method] = {k: table[k][mask][order] for k in ("dim", "mean", "var")}
        moments[method]["dim"] = moments[method]["dim"].astype(int)
    return moments
