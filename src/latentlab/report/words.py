"""The report's shared vocabulary: number formatting, comparisons, section numbers.

Every module that writes report text (the ``sections_*`` modules and
:mod:`latentlab.report.contents`) uses these helpers, so a number prints the
same way everywhere and a comparison's direction is always computed the same
way; the blocks they return are built with :mod:`latentlab.report.blocks`.
Plain strings only: nothing here knows of files, figures' pixels or templates.
"""

from __future__ import annotations

import math
from typing import Mapping

DASH = "—"
# Said wherever a label-based metric would be, for a data set without labels.
NO_LABELS = "no labels: kNN and probe accuracy are skipped"
NO_LABELS_SENTENCE = "No labels: kNN and probe accuracy are skipped"
# Where the wall times are, said wherever the report used to show them (design rule 14).
TIMINGS_SENTENCE = ("Wall times are logged to each stage's MLflow run (`fit_seconds`) and to "
                    "the git-ignored `timings/` folder; they are not results.")

# The report's sections in order, as (id, title); numbered from 1 by position so a
# cross-reference ("section 7") follows the order when a section is added. The verdict
# first (which method is best for what, and how sure); then the story: the data, the linear
# and the nonlinear baseline, the three autoencoders, all methods side by side, what the
# latent spaces look like, and where the numbers came from. What changed since the last
# commit is not a section: it depends on git, which the report does not read
# (latentlab.report.changes prints it).
SECTIONS = (
    ("verdict", "Verdict"),
    ("data", "Data set"),
    ("pca", "Linear baseline: PCA"),
    ("tsne", "Nonlinear baseline: t-SNE"),
    ("ae", "Autoencoder (AE)"),
    ("dae", "Denoising autoencoder (DAE)"),
    ("dae-sweep", "DAE corruption sweep"),
    ("vae", "Variational autoencoder (VAE)"),
    ("info", "Information theory, measured"),
    ("comparison", "Comparison of all methods"),
    ("latent", "Latent spaces"),
    ("provenance", "Provenance"),
)


def section_ref(section_id: str) -> str:
    """``"section 7"`` for the section with that id (its number follows :data:`SECTIONS`)."""
    ids = [sid for sid, _ in SECTIONS]
    return f"section {ids.index(section_id) + 1}"


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 4) -> str:
    """``digits`` significant digits, positional between 1e-3 and 1e5, else scientific.

    ``None`` becomes "—" (a method that has no such value).
    """
    if value is None:
        return DASH
    value = float(value)
    if value == 0.0 or not math.isfinite(value):
        return "0" if value == 0.0 else str(value)
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 5:
        return f"{value:.{max(0, digits - 1 - exponent)}f}"
    return f"{value:.{digits - 1}e}"


def pct(fraction: float) -> str:
    """A fraction in [0, 1] as a percentage with one decimal."""
    return f"{100.0 * fraction:.1f}%"


def compare_words(a: float, b: float) -> str:
    """How ``a`` compares with ``b``: "lower than", "higher than" or "equal to"."""
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return "equal to"
    return "lower than" if a < b else "higher than"


def best_keys(values: Mapping[str, float | None], better: str) -> set[str]:
    """The keys holding the best value ("max" or "min"); ties all win; None never does."""
    present = {k: float(v) for k, v in values.items() if v is not None}
    if not present:
        return set()
    target = max(present.values()) if better == "max" else min(present.values())
    return {k for k, v in present.items() if math.isclose(v, target, rel_tol=1e-12)}
