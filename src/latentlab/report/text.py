"""Turn the checked numbers into the report's words and table data.

Every sentence is written from the numbers it cites: each claim names the
metric behind it, and a comparison's direction is computed, never assumed.
This module returns plain strings and dicts (sections, blocks, the comparison
table, captions) and knows nothing of files, figures' pixels or templates, so
the wording can be tested without rendering; :mod:`latentlab.report.build`
puts it on the page.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
from typing import TYPE_CHECKING, Mapping

import numpy as np

from latentlab.params import MODELS
from latentlab.report.inputs import METHODS, ReportInputs, prior_grid_models
from latentlab.report.sections_changes import changes_blocks
from latentlab.report.sections_data import (
    data_blocks,
    likelihood_note,
    likelihood_words,
    provenance_items,
)
from latentlab.report.sections_info import info_theory_blocks, vae_info_blocks
from latentlab.report.sections_sweep import sweep_blocks
from latentlab.report.words import (
    DASH,
    NO_LABELS,
    NO_LABELS_SENTENCE,
    SECTIONS,
    Column,
    compare_words,
    fmt,
    pct,
    section_ref,
    table_block,
)
from latentlab.report.words import figure as _fig
from latentlab.report.words import para as _p

if TYPE_CHECKING:  # for annotations only: importing build at run time would be a cycle
    from latentlab.report.build import FigureRef

__all__ = ["captions", "comparison_table", "fmt", "interpolation_sentence",
           "prior_match_sentence", "sections", "title"]

VERSIONED_PACKAGES = ("torch", "scikit-learn", "dvc", "mlflow", "numpy", "matplotlib")
PRIOR_MASS = 0.99  # the interpolation text compares ‖z‖² with this quantile of the prior's χ²


def package_versions() -> dict[str, str]:
    """Installed versions of the packages behind the results, read without importing them."""
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# --------------------------------------------------------------------------
# Text: every sentence is written from the numbers it cites
# --------------------------------------------------------------------------


COLUMNS = (
    Column("latent_dim", "latent dim", None),
    Column("knn_accuracy", "kNN accuracy ↑", "max"),
    Column("probe_accuracy", "probe accuracy ↑", "max"),
    Column("trustworthiness", "trustworthiness ↑", "max"),
    Column("recon_mse", "recon MSE ↓", "min"),
    Column("latent_kl_to_prior_nats", "KL(fit ‖ N(0, I)) nats ↓", "min"),
    Column("latent_mean_abs", "mean |mean| (prior: 0)", None),
    Column("latent_var_mean", "mean var (prior: 1)", None),
    Column("fit_seconds", "fit seconds", None, digits=3),
)
LABEL_COLUMNS = ("knn_accuracy", "probe_accuracy")  # left out for a data set without labels


def columns(inputs: ReportInputs) -> tuple[Column, ...]:
    """The comparison table's columns: without labels, no kNN or probe accuracy."""
    return tuple(c for c in COLUMNS if inputs.has_labels or c.key not in LABEL_COLUMNS)


def tsne_subsampled(inputs: ReportInputs) -> bool:
    """Whether t-SNE embedded a subsample (``subsampled`` in its metrics; older: no)."""
    return bool(inputs.baseline_metrics["tsne"].get("subsampled", False))


def _embedded_counts(inputs: ReportInputs) -> dict[str, int]:
    """Rows of each method's embedding CSV."""
    return {m: len(inputs.embeddings[m]["x"]) for m in METHODS}


def title(inputs: ReportInputs) -> str:
    return f"latentlab: AE, DAE and VAE against PCA and t-SNE on {inputs.source['name']}"


