"""The report's section "Comparison of all methods": the table, the rankings, the caveats.

One row per method (:data:`~latentlab.report.inputs.METHODS`), one column per
metric of ``metrics/latent_stats.json`` and the fit's wall time, the best value of
each ranked column in bold; then each ranked column as a ranking, what the
correlations between dimensions add to the KL, and, with labels, whether t-SNE's
accuracy lead (if any) survives its joint embedding. Without labels the accuracy
columns are left out.
"""

from __future__ import annotations

from typing import Mapping

from latentlab.report.blocks import Column, table_block
from latentlab.report.blocks import para as _p
from latentlab.report.inputs import METHODS, ReportInputs
from latentlab.report.sections_baselines import tsne_subsampled
from latentlab.report.words import DASH, NO_LABELS_SENTENCE, fmt, section_ref

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


def comparison_blocks(inputs: ReportInputs) -> list[dict]:
    """The section: what the columns mean, the table, a ranking per ranked column, the caveats."""
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
