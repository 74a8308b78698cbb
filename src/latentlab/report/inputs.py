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
from latentlab.params import BASELINES, MODELS, TrainParams
from latentlab.report.gitstate import GitState, committed_json, read_git_state

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
NO_LABEL = -1  # the label of every image of a data set without labels
BINARIZE_MODES = ("none", "static", "dynamic")


def sweep_scores(has_labels: bool) -> tuple[str, ...]:
    """The DAE sweep's scores: recon MSE, and kNN and probe accuracy where there are labels."""
    return SWEEP_SCORES if has_labels else SWEEP_SCORES[:1]


@dataclass(frozen=True)
class ReportPaths:
    """Where each input lives (the paths come from dvc.yaml through the stage's flags).

    ``codes`` maps every method of :data:`METHODS` to its ``codes.npz``;
    ``train_metrics`` and ``curves`` map every model (ae, dae, vae) to its JSON
    and CSV; ``baseline_metrics`` maps pca and tsne to their JSON;
    ``embeddings_dir`` holds ``<method>.csv`` for every method. ``evaluate`` and
    ``walks`` are the evaluate stage's outputs; ``kl_per_dim``, ``dae_sweep_scores``
    and ``dae_sweep_plot`` the latent_stats stage's. ``meta`` is the preprocess
    stage's record (optional: without it the binarisation is read from the splits).
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
    meta: Path | None = None  # data/processed/meta.json (binarisation, test split, caps)


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read and checked.

    Attributes
    ----------
    source : dict
        ``source.json``: name, origin, n_examples, image_shape, n_classes, sha256, ...
    meta : dict
        ``data/processed/meta.json`` (``binarize``, ``binarize_threshold``, ``test_split``,
        ``caps``, ...); empty when the report was given none.
    has_labels : bool
        False for a data set without labels: every ``y_*`` is -1 and the label-based
        metrics (:data:`LABEL_KEYS`) are absent everywhere. True for older inputs that
        do not say.
    binarize : str
        The preprocessing's binarisation, one of :data:`BINARIZE_MODES` ("none" for
        older inputs that do not say).
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
        Arrays of shape (n_rows,), n_rows <= the method's test codes (``latent_stats``
        keeps a seeded subsample of at most ``latent_stats.plot_points``; t-SNE's codes
        may cover a subsample of the test split); ``index`` is the row in the test split.
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
        (criterion -> level, from the scores JSON), ``scores`` (the score names:
        :func:`sweep_scores`).
    params_text : str
        ``params.yaml`` verbatim.
    vae_params : TrainParams
        ``train.vae`` (β and its KL schedule), as the training stage read it.
    git : GitState
        The commit the run started from (HEAD when rendered) and the inputs that
        differed from it.
    metrics_now : dict of path -> dict
        The metrics files the "What changed" section compares (all the metrics this
        report reads but the wall times), keyed by their path relative to the
        repository root, as this run wrote them.
    metrics_before : dict of path -> dict or None, or None
        The same files as committed at ``git.commit`` (None for a file it lacks);
        None when there is no commit.
    """

    source: dict
    meta: dict
    has_labels: bool
    binarize: str
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
    vae_params: TrainParams
    git: GitState
    metrics_now: dict[str, dict] = field(repr=False)
    metrics_before: dict[str, dict | None] | None = field(repr=False)


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
    source = _read_object(paths.source, SOURCE_KEYS)
    meta = {} if paths.meta is None else _read_object(paths.meta, ())
    has_labels = _has_labels(paths, source, meta, splits)
    binarize = _binarize(paths, meta, splits)
    latent_stats = _read_latent_stats(paths.latent_stats, has_labels)
    root = Path(paths.params).parent  # the repository root: params.yaml lives there
    git = read_git_state(root)
    compared = _compared_metrics(paths, root)
    inputs = ReportInputs(
        source=source,
        meta=meta,
        has_labels=has_labels,
        binarize=binarize,
        splits=splits,
        codes={m: read_npz(paths.codes[m], required=CODE_KEYS[m]) for m in METHODS},
        train_metrics={m: _read_train_metrics(paths.train_metrics[m], m, binarize)
                       for m in MODELS},
        curves={m: _read_table(paths.curves[m], CURVE_COLUMNS[m]) for m in MODELS},
        baseline_metrics={m: _read_baseline(paths.baseline_metrics[m], m) for m in BASELINES},
        latent_stats=latent_stats,
        fit_seconds=_read_fit_seconds(paths.fit_seconds),
        moments=_read_moments(paths.moments),
        embeddings={m: _read_embedding(Path(paths.embeddings_dir) / f"{m}.csv") for m in METHODS},
        evaluate=_read_evaluate(paths, latent_stats["vae"]),
        walks=read_npz(paths.walks, required=WALK_KEYS),
        kl_per_dim=_read_kl_per_dim(paths.kl_per_dim, latent_stats["vae"]),
        dae_sweep=_read_dae_sweep(paths, has_labels),
        params_text=params_text,
        vae_params=params_module.load("train.vae", paths.params),
        git=git,
        metrics_now={label: read_json(path) for label, path in compared.items()},
        metrics_before=(None if git.commit is None else
                        {label: committed_json(git.commit, path)
                         for label, path in compared.items()}),
    )
    _check_shapes(inputs, paths)
    _check_tsne(inputs, paths)
    _check_walks(inputs, paths.walks)
    return inputs


