"""What a user sees in MLflow after the shared pipeline story (tests/e2e/conftest.py).

The story's first run is `make repro`'s wrapped `dvc repro`, so it has one
parent run. A real `mlflow ui` (own process group, free loopback port) answers
REST queries for that run's children and the VAE's per-epoch KL, and serves
the parent's report, which Chromium renders whole from the served bytes alone.
The VAE's encoder loads with `mlflow.pyfunc`. Two queued DVC experiments run
by two queue workers land in the main repo's one database, each under its own
parent.
"""

from __future__ import annotations

import json
from pathlib import Path
import time
import urllib.request

import numpy as np
import pytest

from browser import check_page
from mlflow_server import mlflow_server, rest

pytestmark = pytest.mark.e2e


def _wrapped_parent(pipeline):
    (parent,) = pipeline.search_runs("tags.`latentlab.parent` = 'true' and "
                                     "attributes.run_name = 'dvc repro'")
    return parent


def test_the_wrapped_repro_has_one_parent_with_a_child_per_stage_that_ran(pipeline):
    client = pipeline.mlflow_client()
    parent = _wrapped_parent(pipeline)
    assert parent.info.status == "FINISHED"
    children = pipeline.search_runs(f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert {r.info.run_name for r in children} == pipeline.steps["first"] & pipeline.tracked_stages
    assert len(children) == len(pipeline.tracked_stages)  # one each, none twice
    # the comparison table rides on the parent, as metrics and as artifacts
    table = json.loads((pipeline.root / "metrics/latent_stats.json").read_text())
    assert set(table) == {"pca", "tsne", "ae", "dae", "vae", "pixels"}  # pixels: a reference row
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "comparison")}
    assert artifacts == {"comparison/comparison.csv", "comparison/latent_stats.json"}
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "report")} >= {
        "report/report.html", "report/report.md", "report/verdict.txt", "report/verdict.json"}
    verdict = Path(client.download_artifacts(parent.info.run_id, "report/verdict.txt"))
    assert "Reconstruction (recon_mse" in verdict.read_text()  # the report's first section
    assert "vae/knn_accuracy" in parent.data.metrics
    assert parent.data.params["train.vae.beta"] == "1.0"  # params.yaml as that run saw it
    # later plain `dvc repro` runs make top-level runs: nothing else claims this parent
    later = [r for r in pipeline.search_runs("attributes.run_name = 'train@vae'")
             if r.data.tags.get("mlflow.parentRunId") != parent.info.run_id
             and "dvc.exp_name" not in r.data.tags]  # not the queued experiments' runs
    assert later and all("mlflow.parentRunId" not in r.data.tags for r in later)


def test_a_real_mlflow_ui_serves_the_runs_the_kl_history_and_a_self_contained_report(
        pipeline, tmp_path):
    parent_id = _wrapped_parent(pipeline).info.run_id
    with mlflow_server(f"sqlite:///{pipeline.root / 'mlflow.db'}") as url:
        experiment = rest(url, "experiments/get-by-name", experiment_name="latentlab")
        experiment_id = experiment["experiment"]["experiment_id"]
        found = rest(url, "runs/search", {
            "experiment_ids": [experiment_id], "max_results": 100,
            "filter": f"tags.`mlflow.parentRunId` = '{parent_id}' and "
                      "attributes.run_name = 'train@vae'"})
        (vae_run,) = found["runs"]
        run_id = vae_run["info"]["run_id"]
        history = rest(url, "metrics/get-history", run_id=run_id, metric_key="train/kl",
                       max_results=10000)["metrics"]
        steps = sorted(point["step"] for point in history)
        epochs_run = len(steps)
        assert steps == list(range(1, epochs_run + 1)) and epochs_run >= 1
        assert all(np.isfinite(point["value"]) for point in history)
        # the parent's report, fetched as the UI's artifact viewer fetches it, then rendered
        with urllib.request.urlopen(f"{url}/get-artifact?path=report/report.html"
                                    f"&run_uuid={parent_id}", timeout=30) as response:
            served = response.read()
    copy = tmp_path / "served" / "report.html"
    copy.parent.mkdir()
    copy.write_bytes(served)  # alone in a folder: nothing next to it to lean on
    page = check_page(copy.as_uri(), tmp_path / "served.png")
    assert len(page.images) >= 10 and not page.broken_images
    assert [row[0] for row in page.table_rows] == ["pca", "tsne", "ae", "dae", "vae",
                                                   "raw pixels (reference)"]
    assert all(request.startswith(("file:", "data:")) for request in page.requests)


def test_the_vae_encoder_loads_with_pyfunc_and_embeds_new_images(pipeline, monkeypatch):
    import mlflow

    parent_id = _wrapped_parent(pipeline).info.run_id
    (vae_run,) = pipeline.search_runs(f"tags.`mlflow.parentRunId` = '{parent_id}' and "
                                      "attributes.run_name = 'train@vae'")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{pipeline.root / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{pipeline.root / 'mlflow.db'}")
    encoder = mlflow.pyfunc.load_model(f"runs:/{vae_run.info.run_id}/encoder")
    x = np.random.default_rng(0).random((5, 64), dtype=np.float32)
    codes = encoder.predict(x)
    latent_dim = int(vae_run.data.params["train.vae.latent_dim"])
    assert codes.shape == (5, latent_dim) and np.isfinite(codes).all()


def _queue_done(pipeline) -> bool:
    out = pipeline.run("dvc", "queue", "status").stdout
    return not any(word in out for word in ("Queued", "Running"))


def test_two_queued_experiments_run_by_two_workers_land_in_the_one_database(pipeline):
    pipeline.commit("the story's params and code edits")
    for beta in ("2.0", "4.0"):
        pipeline.run("dvc", "exp", "run", "--queue", "-S", f"train.vae.beta={beta}",
                     "-n", f"beta-{beta[0]}")
    pipeline.run("dvc", "queue", "start", "-j", "2")
    deadline = time.monotonic() + 900
    while not _queue_done(pipeline):
        assert time.monotonic() < deadline, pipeline.run("dvc", "queue", "status").stdout
        time.sleep(3)
    status = pipeline.run("dvc", "queue", "status").stdout
    assert "Failed" not in status, status + pipeline.run("dvc", "queue", "logs",
                                                         "beta-2", check=False).stdout
    shown = pipeline.run("dvc", "exp", "show", "--json").stdout
    assert "beta-2" in shown and "beta-4" in shown

    client = pipeline.mlflow_client()
    for name, beta in (("beta-2", "2.0"), ("beta-4", "4.0")):
        runs = pipeline.search_runs(f"tags.`dvc.exp_name` = '{name}'")
        (parent,) = [r for r in runs if r.data.tags.get("latentlab.parent") == "true"]
        children = [r for r in runs if r is not parent]
        assert {r.info.run_name for r in children} == {"train@vae", "evaluate", "latent_stats",
                                                      "report"}
        assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children)
        assert all(r.info.status == "FINISHED" for r in runs)
        (vae,) = [r for r in children if r.info.run_name == "train@vae"]
        assert vae.data.params["train.vae.beta"] == beta
        assert {a.path for a in client.list_artifacts(parent.info.run_id, "report")} >= {
            "report/report.html"}
