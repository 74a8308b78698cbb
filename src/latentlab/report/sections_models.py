"""The report's model sections: "Autoencoder (AE)", "Denoising autoencoder (DAE)" and the VAE's.

Each says what the model is, how its training went (the epoch kept, early
stopping, the test recon NLL, from ``metrics/train/<model>.json`` and
``plots/train/<model>.csv``) and how it compares with the AE. The VAE's section
adds its ELBO decomposition, the likelihood against the data
(:mod:`latentlab.report.sections_data`), β and its KL schedule, and the
information-theoretic paragraphs of :mod:`latentlab.report.sections_info`.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from latentlab.params import TrainParams
from latentlab.report.blocks import FigureRef
from latentlab.report.blocks import figure as _fig
from latentlab.report.blocks import para as _p
from latentlab.report.inputs import ReportInputs
from latentlab.report.sections_data import likelihood_note, likelihood_words
from latentlab.report.sections_info import vae_info_blocks
from latentlab.report.verdicts import pair_relation, with_interval
from latentlab.report.words import (
    DASH,
    NO_LABELS,
    NO_LABELS_SENTENCE,
    compare_words,
    fmt,
    pct,
)


def stopping_words(p: TrainParams, stopped_early: bool) -> str:
    """How a run ended, and the rule that ended it (``train.common.patience`` and
    ``min_rel_improvement``: :func:`latentlab.train.loop.fit`)."""
    gain = ("improving" if p.min_rel_improvement == 0 else
            f"improving by more than {p.min_rel_improvement:.2%} "
            f"(`train.common.min_rel_improvement`: {p.min_rel_improvement:g})")
    if stopped_early:
        return (f"stopped early: {p.patience} epochs (`train.common.patience`) passed without "
                f"the validation loss {gain}")
    return (f"ran its full epoch budget of {p.epochs} (`train.common.epochs`): it never went "
            f"{p.patience} epochs without the validation loss {gain}")


def _training_sentence(model: str, metrics: dict, curves: Mapping[str, np.ndarray],
                       p: TrainParams, likelihood: str | None = None) -> str:
    """Best epoch, stopping, recon at the best epoch, and the test recon NLL of one model."""
    best, run = int(metrics["best_epoch"]), int(metrics["epochs_run"])
    stop = stopping_words(p, bool(metrics["stopped_early"]))
    at_best = np.flatnonzero(curves["epoch"] == best)
    inputs = " (both on corrupted inputs)" if model == "dae" else ""
    curve = (f"; at that epoch train recon {fmt(curves['train_recon'][at_best[0]])}, val recon "
             f"{fmt(curves['val_recon'][at_best[0]])}{inputs}" if len(at_best) else "")
    test = metrics["test"]
    return (f"{model.upper()}: the validation loss was lowest at epoch {best} of {run} "
            f"({stop}){curve} nats per example. Test recon NLL {fmt(test['recon'])} nats per "
            f"example, {fmt(test['bits_per_dim'])} bits per dim (`test.recon`, "
            f"`test.bits_per_dim`; {likelihood or metrics['likelihood'] + ' likelihood'}).")


def ae_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The AE's section: the model, its training, its codes."""
    ae = inputs.latent_stats["ae"]
    return [
        _p("The AE is an MLP encoder to a latent code and a mirrored decoder back to the "
           "image, trained to reconstruct its input; nothing constrains where its codes lie."),
        _p(_training_sentence("ae", inputs.train_metrics["ae"], inputs.curves["ae"],
                              inputs.train_params["ae"], likelihood_words(inputs, "ae"))),
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


def dae_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The DAE's section: the model, its training, against the AE on clean inputs."""
    tm, stats = inputs.train_metrics, inputs.latent_stats
    ae, dae = tm["ae"]["test"]["recon"], tm["dae"]["test"]["recon"]
    recon = (f"On clean test images the DAE's recon NLL is {compare_words(dae, ae)} the AE's "
             f"({fmt(dae)} vs {fmt(ae)} nats per example, `test.recon`)")
    if inputs.has_labels:
        word, evidence = pair_relation(inputs.verdict, "knn_accuracy", stats, "dae", "ae")
        recon += (f", and its kNN accuracy is {word} the AE's "
                  f"({with_interval(stats['dae'], 'knn_accuracy')} vs "
                  f"{with_interval(stats['ae'], 'knn_accuracy')}, `knn_accuracy`; {evidence}).")
    else:
        recon += f". {NO_LABELS_SENTENCE}."
    return [
        _p("The DAE is the AE's network trained on corrupted inputs to reconstruct the clean "
           "image; its training and validation curves are on corrupted inputs, its test "
           "numbers on clean test inputs, like the AE's. Masking scales the kept pixels by "
           "1/(1 − level), as dropout does, so a clean input is on average what the encoder "
           "saw in training (`train.dae.noise_type`)."),
        _p(_training_sentence("dae", tm["dae"], inputs.curves["dae"],
                              inputs.train_params["dae"], likelihood_words(inputs, "dae"))),
        _fig(refs["dae_curves"]),
        _p(recon),
    ]


def vae_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The VAE's section: −ELBO = recon + KL, the likelihood, β, the training, then the
    bound's tightness and the information paragraphs (:mod:`~latentlab.report.sections_info`)."""
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
                                        inputs.train_params["vae"],
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
    p = inputs.train_params["vae"]
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
