"""The report: built from a complete set of synthetic stage outputs written to tmp_path."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml

from latentlab import io
from latentlab.analysis.sweep import sweep_rows
from latentlab.cli import run_stage
from latentlab.io import DataFileError
from latentlab.report import (
    blocks,
    contents,
    sections_info,
    sections_latent,
    sections_models,
    sections_provenance,
    sections_sweep,
    verdicts,
)
from latentlab.report.build import ReportPaths, build_report, load_inputs
from latentlab.report.inputs import Criterion, Verdict
from latentlab.report.words import fmt

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METHODS = ("pca", "tsne", "ae", "dae", "vae")
MODELS = ("ae", "dae", "vae")
N_TRAIN, N_VAL, N_TEST, SHAPE, LATENT_DIM, N_EPOCHS, N_PRIOR = 60, 20, 30, (8, 8), 4, 12, 9
D = SHAPE[0] * SHAPE[1]
N_EXAMPLES = 6
N_STEPS, GRID_STEPS, IWAE_K = 5, 3, 50
N_FIGURES = 13  # without a prior grid (no 2-D latent space)

# A different method wins each ranked column, so a highlight on the wrong row is caught.
STATS = {
    "pca": {"knn_accuracy": 0.80, "probe_accuracy": 0.97, "trustworthiness": 0.90,
            "recon_mse": 0.030, "latent_kl_to_prior_nats": 12.0,
            "latent_kl_to_prior_diag_nats": 11.5, "latent_mean_abs": 0.01, "latent_var_mean": 3.2},
    "tsne": {"knn_accuracy": 0.95, "probe_accuracy": 0.85, "trustworthiness": 0.94,
             "latent_kl_to_prior_nats": 900.0, "latent_kl_to_prior_diag_nats": 899.0,
             "latent_mean_abs": 4.0, "latent_var_mean": 250.0},
    "ae": {"knn_accuracy": 0.90, "probe_accuracy": 0.89, "trustworthiness": 0.96,
           "recon_mse": 0.012, "latent_kl_to_prior_nats": 45.0,
           "latent_kl_to_prior_diag_nats": 44.0, "latent_mean_abs": 1.5, "latent_var_mean": 9.0},
    "dae": {"knn_accuracy": 0.91, "probe_accuracy": 0.90, "trustworthiness": 0.95,
            "recon_mse": 0.010, "latent_kl_to_prior_nats": 40.0,
            "latent_kl_to_prior_diag_nats": 39.0, "latent_mean_abs": 1.2, "latent_var_mean": 7.5},
    "vae": {"knn_accuracy": 0.88, "probe_accuracy": 0.91, "trustworthiness": 0.93,
            "recon_mse": 0.020, "latent_kl_to_prior_nats": 0.8,
            "latent_kl_to_prior_diag_nats": 0.7, "latent_mean_abs": 0.05, "latent_var_mean": 0.9},
}
# The criteria of metrics/verdict.json and which way is better; the header each has.
CRITERIA = {"knn_accuracy": "max", "probe_accuracy": "max", "trustworthiness": "max",
            "recon_mse": "min", "latent_kl_to_prior_nats": "min"}
HEADERS = {"knn_accuracy": "kNN accuracy", "probe_accuracy": "probe accuracy",
           "trustworthiness": "trustworthiness", "recon_mse": "recon MSE",
           "latent_kl_to_prior_nats": "KL(fit"}
# The verdict the fixtures write: kNN accuracy undecided (dae, the top once t-SNE is left
# out, within noise of ae), every other criterion decided for its top.
TIED = {"knn_accuracy": ("ae",)}
DECIDED = {"probe_accuracy": "pca", "trustworthiness": "ae", "recon_mse": "dae",
           "latent_kl_to_prior_nats": "vae"}
CI_SPREAD = 0.02  # each value's interval in the fixtures: value × (1 ∓ 0.02)
# The reconstruction term read as H(p, q) = H(p) + KL(p ‖ q): (cross-entropy, entropy, KL).
RECON_INFO = {"ae": (16.5, 13.5, 3.0), "dae": (17.0, 13.5, 3.5), "vae": (19.5, 13.5, 6.0)}
# The VAE's KL per latent dimension: two active, two collapsed; sums to test.kl = 8.0.
KL_PER_DIM = [(0, 4.5, 0.9, 1), (1, 0.002, 0.001, 0), (2, 3.496, 0.7, 1), (3, 0.002, 0.002, 0)]
VAE_INFO = {
    "test_log_px_nats": -32.5, "test_log_px_bits_per_dim": 0.7326, "test_gap_nats": 0.4,
    "iwae_samples": IWAE_K, "kl_nats": 8.0, "active_units": 2, "active_fraction": 0.5,
    "mutual_information_nats": 2.9, "mutual_information_max_nats": float(np.log(N_TEST)),
    "kl_minus_mi_nats": 5.1, "posterior_cross_entropy_nats": 12.0,
    "posterior_entropy_nats": 4.0, "kl_q_p_nats": 8.0, "kl_p_q_nats": 20.0,
}
EVALUATE = {"iwae_samples": IWAE_K, "log_px_nats": -32.5, "elbo_k_nats": -32.9, "gap_nats": 0.4,
            "gap_min_nats": 0.01, "log_px_bits_per_dim": 0.7326}
LEVELS = (0.0, 0.1, 0.25, 0.5, 0.75)
PARAMS_YAML = """seed: 0
train:
  common:
    hidden_sizes: [16]
    latent_dim: 4
    activation: relu
    likelihood: bernoulli
    gaussian_std: 0.1
    epochs: 12
    batch_size: 16
    learning_rate: 0.001
    patience: 5
    n_prior_samples: 9
    num_threads: 1
    grad_clip_norm: 0.0
  ae: {}
  dae: {noise_type: masking, noise_level: 0.25}
  vae:
    beta: 1.0
    kl_schedule: constant
    kl_warmup_epochs: 4
    kl_cycles: 2
    active_unit_threshold: 0.01
    collapse_min_active_fraction: 0.5
dae_sweep:
  noise_type: masking
  levels: [0.0, 0.1, 0.5, 0.75]
report:
  n_examples: 6
