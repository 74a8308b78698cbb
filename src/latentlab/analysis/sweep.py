"""The DAE corruption sweep scored like the comparison table: intervals, and a best level
only beyond noise.

Each level's DAE is scored on the same clean (grey-level) test images by recon MSE, kNN
accuracy and the logistic probe's accuracy, each with its percentile interval over the
same bootstrap resamples of the test images as :mod:`latentlab.analysis.latent_stats`
uses (``seed``, ``bootstrap_samples``), so the levels' differences are paired. Per score,
:func:`~latentlab.analysis.verdict.decide` names the best level when its paired difference
to every other level excludes zero, else the tied leaders: a sweep's "best level" is a
claim like any other (design rule 13), and the source text's claim that about 25 %
corruption is best is tested against it, not against a point estimate.
"""

from __future__ import annotations

import numpy as np

from latentlab.analysis.intervals import (
    mean_statistic,
    percentile_interval,
    replicates,
    resamples,
)
from latentlab.analysis.metrics import knn_correct, probe_correct, squared_error_per_item
from latentlab.analysis.verdict import decide

SCORES = {"recon_mse": "min", "knn_accuracy": "max", "probe_accuracy": "max"}
LABEL_SCORES = ("knn_accuracy", "probe_accuracy")


def level_key(level: float) -> str:
    """A level as a key of the scores file: ``str(float)``, as dvc.yaml names its stages."""
    return str(float(level))


def per_item_scores(splits: dict, arrays: dict, *, knn_neighbors: int, seed: int,
                    labelled: bool) -> dict[str, np.ndarray]:
    """Each score of one level's DAE per test image (``splits``' ``x_test``: grey levels)."""
    out = {"recon_mse": squared_error_per_item(splits["x_test"], arrays["recon_test"])}
    if labelled:
        out["knn_accuracy"] = knn_correct(arrays["z_train"], splits["y_train"],
                                          arrays["z_test"], splits["y_test"], knn_neighbors)
        out["probe_accuracy"] = probe_correct(arrays["z_train"], splits["y_train"],
                                              arrays["z_test"], splits["y_test"], seed)
    return out


def sweep_scores(splits: dict, members: dict[float, tuple[str, dict]], *, knn_neighbors: int,
                 seed: int, bootstrap_samples: int, confidence: float,
                 labelled: bool = True) -> dict[str, dict]:
    """Scores per level with intervals, the best level per score, and the verdict.

    Parameters
    ----------
    splits : dict with ``x_test`` (grey levels), ``y_train``, ``y_test``
    members : ``{level: (stage that trained it, codes)}``; codes hold ``z_train``,
        ``z_test`` and ``recon_test``
    labelled : False for a data set without labels: recon MSE alone

    Returns
    -------
    ``{level_key: {"noise_level", "trained_by", <score>, <score>_ci_low, <score>_ci_high}}``
    per level, plus ``"best"`` (``by_<score>``: the level of the best point estimate, as
    before), ``"verdict"`` (per score: :func:`~latentlab.analysis.verdict.decide` over the
    levels, keyed by :func:`level_key`) and ``"protocol"``.
    """
    n_test = len(splits["x_test"])
    rows = resamples(n_test, bootstrap_samples, seed)
    scores: dict[str, dict] = {}
    on_resamples: dict[str, dict[str, np.ndarray]] = {}
    for level, (trained_by, arrays) in sorted(members.items()):
        key = level_key(level)
        row: dict = {"noise_level": float(level), "trained_by": trained_by}
        on_resamples[key] = {}
        for score, per_item in per_item_scores(splits, arrays, knn_neighbors=knn_neighbors,
                                               seed=seed, labelled=labelled).items():
            statistic = mean_statistic(per_item)
            row[score] = float(statistic(np.arange(n_test)))
            on_resamples[key][score] = replicates(statistic, rows)
            row[f"{score}_ci_low"], row[f"{score}_ci_high"] = percentile_interval(
                on_resamples[key][score], confidence)
        scores[key] = row
    names = [s for s in SCORES if labelled or s not in LABEL_SCORES]
    verdict = {score: decide({k: scores[k][score] for k in scores},
                             {k: on_resamples[k][score] for k in scores},
                             SCORES[score], confidence) for score in names}
    best = {f"by_{score}": scores[verdict[score]["top"]]["noise_level"] for score in names}
    return {**scores, "best": best, "verdict": verdict,
            "protocol": {"bootstrap_samples": bootstrap_samples, "confidence": confidence,
                         "seed": seed, "n_test": n_test}}


def sweep_rows(scores: dict[str, dict]) -> tuple[list[str], list[list[float]]]:
    """The plot CSV: one row per level, its scores and their interval bounds."""
    levels = [key for key, row in scores.items() if "noise_level" in row]
    first = scores[levels[0]]
    columns = ["noise_level"] + [f"{s}{suffix}" for s in SCORES if s in first
                                 for suffix in ("", "_ci_low", "_ci_high")]
    return columns, [[scores[key][c] for c in columns] for key in levels]
