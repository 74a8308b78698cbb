"""`dvc plots show` on the shared pipeline story's outputs: curves, labelled scatters, figures."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

METHODS = ("pca", "tsne", "ae", "dae", "vae")
FIGURES = ("vae_elbo_curves", "embeddings", "reconstructions", "prior_samples", "interpolation")
CURVES = {  # the VAE's columns of plots/train/vae.csv, by top-level plot
    "VAE reconstruction NLL per epoch (nats per example)": {"train_recon", "val_recon"},
    "VAE KL to the prior per epoch (nats per example)": {"train_kl", "val_kl"},
    "VAE validation ELBO per epoch (nats per example; higher is better)": {"val_elbo"},
    "VAE effective beta per epoch (the KL weight of train.vae.kl_schedule)": {"train_beta"},
}


def _columns(content: dict) -> set[str]:
    """The CSV columns a linear-template plot draws (one: its y field; more: each row's field)."""
    rows = content["data"]["values"]
    if "field" in rows[0]:
        return {row["field"] for row in rows}
    return {content["layer"][0]["encoding"]["y"]["field"]}


def test_dvc_plots_show_renders_curves_scatters_and_the_reports_figures(pipeline, tmp_path):
    shown = json.loads(pipeline.run("dvc", "plots", "show", "--json").stdout)
    assert not shown.get("errors"), shown.get("errors")
    plots = shown["data"]
    curves = {name: _columns(plots[name][0]["content"]) for name in CURVES}
    assert curves == CURVES  # one quantity per plot: its lines share the axis
    for method in METHODS:
        (scatter,) = plots[f"plots/embeddings/{method}.csv"]
        rows = scatter["content"]["data"]["values"]
        assert rows and {"x", "y", "label", "index"} <= set(rows[0])
        assert scatter["content"]["encoding"]["color"]["field"] == "label"  # our template
        assert scatter["content"]["encoding"]["column"]["field"] == "method"  # headed by method
        assert len({row["label"] for row in rows}) == 10  # every digit class is there
    for name in FIGURES:
        (image,) = plots[f"reports/figures/{name}.png"]
        assert image["type"] == "image"

    out = tmp_path / "plots"
    pipeline.run("dvc", "plots", "show", "-o", str(out))
    page = (out / "index.html").read_text()
    assert all(f"reports_figures_{name}.png" in page for name in FIGURES)
    assert "Test codes in 2-D" in page and 'vegaEmbed(\'#plots_embeddings_vae_csv\'' in page
