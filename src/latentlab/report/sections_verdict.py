"""The report's opening section "Verdict": which method is best for what, and how sure.

One line per criterion, in the order a reader asks: reconstruction, held-out class
structure (kNN and probe accuracy; none without labels), neighbourhood preservation,
match to the prior. Each says what ``metrics/verdict.json`` decided, in the short
wording of :func:`~latentlab.report.verdicts.leaders_words`: the best method beyond
noise or the tied leaders, each with its value and bootstrap interval. Then the VAE's
log-likelihood, which no other method has and which is compared with nothing; a line
when no criterion is decided at all; and one line per caveat that applies: t-SNE
transductive (shown, not ranked), a collapsed VAE, a model stopped at its epoch budget
while still improving, a value outside its own interval, and I(x; z) at its ceiling log N
(:func:`~latentlab.report.sections_info.mi_at_ceiling`).

:func:`verdict_summary_lines` gives the same lines as plain text, for a log or an
MLflow run; :func:`verdict_blocks` is the section.
"""

from __future__ import annotations

from latentlab.params import MODELS
from latentlab.report.blocks import bullets, para
from latentlab.report.inputs import ReportInputs
from latentlab.report.sections_comparison import outside_interval
from latentlab.report.sections_info import CEILING_WORDS, MI_CEILING_FRACTION, mi_at_ceiling
from latentlab.report.verdicts import (
    MARKS,
    and_list,
    confidence_words,
    leaders_words,
    reference_words,
)
from latentlab.report.words import NO_LABELS, fmt, pct, section_ref

# The criteria of metrics/verdict.json in the order the verdict says them, with their names.
CRITERION_NAMES = (
    ("recon_mse", "Reconstruction"),
    ("knn_accuracy", "Held-out class structure, kNN accuracy"),
    ("probe_accuracy", "Held-out class structure, linear probe accuracy"),
    ("trustworthiness", "Neighbourhood preservation"),
    ("latent_kl_to_prior_nats", "Match to the prior N(0, I)"),
)
CAVEAT = "Caveat: "  # how a caveat starts in the plain-text lines


def criterion_lines(inputs: ReportInputs) -> list[str]:
    """One line per criterion, the log-likelihood, and whether the data decide anything."""
    verdict, stats = inputs.verdict, inputs.latent_stats
    lines = []
    for key, name in CRITERION_NAMES:
        if key not in verdict.criteria:
            if key == "knn_accuracy" and not inputs.has_labels:
                lines.append(f"Held-out class structure: {NO_LABELS}.")
            continue
        better = "higher" if verdict.criteria[key].better == "max" else "lower"
        reference = reference_words(verdict.criteria[key], stats)
        lines.append(f"{name} (`{key}`, {better} is better): "
                     f"{leaders_words(verdict, key, stats)}"
                     + (f"; {reference}" if reference else "") + ".")
    vae = stats["vae"]
    se = (f" ± {fmt(vae['test_log_px_se_nats'])} (standard error)"
          if "test_log_px_se_nats" in vae else "")
    scored = (f", on a seeded subsample of {int(vae['test_log_px_n_images'])} test images"
              if vae.get("test_log_px_subsampled") else "")
    lines.append(f"Log-likelihood (the VAE only): log p(x) ≈ {fmt(vae['test_log_px_nats'])}{se} "
                 f"nats per test image (`test_log_px_nats`, the importance-weighted bound with "
                 f"K = {int(vae['iwae_samples'])} samples{scored}), "
                 f"{fmt(vae['test_gap_nats'])} nats "
                 "above the ELBO with the same samples (`test_gap_nats`); not compared with "
                 "anything: no other method has a likelihood.")
    ranked = [c for c in verdict.criteria.values() if len(c.ranked) > 1]
    if not any(c.decided for c in ranked):
        lines.append(f"No criterion is decided: on these {verdict.protocol['n_test']} test "
                     "images the paired intervals cannot separate the leaders of any, so the "
                     "data cannot decide which method is best.")
    return lines


