"""Check that the report's inputs agree with each other, once each file has been read.

Whether the data set has labels and how it was binarised are recorded in
several files, which must agree (:func:`agreed_has_labels`,
:func:`agreed_binarize`); every per-image array must match the test split
(:func:`check_shapes`), t-SNE's codes its subsample record (:func:`check_tsne`),
and the walks the splits' shape (:func:`check_walks`). A disagreement is a
one-line :class:`~latentlab.io.DataFileError` that names the file and the stage
to rerun.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from latentlab.io import DataFileError
from latentlab.params import MODELS
from latentlab.report.inputs import METHODS, ReportInputs, ReportPaths, prior_grid_models

NO_LABEL = -1  # the label of every image of a data set without labels
BINARIZE_MODES = ("none", "static", "dynamic")


def _flag(value: Any) -> bool | None:
    """A JSON or npz boolean as a bool (None when absent)."""
    return None if value is None else bool(np.asarray(value))


def agreed_has_labels(paths: ReportPaths, source: dict, meta: dict,
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


def agreed_binarize(paths: ReportPaths, meta: dict, splits: Mapping[str, np.ndarray]) -> str:
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


def check_shapes(inputs: ReportInputs, paths: ReportPaths) -> None:
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


def check_tsne(inputs: ReportInputs, paths: ReportPaths) -> None:
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


def check_walks(inputs: ReportInputs, path: Path) -> None:
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