def _flag(value: Any) -> bool | None:
    """A JSON or npz boolean as a bool (None when absent)."""
    return None if value is None else bool(np.asarray(value))


def _has_labels(paths: ReportPaths, source: dict, meta: dict,
                splits: Mapping[str, np.ndarray]) -> bool:
    """Whether the data set has labels; the files that record it must agree (older: True)."""
    said = {paths.source: _flag(source.get("has_labels")),
            paths.data: _flag(splits.get("has_labels"))}
    if paths.meta is not None:
        said[paths.meta] = _flag(meta.get("has_labels"))
    said = {path: value for path, value in said.items() if value is not None}
    if len(set(said.values())) > 1:
        where = ", ".join(f"{path} {str(v).lower()}" for path, v in said.items())
        raise DataFileError(f"{paths.data}: has_labels differs between the data files ({where}); "
                            "rerun preprocess")
    has_labels = next(iter(said.values()), True)
    if not has_labels:
        for split in ("train", "val", "test"):
            if (splits[f"y_{split}"] != NO_LABEL).any():
                raise DataFileError(f"{paths.data}: has_labels is false but y_{split} holds a "
                                    f"label other than {NO_LABEL}; rerun preprocess")
    return has_labels


def _binarize(paths: ReportPaths, meta: dict, splits: Mapping[str, np.ndarray]) -> str:
    """The preprocessing's binarisation, from meta.json and splits.npz (older: "none")."""
    said = {}
    if "binarize" in splits:
        said[paths.data] = str(np.asarray(splits["binarize"]))
    if "binarize" in meta:
        said[paths.meta] = str(meta["binarize"])
    for path, mode in said.items():
        if mode not in BINARIZE_MODES:
            raise DataFileError(f"{path}: binarize is {mode!r}, expected one of "
                                f"{', '.join(BINARIZE_MODES)}; rerun preprocess")
    if len(set(said.values())) > 1:
        where = ", ".join(f"{path} {mode}" for path, mode in said.items())
        raise DataFileError(f"{paths.data}: binarize differs between the data files ({where}); "
                            "rerun preprocess")
    return next(iter(said.values()), "none")


def _compared_metrics(paths: ReportPaths, root: Path) -> dict[str, Path]:
    """The metrics files of "What changed" (every metrics input but the wall times), keyed
    by their path relative to ``root`` (as ``dvc metrics diff`` names them)."""
    files = [*(paths.train_metrics[m] for m in MODELS),
             *(paths.baseline_metrics[m] for m in BASELINES),
             paths.evaluate, paths.latent_stats, paths.dae_sweep_scores]
    out = {}
    for path in files:
        try:
            label = Path(path).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            label = Path(path).as_posix()
        out[label] = Path(path)
    return out


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


def _read_train_metrics(path: Path, model: str, binarize: str) -> dict:
    """A model's metrics; a recorded ``binarize`` must be the data's (older files lack it)."""
    obj = _read_object(path, TRAIN_KEYS)
    _require_keys(obj["test"], TEST_KEYS[model], path, where=" under 'test'")
    if "binarize" in obj and obj["binarize"] != binarize:
        raise DataFileError(f"{path}: binarize is {obj['binarize']!r} but the splits are "
                            f"{binarize!r}; rerun train")
    return obj


def _read_baseline(path: Path, method: str) -> dict:
    """A baseline's metrics; t-SNE's subsample keys, where present, all of them."""
    obj = _read_object(path, BASELINE_KEYS[method])
    if method == "tsne" and any(k in obj for k in TSNE_SUBSAMPLE_KEYS):
        _require_keys(obj, TSNE_SUBSAMPLE_KEYS, path)
    return obj


def _read_latent_stats(path: Path, has_labels: bool) -> dict[str, dict]:
    obj = _read_object(path, METHODS)
    keys = (LABEL_KEYS if has_labels else ()) + STATS_KEYS
    for method in METHODS:
        _require_keys(obj[method], keys, path, where=f" under '{method}'")
        if not has_labels:  # stale label metrics of an earlier labelled run: not shown
            for key in LABEL_KEYS:
                obj[method].pop(key, None)
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