def captions(inputs: ReportInputs, n_examples: int) -> dict[str, str]:
    """One caption per figure name."""
    n = min(n_examples, len(inputs.splits["x_test"]))
    rows = ", ".join(["input"] + [m for m in METHODS if "recon_test" in inputs.codes[m]])
    a, b = (int(i) for i in inputs.walks["pair"])
    grid = prior_grid_models(inputs.walks)
    n_test = len(inputs.splits["x_test"])
    shown = _embedded_counts(inputs)
    points = ("The test split" if all(v == n_test for v in shown.values()) else
              "Test points (" + ", ".join(f"{m} {v}" for m, v in shown.items())
              + f" of {n_test}; a seeded subsample)")
    colours = ("coloured by label" if inputs.has_labels else
               "in one colour (no labels)")
    return {
        "data_examples": ("The first test image of each class." if inputs.has_labels else
                          "The first test images (no labels)."),
        "pca_variance": "PCA: fraction of the training variance per component, and cumulative.",
        "pca_reconstructions": f"The first {n} test images (top row) and PCA's reconstructions "
                               "from their coordinates on the kept components. Values outside "
                               "[0, 1] are clipped for display.",
        "ae_curves": "AE: reconstruction NLL per epoch (nats per example), train and val; the "
                     "dotted line marks the epoch kept.",
        "dae_curves": "DAE: reconstruction NLL per epoch (nats per example), train and val, "
                      "the train curve on corrupted inputs; the dotted line marks the epoch "
                      "kept.",
        "vae_elbo_curves": "VAE: reconstruction, KL and ELBO per epoch (nats per example), "
                           "train and val, and the effective KL weight β of the training loss "
                           "(train_beta); the dotted line marks the epoch kept.",
        "embeddings": f"{points} in 2-D, one panel per method, {colours}.",
        "reconstructions": f"The first {n} test images (top row) and their reconstructions; "
                           f"rows: {rows}. Values outside [0, 1] are clipped for display.",
        "prior_samples": "Images decoded from z ~ N(0, I) by each model's decoder.",
        "latent_moments": "Per-dimension mean (top) and variance (bottom, log scale) of the "
                          "test codes; dashed: the prior N(0, I).",
        "dae_sweep": f"The DAE retrained at each {inputs.dae_sweep['noise_type']} level, scored "
                     "on clean test inputs; stars: the best level per panel; dotted: the level "
                     "of the source text's claim (about 25 %).",
        "kl_per_dim": "VAE, test split: KL(q(z_i|x) ‖ p(z_i)) per latent dimension (left) and "
                      "the variance of the posterior means Cov_x(E_q[z_i]) (right, log scale); "
                      "active dimensions in colour, inactive in grey.",
        "interpolation": f"Decoded points on the straight line between the codes of test images "
                         f"{a} and {b} (t = 0 decodes {a}'s code, t = 1 {b}'s); rows: "
                         f"{', '.join(MODELS)}; the true images frame each row.",
        **({"prior_grid": "Images decoded on a grid of the prior N(0, I)'s quantiles, one "
                          "panel per model with a 2-D latent space."} if grid else {}),
    }


