"""The report's section "Latent spaces": embeddings, reconstructions, decoding the prior, walks.

What the codes look like in 2-D, what each decoder makes of the test codes, of
z ~ N(0, I) and of the points between two codes (``walks.npz``), and whether the
VAE's codes follow the prior better than the AE's: every claim's direction is
computed from ``latent_kl_to_prior_nats`` and the codes' moments, and goes no further
than ``metrics/verdict.json``'s paired intervals (a collapsed VAE is flagged).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from latentlab.params import MODELS
from latentlab.report.blocks import FigureRef
from latentlab.report.blocks import figure as _fig
from latentlab.report.blocks import para as _p
from latentlab.report.inputs import METHODS, Criterion, ReportInputs, Verdict, prior_grid_models
from latentlab.report.sections_baselines import tsne_subsampled
from latentlab.report.verdicts import pair_relation
from latentlab.report.words import fmt, pct, section_ref

PRIOR_MASS = 0.99  # the interpolation text compares ‖z‖² with this quantile of the prior's χ²


def embedded_counts(inputs: ReportInputs) -> dict[str, int]:
    """Rows of each method's embedding CSV."""
    return {m: len(inputs.embeddings[m]["x"]) for m in METHODS}


def prior_match_sentence(stats: Mapping[str, dict], verdict: Verdict) -> str:
    """The key claim, with its direction computed from ``latent_kl_to_prior_nats`` and
    carried only as far as the verdict's paired intervals go; a collapsed VAE is flagged."""
    key = "latent_kl_to_prior_nats"
    c = verdict.criteria[key]
    vae, ae, dae = (float(stats[m][key]) for m in ("vae", "ae", "dae"))
    numbers = (f"KL(fit ‖ N(0, I)) = {fmt(vae)} nats vs the AE's {fmt(ae)} nats "
               f"(DAE: {fmt(dae)}; `{key}`)")
    if c.excluded.get("vae") == "collapsed":
        claim = ("The VAE's codes match the prior only trivially: its posterior collapsed "
                 f"(`posterior_collapse`, {section_ref('vae')}), so {numbers} is flagged, not "
                 "counted as the best match to the prior.")
    else:
        word, evidence = pair_relation(verdict, key, stats, "vae", "ae")
        if word == "lower than":
            factor = f", {fmt(ae / vae, 3)} times lower" if vae > 0 else ""
            claim = ("The VAE's codes follow the prior" if evidence.startswith("beyond") else
                     "The VAE's codes are closer to the prior than the AE's")
            claim += f": {numbers}{factor}; {evidence}."
        elif word in ("equal to", "tied with"):
            claim = (f"The VAE's codes are no closer to the prior than the AE's: {numbers}; "
                     f"{evidence}.")
        else:
            claim = (f"The VAE's codes do not follow the prior better than the AE's: {numbers}; "
                     f"{evidence}.")
    return claim + _closest_sentence(c, stats)


def _closest_sentence(c: Criterion, stats: Mapping[str, dict]) -> str:
    """Which ranked method is closest to the prior, as far as the verdict decides it."""
    if c.top is None:
        return ""
    where = section_ref("comparison")
    if c.top == "vae":
        if c.best == "vae":
            return f" Of the ranked methods it is the closest to the prior, beyond noise ({where})."
        others = [m for m in c.leaders if m != "vae"]
        return (f" It is tied for closest to the prior with {', '.join(others)} ({where})."
                if others else "")
    value = f"{fmt(float(stats[c.top][c.key]))} nats"
    if c.best == c.top:
        return f" Closest to the prior of the ranked methods, beyond noise, is {c.top}: {value}."
    return (f" Closest to the prior of the ranked methods by point estimate is {c.top} "
            f"({value}), tied within noise with {', '.join(c.leaders[1:])} ({where}).")


def latent_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The section: embeddings, reconstructions, prior samples, walks, the prior claim and
    the codes' moments."""
    stats = inputs.latent_stats
    projected = [m for m in METHODS if int(stats[m]["latent_dim"]) > 2]
    native = [m for m in METHODS if m not in projected]
    n_prior = {m: len(inputs.codes[m]["prior_samples"]) for m in MODELS}
    mse = ", ".join(f"{m} {fmt(stats[m].get('recon_mse'))}" for m in METHODS
                    if stats[m].get("recon_mse") is not None)
    moments = "; ".join(f"{m} {fmt(stats[m]['latent_mean_abs'])} and "
                        f"{fmt(stats[m]['latent_var_mean'])}" for m in METHODS)
    return [
        _p(_embedding_sentence(inputs, projected, native)),
        _fig(refs["embeddings"]),
        _p(f"Test reconstructions; recon MSE (`recon_mse`): {mse}."),
        _fig(refs["reconstructions"]),
        _p("Images decoded from z ~ N(0, I) ("
           + ", ".join(f"{n_prior[m]} for {m}" for m in MODELS) + "). The AE's and DAE's "
           "decoders were never trained on codes drawn from N(0, I), only on the codes of "
           "training images; the VAE's objective pulls its codes toward that prior."),
        _fig(refs["prior_samples"]),
        *_walk_blocks(inputs, refs),
        _p(prior_match_sentence(stats, inputs.verdict)),
        _p(f"Mean |mean| and mean variance of the test codes (`latent_mean_abs`, "
           f"`latent_var_mean`; the prior has 0 and 1; for the VAE these are the moments of the "
           f"aggregate posterior q(z), variance = Var(mean) + E[σ²]): {moments}. "
           "A gaussian fit checks only "
           "the first two moments: matching them is necessary, not sufficient, for codes "
           "distributed as N(0, I)."),
        _fig(refs["latent_moments"]),
    ]


