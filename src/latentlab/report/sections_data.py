"""The report's data-set section, and what the preprocessing means for the likelihood.

:func:`data_blocks` is the section "Data set": where the images came from
(``source.json``), how they were split and capped (``data/processed/meta.json``),
whether they have labels, and how the pixels were binarised. The likelihood
sentences (:func:`likelihood_sentence`, :func:`likelihood_note`,
:func:`likelihood_words`) read each model's ``likelihood``, ``binarize`` and
``likelihood_is_relaxation`` from ``metrics/train/<model>.json`` and say
whether the Bernoulli likelihood is exact on binarised pixels or a relaxation
on grey levels. Older inputs without these keys read as: labels present, no
cap, binarisation ``none``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from latentlab.params import MODELS
from latentlab.report.blocks import FigureRef
from latentlab.report.blocks import figure as _fig
from latentlab.report.blocks import para as _p
from latentlab.report.inputs import ReportInputs
from latentlab.report.words import NO_LABELS_SENTENCE, fmt, pct, section_ref

SHA_SHORT = 12  # hex digits of the data checksum shown in running text
SPLITS = ("train", "val", "test")
META = "data/processed/meta.json"


# --------------------------------------------------------------------------
# The likelihood against the binarisation, per model
# --------------------------------------------------------------------------


def model_likelihood(inputs: ReportInputs, model: str) -> tuple[str, str, bool]:
    """``(likelihood, binarize, likelihood_is_relaxation)`` of one model, as its metrics
    record them; a missing ``binarize`` is the data's, a missing flag is computed (a
    Bernoulli likelihood on grey levels is a relaxation)."""
    metrics = inputs.train_metrics[model]
    likelihood = str(metrics["likelihood"])
    mode = str(metrics.get("binarize", inputs.binarize))
    relaxation = bool(metrics.get("likelihood_is_relaxation",
                                  likelihood == "bernoulli" and mode == "none"))
    return likelihood, mode, relaxation


def _binarized_words(mode: str) -> str:
    return {"static": "statically binarised", "dynamic": "dynamically binarised"}.get(
        mode, "grey-level")


def likelihood_words(inputs: ReportInputs, model: str) -> str:
    """A short phrase for a training sentence: ``bernoulli likelihood, exact on dynamically
    binarised pixels, `binarize```."""
    likelihood, mode, relaxation = model_likelihood(inputs, model)
    if likelihood == "bernoulli":
        how = ("a relaxation on grey levels" if relaxation else
               f"exact on {_binarized_words(mode)} pixels")
        return f"bernoulli likelihood, {how}, `binarize`: {mode}"
    return f"{likelihood} likelihood on {_binarized_words(mode)} pixels, `binarize`: {mode}"


def binarize_sentence(inputs: ReportInputs) -> str:
    """Which binarisation the preprocessing applied (``binarize``), in words."""
    where = f"`{META}`" if inputs.meta else "`splits.npz`"
    mode = inputs.binarize
    if mode == "static":
        threshold = inputs.meta.get("binarize_threshold")
        at = (f"x > {float(threshold):g} (`binarize_threshold`)" if threshold is not None
              else "x > `preprocess.binarize_threshold`")
        return (f"The pixels were binarised once, statically: every pixel became {at} "
                f"(`binarize`: static in {where}), so every split holds 0/1 pixels.")
    if mode == "dynamic":
        return (f"The pixels were binarised dynamically (`binarize`: dynamic in {where}; "
                "Salakhutdinov & Murray 2008): the validation and test splits are one seeded "
                "Bernoulli sample of their pixel intensities, and every training epoch drew a "
                "fresh seeded sample of the training intensities (`p_train` in `splits.npz`), "
                "so the models saw 0/1 pixels.")
    return (f"The pixels were not binarised (`binarize`: none in {where}): the splits hold "
            "the grey levels.")


def likelihood_sentence(inputs: ReportInputs) -> str:
    """What the binarisation means for each model's likelihood, models grouped alike."""
    groups: dict[tuple[str, str, bool], list[str]] = {}
    for model in MODELS:
        groups.setdefault(model_likelihood(inputs, model), []).append(model)
    parts = []
    for (likelihood, mode, relaxation), models in groups.items():
        who = ", ".join(models)
        pixels = "grey levels" if mode == "none" else "binary pixels"
        if likelihood == "bernoulli" and relaxation:
            parts.append(f"With the Bernoulli likelihood ({who}; `likelihood`, "
                         f"`likelihood_is_relaxation`: true in `metrics/train/<model>.json`) on "
                         f"{pixels}, the recon term is a relaxation: a binary cross-entropy on "
                         "targets that are not binary, so the ELBO and log p(x) are not "
                         f"normalised log-likelihoods of the images ({section_ref('vae')}).")
        elif likelihood == "bernoulli":
            parts.append(f"With the Bernoulli likelihood ({who}; `likelihood`, "
                         f"`likelihood_is_relaxation`: false in `metrics/train/<model>.json`) on "
                         f"these {pixels}, the likelihood is exact: the ELBO and log p(x) are "
                         "log-likelihoods of the binarised images, not of the original grey "
                         "levels.")
        else:
            parts.append(f"With the {likelihood.capitalize()} likelihood ({who}; `likelihood` in "
                         "`metrics/train/<model>.json`, fixed standard deviation "
                         "`train.common.gaussian_std`) on these "
                         f"{pixels}, the recon term is a density in nats that depends on that "
                         "standard deviation.")
    return " ".join(parts)


