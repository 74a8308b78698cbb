"""What every figure of the report shares: the Agg backend, the styles, deterministic PNGs.

The figure modules (:mod:`~latentlab.report.figures_images`,
:mod:`~latentlab.report.figures_curves`, :mod:`~latentlab.report.figures_latent`)
and this one are the only modules of latentlab that import matplotlib. Their
``*_figure`` functions take arrays (pixels in [0, 1], losses in nats per example)
and return a :class:`matplotlib.figure.Figure` built without pyplot, so no global
state leaks between figures. :func:`png_bytes` renders one deterministically
(Agg backend, fixed dpi, no ``Software`` or date metadata in the PNG) and
:func:`save_png` writes those bytes atomically.
"""

from __future__ import annotations

import io as _bytes_io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

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
