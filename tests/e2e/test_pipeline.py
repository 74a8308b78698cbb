"""The real pipeline: `dvc repro` in a temporary copy of the repository, on tiny params.

The session fixture ``pipeline`` (tests/e2e/conftest.py) runs the sequence a
user lives through (a first full run, a no-op rerun, a forced rerun of one
stage, an edit of one `train.vae` param, a t-SNE edit, a code edit, the edit
undone) and the tests assert on what each step did. Nothing is mocked: real DVC,
real MLflow (its SQLite store in the copy), real PyTorch and scikit-learn.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

pytestmark = pytest.mark.e2e

def test_first_run_runs_every_stage(pipeline):
    assert pipeline.steps["first"] == pipeline.all_stages


def test_every_declared_output_exists(pipeline):
    status = json.loads(pipeline.run("dvc", "status", "--json").stdout)
    assert status == {}
    lock = yaml.safe_load((pipeline.root / "dvc.lock").read_text())
    # (dvc.lock keeps entries of stages the tiny params removed, e.g. other sweep levels)
    declared = [o["path"] for name, stage in lock["stages"].items() if name in pipeline.all_stages
                for o in stage.get("outs", [])]
    assert len(declared) >= 20
    for path in declared:
        assert (pipeline.root / path).exists(), path
    for name in ("report.html", "report.md"):
        assert (pipeline.root / "reports" / name).stat().st_size > 1000


def test_metrics_are_finite_and_in_range(pipeline):
    table = pipeline.json("metrics/latent_stats.json")
    assert set(table) == {"pca", "tsne", "ae", "dae", "vae", "pixels"}  # pixels: a reference
    assert table["pixels"]["trustworthiness"] == 1.0
    for method, row in table.items():
        numbers = [v for v in row.values() if not isinstance(v, str)]  # not the collapse message
        assert all(math.isfinite(v) for v in numbers), method
        assert 0.0 <= row["knn_accuracy"] <= 1.0 and 0.5 <= row["trustworthiness"] <= 1.0
    assert table["pca"]["knn_accuracy"] > 0.8  # chance is 0.1 on ten digits
    assert "recon_mse" not in table["tsne"] and 0 < table["ae"]["recon_mse"] < 0.1
    vae = table["vae"]
    assert isinstance(vae["posterior_collapse"], bool)
    assert "latent dimensions active" in vae["collapse_message"]
    assert vae["test_kl_nats"] >= 0
    assert vae["test_elbo_nats"] == pytest.approx(-vae["test_recon_nats"] - vae["test_kl_nats"])


def test_second_repro_runs_nothing(pipeline):
    assert pipeline.steps["noop"] == set()


def test_same_params_and_seed_give_byte_identical_metrics(pipeline):
    assert pipeline.steps["forced_ae"] == {"train@ae"}
    assert pipeline.steps["forced_ae_after"] == pipeline.steps["forced_ae_before"]
    # no wall time is in a DVC output (they go to MLflow and the git-ignored timings/), so
    # retraining to identical outputs leaves nothing downstream to rerun
    assert pipeline.steps["settle"] == set()


def test_a_train_vae_edit_reruns_only_train_vae_and_downstream(pipeline):
    assert pipeline.steps["after_beta"] == {"train@vae", "evaluate", "latent_stats", "report",
                                            "publish"}
    assert pipeline.steps["vae_metrics_after_beta"] != pipeline.steps["vae_metrics_first"]


def test_a_tsne_edit_reruns_only_tsne_and_downstream(pipeline):
    assert pipeline.steps["after_perplexity"] == {"baseline@tsne", "latent_stats", "report",
                                                  "publish"}


def test_latent_statistics_are_consistent(pipeline):
    vae = pipeline.json("metrics/latent_stats.json")["vae"]
    assert vae["test_gap_nats"] >= 0 and pipeline.json("metrics/evaluate.json")["vae"][
        "gap_min_nats"] >= 0
    assert 0 <= vae["active_units"] <= vae["latent_dim"]
    assert 0 <= vae["mutual_information_nats"] <= vae["mutual_information_max_nats"] + 1e-9
    assert vae["posterior_cross_entropy_nats"] == pytest.approx(
        vae["posterior_entropy_nats"] + vae["kl_q_p_nats"])
    sweep = pipeline.json("metrics/dae_sweep_scores.json")
    # the tiny params sweep 0.0 and 0.5; train.dae's 0.25 joins from train@dae
    assert set(sweep) == {"0.0", "0.25", "0.5", "best", "verdict", "protocol"}
    assert sweep["0.25"]["trained_by"] == "train@dae"
    assert sweep["best"]["by_recon_mse"] in (0.0, 0.25, 0.5)


def test_a_link_file_finds_the_mlflow_run_that_made_the_outputs(pipeline, monkeypatch):
    from latentlab.tracking.stage_run import find_runs

    monkeypatch.setenv("DVC_ROOT", str(pipeline.root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    link = pipeline.json("outputs/train/vae/link.json")
    assert set(link) == {"stage", "params_hash", "splits_sha256", "mlflow_filter"}  # no run id
    (run,) = find_runs(pipeline.root / "outputs/train/vae/link.json")
    # β went 1.0 → 0.5 → 1.0: the workspace holds the first run's outputs, restored
    assert run.info.run_name == "train@vae" and run.data.params["train.vae.beta"] == "1.0"


def test_a_stage_restored_from_the_run_cache_makes_no_run_yet_its_link_finds_the_original(
        pipeline, monkeypatch):
    from latentlab.tracking.stage_run import find_runs

    assert {"baseline@pca", "baseline@tsne"} <= pipeline.steps["undo_restored"]
    assert not {"baseline@pca", "baseline@tsne"} & pipeline.steps["undo_ran"]
    assert pipeline.steps["tsne_runs_after_undo"] == pipeline.steps["tsne_runs_before_undo"]
    monkeypatch.setenv("DVC_ROOT", str(pipeline.root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (run,) = find_runs(pipeline.root / "outputs/baseline/tsne/link.json")
    assert run.data.params["baselines.tsne.perplexity"] == "15.0"  # the first run's
    assert "mlflow.parentRunId" in run.data.tags  # made by the wrapped first `dvc repro`


def test_beta_back_to_its_old_value_restores_the_vae_and_what_follows_without_training(
        pipeline):
    """β 1.0 → 0.5 → 1.0: train@vae (its plot CSV a DVC plot, not a plain uncached out, so
    the stage is in the run-cache), evaluate, latent_stats and the report (its pages cached
    in outputs/report/) come back from the run-cache; only `publish`, the copy to reports/,
    runs again (issue 20: run-cache for every stage)."""
    restored, ran = pipeline.steps["undo_restored"], pipeline.steps["undo_ran"]
    assert {"train@vae", "evaluate", "latent_stats", "report"} <= restored, (restored, ran)
    assert ran == {"publish"}
    assert pipeline.steps["vae_runs_after_undo"] == pipeline.steps["vae_runs_before_undo"]
    assert pipeline.steps["vae_metrics_after_undo"] == pipeline.steps["vae_metrics_first"]


def test_mlflow_holds_a_vae_run_with_one_kl_point_per_epoch(pipeline):
    client = pipeline.mlflow_client()
    runs = pipeline.search_runs(order_by=["attributes.start_time DESC"])
    names = [r.info.run_name for r in runs]
    assert pipeline.tracked_stages <= set(names)
    assert all(r.info.status == "FINISHED" for r in runs)
    vae_runs = {r.data.params["train.vae.beta"]: r for r in runs if r.info.run_name == "train@vae"
                and "dvc.exp_name" not in r.data.tags}  # not the queued experiments' runs
    assert set(vae_runs) == {"1.0", "0.5"}  # one run per execution
    vae_run = vae_runs["1.0"]  # the run whose outputs the workspace holds now (restored)
    assert vae_run.data.tags["dvc.stage"] == "train@vae"
    assert "mlflow.source.git.commit" in vae_run.data.tags
    epochs_run = pipeline.json("metrics/train/vae.json")["epochs_run"]
    for key in ("train/recon", "train/kl", "train/elbo", "train/beta", "val/recon", "val/kl",
                "val/elbo"):
        history = client.get_metric_history(vae_run.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, epochs_run + 1)), key