def likelihood_note(inputs: ReportInputs, model: str = "vae") -> str:
    """The likelihood of ``model`` against its data, for its own section."""
    likelihood, mode, relaxation = model_likelihood(inputs, model)
    if likelihood == "bernoulli" and relaxation:
        return ("The likelihood is Bernoulli (`likelihood`), but these pixels are grey levels in "
                f"[0, 1], not binary (`binarize`: {mode}; `likelihood_is_relaxation`: true): the "
                "recon term is a binary cross-entropy on non-binary targets, a relaxation. The "
                "ELBO is therefore not a normalised log-likelihood of the images, and its bits "
                "per dim are not comparable with a proper density model's. Binarising "
                "(`preprocess.binarize`: static or dynamic) would make it exact.")
    if likelihood == "bernoulli":
        how = {"static": "binarised once, statically",
               "dynamic": "binarised dynamically: each training epoch drew a fresh Bernoulli "
                          "sample of the training intensities, and the test split is one "
                          "seeded sample"}.get(mode, "binary")
        return (f"The likelihood is Bernoulli (`likelihood`) and the pixels were {how} "
                f"(`binarize`: {mode}): the likelihood is exact on these binary images "
                "(`likelihood_is_relaxation`: false). The ELBO and log p(x) are "
                "log-likelihoods of the binarised test images, not of their grey-level "
                "originals, and their bits per dim compare only with models of the same "
                "binarisation.")
    pixels = ("grey levels in [0, 1]" if mode == "none" else
              f"{_binarized_words(mode)} 0/1 values (`binarize`: {mode})")
    return ("The likelihood is Gaussian with a fixed standard deviation (`likelihood`): recon "
            "is a density in nats per example that depends on that standard deviation (and may "
            f"be negative), here of {pixels}.")


# --------------------------------------------------------------------------
# Section "Data set"
# --------------------------------------------------------------------------


def source_sentence(inputs: ReportInputs) -> str:
    """What the data set is, and whether it has labels."""
    src, s = inputs.source, inputs.splits
    h, w = (int(v) for v in s["image_shape"])
    head = f"{src['name']}, from {src['origin']}: {src['n_examples']} images of {h}×{w} pixels"
    if not inputs.has_labels:
        return (f"{head}, without labels (`has_labels`: false in `source.json`). "
                f"{NO_LABELS_SENTENCE} throughout this report: the splits are random rather "
                "than stratified, the example images and the embeddings carry no classes, and "
                "the codes are judged by trustworthiness, reconstruction and closeness to the "
                "prior alone.")
    text = f"{head} in {src['n_classes']} classes (`source.json`)."
    if src.get("classes"):
        text += f" Classes (`classes`): {', '.join(str(c) for c in src['classes'])}."
    return text


def _official(inputs: ReportInputs) -> bool:
    if "test_split" in inputs.meta:
        return inputs.meta["test_split"] == "official"
    return bool(inputs.source.get("official_test_split", False))


