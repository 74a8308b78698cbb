"""Which method is best on each criterion, and only where the evidence carries it.

For each criterion the eligible methods are ordered by their point estimate;
the top one is *best* only if the paired bootstrap interval of its difference
to every other eligible method excludes zero (design rule 13). Otherwise the
*leaders* are the top method and every method whose difference to it the
interval cannot tell from zero: they are tied, and named alike.

Not every method is eligible:

* ``transductive``: t-SNE embedded the training and test images together (it
  has no transform for new points) and may cover only a subsample of the test
  images; its scores are shown but never ranked against encoders that saw no
  test image.
* ``collapsed``: a VAE whose posterior collapsed matches the prior trivially
  (its codes carry no information), so it is not crowned on the match to the
  prior.
* ``no_value``: the method has no such number (t-SNE cannot reconstruct).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from latentlab.analysis.intervals import percentile_interval

CRITERIA = {  # criterion -> which way is better
    "knn_accuracy": "max",
    "probe_accuracy": "max",
    "trustworthiness": "max",
    "recon_mse": "min",
    "latent_kl_to_prior_nats": "min",
}
TRANSDUCTIVE = ("tsne",)
PRIOR_MATCH = "latent_kl_to_prior_nats"


def decide(values: Mapping[str, float], on_resamples: Mapping[str, np.ndarray], better: str,
           confidence: float) -> dict:
    """The verdict on one criterion among eligible methods (insertion order breaks exact ties).

    Parameters
    ----------
    values : {method: point estimate}
    on_resamples : {method: its score on each bootstrap resample, shape (n_samples,)}
        Every method on the same resampled test rows: the differences are paired.
    better : "max" or "min"

    Returns
    -------
    ``{"better", "top", "ranked", "leaders", "decided", "differences"}`` where
    ``differences[m] = {"low", "high"}`` is the paired interval of how much
    better ``top`` is than ``m`` (positive: top better, whichever way is better).
    """
    if better not in ("max", "min"):
        raise ValueError(f"better must be 'max' or 'min', got {better!r}")
    sign = 1.0 if better == "max" else -1.0
    order = list(values)
    ranked = sorted(values, key=lambda m: (-sign * values[m], order.index(m)))
    top = ranked[0] if ranked else None
    differences = {}
    if ranked:
        for m in ranked[1:]:
            low, high = percentile_interval(sign * (on_resamples[top] - on_resamples[m]),
                                            confidence)
            differences[m] = {"low": low, "high": high}
    leaders = [top] + [m for m in ranked[1:] if differences[m]["low"] <= 0.0] if ranked else []
    return {"better": better, "top": top, "ranked": ranked, "leaders": leaders,
            "decided": len(ranked) > 1 and leaders == [top], "differences": differences}


def exclusions(criterion: str, methods: Mapping[str, Mapping[str, float]],
               collapsed: bool) -> dict[str, str]:
    """Why a method is not ranked on ``criterion``: ``{method: reason code}``."""
    out = {}
    for method, row in methods.items():
        if criterion not in row:
            out[method] = "no_value"
        elif method in TRANSDUCTIVE:
            out[method] = "transductive"
        elif criterion == PRIOR_MATCH and method == "vae" and collapsed:
            out[method] = "collapsed"
    return out


def verdicts(table: Mapping[str, Mapping[str, float]],
             on_resamples: Mapping[str, Mapping[str, np.ndarray]], *,
             confidence: float, collapsed: bool) -> dict[str, dict]:
    """The verdict of every criterion some method has a value for.

    ``table`` is the comparison table (``{method: {metric: value}}``);
    ``on_resamples[method][criterion]`` the same numbers on each bootstrap
    resample of the test rows, the same resamples for every eligible method
    (t-SNE, on its own subsample, is never eligible).
    """
    out = {}
    for criterion, better in CRITERIA.items():
        if not any(criterion in row for row in table.values()):
            continue  # no labels: no accuracies
        excluded = exclusions(criterion, table, collapsed)
        eligible = [m for m in table if m not in excluded]
        verdict = decide({m: table[m][criterion] for m in eligible},
                         {m: on_resamples[m][criterion] for m in eligible}, better, confidence)
        out[criterion] = {**verdict, "excluded": excluded}
    return out
