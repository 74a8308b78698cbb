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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

from latentlab.params import MODELS
from latentlab.report.inputs import METHODS, ReportInputs

if TYPE_CHECKING:  # for annotations only: importing build at run time would be a cycle
    from latentlab.report.build import FigureRef

VERSIONED_PACKAGES = ("torch", "scikit-learn", "dvc", "mlflow", "numpy", "matplotlib")
DASH = "—"
SHA_SHORT = 12  # hex digits of the data checksum shown in running text
# A dimension whose test codes vary less than this is inactive: the "active units"
# threshold of Burda, Grosse & Salakhutdinov (2016), Cov_x(E_q[z_d | x]) > 0.01.
ACTIVE_VAR = 0.01


# --------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 4) -> str:
    """``digits`` significant digits, positional between 1e-3 and 1e5, else scientific.

    ``None`` becomes "—" (a method that has no such value).
    """
    if value is None:
        return DASH
    value = float(value)
    if value == 0.0 or not math.isfinite(value):
        return "0" if value == 0.0 else str(value)
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 5:
        return f"{value:.{max(0, digits - 1 - exponent)}f}"
    return f"{value:.{digits - 1}e}"


def pct(fraction: float) -> str:
    """A fraction in [0, 1] as a percentage with one decimal."""
    return f"{100.0 * fraction:.1f}%"


def compare_words(a: float, b: float) -> str:
    """How ``a`` compares with ``b``: "lower than", "higher than" or "equal to"."""
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return "equal to"
    return "lower than" if a < b else "higher than"


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


@dataclass(frozen=True)
class Column:
    """A column of the comparison table; ``better`` is "max", "min" or None (not ranked)."""

    key: str
    header: str
    better: str | None
    digits: int = 4


COLUMNS = (
    Column("latent_dim", "latent dim", None),
    Column("knn_accuracy", "kNN accuracy ↑", "max"),
    Column("trustworthiness", "trustworthiness ↑", "max"),
    Column("recon_mse", "recon MSE ↓", "min"),
    Column("latent_kl_to_prior_nats", "KL(fit ‖ N(0, I)) nats ↓", "min"),
    Column("latent_mean_abs", "mean |mean| (prior: 0)", None),
    Column("latent_var_mean", "mean var (prior: 1)", None),
    Column("fit_seconds", "fit seconds", None, digits=3),
)


def _p(text: str) -> dict:
    return {"kind": "p", "text": text}


def _fig(ref: FigureRef) -> dict:
    return {"kind": "figure", "ref": ref}


def title(inputs: ReportInputs) -> str:
    return f"latentlab: AE, DAE and VAE against PCA and t-SNE on {inputs.source['name']}"


def captions(inputs: ReportInputs, n_examples: int) -> dict[str, str]:
    """One caption per figure name."""
    n = min(n_examples, len(inputs.splits["x_test"]))
    rows = ", ".join(["input"] + [m for m in METHODS if "recon_test" in inputs.codes[m]])
    return {
        "data_examples": "The first test image of each class.",
        "pca_variance": "PCA: fraction of the training variance per component, and cumulative.",
        "ae_dae_curves": "AE and DAE: reconstruction NLL per epoch (nats per example), "
                         "train and val; the dotted line marks the epoch kept.",
        "vae_elbo_curves": "VAE: reconstruction, KL and ELBO per epoch (nats per example), "
                           "train and val; the dotted line marks the epoch kept.",
        "embeddings": "The test split in 2-D, one panel per method, coloured by label.",
        "reconstructions": f"The first {n} test images (top row) and their reconstructions; "
                           f"rows: {rows}. Values outside [0, 1] are clipped for display.",
        "prior_samples": "Images decoded from z ~ N(0, I) by each model's decoder.",
        "latent_moments": "Per-dimension mean (top) and variance (bottom, log scale) of the "
                          "test codes; dashed: the prior N(0, I).",
    }


