"""The report's curves and bars of the training and of the fits.

Train and val losses per epoch with the epoch kept (AE, DAE, and the VAE's
recon, KL, ELBO and KL weight), PCA's explained variance, and the DAE sweep's
scores against the corruption level. Losses are in nats per example.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure

from latentlab.report.figures_render import TRAIN_STYLE, VAL_STYLE


def _curve(ax, epoch: np.ndarray, train: np.ndarray, val: np.ndarray, title: str,
           ylabel: str, best_epoch: int | None) -> None:
    """Train and val values per epoch on one axis, with the best epoch marked."""
    ax.plot(epoch, train, **TRAIN_STYLE)
    ax.plot(epoch, val, **VAL_STYLE)
    if best_epoch is not None:
        ax.axvline(best_epoch, color="grey", linestyle=":", linewidth=1.0,
                   label=f"best epoch {best_epoch}")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def recon_curves_figure(curves: Mapping[str, Mapping[str, np.ndarray]],
                        best_epochs: Mapping[str, int]) -> Figure:
    """One panel per model: train and val reconstruction NLL per epoch.

    Parameters
    ----------
    curves : mapping of model -> {"epoch", "train_recon", "val_recon"}
        Arrays of shape (n_epochs,); recon in nats per example.
    best_epochs : mapping of model -> the epoch whose weights were kept
    """
    fig = Figure(figsize=(5.0 * len(curves), 3.6), layout="constrained")
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (model, c) in zip(axes, curves.items()):
        title = f"{model}: reconstruction" + (" (trained on corrupted x)" if model == "dae" else "")
        _curve(ax, c["epoch"], c["train_recon"], c["val_recon"], title,
               "recon NLL (nats per example)", best_epochs.get(model))
    return fig


def elbo_curves_figure(curves: Mapping[str, np.ndarray], best_epoch: int | None) -> Figure:
    """Four panels: the VAE's recon, KL and ELBO per epoch (train and val), and the KL weight.

    Parameters
    ----------
    curves : {"epoch", "train_recon", "val_recon", "train_kl", "val_kl", "train_elbo",
              "val_elbo", "train_beta"}
        Arrays of shape (n_epochs,), nats per example; ``train_beta`` is the effective
        weight of the KL in the training loss at each epoch (β times the schedule).
    best_epoch : int or None
    """
    panels = (("recon", "recon NLL  −E_q log p(x|z)"), ("kl", "KL(q(z|x) ‖ p(z))"),
              ("elbo", "ELBO = −recon − KL (unweighted)"))
    fig = Figure(figsize=(11.0, 7.2), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (term, title) in zip(axes, panels):
        _curve(ax, curves["epoch"], curves[f"train_{term}"], curves[f"val_{term}"],
               f"vae: {title}", "nats per example", best_epoch)
    ax = axes[3]
    ax.plot(curves["epoch"], curves["train_beta"], color="tab:green", label="effective β")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="grey", linestyle=":", linewidth=1.0,
                   label=f"best epoch {best_epoch}")
    ax.set_ylim(bottom=0.0, top=max(1.05 * float(np.max(curves["train_beta"])), 1e-3))
    ax.set_title("vae: KL weight in the training loss (train/beta)", fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_ylabel("β")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def explained_variance_figure(ratio: np.ndarray) -> Figure:
    """PCA: the explained variance ratio per component (bars) and its cumulative sum (line).

    Parameters
    ----------
    ratio : ndarray of shape (n_components,)
        Fractions of the training variance in [0, 1].
    """
    k = np.arange(1, len(ratio) + 1)
    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.bar(k, ratio, color="tab:blue", label="per component")
    ax.plot(k, np.cumsum(ratio), marker="o", color="tab:red", label="cumulative")
    ax.set_ylim(0.0, 1.0)
    ax.set_xticks(k)
    ax.set_xlabel("principal component")
    ax.set_ylabel("fraction of training variance")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def sweep_figure(sweep: Mapping, noise_type: str, marked_level: float | None = None,
                 marked_label: str = "") -> Figure:
    """Recon MSE, kNN and probe accuracy of the DAE against its corruption level, one panel each.

    Each point has its bootstrap interval as an error bar. A star marks only a best level
    the verdict decides (beyond noise); when the verdict is undecided the tied leaders get
    the same hollow circle, and none a star. ``marked_level`` (if given) gets a dotted line.
    A score missing from ``sweep`` (the accuracies, for a data set without labels) has no
    panel.

    Parameters
    ----------
    sweep : {"levels", "keys", "verdict", <score>, <score>_ci_low, <score>_ci_high}
        As :func:`~latentlab.report.inputs_files.read_dae_sweep` returns it: arrays of
        shape (n_levels,) sorted by level, scores on clean test inputs; ``keys`` the
        file's key per level, which ``verdict[<score>]`` (``top``, ``leaders``,
        ``decided``) names the levels by.
    noise_type : str
        The corruption, named on the x axis (masking: the fraction of pixels zeroed).
    """
    panels = [panel for panel in (("recon_mse", "recon MSE ↓"), ("knn_accuracy", "kNN accuracy ↑"),
                                  ("probe_accuracy", "probe accuracy ↑"))
              if panel[0] in sweep]
    fig = Figure(figsize=(13.0 * len(panels) / 3 + 0.5 * (len(panels) < 3), 3.6),
                 layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    levels, keys = np.asarray(sweep["levels"], float), list(sweep["keys"])
    for ax, (key, title) in zip(axes, panels):
        values = np.asarray(sweep[key], float)
        low, high = (np.asarray(sweep[f"{key}_ci_{end}"], float) for end in ("low", "high"))
        # the bar spans the interval itself: a percentile interval need not hold its value
        ax.errorbar(levels, (low + high) / 2, yerr=(high - low) / 2, fmt="none",
                    ecolor="tab:blue", elinewidth=1.0, capsize=3, alpha=0.6)
        ax.plot(levels, values, marker="o", color="tab:blue", label="score (bars: interval)")
        verdict = sweep["verdict"][key]
        if verdict["decided"]:
            best = keys.index(verdict["top"])
            ax.plot(levels[best], values[best], marker="*", markersize=14, color="tab:red",
                    linestyle="none", label=f"best beyond noise: {levels[best]:g}")
        elif len(verdict["leaders"]) > 1:
            tied = [keys.index(k) for k in verdict["leaders"]]
            ax.plot(levels[tied], values[tied], marker="o", markersize=11, linestyle="none",
                    markerfacecolor="none", markeredgecolor="tab:red", markeredgewidth=1.5,
                    label="tied leaders")
        if marked_level is not None:
            ax.axvline(marked_level, color="grey", linestyle=":", linewidth=1.0,
                       label=marked_label)
        ax.set_title(f"dae: {title}", fontsize=10)
        ax.set_xlabel(f"{noise_type} level" + (" (fraction of pixels zeroed)"
                                                if noise_type == "masking" else ""))
        ax.set_xticks(levels)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig
