"""Read the outputs of every stage that the report shows, and check them.

:func:`load_inputs` reads the files named by a :class:`ReportPaths` into a
:class:`ReportInputs`, checking each file for the keys, columns and shapes the
report uses (a problem is a one-line :class:`~latentlab.io.DataFileError` that
names the file). It is kept apart from the wording and the rendering so that a
bad or stale input fails here, with the file named, before any figure or
sentence is made; this module imports neither :mod:`~latentlab.report.text`
nor :mod:`~latentlab.report.build`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from latentlab import params as params_module
from latentlab.io import DataFileError, read_csv, read_json, read_npz
from latentlab.params import BASELINES, MODELS

METHODS = BASELINES + MODELS  # ("pca", "tsne", "ae", "dae", "vae"): the table's row order

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
                 "vae": RECON_COLUMNS + ("train_kl", "train_elbo", "val_kl", "val_elbo")}
BASELINE_KEYS = {"pca": ("explained_variance_ratio_sum", "n_components"),
                 "tsne": ("kl_divergence", "n_iter", "embedded")}
STATS_KEYS = ("knn_accuracy", "probe_accuracy", "trustworthiness", "latent_dim",
              "latent_mean_abs", "latent_var_mean", "latent_kl_to_prior_nats",
              "latent_kl_to_prior_diag_nats")
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
SWEEP_SCORES = ("recon_mse", "knn_accuracy", "probe_accuracy")
SWEEP_COLUMNS = ("noise_level",) + SWEEP_SCORES
SWEEP_BEST = {f"by_{score}": score for score in SWEEP_SCORES}
MOMENT_COLUMNS = ("method", "dim", "mean", "var")
EMBEDDING_COLUMNS = ("index", "x", "y", "label")


@dataclass(frozen=True)
class ReportPaths:
    """Where each input lives (the paths come from dvc.yaml through the stage's flags).

    ``codes`` maps every method of :data:`METHODS` to its ``codes.npz``;
    ``train_metrics`` and ``curves`` map every model (ae, dae, vae) to its JSON
    and CSV; ``baseline_metrics`` maps pca and tsne to their JSON;
    ``embeddings_dir`` holds ``<method>.csv`` for every method. ``evaluate`` and
    ``walks`` are the evaluate stage's outputs; ``kl_per_dim``, ``dae_sweep_scores``
    and ``dae_sweep_plot`` the latent_stats stage's.
    """

    source: Path
    data: Path
    codes: Mapping[str, Path]
    train_metrics: Mapping[str, Path]
    curves: Mapping[str, Path]
    baseline_metrics: Mapping[str, Path]
    latent_stats: Path
    fit_seconds: Path
    moments: Path
    embeddings_dir: Path
    params: Path
    evaluate: Path
    walks: Path
    kl_per_dim: Path
    dae_sweep_scores: Path
    dae_sweep_plot: Path


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read and checked.

    Attributes
    ----------
    source : dict
        ``source.json``: name, origin, n_examples, image_shape, n_classes, sha256, ...
    splits : dict of ndarray
        ``x_{train,val,test}`` of shape (n, h * w) in [0, 1], ``y_*`` of shape (n,),
        ``image_shape`` = [h, w].
    codes : dict of method -> dict of ndarray
        The arrays of each ``codes.npz``.
    train_metrics : dict of model -> dict
        ``metrics/train/<model>.json``; test terms in nats per example.
    curves : dict of model -> dict of ndarray
        Columns of ``plots/train/<model>.csv``, each of shape (n_epochs,).
    baseline_metrics : dict of method -> dict
        ``metrics/baseline/{pca,tsne}.json``.
    latent_stats : dict of method -> dict
        ``metrics/latent_stats.json``.
    fit_seconds : dict of method -> float
        Wall seconds of each fit.
    moments : dict of method -> {"dim", "mean", "var"}
        Arrays of shape (latent_dim,), sorted by dim.
    embeddings : dict of method -> {"index", "x", "y", "label"}
        Arrays of shape (n_test,).
    evaluate : dict
        ``metrics/evaluate.json``'s ``vae`` entry: log p(x) (IWAE), ELBO_K and their gap.
    walks : dict of ndarray
        ``walks.npz``: ``pair`` (2,) test indices, ``interpolation_<model>`` of shape
        (steps, h * w), and ``prior_grid_<model>`` of shape (s * s, h * w) only for
        2-D latent spaces.
    kl_per_dim : dict of ndarray
        The VAE's ``dim`` (int), ``kl_nats``, ``code_variance``, ``active`` (bool),
        each of shape (latent_dim,), sorted by dim.
    dae_sweep : dict
        ``noise_type`` (str, from ``params.yaml``), ``levels`` and one array per
        score (shape (n_levels,), sorted by level, from the plot CSV), ``best``
        (criterion -> level, from the scores JSON).
    params_text : str
        ``params.yaml`` verbatim.
    """

    source: dict
    splits: dict[str, np.ndarray]
    codes: dict[str, dict[str, np.ndarray]]
    train_metrics: dict[str, dict]
    curves: dict[str, dict[str, np.ndarray]]
    baseline_metrics: dict[str, dict]
    latent_stats: dict[str, dict]
    fit_seconds: dict[str, float]
    moments: dict[str, dict[str, np.ndarray]]
    embeddings: dict[str, dict[str, np.ndarray]]
    evaluate: dict
    walks: dict[str, np.ndarray]
    kl_per_dim: dict[str, np.ndarray]
    dae_sweep: dict
    params_text: str = field(repr=False)


def method_path(text: str) -> tuple[str, Path]:
    """Parse one ``METHOD=PATH`` command-line value (an argparse ``type``)."""
    method, sep, path = text.partition("=")
    if not (sep and method and path):
        raise ValueError(f"expected METHOD=PATH, got {text!r}")
    return method, Path(path)


def load_inputs(paths: ReportPaths) -> ReportInputs:
    """Read and check every input of the report.

    Raises
    ------
    DataFileError
        A file is missing, unreadable, or lacks a key, column or method the
        report needs; the message names the file.
    """
    for flag, mapping, expected in (("codes", paths.codes, METHODS),
                                    ("train-metrics", paths.train_metrics, MODELS),
                                    ("curves", paths.curves, MODELS),
                                    ("baseline-metrics", paths.baseline_metrics, BASELINES)):
        _require_methods(mapping, expected, flag)
    splits = read_npz(paths.data, required=SPLIT_KEYS)
    params_text = _read_text(paths.params)
    latent_stats = _read_latent_stats(paths.latent_stats)
    inputs = ReportInputs(
        source=_read_object(paths.source, SOURCE_KEYS),
        splits=splits,
        codes={m: read_npz(paths.codes[m], required=CODE_KEYS[m]) for m in METHODS},
        train_metrics={m: _read_train_metrics(paths.train_metrics[m], m) for m in MODELS},
        curves={m: _read_table(paths.curves[m], CURVE_COLUMNS[m]) for m in MODELS},
        baseline_metrics={m: _read_object(paths.baseline_metrics[m], BASELINE_KEYS[m])
                          for m in BASELINES},
        latent_stats=latent_stats,
        fit_seconds=_read_fit_seconds(paths.fit_seconds),
        moments=_read_moments(paths.moments),
        embeddings={m: _read_embedding(Path(paths.embeddings_dir) / f"{m}.csv") for m in METHODS},
        evaluate=_read_evaluate(paths, latent_stats["vae"]),
        walks=read_npz(paths.walks, required=WALK_KEYS),
        kl_per_dim=_read_kl_per_dim(paths.kl_per_dim, latent_stats["vae"]),
        dae_sweep=_read_dae_sweep(paths),
        params_text=params_text,
    )
    _check_shapes(inputs, paths)
    _check_walks(inputs, paths.walks)
    return inputs


def _require_methods(mapping: Mapping[str, Path], expected: tuple[str, ...], flag: str) -> None:
    missing = [m for m in expected if m not in mapping]
    if missing:
        raise DataFileError(f"--{flag}: no path for {', '.join(missing)}; "
                            f"pass {missing[0]}=PATH")


def _require_keys(obj: Any, keys: tuple[str, ...], path: Path, where: str = "") -> None:
    """Raise DataFileError unless ``obj`` is a dict holding every key."""
    if not isinstance(obj, dict):
        raise DataFileError(f"{path}: expected a JSON object{where}; "
                            "rerun the stage that writes it")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise DataFileError(f"{path}: lacks key(s) {', '.join(missing)}{where}; "
                            "rerun the stage that writes it")


def _read_object(path: Path, keys: tuple[str, ...]) -> dict:
    obj = read_json(path)
    _require_keys(obj, keys, path)
    return obj


def _read_train_metrics(path: Path, model: str) -> dict:
    obj = _read_object(path, TRAIN_KEYS)
    _require_keys(obj["test"], TEST_KEYS[model], path, where=" under 'test'")
    return obj


def _read_latent_stats(path: Path) -> dict[str, dict]:
    obj = _read_object(path, METHODS)
    for method in METHODS:
        _require_keys(obj[method], STATS_KEYS, path, where=f" under '{method}'")
    for model in MODELS:
        _require_keys(obj[model], RECON_INFO_KEYS, path, where=f" under '{model}'")
    _require_keys(obj["vae"], VAE_STATS_KEYS, path, where=" under 'vae'")
    return obj


def _read_evaluate(paths: ReportPaths, vae_stats: dict) -> dict:
    """``evaluate.json``'s vae entry; latent_stats.json's copies of it must agree."""
    obj = _read_object(paths.evaluate, ("vae",))
    vae = obj["vae"]
    _require_keys(vae, EVALUATE_KEYS, paths.evaluate, where=" under 'vae'")
    for key, copy in EVALUATE_COPIES.items():
        if not math.isclose(float(vae[key]), float(vae_stats[copy]), rel_tol=1e-9):
            raise DataFileError(f"{paths.latent_stats}: vae.{copy} = {vae_stats[copy]} but "
                                f"{paths.evaluate} has {key} = {vae[key]}; rerun latent_stats")
    return vae


def _read_kl_per_dim(path: Path, vae_stats: dict) -> dict[str, np.ndarray]:
    """The VAE's per-dimension KL; one row per latent dim, ``active`` agreeing with the count."""
    table = _read_table(path, KL_PER_DIM_COLUMNS)
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


def _read_dae_sweep(paths: ReportPaths) -> dict:
    """The sweep's scores: arrays from the plot CSV, checked against the JSON and params."""
    sweep = params_module.load("dae_sweep", paths.params)
    table = _read_table(paths.dae_sweep_plot, SWEEP_COLUMNS)
    order = np.argsort(table["noise_level"], kind="stable")
    table = {k: v[order] for k, v in table.items()}
    scores = _read_object(paths.dae_sweep_scores, ("best",))
    _require_keys(scores["best"], tuple(SWEEP_BEST), paths.dae_sweep_scores,
                  where=" under 'best'")
    try:
        rows = {float(k): v for k, v in scores.items() if k != "best"}
    except ValueError:
        raise DataFileError(f"{paths.dae_sweep_scores}: a key other than 'best' is not a "
                            "corruption level; rerun latent_stats") from None
    levels = [float(v) for v in table["noise_level"]]
    for path, found in ((paths.dae_sweep_plot, levels), (paths.dae_sweep_scores, sorted(rows))):
        if sorted(found) != sorted(float(v) for v in sweep.levels):
            raise DataFileError(f"{path}: levels {sorted(found)} differ from params.yaml's "
                                f"dae_sweep.levels {list(sweep.levels)}; rerun latent_stats")
    for i, level in enumerate(levels):
        _require_keys(rows[level], SWEEP_SCORES, paths.dae_sweep_scores,
                      where=f" under '{level}'")
        for score in SWEEP_SCORES:
            if not math.isclose(float(rows[level][score]), table[score][i], rel_tol=1e-9):
                raise DataFileError(f"{paths.dae_sweep_scores}: {level}.{score} differs from "
                                    f"{paths.dae_sweep_plot}; rerun latent_stats")
    best = {by: float(scores["best"][by]) for by in SWEEP_BEST}
    _check_sweep_best(table, best, paths.dae_sweep_scores)
    return {"noise_type": sweep.noise_type, "levels": table["noise_level"],
            **{score: table[score] for score in SWEEP_SCORES}, "best": best}


def _check_sweep_best(table: dict[str, np.ndarray], best: dict[str, float], path: Path) -> None:
    """Each ``best.by_<score>`` must be a level holding that score's best value."""
    for by, score in SWEEP_BEST.items():
        values = table[score]
        target = values.min() if score == "recon_mse" else values.max()
        winners = table["noise_level"][np.isclose(values, target, rtol=1e-12, atol=0.0)]
        if not np.isclose(winners, best[by]).any():
            raise DataFileError(f"{path}: best.{by} = {best[by]} but the best {score} is at "
                                f"{winners.tolist()}; rerun latent_stats")


def _read_fit_seconds(path: Path) -> dict[str, float]:
    obj = _read_object(path, METHODS)
    bad = [m for m in METHODS if isinstance(obj[m], bool) or not isinstance(obj[m], (int, float))]
    if bad:
        raise DataFileError(f"{path}: {bad[0]} is not a number of seconds")
    return {m: float(obj[m]) for m in METHODS}


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing; run from the repository root") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: unreadable ({type(exc).__name__})") from None