def _read_dae_sweep(paths: ReportPaths, has_labels: bool) -> dict:
    """The sweep's scores: arrays from the plot CSV, checked against the JSON and params.

    Without labels the scores are recon MSE alone (no kNN or probe accuracy)."""
    sweep = params_module.load("dae_sweep", paths.params)
    names = sweep_scores(has_labels)
    table = _read_table(paths.dae_sweep_plot, ("noise_level",) + names)
    order = np.argsort(table["noise_level"], kind="stable")
    table = {k: v[order] for k, v in table.items()}
    scores = _read_object(paths.dae_sweep_scores, ("best",))
    by = {f"by_{score}": score for score in names}
    _require_keys(scores["best"], tuple(by), paths.dae_sweep_scores, where=" under 'best'")
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
        _require_keys(rows[level], names, paths.dae_sweep_scores, where=f" under '{level}'")
        for score in names:
            if not math.isclose(float(rows[level][score]), table[score][i], rel_tol=1e-9):
                raise DataFileError(f"{paths.dae_sweep_scores}: {level}.{score} differs from "
                                    f"{paths.dae_sweep_plot}; rerun latent_stats")
    best = {key: float(scores["best"][key]) for key in by}
    _check_sweep_best(table, best, by, paths.dae_sweep_scores)
    return {"noise_type": sweep.noise_type, "levels": table["noise_level"],
            **{score: table[score] for score in names}, "best": best, "scores": names}


def _check_sweep_best(table: dict[str, np.ndarray], best: dict[str, float],
                      criteria: Mapping[str, str], path: Path) -> None:
    """Each ``best.by_<score>`` must be a level holding that score's best value."""
    for by, score in criteria.items():
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
    """Every per-image array must match the test split: (n_test, h * w) or (n_test,); an
    embedding CSV may hold fewer rows (a subsample), each a distinct test row."""
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
        _check_embedding(inputs, method, Path(paths.embeddings_dir) / f"{method}.csv", paths)


def _check_embedding(inputs: ReportInputs, method: str, path: Path, paths: ReportPaths) -> None:
    """An embedding CSV: at most one row per test code (latent_stats keeps a seeded subsample
    of at most ``latent_stats.plot_points``), each a distinct row of the test split that the
    method's codes cover, labelled as the splits label it."""
    e, codes = inputs.embeddings[method], inputs.codes[method]
    n_test, n_codes, n_rows = len(inputs.splits["x_test"]), len(codes["z_test"]), len(e["x"])
    if n_rows > n_codes:
        raise DataFileError(f"{path}: {n_rows} rows, more than the {n_codes} test codes of "
                            f"{method} in {paths.codes[method]}; rerun latent_stats")
    index = e["index"]
    bad = np.flatnonzero((index < 0) | (index >= n_test))
    if len(bad):
        raise DataFileError(f"{path}: index {int(index[bad[0]])} is not a row of the test split "
                            f"[0, {n_test}); rerun latent_stats")
    if len(np.unique(index)) != n_rows:
        raise DataFileError(f"{path}: column index repeats a test row; rerun latent_stats")
    covered = codes.get("index_test")
    if covered is not None and not np.isin(index, covered).all():
        raise DataFileError(f"{path}: index holds test rows that {method}'s codes "
                            f"({paths.codes[method]}: index_test) do not cover; rerun latent_stats")
    wrong = np.flatnonzero(e["label"] != inputs.splits["y_test"][index])
    if len(wrong):
        i = int(index[wrong[0]])
        raise DataFileError(f"{path}: label {int(e['label'][wrong[0]])} for test row {i}, but "
                            f"y_test[{i}] is {int(inputs.splits['y_test'][i])} in {paths.data}; "
                            "rerun latent_stats")


def _check_tsne(inputs: ReportInputs, paths: ReportPaths) -> None:
    """t-SNE's codes, its subsample record and latent_stats' n_test_points must agree."""
    codes, path = inputs.codes["tsne"], paths.codes["tsne"]
    n_train, n_test = len(inputs.splits["x_train"]), len(inputs.splits["x_test"])
    for split, n in (("train", n_train), ("test", n_test)):
        z, rows = codes[f"z_{split}"], codes.get(f"index_{split}")
        if rows is None:
            if len(z) != n:
                raise DataFileError(f"{path}: z_{split} has {len(z)} rows but the {split} split "
                                    f"{n} and there is no index_{split}; rerun baseline@tsne")
        elif rows.shape != (len(z),) or not ((0 <= rows) & (rows < n)).all():
            raise DataFileError(f"{path}: index_{split} must hold one row of the {split} split "
                                f"[0, {n}) per code ({len(z)}); rerun baseline@tsne")
    metrics, mpath = inputs.baseline_metrics["tsne"], paths.baseline_metrics["tsne"]
    n_codes = len(codes["z_train"]) + len(codes["z_test"])
    if "n_points_embedded" in metrics:
        for key, want in (("n_points_embedded", n_codes), ("n_points_available", n_train + n_test),
                          ("subsampled", n_codes < n_train + n_test)):
            if metrics[key] != want:
                raise DataFileError(f"{mpath}: {key} = {metrics[key]} but {path} and "
                                    f"{paths.data} give {want}; rerun baseline@tsne")
    counted = inputs.latent_stats["tsne"].get("n_test_points")
    if counted is not None and int(counted) != len(codes["z_test"]):
        raise DataFileError(f"{paths.latent_stats}: tsne.n_test_points = {counted} but {path} "
                            f"has {len(codes['z_test'])} test codes; rerun latent_stats")


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
