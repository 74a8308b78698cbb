"""Orchestrate the comparison report: draw the figures and render the pages.

:func:`build_report` takes the :class:`~latentlab.report.inputs.ReportInputs`
that :func:`~latentlab.report.inputs_load.load_inputs` read and checked, draws the
figures (:mod:`~latentlab.report.figures_images`,
:mod:`~latentlab.report.figures_curves`, :mod:`~latentlab.report.figures_latent`),
asks :mod:`latentlab.report.contents` for the title, captions and sections, and
renders, under ``out_dir``:

``report.html``
    One self-contained page: inline CSS, figures embedded as base64 PNG data URIs.
``report.md``
    The same content; figures referenced as ``figures/<name>.png``.
``figures/<name>.png``
    Deterministic PNGs.

Only the wiring and the HTML/Markdown specifics live here, so reading inputs
and writing sentences stay testable on their own. The report holds no
timestamp or run id: it is a DVC output, and either would make it change on
every run. Nor does it read git (no commit, no "What changed": that is
:mod:`latentlab.report.changes`), so the same inputs give the same bytes in any
clone at any commit.

The stage imports the input names from here too (re-exported in ``__all__``).
Nothing in the report imports this module back: the types the sections share
(:class:`~latentlab.report.blocks.FigureRef`) live in :mod:`latentlab.report.blocks`.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Mapping

import jinja2
import markupsafe
import numpy as np

from latentlab.io import atomic_write_text
from latentlab.params import MODELS
from latentlab.report import figures_curves, figures_images, figures_latent
from latentlab.report.blocks import FigureRef
from latentlab.report.contents import captions, sections, title
from latentlab.report.figures_render import save_png
from latentlab.report.inputs import (
    METHODS,
    ReportInputs,
    ReportPaths,
    method_path,
    prior_grid_models,
)
from latentlab.report.inputs_load import load_inputs
from latentlab.report.sections_sweep import CLAIM_LABEL, CLAIM_LEVEL

__all__ = ["ReportPaths", "ReportInputs", "build_report", "load_inputs", "method_path"]

TEMPLATES = Path(__file__).parent / "templates"


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def _first_per_class(y: np.ndarray, limit: int = 20) -> np.ndarray:
    """Indices of the first example of each class (at most ``limit`` classes), by label."""
    labels = np.unique(y)[:limit]
    return np.array([int(np.flatnonzero(y == label)[0]) for label in labels])


UNLABELLED_EXAMPLES = 10  # test images shown for a data set without labels


def _examples(inputs: ReportInputs) -> tuple[np.ndarray, list[str]]:
    """The data set's example images and their titles: the first test image of each class,
    or, without labels, the first :data:`UNLABELLED_EXAMPLES` test images."""
    y = inputs.splits["y_test"]
    if not inputs.has_labels:
        first = np.arange(min(UNLABELLED_EXAMPLES, len(y)))
        return first, [f"test {int(i)}" for i in first]
    first = _first_per_class(y)
    return first, [f"label {int(y[i])}" for i in first]


def _pair_titles(inputs: ReportInputs, pair: list[int]) -> list[str]:
    y = inputs.splits["y_test"]
    if not inputs.has_labels:
        return [f"test {i}" for i in pair]
    return [f"test {i} (label {int(y[i])})" for i in pair]


def _figure_builders(inputs: ReportInputs, n_examples: int) -> dict[str, Any]:
    """name -> zero-argument function returning the Figure (built one at a time)."""
    s, shape = inputs.splits, tuple(int(v) for v in inputs.splits["image_shape"])
    first, first_titles = _examples(inputs)
    n = min(n_examples, len(s["x_test"]))
    recon_methods = [m for m in METHODS if "recon_test" in inputs.codes[m]]
    return {
        "data_examples": lambda: figures_images.example_grid_figure(
            s["x_test"][first], first_titles, shape),
        "pca_variance": lambda: figures_curves.explained_variance_figure(
            inputs.codes["pca"]["explained_variance_ratio"]),
        "pca_reconstructions": lambda: figures_images.reconstruction_figure(
            s["x_test"][:n], {"pca": inputs.codes["pca"]["recon_test"][:n]}, shape),
        **{f"{m}_curves": _recon_curves_builder(inputs, m) for m in ("ae", "dae")},
        "vae_elbo_curves": lambda: figures_curves.elbo_curves_figure(
            inputs.curves["vae"], int(inputs.train_metrics["vae"]["best_epoch"])),
        "embeddings": lambda: figures_latent.embeddings_figure(
            inputs.embeddings, {m: _axis_names(inputs, m) for m in METHODS},
            labelled=inputs.has_labels),
        "reconstructions": lambda: figures_images.reconstruction_figure(
            s["x_test"][:n], {m: inputs.codes[m]["recon_test"][:n] for m in recon_methods},
            shape),
        "prior_samples": lambda: figures_images.prior_samples_figure(
            {m: inputs.codes[m]["prior_samples"] for m in MODELS}, shape),
        "latent_moments": lambda: figures_latent.moments_figure(inputs.moments),
        **_evaluation_builders(inputs, shape),
    }


def _recon_curves_builder(inputs: ReportInputs, model: str) -> Any:
    return lambda: figures_curves.recon_curves_figure(
        {model: inputs.curves[model]}, {model: int(inputs.train_metrics[model]["best_epoch"])})


def _evaluation_builders(inputs: ReportInputs, shape: tuple[int, ...]) -> dict[str, Any]:
    """The sweep, per-dimension KL and walk figures; the prior grid only where it exists."""
    walks = inputs.walks
    pair = [int(i) for i in walks["pair"]]
    builders = {
        "dae_sweep": lambda: figures_curves.sweep_figure(
            inputs.dae_sweep, inputs.dae_sweep["noise_type"], CLAIM_LEVEL, CLAIM_LABEL),
        "kl_per_dim": lambda: figures_latent.kl_per_dim_figure(inputs.kl_per_dim),
        "interpolation": lambda: figures_images.interpolation_figure(
            {m: walks[f"interpolation_{m}"] for m in MODELS}, inputs.splits["x_test"][pair],
            _pair_titles(inputs, pair), shape),
    }
    grid = prior_grid_models(walks)
    if grid:
        builders["prior_grid"] = lambda: figures_images.prior_grid_figure(
            {m: walks[f"prior_grid_{m}"] for m in grid}, shape)
    return builders


def _axis_names(inputs: ReportInputs, method: str) -> tuple[str, str]:
    if int(inputs.latent_stats[method]["latent_dim"]) > 2:
        return ("PC1 of the codes", "PC2 of the codes")
    return ("z1", "z2")


def render_figures(inputs: ReportInputs, n_examples: int, fig_dir: Path,
                   captions: Mapping[str, str]) -> dict[str, FigureRef]:
    """Draw every figure, write it to ``fig_dir/<name>.png`` atomically, return the refs."""
    refs = {}
    for name, build in _figure_builders(inputs, n_examples).items():
        data = save_png(build(), fig_dir / f"{name}.png")
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        refs[name] = FigureRef(name, f"{fig_dir.name}/{name}.png", uri, captions[name])
    return refs


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


def build_report(inputs: ReportInputs, out_dir: Path, n_examples: int) -> None:
    """Render ``report.html``, ``report.md`` and ``figures/*.png`` under ``out_dir``.

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`load_inputs`.
    out_dir : Path
        Created if needed; existing report files are replaced atomically.
    n_examples : int
        Test images (columns) in the reconstruction grid, >= 1.
    """
    out_dir = Path(out_dir)
    refs = render_figures(inputs, n_examples, out_dir / "figures", captions(inputs, n_examples))
    context = {"title": title(inputs), "sections": sections(inputs, refs)}
    env = _environment()
    for name in ("report.html", "report.md"):
        atomic_write_text(out_dir / name, env.get_template(f"{name}.j2").render(**context))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["inline_html"] = inline_html
    env.filters["md_cell"] = md_cell
    return env


def md_cell(text: str) -> str:
    """Escape the pipes of a Markdown table cell (``mean |mean|``)."""
    return str(text).replace("|", "\\|")


def inline_html(text: str) -> markupsafe.Markup:
    """Escape ``text`` for HTML, turning ```name``` (Markdown code spans) into <code>."""
    escaped = str(markupsafe.escape(text))
    return markupsafe.Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))
