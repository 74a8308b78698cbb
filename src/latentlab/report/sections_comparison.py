"""The report's section "Comparison of all methods": the table, the verdicts, the caveats.

One row per method (:data:`~latentlab.report.inputs.METHODS`), one column per
metric of ``metrics/latent_stats.json`` (no wall time: timings are not results). Each ranked
column (a criterion of ``metrics/verdict.json``) shows the value and its bootstrap
interval; bold marks only a best the paired intervals decide, tied leaders are
marked alike and a method left out of the ranking carries its reason's mark
(:mod:`latentlab.report.verdicts`). Then one verdict per criterion, what the
correlations between dimensions add to the KL, and, with labels, what t-SNE's
accuracies (shown, never ranked: a joint embedding) say. Without labels the
accuracy columns are left out.
"""

from __future__ import annotations

from typing import Mapping

from latentlab.report.blocks import Column, cell, table
from latentlab.report.blocks import para as _p
from latentlab.report.inputs import METHODS, REFERENCE, ReportInputs
from latentlab.report.sections_baselines import tsne_subsampled
from latentlab.report.verdicts import (
    MARKS,
    TIED,
    cell_text,
    confidence_words,
    reference_words,
    verdict_sentence,
    with_interval,
)
from latentlab.report.words import (
    DASH,
    NO_LABELS_SENTENCE,
    TIMINGS_SENTENCE,
    compare_words,
    fmt,
    section_ref,
)

COLUMNS = (
    Column("latent_dim", "latent dim", None),
    Column("knn_accuracy", "kNN accuracy ↑", "max"),
    Column("probe_accuracy", "probe accuracy ↑", "max"),
    Column("trustworthiness", "trustworthiness ↑", "max"),
    Column("recon_mse", "recon MSE ↓", "min"),
    Column("latent_kl_to_prior_nats", "KL(fit ‖ N(0, I)) nats ↓", "min"),
    Column("latent_mean_abs", "mean |mean| (prior: 0)", None),
    Column("latent_var_mean", "mean var (prior: 1)", None),
)
LABEL_COLUMNS = ("knn_accuracy", "probe_accuracy")  # left out for a data set without labels


def columns(inputs: ReportInputs) -> tuple[Column, ...]:
    """The comparison table's columns: without labels, no kNN or probe accuracy."""
    return tuple(c for c in COLUMNS if inputs.has_labels or c.key not in LABEL_COLUMNS)


def _cell(inputs: ReportInputs, col: Column, method: str) -> dict:
    """A ranked column's cell follows the verdict; the others are plain references."""
    if col.better:
        return cell(*cell_text(inputs.verdict.criteria[col.key], method,
                               inputs.latent_stats[method], col.digits))
    value = inputs.latent_stats[method].get(col.key)
    return cell(str(int(value)) if col.key == "latent_dim" else fmt(value, col.digits))


REFERENCE_LABEL = "raw pixels (reference)"


def _reference_cell(inputs: ReportInputs, col: Column) -> dict:
    """The raw pixels' cell: the accuracies with their intervals, trustworthiness 1 by
    definition, nothing else (they are not codes: no reconstruction, no prior)."""
    row = inputs.latent_stats[REFERENCE]
    if col.key == "latent_dim":
        return cell(str(int(row["latent_dim"])))
    if col.key == "trustworthiness":
        return cell("1 (by definition)")
    if col.key in LABEL_COLUMNS and col.key in row:
        return cell(with_interval(row, col.key, col.digits))
    return cell(DASH)


def comparison_table(inputs: ReportInputs) -> dict:
    """The table block: one row per method, one cell per :data:`COLUMNS`; then the raw
    pixels' reference row where ``latent_stats.json`` has it."""
    cols = columns(inputs)
    rows = [(m, [_cell(inputs, c, m) for c in cols]) for m in METHODS]
    if REFERENCE in inputs.latent_stats:
        rows.append((REFERENCE_LABEL, [_reference_cell(inputs, c) for c in cols]))
    return table("comparison-table", "method", [c.header for c in cols], rows)