def sections(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The report's sections in order: ``{"id", "title", "blocks"}``.

    A block is ``{"kind": "p", "text"}``, ``{"kind": "figure", "ref"}``,
    ``{"kind": "table", "table"}``, ``{"kind": "kv", "items"}`` or
    ``{"kind": "code", "summary", "language", "text"}``.
    """
    blocks = {
        "changes": lambda: changes_blocks(inputs.git, inputs.metrics_before,
                                          inputs.metrics_now),
        "data": lambda: data_blocks(inputs, refs),
        "comparison": lambda: _comparison_blocks(inputs),
        "pca": lambda: _pca_blocks(inputs, refs),
        "tsne": lambda: _tsne_blocks(inputs),
        "ae": lambda: _ae_blocks(inputs, refs),
        "dae": lambda: _dae_blocks(inputs, refs),
        "dae-sweep": lambda: sweep_blocks(inputs.dae_sweep, refs),
        "vae": lambda: _vae_blocks(inputs, refs),
        "info": lambda: info_theory_blocks(inputs),
        "latent": lambda: _latent_blocks(inputs, refs),
        "provenance": lambda: _provenance_blocks(inputs),
    }
    return [{"id": sid, "title": f"{i}. {name}", "blocks": blocks[sid]()}
            for i, (sid, name) in enumerate(SECTIONS, start=1)]


def _column_values(inputs: ReportInputs, key: str) -> dict[str, float | None]:
    if key == "fit_seconds":
        return dict(inputs.fit_seconds)
    return {m: inputs.latent_stats[m].get(key) for m in METHODS}


def comparison_table(inputs: ReportInputs) -> dict:
    """The table block: one row per method, one cell per :data:`COLUMNS`, best in bold."""
    cols = columns(inputs)
    return table_block("comparison-table", "method", METHODS, cols,
                       {c.key: _column_values(inputs, c.key) for c in cols},
                       as_text=lambda col, v: (str(int(v)) if col.key == "latent_dim"
                                               else fmt(v, col.digits)))


def _ranking(values: Mapping[str, float | None], better: str) -> str:
    """``"tsne 0.97 > ae 0.95 > …"`` from best to worst; methods without a value are left out."""
    present = [(m, fmt(v), v) for m, v in values.items() if v is not None]
    if not present:
        return DASH
    present.sort(key=lambda mtv: -mtv[2] if better == "max" else mtv[2])
    sign = " > " if better == "max" else " < "
    text = f"{present[0][0]} {present[0][1]}"
    for (_, shown_before, _), (m, shown, _) in zip(present, present[1:]):
        # "≈" where the rounded values print alike but the order is still real
        text += (" ≈ " if shown == shown_before else sign) + f"{m} {shown}"
    return text


def _comparison_blocks(inputs: ReportInputs) -> list[dict]:
    labels = ("kNN accuracy is a k-nearest-neighbour classifier's (`latent_stats.knn_neighbors`) "
              "and probe accuracy a logistic-regression probe's on the standardised codes, both "
              "fit on the training codes." if inputs.has_labels else
              f"{NO_LABELS_SENTENCE} (`has_labels`: false in `source.json`): the table has no "
              "accuracy columns, and ranks the codes by trustworthiness, reconstruction and "
              "closeness to the prior only.")
    subsample = ""
    if tsne_subsampled(inputs):
        n = inputs.latent_stats["tsne"].get("n_test_points", len(inputs.codes["tsne"]["z_test"]))
        subsample = (f" t-SNE's row is computed on its subsample of {int(n)} test points "
                     f"(`n_test_points`; {section_ref('tsne')}), the other rows on all "
                     f"{len(inputs.splits['x_test'])}.")
    blocks = [_p("All numbers are on the test split (`metrics/latent_stats.json`). ↑: higher is "
                 "better, ↓: lower is better; the best value of each ranked column is in bold. "
                 f"{labels} recon "
                 "MSE is the mean squared error of the test reconstructions (— where the "
                 "method cannot reconstruct). KL(fit ‖ N(0, I)) is the KL from a "
                 "full-covariance gaussian fit of the test codes to the prior, so correlations "
                 "between dimensions count. The moment columns are references, not ranks: the "
                 "prior N(0, I) has mean 0 and variance 1 in every dimension; fit seconds are "
                 "wall time (`metrics/fit_seconds.json`) on the machine that ran the pipeline."
                 + subsample),
              comparison_table(inputs)]
    for col in columns(inputs):
        if col.better:
            ranking = _ranking(_column_values(inputs, col.key), col.better)
            blocks.append(_p(f"{col.header.rstrip(' ↑↓')} (`{col.key}`): {ranking}."))
    blocks.append(_p(_correlation_sentence(inputs.latent_stats)))
    if inputs.has_labels:
        for key, name in (("knn_accuracy", "kNN"), ("probe_accuracy", "probe")):
            blocks.append(_p(_tsne_lead_sentence(_column_values(inputs, key), key, name)))
    return blocks


def _correlation_sentence(stats: Mapping[str, dict]) -> str:
    """What the full-covariance fit adds over the per-dimension one (its total correlation)."""
    added = {m: float(stats[m]["latent_kl_to_prior_nats"])
             - float(stats[m]["latent_kl_to_prior_diag_nats"]) for m in METHODS}
    extra = ", ".join(f"{m} {fmt(v)}" for m, v in added.items())
    return ("The per-dimension fit ignores correlations (`latent_kl_to_prior_diag_nats`); the "
            f"full fit's KL minus it, in nats, is what the correlations add: {extra}.")


def _tsne_lead_sentence(values: Mapping[str, float], key: str, name: str) -> str:
    """t-SNE's accuracy against the best other method's, with the joint-embedding caveat."""
    best_other = max((m for m in METHODS if m != "tsne"), key=lambda m: values[m])
    tsne, other = fmt(values["tsne"]), fmt(values[best_other])
    if values["tsne"] >= values[best_other]:
        return (f"t-SNE's lead in {name} accuracy ({tsne} vs {best_other}'s {other}, `{key}`) "
                f"is optimistic: it embedded train and test jointly ({section_ref('tsne')}).")
    return (f"Even with its optimistic joint embedding ({section_ref('tsne')}), t-SNE's {name} "
            f"accuracy ({tsne}, `{key}`) is below {best_other}'s ({other}).")


def _pca_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    metrics, ratio = inputs.baseline_metrics["pca"], inputs.codes["pca"]["explained_variance_ratio"]
    stats = inputs.latent_stats
    blocks = [_p(f"PCA keeps {metrics['n_components']} components, which explain "
                 f"{pct(metrics['explained_variance_ratio_sum'])} of the training variance "
                 f"(`explained_variance_ratio_sum`); the first explains {pct(ratio[0])}, "
                 f"the last {pct(ratio[-1])}."),
              _fig(refs["pca_variance"])]
    pca_mse, ae_mse = stats["pca"].get("recon_mse"), stats["ae"].get("recon_mse")
    if pca_mse is not None:
        blocks.append(_p(f"PCA reconstructs a test image from its {metrics['n_components']} "
                         f"coordinates with mean squared error {fmt(pca_mse)} per pixel "
                         "(`recon_mse`)."))
    blocks.append(_fig(refs["pca_reconstructions"]))
    if pca_mse is not None and ae_mse is not None:
        blocks.append(_p(f"As the linear reference for reconstruction with the same number of "
                         f"dimensions: the AE's test recon MSE ({fmt(ae_mse)}, "
                         f"{section_ref('ae')}) is {compare_words(ae_mse, pca_mse)} PCA's "
                         f"({fmt(pca_mse)}) (`recon_mse`)."))
    return blocks


def tsne_subsample_sentence(inputs: ReportInputs) -> str:
    """How many points t-SNE embedded, of how many, and which metrics the subsample gives."""
    metrics, codes = inputs.baseline_metrics["tsne"], inputs.codes["tsne"]
    k_train, k_test = len(codes["z_train"]), len(codes["z_test"])
    n_train, n_test = len(inputs.splits["x_train"]), len(inputs.splits["x_test"])
    n_points = int(inputs.latent_stats["tsne"].get("n_test_points", k_test))
    how = ("stratified by label within each split" if inputs.has_labels else
           "stratified by split only (no labels)")
    scored = ("kNN accuracy (`knn_accuracy`) and probe accuracy (`probe_accuracy`) (the "
              f"classifier and the probe fit on its {k_train} training points), " if
              inputs.has_labels else "")
    return (f"t-SNE embedded a seeded, stratified subsample of {metrics['n_points_embedded']} of "
            f"{metrics['n_points_available']} points (`baselines.tsne.max_points` = "
            f"{metrics['max_points']}; `subsampled`, `n_points_embedded`, `n_points_available` "
            f"in `metrics/baseline/tsne.json`): {k_train} of the {n_train} training and "
            f"{k_test} of the {n_test} test images, each split its share, {how}. t-SNE's "
            f"metrics ({section_ref('comparison')}) are computed on this subsample's {n_points} "
            f"test points (`n_test_points` in `metrics/latent_stats.json`): {scored}"
            "trustworthiness (`trustworthiness`), the codes' moments and KL(fit ‖ N(0, I)) "
            f"(`latent_kl_to_prior_nats`); every other method's on all {n_test} test images.")


def _tsne_blocks(inputs: ReportInputs) -> list[dict]:
    metrics, codes = inputs.baseline_metrics["tsne"], inputs.codes["tsne"]
    stats = inputs.latent_stats
    blocks = [_p(tsne_subsample_sentence(inputs))] if tsne_subsampled(inputs) else []
    together = (f"t-SNE has no transform for new points, so its {len(codes['z_train'])} training "
                f"and {len(codes['z_test'])} test points were embedded together (`embedded`: "
                f"\"{metrics['embedded']}\"); the report shows the test points. Their 2-D "
                "neighbours were placed with the training points present, ")
    if inputs.has_labels:
        together += (f"so t-SNE's kNN accuracy ({fmt(stats['tsne']['knn_accuracy'])}, "
                     "`knn_accuracy`) is optimistic next to the methods that encode test points "
                     "they never saw.")
    else:
        together += ("unlike the codes of the methods that encode test points they never saw. "
                     f"{NO_LABELS_SENTENCE}.")
    perplexity = (f" with perplexity {float(metrics['perplexity']):g} (`perplexity`)"
                  if "perplexity" in metrics else "")
    return blocks + [
        _p(together),
        _p(f"The embedding{perplexity} ended at KL divergence {fmt(metrics['kl_divergence'])} "
           f"(`kl_divergence`, t-SNE's own objective) after {metrics['n_iter']} iterations; "
           f"trustworthiness {fmt(stats['tsne']['trustworthiness'])} (`trustworthiness`). "
           "t-SNE has no decoder, so its recon MSE is —."),
    ]


def _training_sentence(model: str, metrics: dict, curves: Mapping[str, np.ndarray],
                       likelihood: str | None = None) -> str:
    """Best epoch, stopping, recon at the best epoch, and the test recon NLL of one model."""
    best, run = int(metrics["best_epoch"]), int(metrics["epochs_run"])
    stop = "stopped early" if metrics["stopped_early"] else "ran its full epoch budget"
    at_best = np.flatnonzero(curves["epoch"] == best)
    curve = (f"; at that epoch train recon {fmt(curves['train_recon'][at_best[0]])}, val recon "
             f"{fmt(curves['val_recon'][at_best[0]])}" if len(at_best) else "")
    test = metrics["test"]
    return (f"{model.upper()}: the validation loss was lowest at epoch {best} of {run} "
            f"({stop}){curve} nats per example. Test recon NLL {fmt(test['recon'])} nats per "
            f"example, {fmt(test['bits_per_dim'])} bits per dim (`test.recon`, "
            f"`test.bits_per_dim`; {likelihood or metrics['likelihood'] + ' likelihood'}).")


def _ae_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    ae = inputs.latent_stats["ae"]
    return [
        _p("The AE is an MLP encoder to a latent code and a mirrored decoder back to the "
           "image, trained to reconstruct its input; nothing constrains where its codes lie."),
        _p(_training_sentence("ae", inputs.train_metrics["ae"], inputs.curves["ae"],
                              likelihood_words(inputs, "ae"))),
        _fig(refs["ae_curves"]),
        _p(f"Its {int(ae['latent_dim'])}-dimensional test codes "
           + (f"separate the classes (kNN accuracy {fmt(ae['knn_accuracy'])}, `knn_accuracy`; "
              f"probe accuracy {fmt(ae['probe_accuracy'])}, `probe_accuracy`) but "
              if inputs.has_labels else "")
           + f"follow no prior: mean variance "
           f"{fmt(ae['latent_var_mean'])} per dimension (`latent_var_mean`; N(0, I) has 1) and "
           f"KL(fit ‖ N(0, I)) = {fmt(ae['latent_kl_to_prior_nats'])} nats "
           "(`latent_kl_to_prior_nats`)"
           + ("." if inputs.has_labels else f"; {NO_LABELS}, so nothing here says how well "
              "they separate classes.")),
    ]


def _dae_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    tm, stats = inputs.train_metrics, inputs.latent_stats
    ae, dae = tm["ae"]["test"]["recon"], tm["dae"]["test"]["recon"]
    recon = (f"On clean test images the DAE's recon NLL is {compare_words(dae, ae)} the AE's "
             f"({fmt(dae)} vs {fmt(ae)} nats per example, `test.recon`)")
    if inputs.has_labels:
        ae_knn, dae_knn = stats["ae"]["knn_accuracy"], stats["dae"]["knn_accuracy"]
        recon += (f", and its kNN accuracy is {compare_words(dae_knn, ae_knn)} the AE's "
                  f"({fmt(dae_knn)} vs {fmt(ae_knn)}, `knn_accuracy`).")
    else:
        recon += f". {NO_LABELS_SENTENCE}."
    return [
        _p("The DAE is the AE's network trained on corrupted inputs to reconstruct the clean "
           "image; it is evaluated on clean test inputs, like the AE."),
        _p(_training_sentence("dae", tm["dae"], inputs.curves["dae"],
                              likelihood_words(inputs, "dae"))),
        _fig(refs["dae_curves"]),
        _p(recon),
    ]


def _vae_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    metrics = inputs.train_metrics["vae"]
    test = metrics["test"]
    recon, kl, elbo = float(test["recon"]), float(test["kl"]), float(test["elbo"])
    neg_elbo = recon + kl
    blocks = [_p(f"On the test split (`metrics/train/vae.json`, `test`): recon {fmt(recon)} + "
                 f"KL {fmt(kl)} = {fmt(neg_elbo)} nats per example = −ELBO, so ELBO = "
                 f"{fmt(elbo)} nats per example ({fmt(test['bits_per_dim'])} bits per dim, "
                 f"`test.bits_per_dim`). The KL term is {pct(kl / neg_elbo) if neg_elbo else DASH} "
                 "of −ELBO.")]
    if not math.isclose(-elbo, neg_elbo, rel_tol=1e-3, abs_tol=1e-3):
        blocks.append(_p(f"Warning: the recorded ELBO ({fmt(elbo)}) differs from −(recon + KL) "
                         f"= {fmt(-neg_elbo)} by {fmt(abs(elbo + neg_elbo))} nats."))
    blocks.append(_p(likelihood_note(inputs, "vae")))
    blocks.append(_p(beta_sentence(inputs)))
    blocks.append(_p(_training_sentence("vae", metrics, inputs.curves["vae"],
                                        likelihood_words(inputs, "vae"))))
    ae = float(inputs.train_metrics["ae"]["test"]["recon"])
    word = compare_words(recon, ae)
    blocks.append(_p(f"The VAE's test recon NLL is {word} the AE's ({fmt(recon)} vs {fmt(ae)} "
                     "nats per example, `test.recon`)"
                     + (": the price of the KL term that pulls its codes toward the prior."
                        if word == "higher than" else ".")))
    blocks.append(_fig(refs["vae_elbo_curves"]))
    return blocks + vae_info_blocks(inputs, refs)


SCHEDULE_WORDS = {
    "constant": "constant: the weight is β at every epoch",
    "linear": "linear: the weight ramps up to β over the first {warmup} epochs "
              "(`train.vae.kl_warmup_epochs`)",
    "cyclical": "cyclical: the ramp to β repeats in {cycles} cycles (`train.vae.kl_cycles`, "
                "Fu et al. 2019)",
}


def beta_sentence(inputs: ReportInputs) -> str:
    """β, its schedule, and the effective KL weight per epoch read from the training curve."""
    p = inputs.vae_params
    curve = inputs.curves["vae"]
    weights = curve["train_beta"]
    best = int(inputs.train_metrics["vae"]["best_epoch"])
    at_best = np.flatnonzero(curve["epoch"] == best)
    schedule = SCHEDULE_WORDS.get(p.kl_schedule, p.kl_schedule).format(
        warmup=p.kl_warmup_epochs, cycles=p.kl_cycles)
    span = (f"was {weights[0]:g} at every epoch" if np.all(weights == weights[0]) else
            f"ran from {weights.min():g} to {weights.max():g}"
            + (f", {weights[at_best[0]]:g} at the epoch kept" if len(at_best) else ""))
    loss = ("so the training loss was exactly −ELBO" if p.beta == 1.0 and np.all(weights == 1.0)
            else "so the training loss was recon + β·KL, not −ELBO")
    return (f"β (`train.vae.beta`) = {p.beta:g}, schedule (`train.vae.kl_schedule`) "
            f"{schedule}. The effective KL weight per epoch (`train_beta` in "
            f"`plots/train/vae.csv`, MLflow `train/beta`) {span}, {loss}. Every ELBO "
            "in this report is the unweighted one (β = 1), and early stopping kept the epoch "
            "with the best unweighted validation ELBO.")


def prior_match_sentence(stats: Mapping[str, dict]) -> str:
    """The key claim, with its direction computed from ``latent_kl_to_prior_nats``."""
    vae = float(stats["vae"]["latent_kl_to_prior_nats"])
    ae = float(stats["ae"]["latent_kl_to_prior_nats"])
    dae = float(stats["dae"]["latent_kl_to_prior_nats"])
    numbers = (f"KL(fit ‖ N(0, I)) = {fmt(vae)} nats vs the AE's {fmt(ae)} nats "
               f"(DAE: {fmt(dae)}; `latent_kl_to_prior_nats`)")
    word = compare_words(vae, ae)
    if word == "lower than":
        factor = f", {fmt(ae / vae, 3)} times lower" if vae > 0 else ""
        claim = f"The VAE's codes follow the prior: {numbers}{factor}."
    elif word == "equal to":
        claim = f"The VAE's codes are no closer to the prior than the AE's: {numbers}."
    else:
        claim = f"The VAE's codes do not follow the prior better than the AE's: {numbers}."
    kl = {m: float(s["latent_kl_to_prior_nats"]) for m, s in stats.items()}
    closest = min(kl, key=kl.get)
    if closest != "vae" and kl[closest] < vae:
        claim += (f" Closest to the prior of all methods is {closest}, not the VAE: "
                  f"{fmt(kl[closest])} nats.")
    return claim


def _latent_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
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
        _p(prior_match_sentence(stats)),
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
    n_test, shown = len(inputs.splits["x_test"]), _embedded_counts(inputs)
    if any(v < n_test for v in shown.values()):
        text += (" Each panel shows at most `latent_stats.plot_points` of the test points, a "
                 "seeded subsample (rows of `plots/embeddings/<method>.csv`: "
                 + ", ".join(f"{m} {v}" for m, v in shown.items()) + f", of {n_test}"
                 + ("; t-SNE's only from the points it embedded" if tsne_subsampled(inputs)
                    else "") + ").")
    return text + (" Colours are the true labels." if inputs.has_labels else
                   " No labels: every point has one colour.")


def _provenance_blocks(inputs: ReportInputs) -> list[dict]:
    src, git = inputs.source, inputs.git
    commit = git.commit or f"none ({git.reason})"
    changed = ", ".join(git.changed) if git.changed else "none"
    items = [("git commit (HEAD when rendered)", commit),
             ("uncommitted changes then", changed if git.commit else DASH),
             ("data sha256", src["sha256"]), ("data origin", str(src["origin"]))]
    if "sklearn_version" in src:
        items.append(("scikit-learn that produced the data", str(src["sklearn_version"])))
    items += provenance_items(inputs)
    items.append(("python", platform.python_version()))
    items += [(name, version) for name, version in package_versions().items()]
    return [
        _p("The git commit is HEAD when the report was rendered, the commit the run started "
           "from: the numbers come from its code and params plus the uncommitted changes "
           "listed (`params.yaml`, `dvc.yaml`, `src/`, `stages/`). Once the results are "
           "committed, that commit is their commit's parent. Package versions are those "
           "installed when the report was rendered; the params are the whole `params.yaml` "
           "below. The report holds no timestamp or run id: it is a DVC output and changes "
           "only when its inputs (or the commit it compares with) do. The report stage's "
           "MLflow run carries the same commit (`mlflow.source.git.commit`) and the report "
           "as artifacts; `outputs/report/link.json` finds it."),
        {"kind": "kv", "items": items},
        {"kind": "code", "summary": "params.yaml", "language": "yaml",
         "text": inputs.params_text.rstrip("\n")},
    ]