def caveat_lines(inputs: ReportInputs) -> list[str]:
    """One line per caveat that applies, each naming the key behind it."""
    lines = []
    criteria = inputs.verdict.criteria.values()
    transductive = sorted({m for c in criteria for m, r in c.excluded.items()
                           if r == "transductive"})
    if transductive:
        names = and_list(["t-SNE" if m == "tsne" else m for m in transductive])
        lines.append(f"{names} ({MARKS['transductive']}) is transductive: train and test "
                     f"embedded jointly ({section_ref('tsne')}), so its numbers are shown, "
                     "not ranked.")
    vae = inputs.latent_stats["vae"]
    if vae.get("posterior_collapse") or any(r == "collapsed" for c in criteria
                                            for r in c.excluded.values()):
        lines.append(f"The VAE's posterior collapsed (`posterior_collapse`; "
                     f"{int(vae['active_units'])} of {int(vae['latent_dim'])} latent dimensions "
                     f"active, {section_ref('vae')}): its codes match the prior trivially, so it "
                     f"is flagged ({MARKS['collapsed']}), not ranked, on the match to the prior.")
    budget = [m for m in MODELS if not inputs.train_metrics[m]["stopped_early"]
              and int(inputs.train_metrics[m]["best_epoch"])
              == int(inputs.train_metrics[m]["epochs_run"])]
    if budget:
        runs = and_list([f"{m.upper()} (best epoch {int(inputs.train_metrics[m]['best_epoch'])} "
                         f"of {int(inputs.train_metrics[m]['epochs_run'])})" for m in budget])
        lines.append(f"{runs} stopped at {'its' if len(budget) == 1 else 'their'} epoch budget "
                     "while still improving (`stopped_early`: false, `best_epoch` = "
                     "`epochs_run` in `metrics/train/<model>.json`): more epochs "
                     "(`train.common.epochs`) may change "
                     f"{'its' if len(budget) == 1 else 'their'} numbers.")
    outside = outside_interval(inputs)
    if outside:
        cells = and_list([f"{m}'s `{col.key}`" for m, col in outside])
        lines.append(f"Outside {'its' if len(outside) == 1 else 'their'} own interval: {cells}; "
                     "a statistic that resampling biases, such as a KL fitted near its floor of "
                     f"0, can lie outside its percentile interval ({section_ref('comparison')}).")
    if mi_at_ceiling(vae):
        lines.append(f"The VAE's I(x; z), {fmt(vae['mutual_information_nats'])} nats "
                     f"(`mutual_information_nats`), is within {pct(MI_CEILING_FRACTION)} of its "
                     f"ceiling log N = {fmt(vae['mutual_information_max_nats'])} nats "
                     f"(`mutual_information_max_nats`, N = {len(inputs.splits['x_test'])} test "
                     f"images): {CEILING_WORDS} ({section_ref('vae')}).")
    return lines


def verdict_summary_lines(inputs: ReportInputs, *, markdown: bool = False) -> list[str]:
    """The verdict as lines of text: one per criterion, the log-likelihood, then each caveat
    (starting "Caveat: ").

    Pure: reads only ``inputs``. Plain text by default (metric keys without the
    Markdown backticks the report sets them in); ``markdown=True`` keeps them.
    """
    lines = criterion_lines(inputs) + [CAVEAT + line for line in caveat_lines(inputs)]
    return lines if markdown else [line.replace("`", "") for line in lines]


def verdict_blocks(inputs: ReportInputs) -> list[dict]:
    """The section: how to read it, one line per criterion, the caveats."""
    verdict = inputs.verdict
    conf = confidence_words(verdict)
    blocks = [
        para(f"Which method is best for what, and how sure: per criterion, the verdict of "
             f"`metrics/verdict.json` on the {verdict.protocol['n_test']} test images, each "
             f"value followed by its {conf} bootstrap interval. Best: beyond noise, its paired "
             f"{conf} interval against every other ranked method excludes 0; tied: those "
             "intervals cannot separate the leaders. The table and every paired interval are "
             f"in {section_ref('comparison')}."),
        bullets(criterion_lines(inputs)),
    ]
    caveats = caveat_lines(inputs)
    if caveats:
        blocks += [para("Caveats:"), bullets(caveats)]
    return blocks
