"""The report's figures of the latent codes: per-dimension statistics and 2-D embeddings.

The VAE's KL and activity per latent dimension, every method's per-dimension
mean and variance against the prior N(0, I), and the test codes in 2-D, one
panel per method.
"""

from __future__ import annotations

import math
from typing import Mapping

import matplotlib
import matplotlib.patches
import numpy as np
from matplotlib.figure import Figure

from latentlab.report.figures_render import (
    ACTIVE_COLOUR,
    INACTIVE_COLOUR,
    LABEL_CMAP,
    MAX_TICKED_DIMS,
    PRIOR_STYLE,
)


def kl_per_dim_figure(table: Mapping[str, np.ndarray]) -> Figure:
    """Two panels: the VAE's KL per latent dimension, and the variance of its posterior means.

    Active dimensions are drawn in colour, inactive (collapsed) ones in grey.

    Parameters
    ----------
    table : {"dim", "kl_nats", "code_variance", "active"}
        Arrays of shape (latent_dim,); KL in nats averaged over the test split,
        code_variance = Cov_x(E_q[z_i]), active a bool.
    """
    colours = np.where(table["active"], ACTIVE_COLOUR, INACTIVE_COLOUR)
    fig = Figure(figsize=(10.0, 3.9), layout="constrained")
    left, right = fig.subplots(1, 2)
    bars = left.bar(table["dim"], table["kl_nats"], color=colours)
    if len(table["dim"]) <= MAX_TICKED_DIMS:  # values on the bars: collapsed ones are invisible
        left.bar_label(bars, fmt="%.2g", fontsize=7)
    left.set_ylabel("KL(q(z_i|x) ‖ p(z_i)), nats")
    left.set_title("vae: KL per latent dimension (test mean)", fontsize=10)
    right.bar(table["dim"], table["code_variance"], color=colours)
    prior = right.axhline(1.0, **PRIOR_STYLE, label="prior variance 1")
    right.set_yscale("log")
    right.set_ylabel("Var over x of E_q[z_i]")
    right.set_title("vae: activity per latent dimension", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("latent dimension")
        if len(table["dim"]) <= MAX_TICKED_DIMS:
            ax.set_xticks(table["dim"])
        ax.grid(axis="y", alpha=0.3)
    handles = [matplotlib.patches.Patch(color=ACTIVE_COLOUR, label="active"),
               matplotlib.patches.Patch(color=INACTIVE_COLOUR, label="inactive (collapsed)"),
               prior]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, fontsize=8)
    return fig


def moments_figure(moments: Mapping[str, Mapping[str, np.ndarray]]) -> Figure:
    """Per-dimension mean (top row) and variance (bottom row) of the test codes, per method.

    The prior N(0, I) is drawn as dashed lines at mean 0 and variance 1. Each
    panel has its own scale (t-SNE's coordinates are far larger than the
    others'); the variance axis is logarithmic.

    Parameters
    ----------
    moments : mapping of method -> {"dim", "mean", "var"}
        Arrays of shape (latent_dim,).
    """
    fig = Figure(figsize=(3.2 * len(moments), 5.4), layout="constrained")
    axes = fig.subplots(2, len(moments), squeeze=False)
    for c, (method, m) in enumerate(moments.items()):
        top, bottom = axes[0, c], axes[1, c]
        top.bar(m["dim"], m["mean"], color="tab:blue")
        top.axhline(0.0, **PRIOR_STYLE)
        top.set_title(f"{method}: mean per dim", fontsize=10)
        bottom.bar(m["dim"], m["var"], color="tab:green")
        bottom.axhline(1.0, **PRIOR_STYLE)
        bottom.set_yscale("log")
        bottom.set_title(f"{method}: variance per dim", fontsize=10)
        bottom.set_xlabel("latent dimension")
        for ax in (top, bottom):
            if len(m["dim"]) <= MAX_TICKED_DIMS:
                ax.set_xticks(m["dim"])
            ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("mean (prior: 0)")
    axes[1, 0].set_ylabel("variance (prior: 1)")
    return fig


def embeddings_figure(embeddings: Mapping[str, Mapping[str, np.ndarray]],
                      axis_names: Mapping[str, tuple[str, str]], n_cols: int = 3,
                      labelled: bool = True) -> Figure:
    """A grid of 2-D scatters of the test codes, one panel per method, coloured by label.

    Parameters
    ----------
    embeddings : mapping of method -> {"x", "y", "label"}
        Arrays of shape (n_points,) (the number may differ between methods); labels
        are integer classes.
    axis_names : mapping of method -> (x axis name, y axis name)
        e.g. ``("z1", "z2")`` for 2-D codes, ``("PC1", "PC2")`` for projections.
    n_cols : int
        Panels per row; one spare cell (or an extra one) holds the legend.
    labelled : bool
        False for a data set without labels: every point in one colour, and the spare
        cell says so instead of holding a legend.
    """
    if not labelled:
        embeddings = {m: {**e, "label": np.zeros(len(e["x"]), np.int64)}
                      for m, e in embeddings.items()}
    n_rows = math.ceil((len(embeddings) + 1) / n_cols)
    fig = Figure(figsize=(4.2 * n_cols, 3.9 * n_rows), layout="constrained")
    axes = list(fig.subplots(n_rows, n_cols, squeeze=False).flat)
    labels = np.unique(np.concatenate([e["label"] for e in embeddings.values()]))
    colours = matplotlib.colormaps[LABEL_CMAP].resampled(max(len(labels), 1))
    for ax, (method, e) in zip(axes, embeddings.items()):
        for i, label in enumerate(labels):
            mask = e["label"] == label
            ax.scatter(e["x"][mask], e["y"][mask], s=6, color=colours(i), label=str(label))
        ax.set_title(method, fontsize=11)
        ax.set_xlabel(axis_names[method][0])
        ax.set_ylabel(axis_names[method][1])
        ax.set_xticks([])
        ax.set_yticks([])
    spare = axes[len(embeddings):]
    for ax in spare:
        ax.set_axis_off()
    if not labelled:
        spare[0].text(0.5, 0.5, "no labels:\none colour", ha="center", va="center",
                      fontsize=10, transform=spare[0].transAxes)
        return fig
    # every panel scatters the same classes in the same colours: one shared legend
    handles, names = axes[0].get_legend_handles_labels()
    spare[0].legend(handles, names, title="label", loc="center", ncols=2, markerscale=3,
                    fontsize=9)
    return fig
