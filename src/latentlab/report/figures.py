"""The report's figures: pure functions from numpy arrays to matplotlib Figures.

The only module of latentlab that imports matplotlib. Every ``*_figure``
function takes arrays (pixels in [0, 1], losses in nats per example) and
returns a :class:`matplotlib.figure.Figure` built without pyplot, so no global
state leaks between figures. :func:`png_bytes` renders one deterministically
(Agg backend, fixed dpi, no ``Software`` or date metadata in the PNG) and
:func:`save_png` writes those bytes atomically.
"""

from __future__ import annotations

import io as _bytes_io
import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import matplotlib.patches

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from latentlab.io import atomic_write_bytes  # noqa: E402

DPI = 100
IMAGE_CMAP = "gray_r"  # ink dark on white, as digits are usually drawn
LABEL_CMAP = "tab10"
TRAIN_STYLE = {"color": "tab:blue", "label": "train"}
VAL_STYLE = {"color": "tab:orange", "label": "val"}
PRIOR_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.0}
GAP_COLOUR = "#c8d4e3"  # the gutters between tiled images, distinct from any pixel value
MAX_TICKED_DIMS = 16  # beyond this, latent dimensions get matplotlib's default ticks
ACTIVE_COLOUR, INACTIVE_COLOUR = "tab:blue", "#b0b0b0"


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


