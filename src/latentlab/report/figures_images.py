"""The report's image figures: grids and strips of pictures, decoded or from the data.

Example images, reconstructions, images decoded from the prior (samples and the
quantile grid) and the interpolation between two codes. Pixels are in [0, 1];
values outside are clipped for display. Many images share one axes where they
can (:func:`_show_mosaic`): matplotlib's cost is per axes.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from latentlab.report.figures_render import GAP_COLOUR, IMAGE_CMAP


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