"""
GIT = ("git", "-c", "user.name=test", "-c", "user.email=test@localhost")


def sweep_scores(best_recon: float, best_repr: float) -> dict[float, dict]:
    """Scores per level: recon MSE lowest at ``best_recon``, both accuracies highest at
    ``best_repr``; every other level worse the farther it lies."""
    return {level: {"recon_mse": 0.01 + 0.02 * abs(level - best_recon),
                    "knn_accuracy": 0.95 - 0.1 * abs(level - best_repr),
                    "probe_accuracy": 0.93 - 0.1 * abs(level - best_repr)} for level in LEVELS}


SWEEP = sweep_scores(0.1, 0.5)  # 0.1 reconstructs best; 0.5 gives the best codes
SWEEP_BETTER = {"recon_mse": "min", "knn_accuracy": "max", "probe_accuracy": "max"}
TRAIN_DAE_LEVEL = 0.25  # train.dae.noise_level: the sweep's member trained by train@dae


def sweep_file(sweep: dict[float, dict], labelled: bool = True,
               tied: dict[str, tuple[float, ...]] | None = None) -> dict:
    """metrics/dae_sweep_scores.json as latent_stats writes it: each value's interval
    value × (1 ∓ CI_SPREAD), the levels in ``tied[score]`` within noise of that score's top,
    every other difference interval excluding 0."""
    names = [s for s in SWEEP_BETTER if labelled or s == "recon_mse"]
    rows = {}
    for level, scores in sweep.items():
        row = {"noise_level": level, "trained_by": "train@dae" if level == TRAIN_DAE_LEVEL
               else f"dae_sweep@{level}"}
        for s in names:
            row.update({s: scores[s], f"{s}_ci_low": scores[s] * (1 - CI_SPREAD),
                        f"{s}_ci_high": scores[s] * (1 + CI_SPREAD)})
        rows[str(float(level))] = row
    verdict = {}
    for s in names:
        sign = 1.0 if SWEEP_BETTER[s] == "max" else -1.0
        ranked = sorted(rows, key=lambda k: -sign * rows[k][s])
        top, differences = ranked[0], {}
        for k in ranked[1:]:
            d = sign * (rows[top][s] - rows[k][s])
            differences[k] = ({"low": -d - 0.001, "high": 2 * d + 0.01}
                              if float(k) in (tied or {}).get(s, ()) else
                              {"low": d / 2, "high": 1.5 * d})
        leaders = [top] + [k for k in ranked[1:] if differences[k]["low"] <= 0.0]
        verdict[s] = {"better": SWEEP_BETTER[s], "top": top, "ranked": ranked,
                      "leaders": leaders, "decided": len(ranked) > 1 and leaders == [top],
                      "differences": differences}
    return {**rows, "best": {f"by_{s}": rows[verdict[s]["top"]]["noise_level"] for s in names},
            "verdict": verdict, "protocol": {"bootstrap_samples": 200, "confidence": 0.95,
                                             "seed": 0, "n_test": N_TEST}}


def write_sweep(root: Path, sweep: dict[float, dict] = SWEEP, labelled: bool = True,
                tied: dict[str, tuple[float, ...]] | None = None) -> None:
    """The DAE sweep's scores (JSON) and plot (CSV) under ``root``, as latent_stats writes
    them (:func:`sweep_file`; the CSV by the stage's own :func:`sweep_rows`)."""
    scores = io.at_precision(sweep_file(sweep, labelled, tied))  # 8 digits, as the stage
    io.atomic_write_json(root / "metrics/dae_sweep_scores.json", scores)
    io.atomic_write_csv(root / "plots/latent_stats/dae_sweep.csv", *sweep_rows(scores))


# --------------------------------------------------------------------------
# Synthetic inputs, exactly as the other stages write them
# --------------------------------------------------------------------------


def _curve_rows(model: str, rng: np.random.Generator,
                beta: np.ndarray | None = None) -> tuple[list[str], list[list]]:
    epoch = np.arange(1, N_EPOCHS + 1)
    beta = np.ones(N_EPOCHS) if beta is None else beta
    recon = 40.0 / np.sqrt(epoch) + 10.0
    if model != "vae":
        return (["epoch", "train_loss", "train_recon", "val_loss", "val_recon"],
                [[int(e), r, r, r + 1.0, r + 1.0] for e, r in zip(epoch, recon)])
    kl = 2.0 + np.log(epoch)
    header = ["epoch", "train_loss", "train_recon", "train_kl", "train_elbo", "train_beta",
              "val_loss", "val_recon", "val_kl", "val_elbo"]
    return header, [[int(e), r + b * k, r, k, -(r + k), float(b), r + k + 1.0, r + 1.0, k,
                     -(r + k + 1.0)] for e, r, k, b in zip(epoch, recon, kl, beta)]


def _write_codes(root: Path, rng: np.random.Generator,
                 tsne_rows: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    def z(n: int) -> np.ndarray:
        return rng.normal(size=(n, LATENT_DIM)).astype(np.float32)

    def images(n: int) -> np.ndarray:
        return rng.uniform(size=(n, D)).astype(np.float32)

    for model in MODELS:
        extra = ({f"logvar_{s}": z(n) for s, n in (("train", N_TRAIN), ("val", N_VAL),
                                                     ("test", N_TEST))} if model == "vae" else {})
        io.atomic_write_npz(root / f"outputs/train/{model}/codes.npz", z_train=z(N_TRAIN),
                            z_val=z(N_VAL), z_test=z(N_TEST), recon_test=images(N_TEST),
                            prior_samples=images(N_PRIOR), **extra)
    io.atomic_write_npz(root / "outputs/baseline/pca/codes.npz", z_train=z(N_TRAIN), z_val=z(N_VAL),
                        z_test=z(N_TEST), recon_test=images(N_TEST) * 1.1 - 0.05,
                        explained_variance_ratio=np.array([0.3, 0.2, 0.1, 0.05]))
    if tsne_rows is None:
        io.atomic_write_npz(root / "outputs/baseline/tsne/codes.npz",
                            z_train=rng.normal(size=(N_TRAIN, 2)) * 20,
                            z_test=rng.normal(size=(N_TEST, 2)) * 20)
    else:  # t-SNE on a subsample: its codes cover only these rows of each split
        rows_train, rows_test = tsne_rows
        io.atomic_write_npz(root / "outputs/baseline/tsne/codes.npz",
                            z_train=rng.normal(size=(len(rows_train), 2)) * 20,
                            z_test=rng.normal(size=(len(rows_test), 2)) * 20,
                            index_train=rows_train, index_test=rows_test)


def make_verdict(table: dict, tied: dict = TIED, collapsed: bool = False) -> dict:
    """metrics/verdict.json for ``table`` as the latent_stats stage writes it: t-SNE left out
    (transductive), a method without the value left out (no_value), a collapsed VAE left out
    of the prior match; the methods in ``tied[criterion]`` within noise of the top, every
    other difference interval excluding 0."""
    criteria = {}
    for key, better in CRITERIA.items():
        if not any(key in row for row in table.values()):
            continue
        excluded = {}
        for m in METHODS:
            if key not in table[m]:
                excluded[m] = "no_value"
            elif m == "tsne":
                excluded[m] = "transductive"
            elif collapsed and m == "vae" and key == "latent_kl_to_prior_nats":
                excluded[m] = "collapsed"
        sign = 1.0 if better == "max" else -1.0
        ranked = sorted((m for m in METHODS if m not in excluded),
                        key=lambda m: -sign * table[m][key])
        top, differences = ranked[0], {}
        for m in ranked[1:]:
            d = sign * (table[top][key] - table[m][key])
            differences[m] = ({"low": -d, "high": 2 * d + 0.01} if m in tied.get(key, ())
                              else {"low": d / 2, "high": 1.5 * d})
        leaders = [top] + [m for m in ranked[1:] if differences[m]["low"] <= 0.0]
        criteria[key] = {"better": better, "top": top, "ranked": ranked, "leaders": leaders,
                         "decided": len(ranked) > 1 and leaders == [top], "excluded": excluded,
                         "differences": differences}
    return {"protocol": {"bootstrap_samples": 200, "confidence": 0.95, "n_test": N_TEST,
                         "seed": 0, "trustworthiness_method": "per-point contributions on the "
                                                              "full test set, bootstrapped"},
            "criteria": criteria}


def as_verdict(obj: dict) -> Verdict:
    """A verdict.json object as the report holds it (for the wording's unit tests)."""
    return Verdict(obj["protocol"], {key: Criterion(
        key=key, better=c["better"], ranked=tuple(c["ranked"]), leaders=tuple(c["leaders"]),
        decided=c["decided"], excluded=dict(c["excluded"]),
        differences={m: (d["low"], d["high"]) for m, d in c["differences"].items()})
        for key, c in obj["criteria"].items()})


def _write_metrics(root: Path, stats: dict, likelihood: str, evaluate: dict,
                   binarize: str | None = None,
                   tsne_rows: tuple[np.ndarray, np.ndarray] | None = None,
                   labelled: bool = True, tied: dict = TIED, collapsed: bool = False) -> None:
    """``binarize`` None: train metrics as older runs wrote them (no binarize keys);
    ``tsne_rows`` None: a t-SNE of every point, recorded as older runs did; ``tied`` and
    ``collapsed``: the verdict (:func:`make_verdict`)."""
    for model in MODELS:
        test = {"recon": 20.0 + MODELS.index(model), "bits_per_dim": 0.45}
        if model == "vae":
            test = {"recon": 25.0, "kl": 8.0, "elbo": -33.0, "bits_per_dim": 0.744}
        extra = ({} if binarize is None else {
            "binarize": binarize,
            "likelihood_is_relaxation": likelihood == "bernoulli" and binarize == "none"})
        io.atomic_write_json(root / f"metrics/train/{model}.json", {
            "train": dict(test), "val": dict(test), "test": test, "best_epoch": 10,
            "epochs_run": N_EPOCHS, "stopped_early": True, "likelihood": likelihood, **extra})
    io.atomic_write_json(root / "metrics/baseline/pca.json",
                         {"explained_variance_ratio_sum": 0.65, "n_components": LATENT_DIM})
    tsne = {"kl_divergence": 0.91, "n_iter": 1000, "embedded": "train+test jointly"}
    if tsne_rows is not None:
        embedded = sum(len(r) for r in tsne_rows)
        tsne.update(perplexity=30.0, n_points_embedded=embedded,
                    n_points_available=N_TRAIN + N_TEST, max_points=embedded,
                    subsampled=embedded < N_TRAIN + N_TEST)
    io.atomic_write_json(root / "metrics/baseline/tsne.json", tsne)
    table = {m: {**stats[m], "latent_dim": 2 if m == "tsne" else LATENT_DIM} for m in METHODS}
    if not labelled:  # latent_stats leaves the label-based metrics out
        table = {m: {k: v for k, v in row.items() if k not in ("knn_accuracy", "probe_accuracy")}
                 for m, row in table.items()}
    if tsne_rows is not None:
        table["tsne"]["n_test_points"] = len(tsne_rows[1])
    for row in table.values():  # each criterion's 95 % interval beside its value
        for key in [k for k in CRITERIA if k in row]:
            row.update({f"{key}_ci_low": row[key] * (1 - CI_SPREAD),
                        f"{key}_ci_high": row[key] * (1 + CI_SPREAD)})
    io.atomic_write_json(root / "metrics/verdict.json", make_verdict(table, tied, collapsed))
    for model, (ce, h, kl) in RECON_INFO.items():
        table[model].update(recon_cross_entropy_nats=ce, data_entropy_nats=h, recon_kl_nats=kl)
    table["vae"].update(test_recon_nats=25.0, test_kl_nats=8.0, test_elbo_nats=-33.0,
                        test_bits_per_dim=0.744, **VAE_INFO)
    io.atomic_write_json(root / "metrics/latent_stats.json", table)
    io.atomic_write_json(root / "metrics/evaluate.json", {"vae": evaluate})


def _write_plots(root: Path, rng: np.random.Generator, y_test: np.ndarray,
                 tsne_rows: tuple[np.ndarray, np.ndarray] | None = None,
                 plot_points: int | None = None) -> None:
    """The embedding CSVs as latent_stats writes them: at most ``plot_points`` rows (a
    seeded subsample, in index order), t-SNE's only from the test rows it embedded."""
    for model in MODELS:
        io.atomic_write_csv(root / f"plots/train/{model}.csv", *_curve_rows(model, rng))
    rows = [[m, d, float(rng.normal()), float(rng.uniform(0.1, 5.0))]
            for m in METHODS for d in range(2 if m == "tsne" else LATENT_DIM)]
    io.atomic_write_csv(root / "plots/latent_stats/moments.csv", ["method", "dim", "mean", "var"],
                        rows)
    for m in METHODS:
        xy = rng.normal(size=(N_TEST, 2))
        rows = np.arange(N_TEST) if m != "tsne" or tsne_rows is None else tsne_rows[1]
        if plot_points is not None and len(rows) > plot_points:
            keep = np.random.default_rng(1).choice(len(rows), plot_points, replace=False)
            rows = rows[np.sort(keep)]
        io.atomic_write_csv(root / f"plots/embeddings/{m}.csv", ["index", "x", "y", "label"],
                            [[int(i), float(xy[i, 0]), float(xy[i, 1]), int(y_test[i])]
                             for i in rows])
    io.atomic_write_csv(root / "plots/latent_stats/kl_per_dim.csv",
                        ["dim", "kl_nats", "code_variance", "active"], KL_PER_DIM)


def _write_evaluation(root: Path, rng: np.random.Generator, sweep: dict[float, dict],
                      grid_models: tuple[str, ...], labelled: bool = True) -> None:
    """walks.npz, and the DAE sweep's scores (JSON) and plot (CSV), as the stages write them."""
    walks = {f"interpolation_{m}": rng.uniform(size=(N_STEPS, D)).astype(np.float32)
             for m in MODELS}
    walks.update({f"prior_grid_{m}": rng.uniform(size=(GRID_STEPS ** 2, D)).astype(np.float32)
                  for m in grid_models})
    io.atomic_write_npz(root / "outputs/evaluate/walks.npz", pair=np.array([0, 1]), **walks)
    write_sweep(root, sweep, labelled)  # without labels: recon MSE alone


def write_inputs(root: Path, stats: dict = STATS, likelihood: str = "bernoulli",
                 sweep: dict[float, dict] = SWEEP, evaluate: dict = EVALUATE,
                 grid_models: tuple[str, ...] = (), *, labelled: bool = True,
                 binarize: str | None = None, tsne_keep: tuple[int, int] | None = None,
                 plot_points: int | None = None, tied: dict = TIED,
                 collapsed: bool = False) -> ReportPaths:
    """Write every input file under ``root`` at its dvc.yaml path; return the paths.

    ``grid_models`` get a decoded prior grid in walks.npz (as 2-D latent spaces do).
    The defaults write the files as older runs did (no ``has_labels``, ``binarize``,
    subsample keys, no meta.json). ``labelled`` False: a data set without labels;
    ``binarize``: the preprocessing's mode, recorded in meta.json, the splits and the train
    metrics; ``tsne_keep`` = (k_train, k_test): t-SNE on a subsample of that many rows per
    split; ``plot_points``: embedding CSVs cut to that many rows; ``tied`` and ``collapsed``:
    the verdict (:func:`make_verdict`).
    """
    rng = np.random.default_rng(0)
    y = {s: np.arange(n, dtype=np.int64) % 10 if labelled else np.full(n, -1, np.int64)
         for s, n in (("train", N_TRAIN), ("val", N_VAL), ("test", N_TEST))}
    source = {"name": "digits", "origin": "sklearn.datasets.load_digits", "n_examples": 110,
              "image_shape": list(SHAPE), "n_classes": 10, "pixel_max": 16.0, "sha256": "ab" * 32,
              "sklearn_version": "1.9.1"}
    if not labelled:
        source.update(name="custom", origin="custom my_images.npz", n_classes=0,
                      has_labels=False, official_test_split=False)
        source.pop("sklearn_version")
    io.atomic_write_json(root / "data/raw/source.json", source)
    x = {s: rng.uniform(size=(len(y[s]), D)).astype(np.float32) for s in y}
    extra = {} if labelled else {"has_labels": np.asarray(False)}
    if binarize is not None:
        extra["binarize"] = np.asarray(binarize)
        if binarize != "none":
            x = {s: (v > 0.5).astype(np.float32) for s, v in x.items()}
        meta = {"sha256": "cd" * 32, "n_features": D, "binarize": binarize,
                "has_labels": labelled, "test_split": "stratified",
                "caps": {"train": 0, "val": 0, "test": 0}}
        if binarize == "static":
            meta["binarize_threshold"] = 0.5
        io.atomic_write_json(root / "data/processed/meta.json", meta)
    io.atomic_write_npz(root / "data/processed/splits.npz", **{f"x_{s}": x[s] for s in y},
                        **{f"y_{s}": y[s] for s in y}, image_shape=np.array(SHAPE, np.int64),
                        **extra)
    tsne_rows = (None if tsne_keep is None else
                 (np.arange(0, N_TRAIN, N_TRAIN // tsne_keep[0])[:tsne_keep[0]],
                  np.arange(0, N_TEST, N_TEST // tsne_keep[1])[:tsne_keep[1]]))
    _write_codes(root, rng, tsne_rows)
    _write_metrics(root, stats, likelihood, evaluate, binarize, tsne_rows, labelled, tied,
                   collapsed)
    _write_plots(root, rng, y["test"], tsne_rows, plot_points)
    _write_evaluation(root, rng, sweep, grid_models, labelled)
    (root / "params.yaml").write_text(f"# a comment\n{PARAMS_YAML}tracking:\n  on_failure: warn\n")
    return ReportPaths(
        source=root / "data/raw/source.json", data=root / "data/processed/splits.npz",
        codes={m: root / (f"outputs/train/{m}/codes.npz" if m in MODELS
                          else f"outputs/baseline/{m}/codes.npz") for m in METHODS},
        train_metrics={m: root / f"metrics/train/{m}.json" for m in MODELS},
        curves={m: root / f"plots/train/{m}.csv" for m in MODELS},
        baseline_metrics={m: root / f"metrics/baseline/{m}.json" for m in ("pca", "tsne")},
        latent_stats=root / "metrics/latent_stats.json",
        verdict=root / "metrics/verdict.json",
        moments=root / "plots/latent_stats/moments.csv",
        embeddings_dir=root / "plots/embeddings", params=root / "params.yaml",
        evaluate=root / "metrics/evaluate.json", walks=root / "outputs/evaluate/walks.npz",
        kl_per_dim=root / "plots/latent_stats/kl_per_dim.csv",
        dae_sweep_scores=root / "metrics/dae_sweep_scores.json",
        dae_sweep_plot=root / "plots/latent_stats/dae_sweep.csv",
        meta=None if binarize is None else root / "data/processed/meta.json")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A report built once from the standard synthetic inputs; returns its out_dir."""
    root = tmp_path_factory.mktemp("inputs")
    out_dir = root / "reports"
    build_report(load_inputs(write_inputs(root)), out_dir, N_EXAMPLES)
    return out_dir


# --------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------


class _TableParser(HTMLParser):
    """Collect the comparison table: headers, and per body row the cells as (text, is_best)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, bool]]] = []
        self._in_table = self._in_body = False
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_table and tag == "tr" and self._in_body:
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = ["", "best" in (attrs.get("class") or "").split()]

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None:
            cell, self._cell = (self._cell[0].strip(), self._cell[1]), None
            (self.rows[-1].append(cell) if self._in_body else self.headers.append(cell[0]))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data


def parse_table(html: str, table_id: str = "comparison-table") -> _TableParser:
    parser = _TableParser(table_id)
    parser.feed(html)
    return parser


def md_table_rows(md: str, row_header: str = "method") -> list[list[str]]:
    """The body rows, as lists of cells, of the Markdown table whose first header is
    ``row_header``."""
    lines = md.splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith(f"| {row_header} |")))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("| "):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def cell_of(key: str, method: str, stats: dict = STATS) -> str:
    """A ranked cell's text as the fixtures make it: value (low–high), no mark."""
    v = stats[method][key]
    shown = fmt(v)
    decimals = len(shown.split(".")[1])
    return (f"{shown} ({v * (1 - CI_SPREAD):.{decimals}f}–"
            f"{v * (1 + CI_SPREAD):.{decimals}f})")


def column_cells(out: Path, key: str) -> tuple[dict[str, tuple[str, bool]], dict[str, str]]:
    """One ranked column: {method: (html text, html bold)} and {method: markdown cell}."""
    table = parse_table((out / "report.html").read_text())
    col = next(i for i, h in enumerate(table.headers) if h.startswith(HEADERS[key]))
    assert ("↑" if CRITERIA[key] == "max" else "↓") in table.headers[col]
    html = {row[0][0]: row[col] for row in table.rows}
    md = {r[0]: r[col] for r in md_table_rows((out / "report.md").read_text())}
    return html, md


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_build_writes_html_markdown_and_figures(built):
    assert (built / "report.html").stat().st_size > 0
    assert (built / "report.md").stat().st_size > 0
    assert len(list((built / "figures").glob("*.png"))) == N_FIGURES


def test_html_is_self_contained_with_embedded_pngs(built):
    html = (built / "report.html").read_text()
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert len(sources) == N_FIGURES
    assert len(sources) == html.count("<img")
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_SIGNATURE)
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_markdown_figures_exist(built):
    md = (built / "report.md").read_text()
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert refs and all(ref.startswith("figures/") and ref.endswith(".png") for ref in refs)
    for ref in refs:
        assert (built / ref).read_bytes().startswith(PNG_SIGNATURE)
    assert {built / ref for ref in refs} == set((built / "figures").glob("*.png"))