def _seeded(inputs: ReportInputs) -> list[str]:
    """The methods trained at more than one seed (``n_seeds`` in their row)."""
    return [m for m in METHODS if int(inputs.latent_stats[m].get("n_seeds", 1)) > 1]


def seed_blocks(inputs: ReportInputs) -> list[dict]:
    """The spread across training seeds: a sentence and a table (nothing with one seed)."""
    seeded = _seeded(inputs)
    if not seeded:
        return []
    stats = inputs.latent_stats
    n = max(int(stats[m]["n_seeds"]) for m in seeded)
    cols = [c for c in columns(inputs) if c.better]

    def spread(m: str, key: str) -> dict:
        row = stats[m]
        if f"{key}_seed_mean" not in row:
            return cell(DASH)
        shown = fmt(row[f"{key}_seed_mean"], 4)
        return cell(f"{shown} ± {fmt(row[f'{key}_seed_sd'], 2)} "
                    f"({fmt(row[f'{key}_seed_min'], 4)}–{fmt(row[f'{key}_seed_max'], 4)})")

    holds = {k: c.seeds.holds for k, c in inputs.verdict.criteria.items()
             if c.seeds is not None and c.seeds.holds is not None}
    held = [k for k, h in holds.items() if h]
    failed = [k for k, h in holds.items() if not h]
    text = (f"Training seeds: {', '.join(seeded)} were each trained at {n} seeds "
            "(`train.common.replicates`; the first is the model of every table, figure and "
            "interval above, the others differ only in their seed). Below: the mean ± standard "
            "deviation across seeds and, in brackets, the lowest and highest seed "
            "(`<metric>_seed_mean`, `_seed_sd`, `_seed_min`, `_seed_max`). PCA is deterministic"
            " and t-SNE, never ranked, is not retrained.")
    if held:
        text += (" A decided best holds across seeds (its worst seed beats every other ranked "
                 f"method's best) on: {', '.join(f'`{k}`' for k in held)}.")
    if failed:
        text += (" It does not on: " + ", ".join(f"`{k}`" for k in failed)
                 + ": there the first seed decides, and another seed might not.")
    if not holds:
        text += " No criterion is decided, so there is no best to check across seeds."
    return [_p(text), table("seed-table", "method", [c.header for c in cols],
                            [(m, [spread(m, c.key) for c in cols]) for m in seeded])]


def reference_sentence(inputs: ReportInputs) -> str:
    """What the raw pixels' row is, and how the top of each accuracy stands against it."""
    if REFERENCE not in inputs.latent_stats:
        return ""
    parts = [f"{name}: " + reference_words(inputs.verdict.criteria[key], inputs.latent_stats)
             for key, name in (("knn_accuracy", "kNN"), ("probe_accuracy", "probe"))
             if key in inputs.verdict.criteria
             and reference_words(inputs.verdict.criteria[key], inputs.latent_stats)]
    return (f"The last row, {REFERENCE_LABEL}, scores the grey-level test images themselves "
            f"({int(inputs.latent_stats[REFERENCE]['latent_dim'])} dimensions) with the same "
            "kNN and probe on the same resampled images: what any code should be read against. "
            "Its trustworthiness is 1 by definition (the images' own neighbourhoods), so it is "
            "not computed; it is never ranked."
            + (" " + "; ".join(parts) + "." if parts else ""))


def _trustworthiness_points(inputs: ReportInputs) -> str:
    """How many test points trustworthiness scored, and each method's standard error.

    Empty for results older than ``trustworthiness_n_points`` in the protocol.
    """
    protocol = inputs.verdict.protocol
    if "trustworthiness_n_points" not in protocol:
        return ""
    m, n = int(protocol["trustworthiness_n_points"]), int(protocol["n_test"])
    which = (f"a seeded random subsample of {m} of the {n} test points, the same points for "
             "every method (`trustworthiness_n_points`, `trustworthiness_subsampled`; cap "
             "`latent_stats.trustworthiness_max_points`)" if protocol.get(
                 "trustworthiness_subsampled") else f"all {n} test points")
    ses = [f"{m_} {fmt(row['trustworthiness_se'])}" for m_, row in inputs.latent_stats.items()
           if "trustworthiness_se" in row]
    return (f" Trustworthiness is scored on {which}; its standard errors (`trustworthiness_se`, "
            "the SD of the bootstrap replicates) are " + ", ".join(ses) + "." if ses else
            f" Trustworthiness is scored on {which}.")


