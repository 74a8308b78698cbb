"""The report's information-theoretic text: how tight the VAE's bound is, and the identities.

:func:`vae_info_blocks` extends the VAE section (the ELBO's gap to log p(x),
the KL per latent dimension, the mutual information I(x; z));
:func:`info_theory_blocks` is the section "Information theory, measured"
(H(p, q) = H(p) + KL(p ‖ q) for the reconstruction term and for the
posteriors against the prior; KL's asymmetry). Every number cites its key in
``metrics/latent_stats.json`` or ``metrics/evaluate.json``; identities are
checked on the numbers, and their failure is reported, not hidden.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from latentlab.params import MODELS
from latentlab.report.blocks import Column, FigureRef, figure, para, table_block
from latentlab.report.inputs import ReportInputs
from latentlab.report.words import compare_words, fmt, pct, section_ref

# An identity such as H(p, q) = H(p) + KL(p ‖ q) "holds" on the recorded numbers when both
# sides agree to this fraction of the larger term's size: some inputs (log p(x), ELBO_K) are
# means of float32 values, good to about 1e-7 of their size, and a difference of two of them
# loses that much of the smaller result.
IDENTITY_RTOL = 1e-5
# I(x; z) estimated over the aggregate posterior of N test images cannot exceed log N
# (`mutual_information_max_nats`): however much the codes say about x, N images hold at most
# log N nats to tell apart. An estimate within this fraction of that ceiling measures N, not
# the model, and neither it nor KL − I(x; z) is interpreted.
MI_CEILING_FRACTION = 0.05
CEILING_WORDS = "bounded by the sample size, not a property of the model"

RECON_COLUMNS = (
    Column("recon_cross_entropy_nats", "cross-entropy H(p, q) ↓", "min"),
    Column("data_entropy_nats", "entropy H(p) (floor)", None),
    Column("recon_kl_nats", "KL(p ‖ q) ↓", "min"),
    Column("entropy_plus_kl", "H(p) + KL(p ‖ q)", None),
)


def _holds(lhs: float, rhs: float, scale: float = 1.0) -> bool:
    """Whether lhs = rhs up to IDENTITY_RTOL of the largest of |lhs|, |rhs| and ``scale``."""
    return abs(lhs - rhs) <= IDENTITY_RTOL * max(abs(lhs), abs(rhs), abs(scale))


def _less_or_more(a: float, b: float) -> str:
    """"below" or "above" (or "at") for a compared with b."""
    return {"lower than": "below", "higher than": "above", "equal to": "at"}[compare_words(a, b)]


# --------------------------------------------------------------------------
# VAE section: tightness, per-dimension KL, mutual information
# --------------------------------------------------------------------------


def vae_info_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """Paragraphs and the per-dimension KL figure appended to the VAE section."""
    vae = inputs.latent_stats["vae"]
    n_test, n_features = inputs.splits["x_test"].shape
    return [
        para(elbo_tightness_sentence(inputs.evaluate, float(inputs.train_metrics["vae"]["test"]
                                                            ["elbo"]), n_features)),
        para(active_units_sentence(vae, inputs.kl_per_dim)),
        figure(refs["kl_per_dim"]),
        para(mutual_information_sentence(vae, n_test)),
    ]


def elbo_tightness_sentence(evaluate: Mapping[str, float], train_elbo: float,
                            n_features: int) -> str:
    """log p(x) (IWAE), the ELBO with the same samples, their gap and its minimum over x.

    Parameters
    ----------
    evaluate : ``metrics/evaluate.json``'s vae entry; nats per example.
    train_elbo : the training's one-sample analytic-KL ELBO on test (``test.elbo``), nats.
    n_features : pixels per image, for bits per dim.
    """
    log_px, elbo_k = float(evaluate["log_px_nats"]), float(evaluate["elbo_k_nats"])
    gap, gap_min = float(evaluate["gap_nats"]), float(evaluate["gap_min_nats"])
    held = ("≥ 0: the bound held for every test image" if gap_min >= 0 else
            "< 0: for at least one test image the ELBO estimate exceeded the log p(x) "
            "estimate, which a bound cannot do exactly; increase `evaluate.iwae_samples`")
    text = (f"How tight is the ELBO? With K = {int(evaluate['iwae_samples'])} importance samples "
            f"per test image (`iwae_samples`, `metrics/evaluate.json`){_images_scored(evaluate)}, "
            f"log p(x) ≈ {fmt(log_px)}{_se(evaluate, 'log_px_se_nats')} nats per example "
            "(`log_px_nats`, the importance-weighted bound of "
            f"Burda et al. 2016), and the ELBO with the same samples is {fmt(elbo_k)} "
            f"(`elbo_k_nats`). The gap log p(x) − ELBO = {fmt(gap)}{_se(evaluate, 'gap_se_nats')} "
            "nats (`gap_nats`) is "
            f"KL(q(z|x) ‖ p(z|x)) averaged over the test images, which is ≥ 0; its smallest "
            f"value over the test images is {fmt(gap_min)} nats (`gap_min_nats`) {held}. "
            f"In bits per dim, −log p(x) is {fmt(evaluate['log_px_bits_per_dim'])} "
            f"(`log_px_bits_per_dim`) and −ELBO {fmt(-elbo_k / (n_features * math.log(2)))} "
            f"(−`elbo_k_nats` / ({n_features} · ln 2)).")
    if not _holds(gap, log_px - elbo_k, scale=log_px):
        text += (f" Warning: `gap_nats` differs from `log_px_nats` − `elbo_k_nats` = "
                 f"{fmt(log_px - elbo_k)}.")
    text += (f" The training's one-sample ELBO with the analytic KL (`test.elbo`, "
             f"{fmt(train_elbo)}) is another estimate of the same bound; it lies "
             f"{fmt(abs(log_px - train_elbo))} nats {_less_or_more(train_elbo, log_px)} "
             "this log p(x)")
    if evaluate.get("subsampled"):
        return text + (f", but on all {int(evaluate['n_test'])} test images, not the same ones: "
                       f"read that difference against log p(x)'s standard error "
                       f"({fmt(evaluate['log_px_se_nats'])} nats).")
    return text + "."


def _images_scored(evaluate: Mapping[str, float]) -> str:
    """On how many test images; empty for results older than ``n_images``."""
    if "n_images" not in evaluate:
        return ""
    if evaluate.get("subsampled"):
        return (f", on a seeded random subsample of {int(evaluate['n_images'])} of the "
                f"{int(evaluate['n_test'])} test images (`n_images`, `subsampled`; cap "
                "`evaluate.iwae_max_images`)")
    return f", on all {int(evaluate['n_images'])} test images"


def _se(evaluate: Mapping[str, float], key: str) -> str:
    """`` ± SE (`key`)`` where the metrics have the standard error; empty otherwise."""
    return f" ± {fmt(evaluate[key])} (standard error, `{key}`)" if key in evaluate else ""


def active_units_sentence(vae: Mapping[str, float], kl_per_dim: Mapping[str, np.ndarray]) -> str:
    """Active units from the metric, and how the KL term splits over the latent dimensions.

    Parameters
    ----------
    vae : ``latent_stats.json``'s vae entry (``active_units``, ``active_fraction``,
        ``latent_dim``, ``kl_nats``).
    kl_per_dim : {"kl_nats", "active"}, arrays of shape (latent_dim,).
    """
    active, dim = int(vae["active_units"]), int(vae["latent_dim"])
    kl = kl_per_dim["kl_nats"]
    on, off = kl[kl_per_dim["active"]], kl[~kl_per_dim["active"]]
    total, recorded = float(kl.sum()), float(vae["kl_nats"])
    agrees = ("matching" if math.isclose(total, recorded, rel_tol=1e-3)
              else "which does not match")
    text = (f"{active} of the VAE's {dim} latent dimensions are active "
            f"({pct(vae['active_fraction'])}; `active_units`, `active_fraction`: the variance "
            "over the test images of the "
            "posterior mean, Cov_x(E_q[z_i]), exceeds `train.vae.active_unit_threshold`; "
            f"Burda et al. 2016). The KL term per dimension (`kl_per_dim.csv`) sums to "
            f"{fmt(total)} nats, {agrees} `kl_nats` ({fmt(recorded)})")
    if not len(off):
        text += "; every dimension carries some of it."
    else:
        text += (f"; the active dimensions carry {fmt(float(on.sum()))} nats of it, the "
                 f"{len(off)} inactive ones at most {fmt(float(off.max()))} nats each: their "
                 "posteriors barely move from the prior whatever x is (posterior collapse).")
    if "collapse_message" in vae:  # the flag of train.vae.collapse_min_active_fraction
        verdict = "FLAGGED" if vae["posterior_collapse"] else "not flagged"
        text += (f" Collapse check on the test split ({verdict}; `posterior_collapse`): "
                 f"{vae['collapse_message']}.")
    return text


def mi_at_ceiling(vae: Mapping[str, float]) -> bool:
    """Whether I(x; z) (`mutual_information_nats`) lies within :data:`MI_CEILING_FRACTION`
    of its ceiling log N (`mutual_information_max_nats`)."""
    mi, mi_max = float(vae["mutual_information_nats"]), float(vae["mutual_information_max_nats"])
    return mi_max > 0 and mi >= (1.0 - MI_CEILING_FRACTION) * mi_max


def mutual_information_sentence(vae: Mapping[str, float], n_test: int) -> str:
    """I(x; z), its bound log N, and the KL term's split KL = I(x; z) + KL(q(z) ‖ p(z));
    neither I(x; z) nor the remainder is interpreted where I(x; z) is at its ceiling."""
    mi, mi_max = float(vae["mutual_information_nats"]), float(vae["mutual_information_max_nats"])
    kl, rest = float(vae["kl_nats"]), float(vae["kl_minus_mi_nats"])
    fit = float(vae["latent_kl_to_prior_nats"])
    text = (f"Mutual information: I(x; z) = {fmt(mi)} nats (`mutual_information_nats`, under the "
            f"aggregate posterior q(z) of the {n_test} test images) of at most log N = "
            f"{fmt(mi_max)} nats (`mutual_information_max_nats`), {pct(mi / mi_max)} of that "
            "bound")
    check = ""
    if not _holds(rest, kl - mi, scale=kl):
        check = (f" Warning: `kl_nats` − `mutual_information_nats` = {fmt(kl - mi)}, "
                 f"not {fmt(rest)}.")
    if mi_at_ceiling(vae):
        return (text + f": within {pct(MI_CEILING_FRACTION)} of its ceiling, so the estimate is "
                f"{CEILING_WORDS}: with {n_test} test images it cannot exceed log {n_test}, "
                "whatever the encoder. The KL term splits as KL = I(x; z) + KL(q(z) ‖ p(z)) "
                f"(Hoffman & Johnson 2016), but with I(x; z) at its ceiling the remainder, "
                f"{fmt(rest)} of the {fmt(kl)} nats (`kl_minus_mi_nats`, `kl_nats`), inherits "
                f"that: it too is {CEILING_WORDS}, and is not read here as how far the "
                "aggregate posterior is from the prior." + check)
    text += (f". The KL term splits as KL = I(x; z) + KL(q(z) ‖ p(z)) (Hoffman & Johnson "
             f"2016): of its {fmt(kl)} nats (`kl_nats`), {fmt(mi)} pay for information about x, "
             f"and the remainder, {fmt(rest)} nats (`kl_minus_mi_nats`), is how far the "
             "aggregate posterior is from the prior." + check)
    word = compare_words(fit, rest)
    return text + (f" The full-covariance gaussian fit of the codes is {fmt(fit)} nats from the "
                   f"prior (`latent_kl_to_prior_nats`), {word} that remainder"
                   + (": a gaussian fit sees only the first two moments of q(z)."
                      if word == "lower than" else "."))


# --------------------------------------------------------------------------
# Section "Information theory, measured"
# --------------------------------------------------------------------------


def info_theory_blocks(inputs: ReportInputs) -> list[dict]:
    """(a) the reconstruction term as H(p) + KL(p ‖ q); (b) posterior vs prior; (c) the ELBO."""
    stats = inputs.latent_stats
    values = {c.key: {m: stats[m].get(c.key) for m in MODELS} for c in RECON_COLUMNS[:-1]}
    values["entropy_plus_kl"] = {m: float(stats[m]["data_entropy_nats"])
                                 + float(stats[m]["recon_kl_nats"]) for m in MODELS}
    return [
        para("(a) The reconstruction term as a cross-entropy. Read each pixel's target "
             "x_i ∈ [0, 1] as a Bernoulli distribution p_i and the decoder's mean x̂_i as q_i; "
             "the binary cross-entropy the models minimise is then Σ_i H(p_i, q_i) = "
             "Σ_i H(p_i) + Σ_i KL(p_i ‖ q_i), in nats per test image "
             "(`recon_cross_entropy_nats`, `data_entropy_nats`, `recon_kl_nats` in "
             "`metrics/latent_stats.json`)."),
        table_block("recon-entropy-table", "model", MODELS, RECON_COLUMNS, values),
        para(recon_identity_sentence(stats)),
        para(recon_floor_sentence(inputs)),
        para(posterior_identity_sentence(stats["vae"])),
        para(kl_asymmetry_sentence(stats["vae"])),
        para(f"(c) The third decomposition, −ELBO = recon + KL, is in {section_ref('vae')} "
             "with this run's numbers, and so is the ELBO's gap to log p(x), itself a KL: "
             "log p(x) − ELBO = KL(q(z|x) ‖ p(z|x)), the price of q(z|x) not being the true "
             "posterior."),
    ]


def recon_identity_sentence(stats: Mapping[str, dict]) -> str:
    """The computed check that cross-entropy = entropy + KL for each model."""
    ce = {m: float(stats[m]["recon_cross_entropy_nats"]) for m in MODELS}
    split = {m: float(stats[m]["data_entropy_nats"]) + float(stats[m]["recon_kl_nats"])
             for m in MODELS}
    diff = {m: split[m] - ce[m] for m in MODELS}
    worst = max(diff, key=lambda m: abs(diff[m]))
    if all(_holds(ce[m], split[m]) for m in MODELS):
        return (f"Check: H(p) + KL(p ‖ q) equals H(p, q) for {', '.join(MODELS)}; the largest "
                f"difference is {fmt(abs(diff[worst]))} nats ({worst}).")
    return (f"Check failed: H(p) + KL(p ‖ q) − H(p, q) is {fmt(diff[worst])} nats for {worst}; "
            "rerun latent_stats.")


def recon_floor_sentence(inputs: ReportInputs) -> str:
    """Cross-entropy = likelihood; the entropy is the floor; who is closest; the VAE's reading."""
    stats, tm = inputs.latent_stats, inputs.train_metrics
    floors = {m: float(stats[m]["data_entropy_nats"]) for m in MODELS}
    floor = floors["vae"]
    zero = ("on grey-level pixels the best achievable reconstruction NLL is this entropy, "
            "not 0" if floor > 0 else "the test pixels are binary, so the floor is 0")
    kl = {m: float(stats[m]["recon_kl_nats"]) for m in MODELS}
    order = " < ".join(f"{m} {fmt(kl[m])}" for m in sorted(MODELS, key=kl.get))
    ce, recon = float(stats["vae"]["recon_cross_entropy_nats"]), float(tm["vae"]["test"]["recon"])
    text = (f"H(p) does not depend on the decoder, so minimising the cross-entropy is minimising "
            f"KL(p ‖ q), which is maximising the likelihood the decoder gives the test images. "
            f"The data's own entropy, {fmt(floor)} nats per image (`data_entropy_nats`), is a "
            f"floor no decoder can beat: {zero}. "
            f"Distance above the floor, KL(p ‖ q) (`recon_kl_nats`): {order} nats.")
    if len(set(floors.values())) > 1:
        text += " Warning: the models' `data_entropy_nats` differ, though the test images are one."
    text += (f" The VAE's decoder is read here at the posterior mean, so its cross-entropy "
             f"({fmt(ce)}) is {compare_words(ce, recon)} its training recon term `test.recon` "
             f"({fmt(recon)}), which averages over z ~ q(z|x).")
    if any(tm[m]["likelihood"] != "bernoulli" for m in MODELS):
        text += (" The models were trained with a gaussian likelihood: this is the Bernoulli "
                 "reading of their decoded means, not their training loss.")
    return text