def _read_table(path: Path, columns: tuple[str, ...],
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


def _read_embedding(path: Path) -> dict[str, np.ndarray]:
    table = _read_table(path, EMBEDDING_COLUMNS)
    for column in ("index", "label"):  # integers written as CSV text
        table[column] = table[column].astype(np.int64)
    return table


def _read_moments(path: Path) -> dict[str, dict[str, np.ndarray]]:
    table = _read_table(path, MOMENT_COLUMNS, text_columns=("method",))
    moments = {}
    for method in METHODS:
        mask = table["method"] == method
        if not mask.any():
            raise DataFileError(f"{path}: no rows for method {method}; rerun latent_stats")
        order = np.argsort(table["dim"][mask], kind="stable")
        moments[method] = {k: table[k][mask][order] for k in ("dim", "mean", "var")}
        moments[method]["dim"] = moments[method]["dim"].astype(int)
    return moments


def _check_shapes(inputs: ReportInputs, paths: ReportPaths) -> None:
    """Every per-image array must match the test split: (n_test, h * w) or (n_test,)."""
    n_test, dim = inputs.splits["x_test"].shape
    if math.prod(int(v) for v in inputs.splits["image_shape"]) != dim:
        raise DataFileError(f"{paths.data}: image_shape {inputs.splits['image_shape'].tolist()} "
                            f"does not match {dim} features")
    for method in METHODS:
        arrays = inputs.codes[method]
        if "recon_test" in arrays and arrays["recon_test"].shape != (n_test, dim):
            raise DataFileError(f"{paths.codes[method]}: recon_test has shape "
                                f"{arrays['recon_test'].shape}, expected {(n_test, dim)}")
        if "prior_samples" in arrays and arrays["prior_samples"].shape[1:] != (dim,):
            raise DataFileError(f"{paths.codes[method]}: prior_samples has shape "
                                f"{arrays['prior_samples'].shape}, expected (n, {dim})")
        if len(inputs.embeddings[method]["x"]) != n_test:
            raise DataFileError(f"{Path(paths.embeddings_dir) / f'{method}.csv'}: "
                                f"{len(inputs.embeddings[method]['x'])} rows, expected {n_test}")


def prior_grid_models(walks: Mapping[str, np.ndarray]) -> list[str]:
    """The models whose ``walks.npz`` holds a decoded prior grid (2-D latent spaces only)."""
    return [m for m in MODELS if f"prior_grid_{m}" in walks]


def _check_walks(inputs: ReportInputs, path: Path) -> None:
    """``pair``: two test indices; interpolations (steps, h * w) alike; grids (s * s, h * w)."""
    n_test, dim = inputs.splits["x_test"].shape
    pair = inputs.walks["pair"]
    if pair.shape != (2,) or not np.issubdtype(pair.dtype, np.integer) \
            or not ((0 <= pair) & (pair < n_test)).all():
        raise DataFileError(f"{path}: pair must be two test indices in [0, {n_test}), "
                            f"got {pair.tolist()}")
    shapes = {inputs.walks[f"interpolation_{m}"].shape for m in MODELS}
    if len(shapes) != 1 or (shape := shapes.pop())[1:] != (dim,) or shape[0] < 2:
        raise DataFileError(f"{path}: interpolations must share a shape (steps >= 2, {dim}); "
                            "rerun evaluate")
    for model in prior_grid_models(inputs.walks):
        grid = inputs.walks[f"prior_grid_{model}"]
        side = math.isqrt(grid.shape[0])
        if grid.ndim != 2 or grid.shape[1] != dim or side * side != grid.shape[0] or not side:
            raise DataFileError(f"{path}: prior_grid_{model} has shape {grid.shape}, "
                                f"expected (s * s, {dim})")
