"""The report's DAE corruption sweep: which corruption level wins on this data, and how sure.

The sweep's members are the DAE retrained by each ``dae_sweep@<level>`` stage
(``params.yaml``'s ``dae_sweep.levels``) and ``train.dae``'s own DAE at its level
(trained by ``train@dae``, the DAE of the comparison, not retrained), all scored on the
same clean test images (``metrics/dae_sweep_scores.json``). Every score comes with its
bootstrap interval, and the file's ``verdict`` says per score which level is best
beyond noise (the paired interval of its difference to every other level excludes 0)
or which levels are tied for best: the table bolds only a decided best and marks tied
leaders alike (:data:`~latentlab.report.verdicts.TIED`), as the comparison table does.
The text names the best or the tied levels per score, and tests the source text's
claim that about 25 % corruption gave the lowest loss against the verdict on recon
MSE, never against a point estimate: it agrees beyond noise, is consistent but not
decided, or differs beyond noise. Without labels the sweep is scored by recon MSE
alone, and the text says so.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from latentlab.report.blocks import Column, FigureRef, cell, figure, para, table
from latentlab.report.inputs import Criterion
from latentlab.report.verdicts import (
    TIED,
    and_list,
    cell_text,
    difference_label,
    difference_text,
    interval_text,
    with_interval,
)
from latentlab.report.words import NO_LABELS, NO_LABELS_SENTENCE

# The source text's claim: "about 25 % corruption gave the lowest loss". A level within
# CLAIM_TOLERANCE of CLAIM_LEVEL ("about") stands for it.
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
TRAIN_DAE = "train@dae"  # the stage that trains train.dae's level, as the file says
TRAIN_DAE_WORDS = "train@dae, the DAE of the comparison — not retrained"


def level_text(level: float) -> str:
    """A corruption level as printed: ``0``, ``0.1``, ``0.25``."""
    return f"{float(level):g}"


def labelled(sweep: Mapping) -> bool:
    """Whether the sweep has the label-based scores (kNN and probe accuracy)."""
    return all(key in sweep["scores"] for key, _ in CRITERIA[1:])


def _criteria(sweep: Mapping) -> tuple[tuple[str, str], ...]:
    return CRITERIA if labelled(sweep) else CRITERIA[:1]


def _labels(sweep: Mapping) -> dict[str, str]:
    """The file's key of each level -> the level as printed."""
    return {key: level_text(v) for key, v in zip(sweep["keys"], sweep["levels"])}


def criterion(sweep: Mapping, score: str) -> Criterion:
    """The verdict on ``score`` with the levels as printed, as :mod:`verdicts` words it."""
    v, label = sweep["verdict"][score], _labels(sweep)
    return Criterion(key=score, better=v["better"], ranked=tuple(label[k] for k in v["ranked"]),
                     leaders=tuple(label[k] for k in v["leaders"]), decided=v["decided"],
                     excluded={}, differences={label[k]: tuple(d)
                                               for k, d in v["differences"].items()})


def _row(sweep: Mapping, label: str) -> dict[str, float]:
    """One level's scores and their interval bounds."""
    i = list(_labels(sweep).values()).index(label)
    return {f"{s}{end}": float(sweep[f"{s}{end}"][i]) for s in sweep["scores"]
            for end in ("", "_ci_low", "_ci_high")}


def confidence(sweep: Mapping) -> str:
    """``"95%"``: the intervals' confidence level."""
    return f"{100.0 * float(sweep['protocol']['confidence']):g}%"


def stage_text(stage: str) -> str:
    """Which stage trained a level, as the table says it."""
    return TRAIN_DAE_WORDS if stage == TRAIN_DAE else stage