def test_table_has_one_row_per_method(built):
    table = parse_table((built / "report.html").read_text())
    assert [row[0][0] for row in table.rows] == list(METHODS)
    assert all(len(row) == len(table.headers) for row in table.rows)
    assert [row[0] for row in md_table_rows((built / "report.md").read_text())] == list(METHODS)


@pytest.mark.parametrize("key", list(DECIDED))
def test_a_decided_criterion_bolds_its_best_and_only_it(built, key):
    html, md = column_cells(built, key)
    best = DECIDED[key]
    assert [m for m, (_, bold) in html.items() if bold] == [best]
    assert html[best][0] == cell_of(key, best)  # the value and its interval, no mark
    assert [m for m, text in md.items() if text.startswith("**")] == [best]
    assert md[best] == f"**{cell_of(key, best)}**"
    assert not any(text.endswith("≈") for text, _ in html.values())
    words = (built / "report.md").read_text()
    assert f"(`{key}`): best {best}, beyond noise (every paired 95% interval of its " \
           "difference excludes 0: " in words


def test_a_tied_criterion_bolds_nothing_and_marks_its_leaders_alike(built):
    html, md = column_cells(built, "knn_accuracy")
    assert not any(bold for _, bold in html.values())
    assert not any(text.startswith("**") for text in md.values())
    assert {m: text for m, (text, _) in html.items() if text.endswith(" ≈")} == {
        "dae": cell_of("knn_accuracy", "dae") + " ≈", "ae": cell_of("knn_accuracy", "ae") + " ≈"}
    assert md["pca"] == cell_of("knn_accuracy", "pca")
    words = (built / "report.md").read_text()
    assert "kNN accuracy (`knn_accuracy`): dae and ae tied for best (paired 95% interval of " \
           "dae − ae: -0.0100 to 0.0300; includes 0); then, by point estimate, vae, pca, each " \
           "behind dae beyond noise (dae − vae: 0.0150 to 0.0450; dae − pca: 0.055 to " \
           "0.165). Not ranked: tsne (transductive" in words
    assert "≈: tied for best" in words


