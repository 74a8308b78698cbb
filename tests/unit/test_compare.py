"""`make compare`: a short experiment table from `dvc exp show --json` (issue 18, item 3)."""

from __future__ import annotations

import copy
import json

from latentlab.pipeline.compare import (WIDTH, block, format_table, main, number, rows_from_show,
                                        short_names)

PARAMS = {"seed": 0, "train": {"common": {"latent_dim": 8, "hidden_sizes": "auto"},
                               "vae": {"beta": 1.0}},
          "dae_sweep": {"levels": [0.0, 0.5]}, "baselines": {"tsne": {"perplexity": "auto"}}}


def _stats(knn: float) -> dict:
    one = {"knn_accuracy": knn, "knn_accuracy_ci_low": knn - 0.026,
           "knn_accuracy_ci_high": knn + 0.022, "recon_mse": 0.0278, "recon_mse_ci_low": 0.02646,
           "recon_mse_ci_high": 0.02921, "latent_kl_to_prior_nats": 127.4,
           "latent_kl_to_prior_nats_ci_low": 121.6, "latent_kl_to_prior_nats_ci_high": 134.2}
    table = {m: dict(one) for m in ("pca", "ae", "dae", "vae", "pixels")}
    table["tsne"] = {k: v for k, v in one.items() if not k.startswith("recon_mse")}
    table["vae"].update(test_elbo_nats=-24.060256, test_log_px_nats=-23.973745)
    return table


def _state(rev: str, params: dict | None, knn: float | None, name: str | None = None) -> dict:
    data = {"rev": rev, "params": {}, "metrics": {}, "deps": {}, "outs": {}, "meta": {}}
    if params is not None:
        data["params"]["params.yaml"] = {"data": params}
    if knn is not None:
        data["metrics"]["metrics/latent_stats.json"] = {"data": _stats(knn)}
        data["metrics"]["metrics/verdict.json"] = {"data": {"criteria": {}}}
    return {"rev": rev, "name": name, "data": data, "error": None, "experiments": None}


def _show() -> list[dict]:
    """As `dvc exp show --json` prints it: workspace, HEAD with a run, a failed, a queued exp."""
    beta4 = copy.deepcopy(PARAMS)
    beta4["train"]["vae"]["beta"] = 4.0
    wide = copy.deepcopy(PARAMS)
    wide["dae_sweep"]["levels"] = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    head = _state("98da806bcdc06ed165f41411ce9033e4c0f010a5", PARAMS, 0.948, name="main")
    head["experiments"] = [
        {"name": "beta-4", "executor": None, "revs": [_state("a" * 40, beta4, 0.91, "beta-4")]},
        {"name": "wide", "executor": {"state": "failed", "name": None, "local": None},
         "revs": [_state("b" * 40, wide, None, "wide")]},
        {"name": "later", "executor": {"state": "queued", "name": "dvc-task", "local": None},
         "revs": [_state("c" * 40, None, None, "later")]},
    ]
    return [_state("workspace", PARAMS, 0.948), head]


def test_one_row_per_commit_and_experiment_with_its_state():
    rows = rows_from_show(_show())
    assert [(r.label, r.note) for r in rows] == [
        ("workspace", ""), ("98da806 main", ""), ("├ beta-4", ""), ("├ wide", "failed"),
        ("└ later", "queued")]
    assert rows[2].params["train.vae.beta"] == 4.0
    assert rows[2].metrics["vae"]["knn_accuracy"] == 0.91
    assert rows[4].params is None and rows[4].metrics is None


def test_only_the_params_that_differ_are_columns_and_every_line_fits():
    text = format_table(rows_from_show(_show()))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    header = lines[0].split()
    assert header[:3] == ["params", "that", "differ"]
    assert header[3:] == ["vae.beta", "dae_sweep.levels"]  # not seed, latent_dim, perplexity…
    beta_row = next(line for line in lines if line.startswith("├ beta-4"))
    assert beta_row.split()[-2:] == ["4.0", "[0.0,0.5]"]
    wide_row = next(line for line in lines if line.startswith("├ wide (failed)"))
    assert "…" in wide_row  # a long list value is cut
    assert next(line for line in lines if line.startswith("└ later (queued)")).split()[-2:] \
        == ["—", "—"]  # no params known yet


def test_each_method_has_its_headline_numbers_with_intervals():
    lines = format_table(rows_from_show(_show())).splitlines()
    corners = [line.split()[0] for line in lines if "kNN accuracy" in line]
    assert corners == ["PCA", "t-SNE", "AE", "DAE", "VAE"]
    vae = lines.index(next(line for line in lines if line.startswith("VAE")))
    assert "ELBO" in lines[vae] and "log p(x)" in lines[vae]
    assert lines[vae + 1].split() == ["workspace", "0.948", "(0.922–0.970)", "0.0278",
                                      "(0.0265–0.0292)", "127", "(122–134)", "-24.06", "-23.97"]
    tsne = lines.index(next(line for line in lines if line.startswith("t-SNE")))
    assert lines[tsne + 1].split()[3] == "—"  # t-SNE reconstructs nothing
    # the failed experiment: no metrics
    assert lines[vae + 4].split()[-6:] == ["(failed)"] + ["—"] * 5


def test_no_differences_and_no_metrics_are_said_in_one_line():
    same = [_state("workspace", PARAMS, None), _state("f" * 40, PARAMS, None, name="main")]
    text = format_table(rows_from_show(same))
    assert text.splitlines()[0] == "params: the same params.yaml in every row"
    assert "no metrics/latent_stats.json in any row" in text


def test_numbers_and_names_are_short():
    assert [number(x, "sig3") for x in (0.027771276, 0.010029428, 1.88, 27.93, 651.2, 0.0)] == [
        "0.0278", "0.0100", "1.88", "27.9", "651", "0"]
    assert number(3.2e-6, "sig3") == "3.20e-06" and number(12345.6, "sig3") == "1.23e+04"
    assert number(0.9480, "fixed3") == "0.948" and number(None, "fixed3") == "—"
    assert short_names(["seed", "train.vae.beta", "train.common.beta", "a.b.c.d"]) == {
        "seed": "seed", "train.vae.beta": "vae.beta", "train.common.beta": "common.beta",
        "a.b.c.d": "c.d"}
    assert short_names(["x.common.beta", "y.common.beta"]) == {
        "x.common.beta": "x.common.beta", "y.common.beta": "y.common.beta"}


def test_a_block_wider_than_the_width_is_split_and_names_repeat():
    lines = block("corner", [f"col{i}" for i in range(6)],
                  [("row", ["x" * 20] * 6)], width=60)
    assert max(len(line) for line in lines) <= 60
    assert sum(line.startswith("corner") for line in lines) == 3
    assert sum(line.startswith("row") for line in lines) == 3


def test_the_command_formats_a_saved_json(tmp_path, capsys):
    saved = tmp_path / "exp.json"
    saved.write_text(json.dumps(_show()))
    assert main(["--from-json", str(saved), "--width", "100"]) == 0
    out = capsys.readouterr().out
    assert "├ beta-4" in out and max(len(line) for line in out.splitlines()) <= 100