def posterior_identity_sentence(vae: Mapping[str, float]) -> str:
    """H(q, p) = H(q) + KL(q ‖ p) for the VAE's posteriors against the prior."""
    ce, h = float(vae["posterior_cross_entropy_nats"]), float(vae["posterior_entropy_nats"])
    kl = float(vae["kl_q_p_nats"])
    check = ("the identity holds" if _holds(ce, h + kl)
             else f"the identity fails by {fmt(ce - h - kl)} nats; rerun latent_stats")
    return (f"(b) The VAE's posteriors against its prior, q = q(z|x) and p = N(0, I), averaged "
            f"over the test images: H(q, p) = {fmt(ce)} nats (`posterior_cross_entropy_nats`) "
            f"= H(q) {fmt(h)} (`posterior_entropy_nats`, a differential entropy, which may be "
            f"negative) + KL(q ‖ p) {fmt(kl)} (`kl_q_p_nats`); H(q) + KL(q ‖ p) = "
            f"{fmt(h + kl)}, so {check}.")


def kl_asymmetry_sentence(vae: Mapping[str, float]) -> str:
    """KL(q ‖ p) against KL(p ‖ q), and why the ELBO has the first."""
    qp, pq, term = float(vae["kl_q_p_nats"]), float(vae["kl_p_q_nats"]), float(vae["kl_nats"])
    word = compare_words(pq, qp)
    size = (f", {fmt(pq / qp, 3)} times KL(q ‖ p)" if qp > 0 and word != "equal to" else "")
    same = ("equal to" if math.isclose(qp, term, rel_tol=1e-6) else "not equal to")
    return (f"KL is not symmetric: KL(q ‖ p) = {fmt(qp)} nats (`kl_q_p_nats`) but KL(p ‖ q) = "
            f"{fmt(pq)} nats (`kl_p_q_nats`), {word} it{size}. The ELBO uses KL(q ‖ p) = "
            "E_q[log q(z|x) − log p(z)]: the ELBO is an expectation under q(z|x), the encoder's "
            "distribution that z is drawn from, so q comes first; here KL(q ‖ p) is "
            f"{same} the ELBO's KL term `kl_nats` ({fmt(term)}).")