@pytest.mark.parametrize("tied", [TIED, {}])
def test_transductive_tsne_is_not_bold_even_with_the_highest_value(tmp_path, tied):
    stats = {m: dict(s) for m, s in STATS.items()}
    stats["tsne"]["trustworthiness"] = 0.99  # above every encoder, as is its kNN accuracy
    out = tmp_path / "reports"
    build_report(load_inputs(write_inputs(tmp_path, stats, tied=tied)), out, N_EXAMPLES)
    for key in ("knn_accuracy", "trustworthiness"):
        html, md = column_cells(out, key)
        assert html["tsne"] == (cell_of(key, "tsne", stats) + " †", False)
        assert md["tsne"] == cell_of(key, "tsne", stats) + " †"
    html, _ = column_cells(out, "knn_accuracy")
    assert [m for m, (_, bold) in html.items() if bold] == ([] if tied else ["dae"])
    words = _words(load_inputs(write_inputs(tmp_path, stats, tied=tied)))["comparison"]
    assert "t-SNE's kNN accuracy, 0.9500 (0.9310–0.9690) (`knn_accuracy`), is shown but not " \
           "ranked: it embedded train and test jointly (section 4)" in words
    assert "Its point estimate is above that of dae, the ranked top (0.9100): a lead the joint " \
           "embedding explains, and no paired interval tests it." in words
    assert "†: not ranked, transductive" in words
    assert "lead in" not in words.replace("a lead the joint", "")


def test_a_value_outside_its_own_interval_is_said(tmp_path):
    paths = write_inputs(tmp_path)
    assert "Outside its own interval" not in _words(load_inputs(paths))["comparison"]
    _edit_json(paths.latent_stats, lambda o: o["vae"].update(
        latent_kl_to_prior_nats_ci_low=1.0, latent_kl_to_prior_nats_ci_high=4.0))
    words = _words(load_inputs(paths))["comparison"]
    assert "Outside its own interval: vae's KL(fit ‖ N(0, I)) nats (`latent_kl_to_prior_nats`), " \
           "0.8000 (1.0000–4.0000). A percentile interval need not hold a value" in words


def test_a_collapsed_vae_with_the_lowest_kl_is_flagged_not_best(tmp_path):
    out = tmp_path / "reports"
    inputs = load_inputs(write_inputs(tmp_path, collapsed=True))
    build_report(inputs, out, N_EXAMPLES)
    html, md = column_cells(out, "latent_kl_to_prior_nats")
    assert html["vae"] == (cell_of("latent_kl_to_prior_nats", "vae") + " ‡", False)
    assert [m for m, (_, bold) in html.items() if bold] == ["pca"]  # the lowest but the VAE's
    assert md["vae"] == cell_of("latent_kl_to_prior_nats", "vae") + " ‡"
    words = _words(inputs)
    assert "(`latent_kl_to_prior_nats`): best pca, beyond noise" in words["comparison"]
    assert "Not ranked: tsne (transductive: train and test embedded jointly, section 4), vae " \
           "(flagged: its posterior collapsed, so its codes match the prior trivially" \
           in words["comparison"]
    assert "‡: flagged, not ranked" in words["comparison"]
    assert words["latent"].count("The VAE's codes match the prior only trivially: its posterior "
                                 "collapsed (`posterior_collapse`, section 8), so KL(fit ‖ "
                                 "N(0, I)) = 0.8000 nats") == 1
    assert "Closest to the prior of the ranked methods, beyond noise, is pca: 12.00 nats." in \
        words["latent"]
    assert "The VAE's codes follow the prior" not in words["latent"]


def test_tsne_cannot_reconstruct(built):
    table = parse_table((built / "report.html").read_text())
    col = next(i for i, h in enumerate(table.headers) if h.startswith("recon MSE"))
    cells = {row[0][0]: row[col][0] for row in table.rows}
    assert cells["tsne"] == "—"
    assert all(cells[m] != "—" for m in ("pca", "ae", "dae", "vae"))
    md_rows = {r[0]: r[col] for r in md_table_rows((built / "report.md").read_text())}
    assert md_rows["tsne"] == "—"


def test_text_cites_the_numbers(built):
    md = (built / "report.md").read_text()
    assert "The VAE's codes follow the prior: KL(fit ‖ N(0, I)) = 0.8000 nats vs the AE's " \
           "45.00 nats" in md
    assert "recon 25.00 + KL 8.000 = 33.00 nats per example = −ELBO" in md
    assert "65.0% of the training variance" in md
    assert "relaxation" in md  # bernoulli likelihood on grey levels
    assert "ababababababab" not in md.split("## 12. Provenance")[0]  # short sha before it


@pytest.mark.parametrize(("vae_kl", "ae_kl", "collapsed", "phrase"), [
    (0.8, 45.0, False, "The VAE's codes follow the prior"),
    (45.0, 0.8, False, "The VAE's codes do not follow the prior better than the AE's"),
    (5.0, 5.0, False, "The VAE's codes are no closer to the prior than the AE's"),
    (0.8, 45.0, True, "The VAE's codes match the prior only trivially"),
])
def test_prior_claim_follows_the_verdict(vae_kl, ae_kl, collapsed, phrase):
    stats = {m: dict(s) for m, s in STATS.items()}
    stats["vae"]["latent_kl_to_prior_nats"] = vae_kl
    stats["ae"]["latent_kl_to_prior_nats"] = ae_kl
    verdict = as_verdict(make_verdict(stats, collapsed=collapsed))
    sentence = sections_latent.prior_match_sentence(stats, verdict)
    assert sentence.startswith(phrase)
    assert f"= {fmt(vae_kl)} nats vs the AE's {fmt(ae_kl)} nats" in sentence
    assert ("beyond noise" in sentence) == (vae_kl != ae_kl)
    assert ("within noise" in sentence) == (vae_kl == ae_kl)


@pytest.mark.parametrize(("kl", "active", "start"), [
    ([4.5, 0.002, 3.496, 0.002], [1, 0, 1, 0], "2 of the VAE's 4 latent dimensions are active "
                                               "(50.0%"),
    ([4.0, 3.0], [1, 1], "2 of the VAE's 2 latent dimensions are active (100.0%"),  # sum 7 ≠ 8
])
def test_active_units_sentence_uses_the_metric(kl, active, start):
    active = np.array(active, bool)
    vae = {"active_units": int(active.sum()), "active_fraction": active.mean(),
           "latent_dim": len(kl), "kl_nats": 8.0}
    sentence = sections_info.active_units_sentence(vae, {"kl_nats": np.array(kl),
                                                         "active": active})
    assert sentence.startswith(start)
    assert ("posterior collapse" in sentence) == (not active.all())
    assert ("matching `kl_nats`" in sentence) == np.isclose(sum(kl), 8.0)
    assert ("does not match `kl_nats`" in sentence) != np.isclose(sum(kl), 8.0)


def test_gaussian_likelihood_has_no_bernoulli_caveat(tmp_path):
    inputs = load_inputs(write_inputs(tmp_path, likelihood="gaussian"))
    sections = contents.sections(inputs, {n: blocks.FigureRef(n, "", "", "") for n in
                                          contents.captions(inputs, N_EXAMPLES)})
    words = " ".join(b["text"] for s in sections for b in s["blocks"] if b["kind"] == "p")
    assert "relaxation" not in words and "Gaussian with a fixed standard deviation" in words


def test_build_is_deterministic(tmp_path):
    inputs = load_inputs(write_inputs(tmp_path))
    build_report(inputs, tmp_path / "a", N_EXAMPLES)
    build_report(inputs, tmp_path / "b", N_EXAMPLES)
    for name in ("report.md", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    pngs = sorted(p.name for p in (tmp_path / "a" / "figures").glob("*.png"))
    assert len(pngs) == N_FIGURES
    for name in pngs:
        png = (tmp_path / "a/figures" / name).read_bytes()
        assert png == (tmp_path / "b/figures" / name).read_bytes()
        assert b"Software" not in png and b"matplotlib" not in png  # no version stamp


@pytest.mark.parametrize("relative", [
    "data/raw/source.json", "data/processed/splits.npz", "outputs/train/vae/codes.npz",
    "outputs/baseline/pca/codes.npz", "outputs/baseline/tsne/codes.npz",
    "metrics/train/dae.json", "plots/train/vae.csv", "metrics/baseline/tsne.json",
    "metrics/latent_stats.json", "metrics/verdict.json",
    "plots/latent_stats/moments.csv",
    "plots/embeddings/ae.csv", "params.yaml", "metrics/evaluate.json",
    "outputs/evaluate/walks.npz", "plots/latent_stats/kl_per_dim.csv",
    "metrics/dae_sweep_scores.json", "plots/latent_stats/dae_sweep.csv",
])
def test_missing_input_names_the_file(tmp_path, relative):
    paths = write_inputs(tmp_path)
    (tmp_path / relative).unlink()
    with pytest.raises(DataFileError, match=re.escape(str(tmp_path / relative))):
        load_inputs(paths)


def test_missing_key_or_column_names_the_file(tmp_path):
    paths = write_inputs(tmp_path)
    table = json.loads(paths.latent_stats.read_text())
    del table["vae"]["knn_accuracy"]
    paths.latent_stats.write_text(json.dumps(table))
    with pytest.raises(DataFileError, match=r"latent_stats\.json: lacks key\(s\) knn_accuracy "
                                            r"under 'vae'"):
        load_inputs(paths)
    paths = write_inputs(tmp_path)
    paths.curves["vae"].write_text("epoch,train_loss\n1,2.0\n")
    with pytest.raises(DataFileError, match=r"vae\.csv: lacks column\(s\) train_recon"):
        load_inputs(paths)


def _pop(path: str):
    """An edit that deletes the dotted key ``path`` of a JSON object."""
    *parents, last = path.split(".")

    def edit(obj):
        for key in parents:
            obj = obj[key]
        del obj[last]
    return edit


@pytest.mark.parametrize(("relative", "edit", "match"), [
    ("metrics/verdict.json", _pop("protocol.confidence"),
     r"verdict\.json: lacks key\(s\) confidence under 'protocol'; rerun"),
    ("metrics/verdict.json", _pop("criteria.recon_mse"),
     r"verdict\.json: lacks key\(s\) recon_mse under 'criteria'; rerun"),
    ("metrics/verdict.json", _pop("criteria.knn_accuracy.leaders"),
     r"verdict\.json: lacks key\(s\) leaders under 'criteria\.knn_accuracy'; rerun"),
    ("metrics/verdict.json", _pop("criteria.trustworthiness.differences.pca.low"),
     r"lacks key\(s\) low under 'criteria\.trustworthiness\.differences\.pca'"),
    ("metrics/verdict.json", _pop("criteria.trustworthiness.excluded.tsne"),
     r"criteria\.trustworthiness\.ranked and excluded together must hold each of"),
    ("metrics/verdict.json",
     lambda o: o["criteria"]["knn_accuracy"].update(leaders=["dae"], decided=True),
     r"criteria\.knn_accuracy\.leaders are \['dae'\] but the difference intervals give "
     r"\['dae', 'ae'\]"),
    ("metrics/verdict.json",
     lambda o: o["criteria"]["recon_mse"].update(ranked=["ae", "dae", "vae", "pca"], top="ae"),
     r"criteria\.recon_mse\.ranked is not in the order of latent_stats\.json's values"),
    ("metrics/verdict.json", lambda o: o["protocol"].update(n_test=N_TEST + 1),
     rf"protocol\.n_test = {N_TEST + 1} but the test split has {N_TEST} images"),
    ("metrics/latent_stats.json", lambda o: o["vae"].update(posterior_collapse=True),
     r"verdict\.json: criteria\.latent_kl_to_prior_nats\.excluded lacks vae: collapsed but "
     r"latent_stats\.json has vae\.posterior_collapse = true"),
    ("metrics/latent_stats.json", _pop("ae.trustworthiness_ci_high"),
     r"latent_stats\.json: lacks key\(s\) trustworthiness_ci_high under 'ae'"),
    ("metrics/latent_stats.json", lambda o: o["vae"].update(recon_mse_ci_low=1.0),
     r"latent_stats\.json: vae\.recon_mse must be a number with an interval low <= high"),
])
def test_a_bad_verdict_or_interval_is_a_one_line_error(tmp_path, relative, edit, match):
    paths = write_inputs(tmp_path)
    _edit_json(tmp_path / relative, edit)
    with pytest.raises(DataFileError, match=match) as err:
        load_inputs(paths)
    named = "metrics/verdict.json" if "verdict" in match else relative
    assert str(tmp_path / named) in str(err.value) and "\n" not in str(err.value)


def test_without_labels_the_verdict_needs_no_accuracies(tmp_path):
    paths = write_inputs(tmp_path, labelled=False)
    assert "knn_accuracy" not in json.loads(paths.verdict.read_text())["criteria"]
    assert set(load_inputs(paths).verdict.criteria) == {
        "trustworthiness", "recon_mse", "latent_kl_to_prior_nats"}


def test_recon_shape_mismatch_is_reported(tmp_path):
    paths = write_inputs(tmp_path)
    arrays = io.read_npz(paths.codes["ae"])
    arrays["recon_test"] = arrays["recon_test"][:-1]
    io.atomic_write_npz(paths.codes["ae"], **arrays)
    with pytest.raises(DataFileError, match="recon_test has shape"):
        load_inputs(paths)


def test_provenance_says_not_installed(monkeypatch):
    def version(name):
        if name == "mlflow":
            raise sections_provenance.importlib.metadata.PackageNotFoundError(name)
        return "1.0"

    monkeypatch.setattr(sections_provenance.importlib.metadata, "version", version)
    assert sections_provenance.package_versions() == {
        "torch": "1.0", "scikit-learn": "1.0", "dvc": "1.0", "mlflow": "not installed",
        "numpy": "1.0", "matplotlib": "1.0"}


def test_provenance_holds_params_and_no_run_identity(built):
    md = (built / "report.md").read_text()
    shown = md.split("```yaml\n")[-1].split("```")[0]  # the values, not the file's text
    assert yaml.safe_load(shown) == yaml.safe_load(PARAMS_YAML) and "#" not in shown
    assert "ab" * 32 in md
    html = (built / "report.html").read_text()
    assert "<details>" in html and "n_examples: 6" in html


@pytest.mark.parametrize(("value", "text"), [
    (0.912345, "0.9123"), (45.0, "45.00"), (12345.6, "12346"), (1.5e-5, "1.500e-05"),
    (0.0, "0"), (None, "—"), (-33.0, "-33.00"),
])
def test_fmt_significant_digits(value, text):
    assert fmt(value) == text


def _stage():
    spec = importlib.util.spec_from_file_location("report_stage", REPO / "stages" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stage_argv(paths: ReportPaths, out_dir: Path) -> list[str]:
    pairs = lambda mapping: [f"{m}={p}" for m, p in mapping.items()]  # noqa: E731
    return ["--source", str(paths.source), "--data", str(paths.data),
            "--codes", *pairs(paths.codes), "--train-metrics", *pairs(paths.train_metrics),
            "--curves", *pairs(paths.curves), "--baseline-metrics", *pairs(paths.baseline_metrics),
            "--latent-stats", str(paths.latent_stats), "--verdict", str(paths.verdict),
            "--moments", str(paths.moments), "--embeddings-dir", str(paths.embeddings_dir),
            "--evaluate-metrics", str(paths.evaluate), "--walks", str(paths.walks),
            "--kl-per-dim", str(paths.kl_per_dim),
            "--dae-sweep-scores", str(paths.dae_sweep_scores),
            "--dae-sweep-plot", str(paths.dae_sweep_plot),
            "--params", str(paths.params), "--out-dir", str(out_dir),
            "--link", str(out_dir / "link.json"),
            *(["--meta", str(paths.meta)] if paths.meta is not None else [])]


def test_stage_renders_and_reports_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))  # artifacts to tmp_path/mlartifacts, not the repo
    stage = _stage()
    paths = write_inputs(tmp_path)
    assert run_stage(stage.main, _stage_argv(paths, tmp_path / "reports")) == 0
    assert (tmp_path / "reports/report.md").exists()
    paths.moments.unlink()
    assert run_stage(stage.main, _stage_argv(paths, tmp_path / "reports")) == 1
    assert capsys.readouterr().err.strip() == \
        f"error: {paths.moments}: missing; run `dvc repro` to produce it"
    paths.params.write_text("report:\n  n_examples: 0\n")
    assert run_stage(stage.main, _stage_argv(paths, tmp_path / "reports")) == 2
    assert "error: report.n_examples: got 0" in capsys.readouterr().err


# --------------------------------------------------------------------------
# The evaluation inputs: sweep, ELBO tightness, information theory, walks
# --------------------------------------------------------------------------


def _words(inputs) -> dict[str, str]:
    """Section id -> its paragraphs joined (figures stubbed: nothing is drawn)."""
    refs = {n: blocks.FigureRef(n, "", "", "") for n in contents.captions(inputs, N_EXAMPLES)}
    return {s["id"]: " ".join(b["text"] for b in s["blocks"] if b["kind"] == "p")
            for s in contents.sections(inputs, refs)}


STORY = ["1. Verdict", "2. Data set", "3. Linear baseline: PCA",
         "4. Nonlinear baseline: t-SNE", "5. Autoencoder (AE)", "6. Denoising autoencoder (DAE)",
         "7. DAE corruption sweep", "8. Variational autoencoder (VAE)",
         "9. Information theory, measured", "10. Comparison of all methods",
         "11. Latent spaces", "12. Provenance"]


