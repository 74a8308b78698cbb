"""What the report reads: where each stage output lives, and what was read from them.

:class:`ReportPaths` names the input files (from dvc.yaml, through the stage's
flags); :class:`ReportInputs` holds their contents once
:func:`~latentlab.report.inputs_load.load_inputs` has read and checked them.
Reading is split by concern: :mod:`~latentlab.report.inputs_files` reads one
file at a time, :mod:`~latentlab.report.inputs_checks` checks that the files
agree with each other, :mod:`~latentlab.report.inputs_load` ties them together.
These types live apart from the reading so that the sections, which only read
:class:`ReportInputs`, import none of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from latentlab.params import BASELINES, MODELS, TrainParams

REFERENCE = "pixels"  # latent_stats.json's reference row: the raw grey-level pixels
METHODS = BASELINES + MODELS  # ("pca", "tsne", "ae", "dae", "vae"): the table's row order
# The criteria metrics/verdict.json decides, and which way is better; the accuracies only
# for a data set with labels. Each has a 95 % interval beside its value in latent_stats.json.
CRITERIA = {"knn_accuracy": "max", "probe_accuracy": "max", "trustworthiness": "max",
            "recon_mse": "min", "latent_kl_to_prior_nats": "min"}
# Why a method is left out of a criterion's ranking (metrics/verdict.json, ``excluded``).
EXCLUSION_REASONS = ("transductive", "collapsed", "no_value")


@dataclass(frozen=True)
class ReportPaths:
    """Where each input lives (the paths come from dvc.yaml through the stage's flags).

    ``codes`` maps every method of :data:`METHODS` to its ``codes.npz``;
    ``train_metrics`` and ``curves`` map every model (ae, dae, vae) to its JSON
    and CSV; ``baseline_metrics`` maps pca and tsne to their JSON;
    ``embeddings_dir`` holds ``<method>.csv`` for every method. ``evaluate`` and
    ``walks`` are the evaluate stage's outputs; ``verdict``, ``kl_per_dim``,
    ``dae_sweep_scores`` and ``dae_sweep_plot`` the latent_stats stage's. ``meta`` is the preprocess
    stage's record (optional: without it the binarisation is read from the splits).
    """

    source: Path
    data: Path
    codes: Mapping[str, Path]
    train_metrics: Mapping[str, Path]
    curves: Mapping[str, Path]
    baseline_metrics: Mapping[str, Path]
    latent_stats: Path
    verdict: Path
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
class Seeds:
    """A criterion across training seeds (``seeds`` in ``metrics/verdict.json``).

    ``ranges[m]`` is method m's (min, max) over the ``n_seeds`` seeds (its value where it
    has one seed, as PCA); ``holds`` whether a decided best's worst seed beats every other
    ranked method's best seed (None where nothing is decided).
    """

    n_seeds: int
    ranges: dict[str, tuple[float, float]]
    holds: bool | None


@dataclass(frozen=True)
class Criterion:
    """The verdict on one criterion (``metrics/verdict.json``, under ``criteria``).

    Attributes
    ----------
    key : str
        The metric (``knn_accuracy``, ...), a key of :data:`CRITERIA`.
    better : str
        "max" or "min".
    ranked : tuple of str
        The eligible methods, best point estimate first (may be empty).
    leaders : tuple of str
        ``ranked[0]`` and every ranked method whose paired difference interval includes 0.
    decided : bool
        True when the top's difference to every other ranked method excludes 0.
    excluded : dict of method -> reason
        One of :data:`EXCLUSION_REASONS` per method left out of the ranking.
    differences : dict of method -> (low, high)
        For each ``ranked[1:]``, the paired interval of how much better the top is
        (top − m for "max", m − top for "min": positive means the top is better).
    reference : (low, high) or None
        The same paired interval of the top against the raw pixels (:data:`REFERENCE`),
        where the pixels have this criterion (kNN and probe accuracy); not a ranking.
    seeds : Seeds or None
        Each ranked method's range across training seeds and whether a decided best
        holds across them; None with one seed.
    """

    key: str
    better: str
    ranked: tuple[str, ...]
    leaders: tuple[str, ...]
    decided: bool
    excluded: dict[str, str]
    differences: dict[str, tuple[float, float]]
    reference: tuple[float, float] | None = None
    seeds: Seeds | None = None

    @property
    def top(self) -> str | None:
        return self.ranked[0] if self.ranked else None

    @property
    def best(self) -> str | None:
        """The method called best: the top of a decided criterion with a rival, else None."""
        return self.top if self.decided and len(self.ranked) > 1 else None

    @property
    def tied(self) -> tuple[str, ...]:
        """The leaders when they are tied for best (two or more), else ()."""
        return self.leaders if len(self.leaders) > 1 else ()


@dataclass(frozen=True)
class Verdict:
    """``metrics/verdict.json``: how the intervals were made and the verdict per criterion.

    ``protocol`` holds ``bootstrap_samples``, ``confidence`` (a fraction), ``n_test``,
    ``seed`` and ``trustworthiness_method`` (text); ``criteria`` maps each criterion of
    :data:`CRITERIA` the data set has (no accuracies without labels) to its
    :class:`Criterion`.
    """

    protocol: dict
    criteria: dict[str, Criterion]


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read and checked: only the stage's DVC deps, no git state.

    Attributes
    ----------
    source : dict
        ``source.json``: name, origin, n_examples, image_shape, n_classes, sha256, ...
    meta : dict
        ``data/processed/meta.json`` (``binarize``, ``binarize_threshold``, ``test_split``,
        ``caps``, ...); empty when the report was given none.
    has_labels : bool
        False for a data set without labels: every ``y_*`` is -1 and the label-based
        metrics (:data:`~latentlab.report.inputs_files.LABEL_KEYS`) are absent everywhere.
        True for older inputs that do not say.
    binarize : str
        The preprocessing's binarisation, one of
        :data:`~latentlab.report.inputs_checks.BINARIZE_MODES` ("none" for older inputs
        that do not say).
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
        ``metrics/latent_stats.json``; each value of :data:`CRITERIA` with its
        ``<key>_ci_low`` and ``<key>_ci_high``.
    verdict : Verdict
        ``metrics/verdict.json``: which method is best, tied or not ranked, per criterion.
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
        :func:`~latentlab.report.inputs_files.sweep_scores`).
    params_text : str
        The values of ``params.yaml`` the results depend on
        (:func:`latentlab.params.values_text`: no comments, no ``tracking``).
    splits_sha256 : str
        sha256 of ``splits.npz``: what every stage's MLflow run tags
        ``latentlab.splits_sha256``.
    train_params : dict of TrainParams
        ``train.<model>`` of ae, dae and vae as their training stages read them (the
        early-stopping rule; the VAE's β and KL schedule).
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
    verdict: Verdict
    moments: dict[str, dict[str, np.ndarray]]
    embeddings: dict[str, dict[str, np.ndarray]]
    evaluate: dict
    walks: dict[str, np.ndarray]
    kl_per_dim: dict[str, np.ndarray]
    dae_sweep: dict
    params_text: str = field(repr=False)
    train_params: dict[str, TrainParams]
    splits_sha256: str = ""


def method_path(text: str) -> tuple[str, Path]:
    """Parse one ``METHOD=PATH`` command-line value (an argparse ``type``)."""
    method, sep, path = text.partition("=")
    if not (sep and method and path):
        raise ValueError(f"expected METHOD=PATH, got {text!r}")
    return method, Path(path)


def prior_grid_models(walks: Mapping[str, np.ndarray]) -> list[str]:
    """The models whose ``walks.npz`` holds a decoded prior grid (2-D latent spaces only)."""
    return [m for m in MODELS if f"prior_grid_{m}" in walks]