def _walk_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The interpolation figure and its sentence; the prior grid only where walks.npz has one."""
    blocks = [_p(interpolation_sentence(inputs)), _fig(refs["interpolation"])]
    grid = prior_grid_models(inputs.walks)
    if grid:
        side = math.isqrt(len(inputs.walks[f"prior_grid_{grid[0]}"]))
        blocks += [_p(f"For the models with a 2-D latent space ({', '.join(grid)}), a "
                      f"{side} × {side} grid over the prior's quantiles, decoded "
                      "(`prior_grid_<model>` in `walks.npz`; row i, column j decodes "
                      "(z1, z2) = (q_i, q_j), q increasing): what each decoder makes of the "
                      "whole region the prior covers."), _fig(refs["prior_grid"])]
    else:
        dims = ", ".join(f"{m} {int(inputs.latent_stats[m]['latent_dim'])}" for m in MODELS)
        blocks.append(_p("No prior grid: `walks.npz` holds one only for a 2-D latent space, and "
                         f"the models' latent_dim is {dims} (`latent_dim`)."))
    return blocks


def interpolation_sentence(inputs: ReportInputs) -> str:
    """What the interpolation figure shows, and where each path lies against the prior's mass.

    ‖z‖² along the path (the points the evaluate stage decoded) is compared with
    the :data:`PRIOR_MASS` quantile of χ²(latent_dim), the squared norm of z ~ N(0, I).
    """
    from scipy.stats import chi2  # local: only this sentence needs it

    a, b = (int(i) for i in inputs.walks["pair"])
    y = inputs.splits["y_test"]
    steps = len(inputs.walks["interpolation_vae"])
    t = np.linspace(0.0, 1.0, steps)[:, None]
    ranges, quantile, inside = [], {}, []
    for m in MODELS:
        z = inputs.codes[m]["z_test"].astype(np.float64)
        sq = np.sum(((1.0 - t) * z[a] + t * z[b]) ** 2, axis=1)  # (steps,)
        quantile[m] = float(chi2.ppf(PRIOR_MASS, z.shape[1]))
        ranges.append(f"{m} {fmt(sq.min())} to {fmt(sq.max())}")
        if sq.max() <= quantile[m]:
            inside.append(m)
    bound = (fmt(quantile["vae"]) if len(set(quantile.values())) == 1 else
             ", ".join(f"{fmt(q)} for {m}" for m, q in quantile.items()))
    where = "stays inside" if "vae" in inside else "leaves"
    which = (f"two test images of different classes (test images {a}, label {int(y[a])}, and "
             f"{b}, label {int(y[b])}; `pair` in `walks.npz`)" if inputs.has_labels else
             f"two test images ({a} and {b}, `pair` in `walks.npz`; no labels, so not chosen "
             "by class)")
    return (f"Interpolation: the straight line between the codes of {which}, "
            f"decoded at {steps} evenly spaced points, ends included, next to the "
            f"true images. ‖z‖² along each path runs from {', '.join(ranges)}; under the prior "
            f"N(0, I), {pct(PRIOR_MASS)} of codes have ‖z‖² below {bound} (χ² with latent_dim "
            f"degrees of freedom). The VAE's path {where} that region, where the prior puts its "
            "mass and whose codes its decoder was trained on through q(z|x); paths wholly "
            f"inside it: {', '.join(inside) or 'none'}. The figure shows what each decoder makes "
            "of the points between.")


def _embedding_sentence(inputs: ReportInputs, projected: list[str], native: list[str]) -> str:
    stats = inputs.latent_stats
    parts = []
    if projected:
        dims = ", ".join(f"{m} {int(stats[m]['latent_dim'])}" for m in projected)
        parts.append(f"For {', '.join(projected)} (latent_dim {dims} > 2) the panel shows the "
                     "first two principal components of the test codes, not the codes "
                     "themselves")
    if native:
        parts.append(f"{', '.join(native)} {'is' if len(native) == 1 else 'are'} 2-D and "
                     "shown as is")
    text = "; ".join(parts) + "."
    n_test, shown = len(inputs.splits["x_test"]), embedded_counts(inputs)
    if any(v < n_test for v in shown.values()):
        text += (" Each panel shows at most `latent_stats.plot_points` of the test points, a "
                 "seeded subsample (rows of `plots/embeddings/<method>.csv`: "
                 + ", ".join(f"{m} {v}" for m, v in shown.items()) + f", of {n_test}"
                 + ("; t-SNE's only from the points it embedded" if tsne_subsampled(inputs)
                    else "") + ").")
    return text + (" Colours are the true labels." if inputs.has_labels else
                   " No labels: every point has one colour.")