def test_sections_follow_the_story_with_their_figures(built):
    md = (built / "report.md").read_text()
    titles = re.findall(r"^## (.+)$", md, flags=re.M)
    assert titles == STORY
    sections = dict(zip(titles, re.split(r"^## .+$", md, flags=re.M)[1:]))
    html = (built / "report.html").read_text()
    assert [t for t in re.findall(r"<h2>(.+?)</h2>", html)] == STORY
    for title, names in (
            ("2. Data set", ["data_examples"]),
            ("3. Linear baseline: PCA", ["pca_variance", "pca_reconstructions"]),
            ("5. Autoencoder (AE)", ["ae_curves"]), ("6. Denoising autoencoder (DAE)",
                                                      ["dae_curves"]),
            ("7. DAE corruption sweep", ["dae_sweep"]),
            ("8. Variational autoencoder (VAE)", ["vae_elbo_curves", "kl_per_dim"]),
            ("11. Latent spaces", ["embeddings", "reconstructions", "prior_samples",
                                   "interpolation", "latent_moments"])):
        for figure in names:
            assert f"](figures/{figure}.png)" in sections[title], figure
            assert (built / f"figures/{figure}.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "comparison-table" in html.split("<h2>10. ")[1].split("<h2>11. ")[0]
    vae = sections["8. Variational autoencoder (VAE)"]
    assert "How tight is the ELBO?" in vae
    assert "Mutual information: I(x; z) = 2.900 nats" in vae
    assert "β (`train.vae.beta`) = 1, schedule (`train.vae.kl_schedule`) constant" in vae
    assert "was 1 at every epoch, so the training loss was exactly −ELBO" in vae
    assert "KL(q ‖ p) = 8.000 nats (`kl_q_p_nats`) but KL(p ‖ q) = 20.00 nats" in \
        sections["9. Information theory, measured"]
    assert "(c) The third decomposition, −ELBO = recon + KL, is in section 8" in \
        sections["9. Information theory, measured"]
    assert "t-SNE's kNN accuracy, 0.9500 (0.9310–0.9690) (`knn_accuracy`), is shown but not " \
           "ranked" in md and "(section 4)" in md
    assert "Images per class, all splits together" in sections["2. Data set"]
    assert "0: 11, 1: 11" in sections["2. Data set"]  # 110 images, labels i % 10
    assert "follow no prior: mean variance 9.000" in sections["5. Autoencoder (AE)"]


def test_beta_sentence_follows_the_schedule(tmp_path):
    paths = write_inputs(tmp_path)
    paths.params.write_text(PARAMS_YAML.replace("beta: 1.0", "beta: 2.0")
                            .replace("kl_schedule: constant", "kl_schedule: linear"))
    ramp = np.minimum(np.arange(1, N_EPOCHS + 1) / 4, 1.0) * 2.0
    io.atomic_write_csv(paths.curves["vae"], *_curve_rows("vae", np.random.default_rng(0), ramp))
    sentence = sections_models.beta_sentence(load_inputs(paths))
    assert "β (`train.vae.beta`) = 2, schedule (`train.vae.kl_schedule`) linear: the weight " \
           "ramps up to β over the first 4 epochs (`train.vae.kl_warmup_epochs`)" in sentence
    assert "ran from 0.5 to 2, 2 at the epoch kept, so the training loss was recon + β·KL, " \
           "not −ELBO" in sentence


def test_sweep_table_highlights_the_best_level_per_column(built):
    table = parse_table((built / "report.html").read_text(), "dae-sweep-table")
    assert table.headers == ["masking level", "recon MSE ↓", "kNN accuracy ↑",
                             "probe accuracy ↑", "trained by"]
    assert [row[0][0] for row in table.rows] == ["0", "0.1", "0.25", "0.5", "0.75"]
    for col, winner in ((1, "0.1"), (2, "0.5"), (3, "0.5")):  # each decided: bold
        assert [row[0][0] for row in table.rows if row[col][1]] == [winner]
    assert table.rows[1][1][0] == "0.01000 (0.00980–0.01020)"  # value (interval)
    assert [row[4][0] for row in table.rows] == [
        "dae_sweep@0.0", "dae_sweep@0.1", "train@dae, the DAE of the comparison — not retrained",
        "dae_sweep@0.5", "dae_sweep@0.75"]
    assert not any("≈" in c[0] for row in table.rows for c in row[1:])
    md_rows = md_table_rows((built / "report.md").read_text(), "masking level")
    assert [r[0] for r in md_rows if r[1].startswith("**")] == ["0.1"]


def test_recon_entropy_table_and_identity_check(built):
    table = parse_table((built / "report.html").read_text(), "recon-entropy-table")
    assert [row[0][0] for row in table.rows] == list(MODELS)
    assert [row[0][0] for row in table.rows if row[1][1]] == ["ae"]  # lowest cross-entropy
    assert [row[4][0] for row in table.rows] == ["16.50", "17.00", "19.50"]  # H(p) + KL
    md = (built / "report.md").read_text()
    assert "Check: H(p) + KL(p ‖ q) equals H(p, q) for ae, dae, vae" in md
    assert "best achievable reconstruction NLL is this entropy, not 0" in md
    stats = {m: {"recon_cross_entropy_nats": ce + (0.5 if m == "dae" else 0.0),
                 "data_entropy_nats": h, "recon_kl_nats": kl}
             for m, (ce, h, kl) in RECON_INFO.items()}
    assert sections_info.recon_identity_sentence(stats).startswith(
        "Check failed: H(p) + KL(p ‖ q) − H(p, q) is -0.5000 nats for dae")


@pytest.mark.parametrize(("best_recon", "best_repr", "phrase", "agreement"), [
    (0.1, 0.5, "by recon MSE, best level 0.1 beyond noise (0.01000 (0.00980–0.01020); the "
               "paired 95% interval of its difference to each other level excludes 0; smallest "
               "margin 0 − 0.1: 0.00100 to 0.00300); by kNN accuracy, best level 0.5 beyond "
               "noise (0.9500", "No level leads by every criterion"),
    (0.5, 0.1, "by recon MSE, best level 0.5 beyond noise (0.01000 (0.00980–0.01020);",
     "No level leads by every criterion"),
    (0.25, 0.25, "by recon MSE, best level 0.25 beyond noise",
     "All three criteria pick level 0.25, each beyond noise."),
])
def test_sweep_best_level_follows_the_verdict(tmp_path, best_recon, best_repr, phrase,
                                              agreement):
    inputs = load_inputs(write_inputs(tmp_path, sweep=sweep_scores(best_recon, best_repr)))
    sentence = sections_sweep.best_level_sentence(inputs.dae_sweep)
    assert sentence.startswith("On this data, " + phrase)
    assert agreement in sentence
    assert "tied" not in sentence
    assert phrase in _words(inputs)["dae-sweep"]


@pytest.mark.parametrize(("best_recon", "detail"), [
    (0.1, "differs: the best is 0.1, beyond noise; the paired 95% interval of 0.25 − 0.1 "
          "(recon MSE at 0.25 minus at 0.1) is 0.00150 to 0.00450, excluding 0."),
    (0.5, "differs: the best is 0.5, beyond noise; the paired 95% interval of 0.25 − 0.5 "
          "(recon MSE at 0.25 minus at 0.5) is 0.00250 to 0.00750, excluding 0."),
    (0.25, "agrees, beyond noise: level 0.25 has the lowest recon MSE (0.01000 "
           "(0.00980–0.01020)), and the paired 95% interval of its difference to every other "
           "level excludes 0."),
])
def test_claim_comparison_follows_the_verdict(tmp_path, best_recon, detail):
    inputs = load_inputs(write_inputs(tmp_path, sweep=sweep_scores(best_recon, 0.5)))
    sentence = sections_sweep.claim_sentence(inputs.dae_sweep)
    assert sentence.startswith("The source text claims that about 25% corruption gave the "
                               "lowest loss. Tested against the verdict on clean-test recon MSE "
                               f"(`verdict.recon_mse`), not a point estimate, our sweep {detail}")
    assert "Our loss is the recon MSE on clean test images" in sentence
    assert "By the representation scores: kNN accuracy, best 0.5 beyond noise; probe " \
           "accuracy, best 0.5 beyond noise." in sentence


@pytest.mark.parametrize(("gap_min", "phrase"), [
    (0.01, "its smallest value over the test images is 0.01000 nats (`gap_min_nats`) ≥ 0: the "
           "bound held for every test image"),
    (-0.02, "its smallest value over the test images is -0.02000 nats (`gap_min_nats`) < 0: "
            "for at least one test image"),
])
def test_gap_sentence_uses_gap_min(gap_min, phrase):
    sentence = sections_info.elbo_tightness_sentence({**EVALUATE, "gap_min_nats": gap_min},
                                                     -33.0, D)
    assert phrase in sentence
    assert ("held for every test image" in sentence) == (gap_min >= 0)
    assert f"With K = {IWAE_K} importance samples" in sentence
    assert "log p(x) ≈ -32.50 nats" in sentence
    assert "the ELBO with the same samples is -32.90" in sentence
    assert "Warning" not in sentence  # gap = log p(x) − ELBO_K holds in EVALUATE
    assert "Warning" in sections_info.elbo_tightness_sentence({**EVALUATE, "gap_nats": 0.9},
                                                              -33.0, D)


def test_prior_grid_appears_only_when_walks_hold_one(tmp_path, built):
    assert not (built / "figures/prior_grid.png").exists()
    assert "No prior grid" in (built / "report.md").read_text()
    out = tmp_path / "reports"
    build_report(load_inputs(write_inputs(tmp_path, grid_models=("vae",))), out, N_EXAMPLES)
    md = (out / "report.md").read_text()
    assert "](figures/prior_grid.png)" in md and "No prior grid" not in md
    assert f"a {GRID_STEPS} × {GRID_STEPS} grid over the prior's quantiles" in md
    assert (out / "figures/prior_grid.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (out / "report.html").read_text().count("<img") == N_FIGURES + 1


def test_probe_accuracy_caveat_for_tsne_follows_the_numbers(tmp_path):
    words = _words(load_inputs(write_inputs(tmp_path)))["comparison"]
    assert "t-SNE's probe accuracy, 0.8500 (0.8330–0.8670) (`probe_accuracy`), is shown but not " \
           "ranked: it embedded train and test jointly (section 4)" in words
    assert "Its point estimate is below that of pca, the ranked top (0.9700)." in words
    assert "t-SNE's kNN accuracy, 0.9500 (0.9310–0.9690)" in words


@pytest.mark.parametrize(("key", "a", "b", "tied", "relation", "evidence"), [
    ("knn_accuracy", "dae", "ae", TIED, "tied with",
     "within noise: the paired 95% interval of dae − ae is -0.0100 to 0.0300, including 0"),
    ("knn_accuracy", "dae", "ae", {}, "higher than",
     "beyond noise: the paired 95% interval of dae − ae is 0.0050 to 0.0150, excluding 0"),
    ("recon_mse", "ae", "dae", {}, "higher than",  # lower is better: dae − ae > 0 favours dae
     "beyond noise: the paired 95% interval of ae − dae is 0.00100 to 0.00300, excluding 0"),
    ("recon_mse", "ae", "pca", {}, "lower than",
     "by point estimate only: the verdict tests each method against the top, dae, not ae "
     "against pca, section 10"),
    ("knn_accuracy", "ae", "vae", {"knn_accuracy": ("ae", "vae")}, "higher than",
     "by point estimate only: the verdict tests each method against the top, dae, not ae "
     "against vae, and has both tied with dae for best, section 10"),
    ("knn_accuracy", "tsne", "dae", {}, "higher than",
     "by point estimate only: tsne is not ranked (transductive"),
])
def test_pairwise_claims_go_as_far_as_the_verdict(key, a, b, tied, relation, evidence):
    verdict = as_verdict(make_verdict(STATS, tied=tied))
    word, why = verdicts.pair_relation(verdict, key, STATS, a, b)
    assert word == relation
    assert why.startswith(evidence)


def test_the_model_and_baseline_sections_compare_by_the_verdict(tmp_path):
    words = _words(load_inputs(write_inputs(tmp_path)))
    assert "its kNN accuracy is tied with the AE's (0.9100 (0.8918–0.9282) vs 0.9000 " \
           "(0.8820–0.9180), `knn_accuracy`; within noise: the paired 95% interval of dae − ae " \
           "is -0.0100 to 0.0300, including 0)." in words["dae"]
    assert "the AE's test recon MSE (0.01200 (0.01176–0.01224), section 5) is lower than PCA's " \
           "(0.03000 (0.02940–0.03060)) (`recon_mse`; by point estimate only" in words["pca"]


@pytest.mark.parametrize(("relative", "change", "match"), [
    ("metrics/evaluate.json", lambda o: o["vae"].update(log_px_nats=-40.0),
     r"vae\.test_log_px_nats = -32\.5 but .*evaluate\.json has log_px_nats = -40\.0"),
    ("metrics/dae_sweep_scores.json", lambda o: o["best"].update(by_recon_mse=0.75),
     r"dae_sweep_scores\.json: best\.by_recon_mse = 0\.75 but verdict\.recon_mse\.top is 0\.1; "
     r"rerun latent_stats"),
    ("metrics/dae_sweep_scores.json", lambda o: o.pop("0.75"),
     r"dae_sweep_scores\.json: levels \[0\.0, 0\.1, 0\.25, 0\.5\] differ from the sweep's "
     r"\[0\.0, 0\.1, 0\.25, 0\.5, 0\.75\] \(params\.yaml's dae_sweep\.levels and train\.dae's"),
    ("metrics/latent_stats.json", lambda o: o["vae"].update(active_units=3),
     r"kl_per_dim\.csv: 2 active rows but active_units = 3"),
])
def test_inconsistent_evaluation_inputs_name_the_file(tmp_path, relative, change, match):
    paths = write_inputs(tmp_path)
    obj = json.loads((tmp_path / relative).read_text())
    change(obj)
    (tmp_path / relative).write_text(json.dumps(obj))
    with pytest.raises(DataFileError, match=match):
        load_inputs(paths)


def test_bad_walks_are_reported(tmp_path):
    paths = write_inputs(tmp_path)
    arrays = io.read_npz(paths.walks)
    io.atomic_write_npz(paths.walks, **{**arrays, "pair": np.array([0, N_TEST])})
    with pytest.raises(DataFileError, match=r"walks\.npz: pair must be two test indices"):
        load_inputs(paths)
    io.atomic_write_npz(paths.walks, **{**arrays, "prior_grid_vae": np.zeros((5, D))})
    with pytest.raises(DataFileError, match=r"walks\.npz: prior_grid_vae has shape \(5, 64\)"):
        load_inputs(paths)


# --------------------------------------------------------------------------
# No git state: the report is a function of its DVC deps (What changed: test_report_changes.py)
# --------------------------------------------------------------------------


def _git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def _commit_all(root: Path) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "results")
    return _git(root, "rev-parse", "HEAD")


def _edit_json(path: Path, edit) -> None:
    obj = json.loads(path.read_text())
    edit(obj)
    path.write_text(json.dumps(obj))


def _report_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def test_the_report_reads_no_git_state(built, tmp_path):
    """The same inputs give the same bytes outside git, at one commit, and at another with
    uncommitted code: a fresh clone at any commit re-renders the committed report."""
    root = tmp_path / "repo"
    paths = write_inputs(root)
    _git(root, "init", "-q")
    first = _commit_all(root)
    (root / "src/latentlab").mkdir(parents=True)
    (root / "src/latentlab/edited.py").write_text("x = 1\n")
    second = _commit_all(root)
    (root / "stages").mkdir()
    (root / "stages/train.py").write_text("y = 2\n")  # uncommitted
    build_report(load_inputs(paths), tmp_path / "out", N_EXAMPLES)
    assert _report_bytes(tmp_path / "out") == _report_bytes(built)  # built outside git
    md = (tmp_path / "out/report.md").read_text()
    assert first[:7] not in md and second[:7] not in md
    assert "What changed" not in "".join(re.findall(r"^## .+$", md, flags=re.M))
    provenance = md.split("## 12. Provenance")[1]
    assert "HEAD when rendered" not in md and "uncommitted changes" not in md
    assert "identified by `dvc.lock`, committed beside this report" in provenance
    assert "`mlflow.source.git.commit`" in provenance
    assert "`make changes` (`python -m latentlab.report.changes`)" in provenance
    assert "`reports/changes.md`" in provenance


def test_the_report_loads_no_git_module():
    """Neither ReportInputs nor the stage's imports reach git: dvc.yaml's code deps of
    `report` (its import closure) leave out the "What changed" modules."""
    from dataclasses import fields

    from latentlab.pipeline.code_deps import import_closure
    from latentlab.report.inputs import ReportInputs

    names = {f.name for f in fields(ReportInputs)}
    assert not names & {"git", "metrics_now", "metrics_before", "params_now", "params_before",
                        "data_before"}
    closure = {p.name for p in import_closure(REPO / "stages/report.py", REPO / "src")}
    assert not closure & {"gitstate.py", "sections_changes.py", "changes.py",
                          "changes_inputs.py"}


def test_the_report_stage_is_run_cache_eligible_and_publish_copies_it_to_reports():
    """The report reads no git state and keeps no `persist` output, so DVC may hash it; and
    DVC 3.67 saves a run-cache entry only for a stage with no uncached output that is neither a
    metric nor a plot (``Stage.run``'s ``no_cache_outs``): the pages and figures are cached in
    outputs/report/, and the `publish` stage copies them to the git-tracked reports/."""
    from dvc.repo import Repo
    from dvc.stage.cache import _can_hash

    repo = Repo(str(REPO))
    (stage,) = repo.stage.collect("report")
    assert not any(out.persist for out in stage.outs)
    assert _can_hash(stage)
    assert [out.def_path for out in stage.outs if not out.use_cache
            and not (out.is_metric or out.is_plot)] == []
    (publish,) = repo.stage.collect("publish")
    assert {dep.def_path for dep in publish.deps if dep.def_path.startswith("outputs/")} == {
        "outputs/report/report.html", "outputs/report/report.md", "outputs/report/figures"}
    assert {out.def_path for out in publish.outs if not out.use_cache} == {
        "reports/report.html", "reports/report.md", "reports/figures"}


# --------------------------------------------------------------------------
# Data sets: no labels, t-SNE on a subsample, binarisation, subsampled embeddings
# --------------------------------------------------------------------------


def _section(md: str, number: int) -> str:
    return md.split(f"\n## {number}. ")[1].split("\n## ")[0]


def test_unlabelled_data_renders_without_label_metrics(tmp_path):
    out = tmp_path / "reports"
    inputs = load_inputs(write_inputs(tmp_path, labelled=False, binarize="dynamic"))
    assert inputs.has_labels is False
    build_report(inputs, out, N_EXAMPLES)
    html, md = (out / "report.html").read_text(), (out / "report.md").read_text()
    table = parse_table(html)
    assert not any(h.startswith(("kNN", "probe")) for h in table.headers)
    assert [row[0][0] for row in table.rows] == list(METHODS)
    assert "trustworthiness ↑" in table.headers
    assert parse_table(html, "dae-sweep-table").headers == ["masking level", "recon MSE ↓",
                                                           "trained by"]
    data = _section(md, 2)
    assert "without labels (`has_labels`: false in `source.json`)" in data
    assert "No labels: kNN and probe accuracy are skipped" in data
    assert "Images per class" not in data
    assert "No labels: kNN and probe accuracy are skipped (`has_labels`: false" in _section(md, 10)
    assert "No labels: kNN and probe accuracy are skipped" in _section(md, 4)  # t-SNE
    assert "no labels: kNN and probe accuracy are skipped" in _section(md, 5)  # AE
    assert "so recon MSE is the only criterion" in _section(md, 7)
    assert "No labels: every point has one colour." in _section(md, 11)
    assert "no labels, so not chosen by class" in _section(md, 11)
    for key in ("`knn_accuracy`", "`probe_accuracy`", "by_knn_accuracy", "label -1"):
        assert key not in md, key
    assert len(list((out / "figures").glob("*.png"))) == N_FIGURES


def test_labelled_data_needs_the_label_metrics_and_agreeing_flags(tmp_path):
    paths = write_inputs(tmp_path, labelled=False)
    source = json.loads(paths.source.read_text())
    paths.source.write_text(json.dumps({**source, "has_labels": True}))
    with pytest.raises(DataFileError, match=r"has_labels differs between the data files"):
        load_inputs(paths)
    paths = write_inputs(tmp_path / "sweep")
    _edit_json(paths.dae_sweep_scores, lambda o: o["best"].pop("by_knn_accuracy"))
    with pytest.raises(DataFileError, match=r"lacks key\(s\) by_knn_accuracy under 'best'"):
        load_inputs(paths)


def test_subsampled_tsne_says_how_many_points_and_which_metrics(tmp_path):
    out = tmp_path / "reports"
    inputs = load_inputs(write_inputs(tmp_path, tsne_keep=(20, 10)))
    build_report(inputs, out, N_EXAMPLES)
    md = (out / "report.md").read_text()
    tsne = _section(md, 4)
    assert "t-SNE embedded a seeded, stratified subsample of 30 of 90 points " \
           "(`baselines.tsne.max_points` = 30; `subsampled`, `n_points_embedded`, " \
           "`n_points_available` in `metrics/baseline/tsne.json`): 20 of the 60 training and 10 " \
           "of the 30 test images" in tsne
    assert "computed on this subsample's 10 test points (`n_test_points` in " \
           "`metrics/latent_stats.json`): kNN accuracy (`knn_accuracy`) and probe accuracy " \
           "(`probe_accuracy`)" in tsne
    assert "every other method's on all 30 test images" in tsne
    assert "with perplexity 30 (`perplexity`)" in tsne
    assert "t-SNE's row is computed on its subsample of 10 test points" in _section(md, 10)
    assert "tsne 10, ae 30" in _section(md, 11)
    words = _words(load_inputs(write_inputs(tmp_path / "all")))["tsne"]
    assert "subsample" not in words  # older metrics: no subsample keys, every point embedded


def test_subsample_record_must_match_the_codes(tmp_path):
    paths = write_inputs(tmp_path, tsne_keep=(20, 10))
    _edit_json(paths.baseline_metrics["tsne"], lambda o: o.update(n_points_embedded=40))
    with pytest.raises(DataFileError, match=r"tsne\.json: n_points_embedded = 40 but"):
        load_inputs(paths)


@pytest.mark.parametrize(("binarize", "likelihood", "data_phrase", "vae_phrase"), [
    (None, "bernoulli", "The pixels were not binarised (`binarize`: none in `splits.npz`)",
     "a relaxation"),
    ("none", "bernoulli", "The pixels were not binarised (`binarize`: none in "
                          "`data/processed/meta.json`)",
     "not binary (`binarize`: none; `likelihood_is_relaxation`: true): the recon term is a "
     "binary cross-entropy on non-binary targets, a relaxation"),
    ("static", "bernoulli", "every pixel became x > 0.5 (`binarize_threshold`) (`binarize`: "
                            "static in `data/processed/meta.json`)",
     "the pixels were binarised once, statically (`binarize`: static): the likelihood is exact "
     "on these binary images (`likelihood_is_relaxation`: false)"),
    ("dynamic", "bernoulli", "The pixels were binarised dynamically (`binarize`: dynamic in "
                             "`data/processed/meta.json`",
     "the pixels were binarised dynamically: each training epoch drew a fresh Bernoulli sample "
     "of the training intensities, and the test split is one seeded sample (`binarize`: "
     "dynamic): the likelihood is exact"),
    ("dynamic", "gaussian", "The pixels were binarised dynamically",
     "here of dynamically binarised 0/1 values (`binarize`: dynamic)"),
])
def test_binarisation_and_likelihood_are_said(tmp_path, binarize, likelihood, data_phrase,
                                              vae_phrase):
    words = _words(load_inputs(write_inputs(tmp_path, binarize=binarize, likelihood=likelihood)))
    assert data_phrase in words["data"]
    assert vae_phrase in words["vae"]
    relaxation = likelihood == "bernoulli" and binarize in (None, "none")
    if likelihood == "bernoulli":
        assert ("the recon term is a relaxation" in words["data"]) == relaxation
        assert ("the likelihood is exact" in words["data"]) != relaxation
        assert ("bernoulli likelihood, a relaxation on grey levels" in words["ae"]) == relaxation
    else:
        assert "relaxation" not in " ".join(words.values())


def test_train_metrics_binarize_must_match_the_splits(tmp_path):
    paths = write_inputs(tmp_path, binarize="dynamic")
    _edit_json(paths.train_metrics["dae"], lambda o: o.update(binarize="static"))
    with pytest.raises(DataFileError, match=r"dae\.json: binarize is 'static' but the splits "
                                            r"are 'dynamic'; rerun train"):
        load_inputs(paths)


def test_embeddings_with_fewer_rows_than_the_test_split_are_accepted(tmp_path):
    inputs = load_inputs(write_inputs(tmp_path, plot_points=12))
    assert {len(e["x"]) for e in inputs.embeddings.values()} == {12}
    assert "Test points (pca 12, tsne 12, ae 12, dae 12, vae 12 of 30; a seeded subsample)" in \
        contents.captions(inputs, N_EXAMPLES)["embeddings"]
    assert "at most `latent_stats.plot_points` of the test points" in _words(inputs)["latent"]


def _rewrite_embedding(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


@pytest.mark.parametrize(("edit", "match"), [
    (lambda ls: ls + ls[1:3], r"32 rows, more than the 30 test codes of ae"),
    (lambda ls: ls[:1] + ["99,0.1,0.2,3"] + ls[2:], r"index 99 is not a row of the test split"),
    (lambda ls: ls[:2] + [ls[1]] + ls[3:], r"column index repeats a test row"),
    (lambda ls: ls[:1] + ["0,0.1,0.2,7"] + ls[2:], r"label 7 for test row 0, but y_test\[0\] is 0"),
    (lambda ls: ls[:1] + ["0,0.1,oops,0"] + ls[2:], r"column y holds a value that is not a number"),
    (lambda ls: ls[:1] + ["0,0.1"] + ls[2:], r"column y holds a value that is not a number"),
    (lambda ls: ls[:1] + ["0.5,0.1,0.2,0"] + ls[2:], r"column index holds a value that is not an "
                                                    r"integer"),
    (lambda ls: ls[:1], r"no rows"),
])
def test_malformed_embedding_fails_in_one_line(tmp_path, edit, match):
    paths = write_inputs(tmp_path, plot_points=20)
    csv_path = paths.embeddings_dir / "ae.csv"
    if "more than" in match:  # all 30 rows and two more
        paths = write_inputs(tmp_path)
    _rewrite_embedding(csv_path, edit)
    with pytest.raises(DataFileError, match=match) as err:
        load_inputs(paths)
    assert str(csv_path) in str(err.value) and "\n" not in str(err.value)


def test_new_data_set_report_is_deterministic(tmp_path):
    inputs = load_inputs(write_inputs(tmp_path, labelled=False, binarize="static",
                                      tsne_keep=(20, 10), plot_points=8))
    build_report(inputs, tmp_path / "a", N_EXAMPLES)
    build_report(load_inputs(write_inputs(tmp_path, labelled=False, binarize="static",
                                          tsne_keep=(20, 10), plot_points=8)),
                 tmp_path / "b", N_EXAMPLES)
    for name in ("report.md", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for png in (tmp_path / "a/figures").glob("*.png"):
        assert png.read_bytes() == (tmp_path / "b/figures" / png.name).read_bytes()
    md = (tmp_path / "a/report.md").read_text()
    assert "t-SNE embedded a seeded, stratified subsample of 30 of 90 points" in md
    assert "stratified by split only (no labels)" in md


def test_publish_copies_files_and_swaps_a_folder_whole(tmp_path):
    """The copy replaces what reports/ held: stale figures go, nothing half-copied is left, and a
    missing rendered file is one line naming the fix."""
    from latentlab.errors import DataFileError
    from latentlab.report.publish import publish

    rendered, reports = tmp_path / "outputs/report", tmp_path / "reports"
    (rendered / "figures").mkdir(parents=True)
    (rendered / "report.md").write_text("# new\n")
    (rendered / "figures/a.png").write_bytes(b"A")
    (reports / "figures").mkdir(parents=True)
    (reports / "report.md").write_text("# old\n")
    (reports / "figures/stale.png").write_bytes(b"S")
    (reports / "changes.md").write_text("kept\n")  # not ours: left alone
    publish(rendered, reports, ["report.md", "figures"])
    assert (reports / "report.md").read_text() == "# new\n"
    assert sorted(p.name for p in (reports / "figures").iterdir()) == ["a.png"]
    assert sorted(p.name for p in reports.iterdir()) == ["changes.md", "figures", "report.md"]
    with pytest.raises(DataFileError, match=r"lacks report.html; run `dvc repro report`"):
        publish(rendered, reports, ["report.html"])


def test_publish_refuses_a_typo_in_params_yaml_like_every_stage(tmp_path):
    import subprocess
    import sys

    rendered = tmp_path / "rendered"
    rendered.mkdir()
    (rendered / "report.md").write_text("# r\n")
    bad = tmp_path / "params.yaml"
    bad.write_text(PARAMS_YAML.replace("report:\n", "reprot:\n"))
    out = subprocess.run([sys.executable, str(REPO / "stages/publish.py"), "--from",
                          str(rendered), "--to", str(tmp_path / "reports"), "--params", str(bad),
                          "report.md"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("error: reprot: unknown section (typo?)"), out.stderr
    assert not (tmp_path / "reports").exists()


def test_each_training_sentence_states_the_early_stopping_rule_it_ran_under():
    """The report states the tolerance behind every stop (issue 20): a reader comparing an
    epoch count across runs sees which rule produced it."""
    from latentlab.report.sections_models import stopping_words
    from tiny_params import tiny_train_params

    tolerant = tiny_train_params(patience=20, epochs=300, min_rel_improvement=0.0003)
    words = stopping_words(tolerant, stopped_early=True)
    assert words.startswith("stopped early: 20 epochs (`train.common.patience`)")
    assert "by more than 0.03% (`train.common.min_rel_improvement`: 0.0003)" in words
    budget = stopping_words(tolerant, stopped_early=False)
    assert budget.startswith("ran its full epoch budget of 300 (`train.common.epochs`)")
    assert "0.03%" in budget
    strict = stopping_words(tiny_train_params(patience=5), stopped_early=True)
    assert strict.endswith("without the validation loss improving")
    assert "min_rel_improvement" not in strict