def png_bytes(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes, identical for identical inputs.

    ``metadata={"Software": None}`` drops the matplotlib version; Agg writes no
    creation time, so the bytes depend only on the figure's content.
    """
    buffer = _bytes_io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def save_png(fig: Figure, path: str | Path) -> bytes:
    """Write ``fig`` as a PNG atomically (temp file + rename); return the bytes written."""
    data = png_bytes(fig)
    atomic_write_bytes(path, data)
    return data


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def _show_image(ax, pixels: np.ndarray, image_shape: Sequence[int]) -> None:
    """Draw one flattened image of shape (h * w,), clipped to [0, 1], without ticks."""
    ax.imshow(np.clip(pixels, 0.0, 1.0).reshape(image_shape), cmap=IMAGE_CMAP,
              vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def example_grid_figure(images: np.ndarray, titles: Sequence[str],
                        image_shape: Sequence[int], n_cols: int = 10) -> Figure:
    """A grid of images with one title each.

    Parameters
    ----------
    images : ndarray of shape (n, h * w)
        Pixels in [0, 1] (values outside are clipped for display).
    titles : sequence of n str
    image_shape : (h, w)
    n_cols : int
        Images per row.
    """
    n = len(images)
    n_cols = max(1, min(n_cols, n))
    n_rows = math.ceil(n / n_cols)
    fig = Figure(figsize=(1.1 * n_cols, 1.3 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _show_image(ax, images[i], image_shape)
            ax.set_title(titles[i], fontsize=9)
        else:
            ax.set_axis_off()
    return fig


def reconstruction_figure(inputs: np.ndarray, recons: Mapping[str, np.ndarray],
                          image_shape: Sequence[int]) -> Figure:
    """Rows: the inputs, then one row per method's reconstructions of the same images.

    Each row is one image strip (:func:`_show_mosaic`) in one axes: the same picture
    as an axes per image, at a tenth of the drawing time (matplotlib's cost is
    per axes: ticks, layout), which made this figure the report's slowest.

    Parameters
    ----------
    inputs : ndarray of shape (n, h * w)
        Test images in [0, 1].
    recons : mapping of row label -> ndarray of shape (n, h * w)
        Reconstructions in the order of ``inputs`` (clipped to [0, 1] for display).
    image_shape : (h, w)
    """
    rows = {"input": inputs, **recons}
    n = len(inputs)
    fig = Figure(figsize=(0.9 * n + 0.8, 0.95 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, (label, images) in zip(axes, rows.items()):
        _show_mosaic(ax, images[:n], image_shape, n_cols=n)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
    return fig


def _show_mosaic(ax, images: np.ndarray, image_shape: Sequence[int],
                 n_cols: int | None = None) -> None:
    """Draw (n, h * w) images tiled by :func:`_mosaic` in ``ax``, gutters in GAP_COLOUR, no
    ticks: one axes for many images (``n_cols=len(images)`` makes one row, a strip)."""
    cmap = matplotlib.colormaps[IMAGE_CMAP].with_extremes(bad=GAP_COLOUR)
    ax.imshow(_mosaic(images, image_shape, n_cols=n_cols), cmap=cmap, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _mosaic(images: np.ndarray, image_shape: Sequence[int], pad: int = 1,
            n_cols: int | None = None) -> np.ndarray:
    """Tile (n, h * w) images row-major into one array, near-square unless ``n_cols`` is given.

    Gutters and empty cells are NaN.
    """
    h, w = image_shape
    n_cols = n_cols or math.ceil(math.sqrt(len(images)))
    n_rows = math.ceil(len(images) / n_cols)
    canvas = np.full((n_rows * (h + pad) - pad, n_cols * (w + pad) - pad), np.nan)
    for i, pixels in enumerate(np.clip(images, 0.0, 1.0)):
        r, c = divmod(i, n_cols)
        canvas[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = \
            pixels.reshape(h, w)
    return canvas


def prior_samples_figure(samples: Mapping[str, np.ndarray],
                         image_shape: Sequence[int]) -> Figure:
    """One mosaic per model, side by side, of images decoded from z ~ N(0, I).

    Parameters
    ----------
    samples : mapping of model -> ndarray of shape (n, h * w)
        Decoded pixel means in [0, 1].
    image_shape : (h, w)
    """
    fig = Figure(figsize=(3.2 * len(samples), 3.5), layout="constrained")
    axes = fig.subplots(1, len(samples), squeeze=False)[0]
    for ax, (model, images) in zip(axes, samples.items()):
        _show_mosaic(ax, images, image_shape)
        ax.set_title(f"{model}: decode(z), z ~ N(0, I)", fontsize=10)
    return fig


def prior_grid_figure(grids: Mapping[str, np.ndarray], image_shape: Sequence[int]) -> Figure:
    """One s × s mosaic per 2-D model: images decoded on a grid of the prior's quantiles.

    Parameters
    ----------
    grids : mapping of model -> ndarray of shape (s * s, h * w)
        Decoded pixel means, row-major with the first latent coordinate varying
        slowest: row i, column j decodes (q_i, q_j), both increasing.
    image_shape : (h, w)
    """
    fig = Figure(figsize=(4.6 * len(grids), 4.9), layout="constrained")
    axes = fig.subplots(1, len(grids), squeeze=False)[0]
    for ax, (model, images) in zip(axes, grids.items()):
        side = math.isqrt(len(images))
        _show_mosaic(ax, images, image_shape, n_cols=side)
        ax.set_title(f"{model}: {side} × {side} prior quantiles", fontsize=10)
        ax.set_ylabel("z1 quantile, increasing down")
        ax.set_xlabel("z2 quantile, increasing right")
    return fig


def interpolation_figure(paths: Mapping[str, np.ndarray], ends: np.ndarray,
                         end_titles: Sequence[str], image_shape: Sequence[int]) -> Figure:
    """One row per model: the decoded straight line between two codes, framed by the true images.

    Each row is one image strip (:func:`_show_mosaic`): true image a, the decoded
    points, true image b; the columns are named once, above the first row.

    Parameters
    ----------
    paths : mapping of model -> ndarray of shape (steps, h * w)
        Decoded pixel means; row 0 decodes image a's code, the last row image b's.
    ends : ndarray of shape (2, h * w)
        The true test images a and b, drawn in the first and the last column.
    end_titles : (title of a, title of b)
    image_shape : (h, w)
    """
    steps = len(next(iter(paths.values())))
    h, w = image_shape
    fig = Figure(figsize=(0.85 * (steps + 2) + 0.8, 1.0 * len(paths) + 0.6),
                 layout="constrained")
    axes = fig.subplots(len(paths), 1, squeeze=False)[:, 0]
    t = np.linspace(0.0, 1.0, steps)
    for ax, (model, images) in zip(axes, paths.items()):
        _show_mosaic(ax, np.concatenate([ends[:1], images, ends[1:]]), image_shape,
                     n_cols=steps + 2)
        ax.set_ylabel(model, rotation=0, ha="right", va="center", fontsize=10)
    top = axes[0]
    top.xaxis.tick_top()
    top.set_xticks([(w + 1) * c + (w - 1) / 2 for c in range(steps + 2)],
                   [end_titles[0], *(f"t={v:.2f}" for v in t), end_titles[1]],
                   fontsize=7, rotation=0)
    top.tick_params(axis="x", length=0)
    return fig


# --------------------------------------------------------------------------
# Curves and bars
# --------------------------------------------------------------------------


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


def sweep_figure(sweep: Mapping[str, np.ndarray], noise_type: str,
                 marked_level: float | None = None, marked_label: str = "") -> Figure:
    """Recon MSE, kNN and probe accuracy of the DAE against its corruption level, one panel each.

    The best level of each panel gets a star; ``marked_level`` (if given) a dotted line.
    A score missing from ``sweep`` (the accuracies, for a data set without labels) has no
    panel.

    Parameters
    ----------
    sweep : {"levels", "recon_mse", optionally "knn_accuracy", "probe_accuracy"}
        Arrays of shape (n_levels,), sorted by level; scores on clean test inputs.
    noise_type : str
        The corruption, named on the x axis (masking: the fraction of pixels zeroed).
    """
    panels = [panel for panel in (("recon_mse", "recon MSE ↓", np.argmin),
                                  ("knn_accuracy", "kNN accuracy ↑", np.argmax),
                                  ("probe_accuracy", "probe accuracy ↑", np.argmax))
              if panel[0] in sweep]
    fig = Figure(figsize=(13.0 * len(panels) / 3 + 0.5 * (len(panels) < 3), 3.6),
                 layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    levels = sweep["levels"]
    for ax, (key, title, pick) in zip(axes, panels):
        ax.plot(levels, sweep[key], marker="o", color="tab:blue")
        best = int(pick(sweep[key]))
        ax.plot(levels[best], sweep[key][best], marker="*", markersize=14, color="tab:red",
                linestyle="none", label=f"best: {levels[best]:g}")
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


# --------------------------------------------------------------------------
# Embeddings
# --------------------------------------------------------------------------


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