def _protocol_sentence(inputs: ReportInputs) -> str:
    """How the intervals were made, and how to read bold, ties and marks."""
    protocol, conf = inputs.verdict.protocol, confidence_words(inputs.verdict)
    subsample = ""
    if tsne_subsampled(inputs):
        n = inputs.latent_stats["tsne"].get("n_test_points", len(inputs.codes["tsne"]["z_test"]))
        subsample = f" (t-SNE: the {int(n)} test images of its subsample)"
    reasons = {r for c in inputs.verdict.criteria.values() for r in c.excluded.values()}
    marks = "".join(f" {MARKS[r]}: {words}" for r, words in (
        ("transductive", "not ranked, transductive: t-SNE embedded train and test jointly "
                         f"({section_ref('tsne')}), so its numbers are shown for reference, "
                         "never ranked against encoders that saw no test image."),
        ("collapsed", "flagged, not ranked: the VAE's posterior collapsed, so its codes match "
                      "the prior trivially; it is not called the best match to the prior.")
    ) if r in reasons)
    return (f"Each ranked number is followed by its {conf} interval: the percentile interval "
            f"of {protocol['bootstrap_samples']} bootstrap resamples of the "
            f"{protocol['n_test']} test images (seed {protocol['seed']}; `protocol` in "
            f"`metrics/verdict.json`), each method over the test images its codes cover"
            f"{subsample}; trustworthiness by {protocol['trustworthiness_method']} "
            f"(`trustworthiness_method`).{_trustworthiness_points(inputs)} Two methods are "
            "compared on the difference of their "
            "scores over the same resampled images (a paired bootstrap), which is narrower "
            "than the two intervals in the table suggest: overlapping intervals alone do not "
            "make a tie, the verdicts below the table decide. Bold: the best method, beyond "
            f"noise: the paired {conf} interval of its difference to every other ranked method "
            f"excludes 0. {TIED}: tied for best: the method with the best point estimate and "
            "every method whose paired interval of the difference to it includes 0; nothing is "
            f"bold then.{marks}")


def comparison_blocks(inputs: ReportInputs) -> list[dict]:
    """The section: what the columns mean, the table, a verdict per criterion, the caveats."""
    labels = ("kNN accuracy is a k-nearest-neighbour classifier's (`latent_stats.knn_neighbors`) "
              "and probe accuracy a logistic-regression probe's on the standardised codes, both "
              "fit on the training codes." if inputs.has_labels else
              f"{NO_LABELS_SENTENCE} (`has_labels`: false in `source.json`): the table has no "
              "accuracy columns, and judges the codes by trustworthiness, reconstruction and "
              "closeness to the prior only.")
    subsample = ""
    if tsne_subsampled(inputs):
        n = inputs.latent_stats["tsne"].get("n_test_points", len(inputs.codes["tsne"]["z_test"]))
        subsample = (f" t-SNE's row is computed on its subsample of {int(n)} test points "
                     f"(`n_test_points`; {section_ref('tsne')}), the other rows on all "
                     f"{len(inputs.splits['x_test'])}.")
    blocks = [_p("All numbers are on the test split (`metrics/latent_stats.json`). ↑: higher is "
                 f"better, ↓: lower is better. {labels} recon "
                 "MSE is the mean squared error of the test reconstructions (— where the "
                 "method cannot reconstruct). KL(fit ‖ N(0, I)) is the KL from a "
                 "full-covariance gaussian fit of the test codes to the prior, so correlations "
                 "between dimensions count. The moment columns are references, not ranks: the "
                 "prior N(0, I) has mean 0 and variance 1 in every dimension. " + TIMINGS_SENTENCE
                 + subsample),
              _p(_protocol_sentence(inputs)),
              comparison_table(inputs)]
    reference = reference_sentence(inputs)
    if reference:
        blocks.append(_p(reference))
    blocks += seed_blocks(inputs)
    outside = _outside_sentence(inputs)
    if outside:
        blocks.append(_p(outside))
    for col in columns(inputs):
        if col.better:
            blocks.append(_p(verdict_sentence(inputs.verdict, col.key,
                                              col.header.rstrip(" ↑↓"))))
    blocks.append(_p(_correlation_sentence(inputs.latent_stats)))
    if inputs.has_labels:
        for key, name in (("knn_accuracy", "kNN"), ("probe_accuracy", "probe")):
            if key in inputs.latent_stats["tsne"]:
                blocks.append(_p(_tsne_sentence(inputs, key, name)))
    return blocks


