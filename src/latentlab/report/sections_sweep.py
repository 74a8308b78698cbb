"""The report's DAE corruption sweep: which corruption level won on this data, by each score.

The DAE is retrained at every level of ``params.yaml``'s ``dae_sweep.levels``
and scored on clean test inputs (``metrics/dae_sweep_scores.json``). The text
names the winning level per criterion from the file's ``best`` and compares our
numbers with the source text's claim that about 25 % corruption gave the
lowest loss, without asserting that claim: whether we agree is computed.
Without labels the sweep is scored by recon MSE alone (the file then has no kNN
or probe accuracy and no ``best.by_knn_accuracy`` / ``best.by_probe_accuracy``),
and the text says so.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from latentlab.report.blocks import Column, FigureRef, figure, para, table_block
from latentlab.report.words import NO_LABELS, NO_LABELS_SENTENCE, fmt, pct

# The source text's claim: "about 25 % corruption gave the lowest loss". Our best level
# agrees with it when it lies within CLAIM_TOLERANCE of CLAIM_LEVEL ("about").
CLAIM_LEVEL = 0.25
CLAIM_TOLERANCE = 0.05
CLAIM_LABEL = "source's claim: ~25 %"

SWEEP_COLUMNS = (
    Column("recon_mse", "recon MSE ↓", "min"),
    Column("knn_accuracy", "kNN accuracy ↑", "max"),
    Column("probe_accuracy", "probe accuracy ↑", "max"),
)
CRITERIA = (("recon_mse", "recon MSE"), ("knn_accuracy", "kNN accuracy"),
            ("probe_accuracy", "probe accuracy"))
NOISE_WORDS = {"masking": "a random fraction of the pixels, the level, set to 0 and the rest "
                           "scaled by 1/(1 − level), as dropout does",
               "gaussian": "N(0, level²) noise added to every pixel"}


def level_text(level: float) -> str:
    """A corruption level as printed: ``0``, ``0.1``, ``0.25``."""
    return f"{float(level):g}"


def _at(sweep: Mapping, score: str, level: float) -> float:
    return float(sweep[score][int(np.flatnonzero(np.isclose(sweep["levels"], level))[0])])


def labelled(sweep: Mapping) -> bool:
    """Whether the sweep has the label-based scores (kNN and probe accuracy)."""
    return all(key in sweep and f"by_{key}" in sweep["best"] for key, _ in CRITERIA[1:])


def sweep_blocks(sweep: Mapping, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The section: what was swept, the figure, the table, the winners, the claim."""
    labels = [level_text(v) for v in sweep["levels"]]
    columns = SWEEP_COLUMNS if labelled(sweep) else SWEEP_COLUMNS[:1]
    values = {c.key: dict(zip(labels, (float(v) for v in sweep[c.key]))) for c in columns}
    noise = sweep["noise_type"]
    plain = (" Level 0 corrupts nothing: it is the plain AE objective." if
             np.isclose(sweep["levels"], 0.0).any() else "")
    scored = ("recon MSE, kNN accuracy and the logistic probe's accuracy. The best value of "
              "each column is in bold." if labelled(sweep) else
              f"recon MSE only ({NO_LABELS}). The best value is in bold.")
    return [
        para(f"The DAE was retrained at each level of `dae_sweep.levels` ({', '.join(labels)}) "
             f"with `dae_sweep.noise_type` = {noise} ({NOISE_WORDS.get(noise, noise)}), every "
             "other setting as `train.dae`, and scored on clean test inputs "
             f"(`metrics/dae_sweep_scores.json`): {scored}{plain}"),
        figure(refs["dae_sweep"]),
        table_block("dae-sweep-table", f"{noise} level", labels, columns, values),
        para(best_level_sentence(sweep)),
        para(claim_sentence(sweep)),
    ]


def best_level_sentence(sweep: Mapping) -> str:
    """The winning level by each criterion, from ``best.by_<score>``, with its score."""
    best = sweep["best"]
    criteria = CRITERIA if labelled(sweep) else CRITERIA[:1]
    parts = [f"{level_text(best[f'by_{key}'])} by {name} (`best.by_{key}`, "
             f"{fmt(_at(sweep, key, best[f'by_{key}']))})" for key, name in criteria]
    if len(parts) == 1:
        return (f"On this data the best level is {parts[0]}. {NO_LABELS_SENTENCE}, so recon "
                "MSE is the only criterion.")
    text = f"On this data the best level is {parts[0]}, {parts[1]} and {parts[2]}."
    winners = {float(best[f"by_{key}"]) for key, _ in CRITERIA}
    if len(winners) == 1:
        return text + " All three criteria pick the same level."
    return text + (" The criteria disagree: the level that reconstructs best is not the one "
                   "whose codes separate the classes best." if float(best["by_recon_mse"])
                   not in {float(best["by_knn_accuracy"]), float(best["by_probe_accuracy"])}
                   else " The criteria do not all agree.")


def claim_sentence(sweep: Mapping) -> str:
    """Our lowest-MSE level compared with the claim that about 25 % gave the lowest loss."""
    best = float(sweep["best"]["by_recon_mse"])
    mse = _at(sweep, "recon_mse", best)
    head = (f"The source text claims that about {CLAIM_LEVEL:.0%} corruption gave the lowest "
            f"loss. Our lowest clean-test recon MSE is at level {level_text(best)} ({fmt(mse)}, "
            "`best.by_recon_mse`)")
    levels = np.asarray(sweep["levels"], float)
    nearest = float(levels[np.argmin(np.abs(levels - CLAIM_LEVEL))])
    near = _at(sweep, "recon_mse", nearest)
    if abs(best - CLAIM_LEVEL) <= CLAIM_TOLERANCE:
        text = head + ", which agrees with the claim on this data."
    else:
        where = ("at 0.25" if np.isclose(nearest, CLAIM_LEVEL)
                 else f"at {level_text(nearest)}, the level nearest 0.25,")
        higher = f", {pct(near / mse - 1.0)} higher" if mse > 0 else ""
        text = head + f", which differs from the claim: {where} our MSE is {fmt(near)}{higher}."
    tail = (" Our loss is the recon MSE on clean test images, which may not be the loss the "
            "claim measured.")
    if not labelled(sweep):
        return text + tail
    reps = sorted({level_text(sweep["best"][f"by_{k}"]) for k in ("knn_accuracy",
                                                                 "probe_accuracy")}, key=float)
    levels_word = "level is" if len(reps) == 1 else "levels are"
    return text + f" By the representation scores the best {levels_word} {' and '.join(reps)}." \
        + tail