def sections(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The report's sections in order: ``{"id", "title", "blocks"}``.

    A block is ``{"kind": "p", "text"}``, ``{"kind": "figure", "ref"}``,
    ``{"kind": "table", "table"}``, ``{"kind": "kv", "items"}`` or
    ``{"kind": "code", "summary", "language", "text"}``.
    """
    return [
        {"id": "data", "title": "1. Data set", "blocks": _data_blocks(inputs, refs)},
        {"id": "comparison", "title": "2. Comparison", "blocks": _comparison_blocks(inputs)},
        {"id": "pca", "title": "3. Linear baseline: PCA", "blocks": _pca_blocks(inputs, refs)},
        {"id": "tsne", "title": "4. Nonlinear baseline: t-SNE", "blocks": _tsne_blocks(inputs)},
        {"id": "ae-dae", "title": "5. AE and DAE", "blocks": _ae_dae_blocks(inputs, refs)},
        {"id": "vae", "title": "6. VAE", "blocks": _vae_blocks(inputs, refs)},
        {"id": "latent", "title": "7. Latent spaces", "blocks": _latent_blocks(inputs, refs)},
        {"id": "provenance", "title": "8. Provenance", "blocks": _provenance_blocks(inputs)},
    ]


def _data_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    src, s = inputs.source, inputs.splits
    h, w = (int(v) for v in s["image_shape"])
    counts = {k: len(s[f"x_{k}"]) for k in ("train", "val", "test")}
    total = sum(counts.values())
    split_text = ", ".join(f"{k} {n} ({pct(n / total)})" for k, n in counts.items())
    agree = ("all of the data set" if total == int(src["n_examples"]) else
             f"not the {src['n_examples']} images `source.json` records: "
             "check the preprocess stage")
    lo = min(float(s[f"x_{k}"].min()) for k in counts)
    hi = max(float(s[f"x_{k}"].max()) for k in counts)
    raw = (f"Raw pixel values run from 0 to {float(src['pixel_max']):g} (`pixel_max`) and are"
           if "pixel_max" in src else "Pixels are")
    return [
        _p(f"{src['name']}, from {src['origin']}: {src['n_examples']} images of {h}×{w} "
           f"pixels in {src['n_classes']} classes (`source.json`)."),
        _p(f"Splits: {split_text}; {total} images in all, {agree}."),
        _p(f"{raw} scaled to [0, 1]; the splits span [{fmt(lo)}, {fmt(hi)}]."),
        _p(f"Data checksum (sha256): `{src['sha256'][:SHA_SHORT]}…` (in full under Provenance)."),
        _fig(refs["data_examples"]),
    ]


def _column_values(inputs: ReportInputs, key: str) -> dict[str, float | None]:
    if key == "fit_seconds":
        return dict(inputs.fit_seconds)
    return {m: inputs.latent_stats[m].get(key) for m in METHODS}


def best_methods(values: Mapping[str, float | None], better: str) -> set[str]:
    """The methods holding the best value ("max" or "min"); ties all win; None never does."""
    present = {m: float(v) for m, v in values.items() if v is not None}
    if not present:
        return set()
    target = max(present.values()) if better == "max" else min(present.values())
    return {m for m, v in present.items() if math.isclose(v, target, rel_tol=1e-12)}


def comparison_table(inputs: ReportInputs) -> dict:
    """``{"columns": [header], "rows": [{"method", "cells": [{"text", "best"}]}]}``."""
    cells: dict[str, list[dict]] = {m: [] for m in METHODS}
    for col in COLUMNS:
        values = _column_values(inputs, col.key)
        best = best_methods(values, col.better) if col.better else set()
        for m in METHODS:
            v = values[m]
            text = DASH if v is None else (str(int(v)) if col.key == "latent_dim"
                                           else fmt(v, col.digits))
            cells[m].append({"text": text, "best": m in best})
    return {"columns": [c.header for c in COLUMNS],
            "rows": [{"method": m, "cells": cells[m]} for m in METHODS]}


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
    blocks = [_p("All numbers are on the test split (`metrics/latent_stats.json`). ↑: higher is "
                 "better, ↓: lower is better; the best value of each ranked column is in bold. "
                 "recon MSE is the mean squared error of the test reconstructions (— where the "
                 "method cannot reconstruct). The moment columns are references, not ranks: the "
                 "prior N(0, I) has mean 0 and variance 1 in every dimension; fit seconds are "
                 "wall time (`metrics/fit_seconds.json`) on the machine that ran the pipeline."),
              {"kind": "table", "table": comparison_table(inputs)}]
    for col in COLUMNS:
        if col.better:
            ranking = _ranking(_column_values(inputs, col.key), col.better)
            blocks.append(_p(f"{col.header.rstrip(' ↑↓')} (`{col.key}`): {ranking}."))
    knn = _column_values(inputs, "knn_accuracy")
    best_other = max((m for m in METHODS if m != "tsne"), key=lambda m: knn[m])
    if knn["tsne"] >= knn[best_other]:
        blocks.append(_p(f"t-SNE's lead in kNN accuracy ({fmt(knn['tsne'])} vs {best_other}'s "
                         f"{fmt(knn[best_other])}) is optimistic: it embedded train and test "
                         "jointly (section 4)."))
    else:
        blocks.append(_p(f"Even with its optimistic joint embedding (section 4), t-SNE's kNN "
                         f"accuracy ({fmt(knn['tsne'])}) is below {best_other}'s "
                         f"({fmt(knn[best_other])})."))
    return blocks


def _pca_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    metrics, ratio = inputs.baseline_metrics["pca"], inputs.codes["pca"]["explained_variance_ratio"]
    stats = inputs.latent_stats
    blocks = [_p(f"PCA keeps {metrics['n_components']} components, which explain "
                 f"{pct(metrics['explained_variance_ratio_sum'])} of the training variance "
                 f"(`explained_variance_ratio_sum`); the first explains {pct(ratio[0])}, "
                 f"the last {pct(ratio[-1])}."),
              _fig(refs["pca_variance"])]
    pca_mse, ae_mse = stats["pca"].get("recon_mse"), stats["ae"].get("recon_mse")
    if pca_mse is not None and ae_mse is not None:
        blocks.append(_p(f"As the linear reference for reconstruction with the same number of "
                         f"dimensions: the AE's test recon MSE ({fmt(ae_mse)}) is "
                         f"{compare_words(ae_mse, pca_mse)} PCA's ({fmt(pca_mse)}) "
                         "(`recon_mse`)."))
    return blocks


def _tsne_blocks(inputs: ReportInputs) -> list[dict]:
    metrics, codes = inputs.baseline_metrics["tsne"], inputs.codes["tsne"]
    stats = inputs.latent_stats
    return [
        _p(f"t-SNE has no transform for new points, so its {len(codes['z_train'])} training and "
           f"{len(codes['z_test'])} test points were embedded together (`embedded`: "
           f"\"{metrics['embedded']}\"); the report shows the test points. Their 2-D neighbours "
           "were placed with the training points present, so t-SNE's kNN accuracy "
           f"({fmt(stats['tsne']['knn_accuracy'])}, `knn_accuracy`) is optimistic next to the "
           "methods that encode test points they never saw."),
        _p(f"The embedding ended at KL divergence {fmt(metrics['kl_divergence'])} "
           f"(`kl_divergence`, t-SNE's own objective) after {metrics['n_iter']} iterations; "
           f"trustworthiness {fmt(stats['tsne']['trustworthiness'])} (`trustworthiness`). "
           "t-SNE has no decoder, so its recon MSE is —."),
    ]


def _training_sentence(model: str, metrics: dict, curves: Mapping[str, np.ndarray]) -> str:
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
            f"`test.bits_per_dim`; {metrics['likelihood']} likelihood).")


def _ae_dae_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    tm, stats = inputs.train_metrics, inputs.latent_stats
    ae, dae = tm["ae"]["test"]["recon"], tm["dae"]["test"]["recon"]
    ae_knn, dae_knn = stats["ae"]["knn_accuracy"], stats["dae"]["knn_accuracy"]
    return [
        _p("The DAE is the AE's network trained on corrupted inputs to reconstruct the clean "
           "image; it is evaluated on clean test inputs, like the AE."),
        _p(_training_sentence("ae", tm["ae"], inputs.curves["ae"])),
        _p(_training_sentence("dae", tm["dae"], inputs.curves["dae"])),
        _p(f"On clean test images the DAE's recon NLL is {compare_words(dae, ae)} the AE's "
           f"({fmt(dae)} vs {fmt(ae)} nats per example, `test.recon`), and its kNN accuracy is "
           f"{compare_words(dae_knn, ae_knn)} the AE's ({fmt(dae_knn)} vs {fmt(ae_knn)}, "
           "`knn_accuracy`)."),
        _fig(refs["ae_dae_curves"]),
    ]


def _likelihood_note(likelihood: str) -> str:
    if likelihood == "bernoulli":
        return ("The likelihood is Bernoulli, but these pixels are grey levels in [0, 1], not "
                "binary: the recon term is a binary cross-entropy on non-binary targets, a "
                "relaxation. The ELBO is therefore not a normalised log-likelihood of the "
                "images, and its bits per dim are not comparable with a proper density model's.")
    return ("The likelihood is Gaussian with a fixed standard deviation: recon is a density in "
            "nats per example that depends on that standard deviation (and may be negative).")


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
    blocks.append(_p(_likelihood_note(metrics["likelihood"])))
    blocks.append(_p(_training_sentence("vae", metrics, inputs.curves["vae"])))
    ae = float(inputs.train_metrics["ae"]["test"]["recon"])
    word = compare_words(recon, ae)
    blocks.append(_p(f"The VAE's test recon NLL is {word} the AE's ({fmt(recon)} vs {fmt(ae)} "
                     "nats per example, `test.recon`)"
                     + (": the price of the KL term that pulls its codes toward the prior."
                        if word == "higher than" else ".")))
    blocks.append(_fig(refs["vae_elbo_curves"]))
    return blocks


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
        _p(_embedding_sentence(stats, projected, native)),
        _fig(refs["embeddings"]),
        _p(f"Test reconstructions; recon MSE (`recon_mse`): {mse}."),
        _fig(refs["reconstructions"]),
        _p("Images decoded from z ~ N(0, I) ("
           + ", ".join(f"{n_prior[m]} for {m}" for m in MODELS) + "). The AE's and DAE's "
           "decoders were never trained on codes drawn from N(0, I), only on the codes of "
           "training images; the VAE's objective pulls its codes toward that prior."),
        _fig(refs["prior_samples"]),
        _p(prior_match_sentence(stats)),
        _p(active_units_sentence(np.var(inputs.codes["vae"]["z_test"], axis=0))),
        _p(f"Mean |mean| and mean variance of the test codes (`latent_mean_abs`, "
           f"`latent_var_mean`; the prior has 0 and 1; for the VAE these are the moments of the "
           f"aggregate posterior q(z), variance = Var(mean) + E[σ²]): {moments}. "
           "A gaussian fit checks only "
           "the first two moments: matching them is necessary, not sufficient, for codes "
           "distributed as N(0, I)."),
        _fig(refs["latent_moments"]),
    ]


def active_units_sentence(var: np.ndarray) -> str:
    """How many of the VAE's latent dimensions carry information, from the codes' variance.

    Parameters
    ----------
    var : ndarray of shape (latent_dim,)
        Variance over the test split of each dimension of the VAE's posterior
        means, Cov_x(E_q[z_i]) (the activity of Burda et al. 2016).
    """
    inactive = int(np.sum(var < ACTIVE_VAR))
    head = (f"{len(var) - inactive} of the VAE's {len(var)} latent dimensions are active "
            f"(variance of the posterior means over the test split ≥ {ACTIVE_VAR:g}, "
            "Burda et al. 2016)")
    if not inactive:
        return head + "."
    return (head + f"; the other {inactive} vary less than {ACTIVE_VAR:g} across test images, "
            "so they carry almost no information about x (posterior collapse) and lower the "
            "mean variance.")


def _embedding_sentence(stats: Mapping[str, dict], projected: list[str],
                        native: list[str]) -> str:
    parts = []
    if projected:
        dims = ", ".join(f"{m} {int(stats[m]['latent_dim'])}" for m in projected)
        parts.append(f"For {', '.join(projected)} (latent_dim {dims} > 2) the panel shows the "
                     "first two principal components of the test codes, not the codes "
                     "themselves")
    if native:
        parts.append(f"{', '.join(native)} {'is' if len(native) == 1 else 'are'} 2-D and "
                     "shown as is")
    return "; ".join(parts) + ". Colours are the true labels."


def _provenance_blocks(inputs: ReportInputs) -> list[dict]:
    src = inputs.source
    items = [("data sha256", src["sha256"]), ("data origin", str(src["origin"]))]
    if "sklearn_version" in src:
        items.append(("scikit-learn that produced the data", str(src["sklearn_version"])))
    items += [(name, version) for name, version in package_versions().items()]
    return [
        _p("Package versions are those installed when the report was rendered. The report "
           "holds no timestamp, commit or run id: it is a DVC output and changes only when "
           "its inputs do."),
        {"kind": "kv", "items": items},
        {"kind": "code", "summary": "params.yaml", "language": "yaml",
         "text": inputs.params_text.rstrip("\n")},
    ]