def outside_interval(inputs: ReportInputs) -> list[tuple[str, Column]]:
    """(method, column) of each ranked value that lies outside its own interval."""
    return [(m, col) for col in columns(inputs) if col.better for m in METHODS
            if col.key in inputs.latent_stats[m]
            and not (inputs.latent_stats[m][f"{col.key}_ci_low"]
                     <= inputs.latent_stats[m][col.key]
                     <= inputs.latent_stats[m][f"{col.key}_ci_high"])]


def _outside_sentence(inputs: ReportInputs) -> str:
    """The values that lie outside their own percentile interval, and why that can be."""
    cells = outside_interval(inputs)
    if not cells:
        return ""
    listed = "; ".join(f"{m}'s {col.header.rstrip(' ↑↓')} (`{col.key}`), "
                       f"{with_interval(inputs.latent_stats[m], col.key, col.digits)}"
                       for m, col in cells)
    return (f"Outside its own interval: {listed}. A percentile interval need not hold a value "
            "that resampling biases: a KL fitted near its floor of 0 tends to come out larger on a "
            "resample, whose fit adds its own noise. Read such an interval as the spread of the "
            "resampled statistic, not as centred on the value.")


def _correlation_sentence(stats: Mapping[str, dict]) -> str:
    """What the full-covariance fit adds over the per-dimension one (its total correlation)."""
    added = {m: float(stats[m]["latent_kl_to_prior_nats"])
             - float(stats[m]["latent_kl_to_prior_diag_nats"]) for m in METHODS}
    extra = ", ".join(f"{m} {fmt(v)}" for m, v in added.items())
    return ("The per-dimension fit ignores correlations (`latent_kl_to_prior_diag_nats`); the "
            f"full fit's KL minus it, in nats, is what the correlations add: {extra}.")


def _tsne_sentence(inputs: ReportInputs, key: str, name: str) -> str:
    """t-SNE's accuracy, with the joint-embedding caveat; against the ranked top's only as
    point estimates (no paired interval tests a method that is not ranked)."""
    c, stats = inputs.verdict.criteria[key], inputs.latent_stats
    value = with_interval(stats["tsne"], key)
    caveat = (f"it embedded train and test jointly ({section_ref('tsne')}), so its test points "
              "were placed with the training points present, which makes it optimistic next "
              "to encoders that never saw a test image")
    text = (f"t-SNE's {name} accuracy, {value} (`{key}`), is shown but not ranked: {caveat}"
            if "tsne" in c.excluded else
            f"t-SNE is ranked on {name} accuracy ({value}, `{key}`), but {caveat}")
    if c.top is None or c.top == "tsne":
        return text + "."
    tsne, top = float(stats["tsne"][key]), float(stats[c.top][key])
    word = {"higher than": "above", "lower than": "below", "equal to": "equal to"}[
        compare_words(tsne, top)]
    return (text + f". Its point estimate is {word} that of {c.top}, the ranked top "
            f"({fmt(top)})" + (": a lead the joint embedding explains, and no paired interval "
                               "tests it." if word == "above" else "."))
