"""Read the outputs of every stage that the report shows, and check them.

:func:`load_inputs` reads the files named by a
:class:`~latentlab.report.inputs.ReportPaths` into a
:class:`~latentlab.report.inputs.ReportInputs`, each file with its reader of
:mod:`latentlab.report.inputs_files`, then checks them against each other
(:mod:`latentlab.report.inputs_checks`; the verdict against the table it decides in
:mod:`latentlab.report.inputs_verdict`); a problem is a one-line
:class:`~latentlab.io.DataFileError` that names the file. It is kept apart from
the wording and the rendering so that a bad or stale input fails here, with the
file named, before any figure or sentence is made; no module of the reading
imports a section or :mod:`~latentlab.report.build`.

Nothing here reads git: the report is a function of the files its stage lists as
DVC deps alone, so a fresh clone re-renders the committed bytes. What changed
since the last commit is :mod:`latentlab.report.changes`, a command of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from latentlab import params as params_module
from latentlab.io import DataFileError, read_npz, sha256_file
from latentlab.params import BASELINES, MODELS
from latentlab.report.inputs import METHODS, ReportInputs, ReportPaths
from latentlab.report.inputs_checks import (
    agreed_binarize,
    agreed_has_labels,
    check_shapes,
    check_tsne,
    check_walks,
)
from latentlab.report.inputs_files import (
    CODE_KEYS,
    CURVE_COLUMNS,
    SOURCE_KEYS,
    SPLIT_KEYS,
    WALK_KEYS,
    read_baseline,
    read_dae_sweep,
    read_embedding,
    read_evaluate,
    read_kl_per_dim,
    read_latent_stats,
    read_moments,
    read_object,
    read_table,
    read_text,
    read_train_metrics,
)
from latentlab.report.inputs_verdict import read_verdict


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
    read_text(paths.params)  # a missing or unreadable file: one line that names it
    params_text = params_module.values_text(paths.params)
    source = read_object(paths.source, SOURCE_KEYS)
    meta = {} if paths.meta is None else read_object(paths.meta, ())
    has_labels = agreed_has_labels(paths, source, meta, splits)
    binarize = agreed_binarize(paths, meta, splits)
    latent_stats = read_latent_stats(paths.latent_stats, has_labels)
    inputs = ReportInputs(
        source=source,
        meta=meta,
        has_labels=has_labels,
        binarize=binarize,
        splits=splits,
        codes={m: read_npz(paths.codes[m], required=CODE_KEYS[m]) for m in METHODS},
        train_metrics={m: read_train_metrics(paths.train_metrics[m], m, binarize)
                       for m in MODELS},
        curves={m: read_table(paths.curves[m], CURVE_COLUMNS[m]) for m in MODELS},
        baseline_metrics={m: read_baseline(paths.baseline_metrics[m], m) for m in BASELINES},
        latent_stats=latent_stats,
        verdict=read_verdict(paths.verdict, latent_stats, has_labels, len(splits["x_test"])),
        moments=read_moments(paths.moments),
        embeddings={m: read_embedding(Path(paths.embeddings_dir) / f"{m}.csv") for m in METHODS},
        evaluate=read_evaluate(paths, latent_stats["vae"]),
        walks=read_npz(paths.walks, required=WALK_KEYS),
        kl_per_dim=read_kl_per_dim(paths.kl_per_dim, latent_stats["vae"]),
        dae_sweep=read_dae_sweep(paths, has_labels),
        params_text=params_text,
        splits_sha256=sha256_file(paths.data),
        train_params={m: params_module.load(f"train.{m}", paths.params) for m in MODELS},
    )
    check_shapes(inputs, paths)
    check_tsne(inputs, paths)
    check_walks(inputs, paths.walks)
    return inputs


def _require_methods(mapping: Mapping[str, Path], expected: tuple[str, ...], flag: str) -> None:
    missing = [m for m in expected if m not in mapping]
    if missing:
        raise DataFileError(f"--{flag}: no path for {', '.join(missing)}; "
                            f"pass {missing[0]}=PATH")