def sweep_blocks(sweep: Mapping, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The section: what was swept, how to read it, the figure, the table, the verdicts,
    the claim."""
    blocks = [para(_intro_sentence(sweep)), para(_legend_sentence(sweep)),
              figure(refs["dae_sweep"]), sweep_table(sweep)]
    outside = _outside_sentence(sweep)
    if outside:
        blocks.append(para(outside))
    return blocks + [para(best_level_sentence(sweep)), para(claim_sentence(sweep))]


def sweep_table(sweep: Mapping) -> dict:
    """One row per level: each score with its interval (bold: a decided best; tied leaders
    marked alike), then the stage that trained the level."""
    columns = [c for c in SWEEP_COLUMNS if c.key in sweep["scores"]]
    crits = {c.key: criterion(sweep, c.key) for c in columns}
    rows = []
    for label, stage in zip(_labels(sweep).values(), sweep["trained_by"]):
        row = _row(sweep, label)
        rows.append((label, [cell(*cell_text(crits[c.key], label, row, c.digits))
                             for c in columns] + [cell(stage_text(stage))]))
    return table("dae-sweep-table", f"{sweep['noise_type']} level",
                 [c.header for c in columns] + ["trained by"], rows)


def _intro_sentence(sweep: Mapping) -> str:
    labels, noise = list(_labels(sweep).values()), sweep["noise_type"]
    scored = ("recon MSE, kNN accuracy and the logistic probe's accuracy" if labelled(sweep)
              else f"recon MSE only ({NO_LABELS})")
    own = [level_text(v) for v, s in zip(sweep["levels"], sweep["trained_by"]) if s == TRAIN_DAE]
    trained = (f" Level {own[0]} is `train.dae.noise_level`: its DAE is {TRAIN_DAE_WORDS}; "
               "every other level (`dae_sweep.levels`) was trained by its own "
               "`dae_sweep@<level>` stage." if own else
               " Each level (`dae_sweep.levels`) was trained by its own `dae_sweep@<level>` "
               "stage: `train.dae` corrupts otherwise (`train.dae.noise_type`), so its DAE is "
               "not among them.")
    plain = (" Level 0 corrupts nothing: it is the plain AE objective."
             if np.isclose(sweep["levels"], 0.0).any() else "")
    return (f"The DAE at each corruption level of the sweep ({', '.join(labels)}), with "
            f"`dae_sweep.noise_type` = {noise} ({NOISE_WORDS.get(noise, noise)}) and every "
            "other setting as `train.dae`, scored on the same clean test images "
            f"(`metrics/dae_sweep_scores.json`) by {scored}.{trained}{plain}")


def _legend_sentence(sweep: Mapping) -> str:
    """How the intervals were made, and how to read bold and ties."""
    p, conf = sweep["protocol"], confidence(sweep)
    return (f"Each score is followed by its {conf} interval: the percentile interval of "
            f"{p['bootstrap_samples']} bootstrap resamples of the {p['n_test']} test images "
            f"(seed {p['seed']}; `protocol`), the same resamples for every level. Two levels "
            "are compared on the difference of their scores over the same resampled images (a "
            "paired bootstrap), narrower than their two intervals suggest: overlapping "
            "intervals alone do not make a tie, the verdict (`verdict`) decides. Bold: the "
            f"best level, beyond noise: the paired {conf} interval of its difference to every "
            f"other level excludes 0. {TIED}: tied for best: the level with the best point "
            "estimate and every level whose paired interval of the difference to it includes "
            "0; nothing is bold then. The file's `best` names the best point estimate alone.")


def _outside_sentence(sweep: Mapping) -> str:
    """The values that lie outside their own percentile interval, and why that can be."""
    cells = [(label, key, name) for key, name in _criteria(sweep)
             for label in _labels(sweep).values()
             if not (_row(sweep, label)[f"{key}_ci_low"] <= _row(sweep, label)[key]
                     <= _row(sweep, label)[f"{key}_ci_high"])]
    if not cells:
        return ""
    listed = "; ".join(f"{name} at level {label}, {with_interval(_row(sweep, label), key)}"
                       for label, key, name in cells)
    return (f"Outside its own interval: {listed}. A percentile interval need not hold the "
            "value it is computed for; read it as the spread of the resampled score.")


def _verdict_words(sweep: Mapping, key: str, name: str) -> str:
    """One score's verdict: the best level beyond noise, or the tied leaders."""
    c, conf = criterion(sweep, key), confidence(sweep)
    if len(c.ranked) == 1:
        return f"by {name}, only level {c.top} was swept, so none is called best"
    if c.decided:
        closest = min(c.ranked[1:], key=lambda m: c.differences[m][0])
        return (f"by {name}, best level {c.top} beyond noise "
                f"({with_interval(_row(sweep, c.top), key)}; the paired {conf} interval of "
                f"its difference to each other level excludes 0; smallest margin "
                f"{difference_text(c, closest)})")
    diffs = "; ".join(difference_text(c, m) for m in c.leaders[1:])
    many = len(c.leaders) > 2
    return (f"by {name}, tied: {and_list(c.leaders)} (the paired {conf} interval"
            f"{'s' if many else ''} of {'their differences' if many else 'the difference'} "
            f"to the top, {c.top}, include{'' if many else 's'} 0: {diffs})")


def best_level_sentence(sweep: Mapping) -> str:
    """The best or tied levels by each score, from the verdict; whether the scores agree."""
    criteria = _criteria(sweep)
    parts = [_verdict_words(sweep, key, name) for key, name in criteria]
    text = "On this data, " + "; ".join(parts) + "."
    if len(parts) == 1:
        return text + f" {NO_LABELS_SENTENCE}, so recon MSE is the only criterion."
    crits = [criterion(sweep, key) for key, _ in criteria]
    common = set.intersection(*(set(c.leaders) for c in crits))
    if all(c.decided for c in crits) and common:
        return text + f" All three criteria pick level {common.pop()}, each beyond noise."
    if not common:
        return text + (" No level leads by every criterion: each is behind the top of at "
                       "least one criterion beyond noise.")
    shared = sorted(common, key=float)
    return text + (f" Level{'s' if len(shared) > 1 else ''} {and_list(shared)} "
                   f"{'are' if len(shared) > 1 else 'is'} among the leaders of every "
                   "criterion, but not every criterion is decided.")


def _short(c: Criterion) -> str:
    if len(c.ranked) == 1:
        return f"only {c.top} swept"
    return f"best {c.top} beyond noise" if c.decided else f"{and_list(c.leaders)} tied"


def claim_sentence(sweep: Mapping) -> str:
    """The claim that about 25 % corruption gave the lowest loss, tested against the
    verdict on recon MSE: agrees beyond noise, consistent but not decided, or differs."""
    c, conf = criterion(sweep, "recon_mse"), confidence(sweep)
    near = [level_text(v) for v in sweep["levels"]
            if abs(float(v) - CLAIM_LEVEL) <= CLAIM_TOLERANCE + 1e-12]
    text = (f"The source text claims that about {CLAIM_LEVEL:.0%} corruption gave the lowest "
            "loss. Tested against the verdict on clean-test recon MSE (`verdict.recon_mse`), "
            f"not a point estimate, our sweep {_claim_words(sweep, c, near, conf)}.")
    text += (" Our loss is the recon MSE on clean test images, which may not be the loss the "
             "claim measured.")
    if not labelled(sweep):
        return text
    return text + " By the representation scores: " + "; ".join(
        f"{name}, {_short(criterion(sweep, key))}" for key, name in CRITERIA[1:]) + "."


def _claim_words(sweep: Mapping, c: Criterion, near: list[str], conf: str) -> str:
    """What the verdict on recon MSE says of the levels near the claim's."""
    if not near:
        return (f"cannot test it: no level within {CLAIM_TOLERANCE:g} of {CLAIM_LEVEL:g} was "
                f"swept (the recon MSE verdict: {_short(c)})")
    if len(c.ranked) == 1:
        return (f"is consistent with the claim, but not decided: only level {c.top} was "
                "swept")
    if c.decided and c.top in near:
        return (f"agrees, beyond noise: level {c.top} has the lowest recon MSE "
                f"({with_interval(_row(sweep, c.top), 'recon_mse')}), and the paired {conf} "
                "interval of its difference to every other level excludes 0")
    ours = [m for m in c.leaders if m in near]
    others = [m for m in c.leaders if m not in near]
    if ours and not others:
        return (f"agrees, beyond noise: the tied leaders {and_list(ours)} all lie within "
                f"{CLAIM_TOLERANCE:g} of {CLAIM_LEVEL:g}, and every other level is behind "
                "them beyond noise")
    if ours:
        diffs = "; ".join(difference_text(c, m) for m in c.leaders[1:])
        return (f"is consistent with the claim, but not decided: {and_list(ours)} "
                f"{'is' if len(ours) == 1 else 'are'} tied with {and_list(others)} for the "
                f"lowest recon MSE (paired {conf} interval{'s' if len(c.leaders) > 2 else ''}"
                f" of the difference to the top: {diffs}; "
                f"{'each includes' if len(c.leaders) > 2 else 'includes'} 0)")
    nearest = min(near, key=lambda m: abs(float(m) - CLAIM_LEVEL))
    best = (f"the best is {c.top}, beyond noise" if c.decided else
            f"the leaders are {and_list(c.leaders)}, tied, with {c.top} the top")
    low, high = c.differences[nearest]
    return (f"differs: {best}; the paired {conf} interval of {difference_label(c, nearest)} "
            f"(recon MSE at {nearest} minus at {c.top}) is {interval_text(low, high)}, "
            "excluding 0")
