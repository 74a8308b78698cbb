"""`dvc plots show` on the shared pipeline story's outputs: curves, labelled scatters, figures."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

METHODS = ("pca", "tsne", "ae", "dae", "vae")
FIGURES = ("vae_elbo_curves", "embeddings", "reconstructions", "prior_samples", "interpolation")


def test_dvc_plots_show_renders_curves_scatters_and_the_reports_figures(pipeline, tmp_path):
    shown = json.loads(pipeline.run("dvc", "plots", "show", "--json").stdout)
    assert not shown.get("errors"), shown.get("errors")
    plots = shown["data"]
    curves = plots["VAE ELBO terms and effective beta per epoch"][0]["content"]
    fields = {row["field"] for row in curves["data"]["values"]}
    assert {"train_recon", "train_kl", "train_beta", "val_elbo"} <= fields
    for method in METHODS:
        (scatter,) = plots[f"Test codes of {method} in 2-D, coloured by class"]
        rows = scatter["content"]["data"]["values"]
        assert rows and {"x", "y", "label", "index"} <= set(rows[0])
        assert scatter["content"]["encoding"]["color"]["field"] == "label"  # our template
        assert len({row["label"] for row in rows}) == 10  # every digit class is there
    for name in FIGURES:
        (image,) = plots[f"reports/figures/{name}.png"]
        assert image["type"] == "image"

    out = tmp_path / "plots"
    pipeline.run("dvc", "plots", "show", "-o", str(out))
    page = (out / "index.html").read_text()
    assert all(f"reports_figures_{name}.png" in page for name in FIGURES)
    assert "Test codes of vae in 2-D" in page
