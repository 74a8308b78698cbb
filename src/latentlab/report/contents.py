"""The report's contents in order: the title, one caption per figure, the sections.

Each section is written by its own module from the numbers it cites
(``sections_*``: the verdict, the data set, the baselines, the
models, the DAE sweep, the information theory, the comparison, the latent spaces
and provenance; ``sections_changes`` words the separate "What changed" command, not a
section); this module only puts them in the order of
:data:`~latentlab.report.words.SECTIONS` and captions the figures. It returns
plain strings and dicts and knows nothing of files, figures' pixels or
templates, so the wording can be tested without rendering;
:mod:`latentlab.report.build` puts it on the page.
"""

from __future__ import annotations

from typing import Mapping

from latentlab.params import MODELS
from latentlab.report.blocks import FigureRef
from latentlab.report.inputs import METHODS, ReportInputs, prior_grid_models
from latentlab.report.sections_baselines import pca_blocks, tsne_blocks
from latentlab.report.sections_comparison import comparison_blocks
from latentlab.report.sections_data import data_blocks
from latentlab.report.sections_info import info_theory_blocks
from latentlab.report.sections_latent import embedded_counts, latent_blocks
from latentlab.report.sections_models import ae_blocks, dae_blocks, vae_blocks
from latentlab.report.sections_provenance import provenance_blocks
from latentlab.report.sections_sweep import sweep_blocks
from latentlab.report.sections_verdict import verdict_blocks
from latentlab.report.words import SECTIONS


def title(inputs: ReportInputs) -> str:
    return f"latentlab: AE, DAE and VAE against PCA and t-SNE on {inputs.source['name']}"


def captions(inputs: ReportInputs, n_examples: int) -> dict[str, str]:
    """One caption per figure name."""
    n = min(n_examples, len(inputs.splits["x_test"]))
    rows = ", ".join(["input"] + [m for m in METHODS if "recon_test" in inputs.codes[m]])
    a, b = (int(i) for i in inputs.walks["pair"])
    grid = prior_grid_models(inputs.walks)
    n_test = len(inputs.splits["x_test"])
    shown = embedded_counts(inputs)
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
                      "both on corrupted inputs (the val inputs corrupted once, with a fixed "
                      "seed; early stopping follows them); the test numbers in the text are "
                      "on clean inputs. The dotted line marks the epoch kept.",
        "vae_elbo_curves": "VAE: reconstruction, KL and ELBO per epoch (nats per example), "
                           "train and val, and the effective KL weight β of the training loss "
                           "(train_beta); the dotted line marks the epoch kept.",
        "embeddings": f"{points} in 2-D, one panel per method, {colours}.",
        "reconstructions": f"The first {n} test images (top row) and their reconstructions; "
                           f"rows: {rows}. Values outside [0, 1] are clipped for display.",
        "prior_samples": "Images decoded from z ~ N(0, I) by each model's decoder.",
        "latent_moments": "Per-dimension mean (top) and variance (bottom, log scale) of the "
                          "test codes; dashed: the prior N(0, I).",
        "dae_sweep": f"The DAE at each {inputs.dae_sweep['noise_type']} level of the sweep"
                     + (" (train.dae's own level from train@dae, not retrained)"
                        if inputs.dae_sweep["train_dae_level"] is not None else "")
                     + ", scored on clean test inputs; bars: each score's "
                     f"{100 * float(inputs.dae_sweep['protocol']['confidence']):g}% bootstrap "
                     "interval; star: a level best beyond noise (paired intervals), hollow "
                     "circles: levels tied for best, none starred; dotted: the level of the "
                     "source text's claim (about 25 %).",
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
    ``{"kind": "table", "table"}``, ``{"kind": "list", "items"}``,
    ``{"kind": "kv", "items"}`` or
    ``{"kind": "code", "summary", "language", "text"}``.
    """
    blocks = {
        "verdict": lambda: verdict_blocks(inputs),
        "data": lambda: data_blocks(inputs, refs),
        "comparison": lambda: comparison_blocks(inputs),
        "pca": lambda: pca_blocks(inputs, refs),
        "tsne": lambda: tsne_blocks(inputs),
        "ae": lambda: ae_blocks(inputs, refs),
        "dae": lambda: dae_blocks(inputs, refs),
        "dae-sweep": lambda: sweep_blocks(inputs.dae_sweep, refs),
        "vae": lambda: vae_blocks(inputs, refs),
        "info": lambda: info_theory_blocks(inputs),
        "latent": lambda: latent_blocks(inputs, refs),
        "provenance": lambda: provenance_blocks(inputs),
    }
    return [{"id": sid, "title": f"{i}. {name}", "blocks": blocks[sid]()}
            for i, (sid, name) in enumerate(SECTIONS, start=1)]