def split_sentence(inputs: ReportInputs) -> str:
    """How the splits were made (official or cut, stratified or not, capped), and their sizes."""
    src, s, meta = inputs.source, inputs.splits, inputs.meta
    how = "stratified by label" if inputs.has_labels else "at random (no labels to stratify by)"
    random = "" if inputs.has_labels else "; with no labels to stratify by, the cut is random"
    cited = " and `test_split` in `" + META + "`" if "test_split" in meta else ""
    if _official(inputs):
        sizes = (f": {src['n_train']} training and {src['n_test']} test images (`n_train`, "
                 "`n_test`)" if "n_train" in src and "n_test" in src else "")
        text = (f"The test split is the data set's official one (`official_test_split` in "
                f"`source.json`{cited}){sizes}; the validation split is "
                f"`preprocess.val_fraction` of the official training images, {how}.")
    else:
        recorded = f"`test_split`: stratified in `{META}`"
        if "test_split" not in meta:
            cut = f"{how}."
        elif inputs.has_labels:
            cut = f"stratified by label ({recorded})."
        else:
            cut = f"stratified ({recorded}){random}."
        text = ("The splits were cut by `preprocess.val_fraction` and "
                f"`preprocess.test_fraction`, {cut}")
    caps = {k: int(v) for k, v in (meta.get("caps") or {}).items() if v}
    if caps:
        text += (" Capped for a quick run (`caps`): "
                 + ", ".join(f"`preprocess.max_{k}` = {v}" for k, v in sorted(caps.items()))
                 + ", each capped split a seeded subsample"
                 + (", stratified by label." if inputs.has_labels else "."))
    counts = {k: len(s[f"x_{k}"]) for k in SPLITS}
    total = sum(counts.values())
    split_text = ", ".join(f"{k} {n} ({pct(n / total)})" for k, n in counts.items())
    if total == int(src["n_examples"]):
        agree = "all of the data set"
    elif caps:
        agree = (f"{pct(total / int(src['n_examples']))} of the {src['n_examples']} images "
                 "`source.json` records: the caps leave out the rest")
    else:
        agree = (f"not the {src['n_examples']} images `source.json` records: "
                 "check the preprocess stage")
    return text + f" Splits: {split_text}; {total} images in all, {agree}."


def data_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    src, s = inputs.source, inputs.splits
    lo = min(float(s[f"x_{k}"].min()) for k in SPLITS)
    hi = max(float(s[f"x_{k}"].max()) for k in SPLITS)
    raw = (f"Raw pixel values run from 0 to {float(src['pixel_max']):g} (`pixel_max`) and are"
           if "pixel_max" in src else "Pixels are")
    blocks = [_p(source_sentence(inputs)), _p(split_sentence(inputs))]
    if inputs.has_labels:
        labels, per_class = np.unique(np.concatenate([s[f"y_{k}"] for k in SPLITS]),
                                      return_counts=True)
        classes = ", ".join(f"{int(lab)}: {int(c)}" for lab, c in zip(labels, per_class))
        blocks.append(_p(f"Images per class, all splits together (`y_train`, `y_val`, `y_test` "
                         f"in `splits.npz`): {classes}."))
    else:
        blocks.append(_p("Every `y_train`, `y_val` and `y_test` in `splits.npz` is -1 (no "
                         "labels), so there are no per-class counts."))
    blocks += [
        _p(f"{raw} scaled to [0, 1]; the splits span [{fmt(lo)}, {fmt(hi)}]. "
           + binarize_sentence(inputs)),
        _p(likelihood_sentence(inputs)),
        _p(f"Source data checksum (sha256 of the data set as downloaded, before the splits): "
           f"`{src['sha256'][:SHA_SHORT]}…` (in full under Provenance, beside the splits', "
           "which MLflow's runs tag `latentlab.splits_sha256`)."),
        _fig(refs["data_examples"]),
    ]
    return blocks


def provenance_items(inputs: ReportInputs) -> list[tuple[str, str]]:
    """Where the data came from, for the provenance list: each file's checksum and how it was
    verified (MNIST and its kin), and torchvision's version where it decoded them."""
    src, items = inputs.source, []
    for name, record in sorted((src.get("files") or {}).items()):
        if not isinstance(record, dict):
            continue
        checksum = (f"md5 {record['md5']}" if record.get("md5") else
                    f"sha256 {record['sha256']}" if record.get("sha256") else "no checksum")
        how = "; ".join(str(record[k]) for k in ("verified", "origin") if record.get(k))
        items.append((f"data file {name}", f"{checksum} ({how})" if how else checksum))
    if "torchvision_version" in src:
        items.append(("torchvision that decoded the data", str(src["torchvision_version"])))
    return items
