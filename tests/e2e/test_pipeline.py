"""The real pipeline: `dvc repro` in a temporary copy of the repository, on tiny params.

One module-scoped fixture runs the sequence a user lives through (a first full
run, a no-op rerun, a forced rerun of one stage, an edit of one `train.vae`
param) and the tests assert on what each step did. Nothing is mocked: real DVC,
real MLflow (its SQLite store in the copy), real PyTorch and scikit-learn.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

from latentlab.sandbox import Sandbox, set_params

pytestmark = pytest.mark.e2e

TRACKED_STAGES = {"train@ae", "train@dae", "train@vae", "dae_sweep@0.0", "dae_sweep@0.5",
                  "baseline@pca", "baseline@tsne", "evaluate", "latent_stats", "report"}
ALL_STAGES = TRACKED_STAGES | {"download", "preprocess"}
TINY = {
    ("train", "common", "epochs"): 6,
    ("train", "common", "patience"): 6,
    ("train", "common", "hidden_sizes"): [32],
    ("baselines", "tsne", "max_iter"): 250,
    ("baselines", "tsne", "perplexity"): 15.0,
    ("dae_sweep", "levels"): [0.0, 0.5],
    ("evaluate", "iwae_samples"): 50,
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, repo_root):
    ws = Sandbox(repo_root, tmp_path_factory.mktemp("e2e") / "latentlab")
    set_params(ws.root / "params.yaml", TINY)
    ws.commit("tiny params")
    repro = lambda *args: ws.repro(*args)[0]  # noqa: E731  (stages that ran)
    steps = {"first": repro()}
    steps["vae_metrics_first"] = (ws.root / "metrics/train/vae.json").read_bytes()
    steps["noop"] = repro()
    steps["forced_ae_before"] = (ws.root / "metrics/train/ae.json").read_bytes()
    steps["forced_ae"] = repro("--force", "--single-item", "train@ae")
    steps["forced_ae_after"] = (ws.root / "metrics/train/ae.json").read_bytes()
    set_params(ws.root / "params.yaml", {("train", "vae", "beta"): 0.5})
    steps["after_beta"] = repro()
    set_params(ws.root / "params.yaml", {("baselines", "tsne", "perplexity"): 12.0})
    steps["after_perplexity"] = repro()
    ws.steps = steps
    ws.json = lambda rel: json.loads((ws.root / rel).read_text())
    return ws


def test_first_run_runs_every_stage(pipeline):
    assert pipeline.steps["first"] == ALL_STAGES


def test_every_declared_output_exists(pipeline):
    status = json.loads(pipeline.run("dvc", "status", "--json").stdout)
    assert status == {}
    lock = yaml.safe_load((pipeline.root / "dvc.lock").read_text())
    # (dvc.lock keeps entries of stages the tiny params removed, e.g. other sweep levels)
    declared = [o["path"] for name, stage in lock["stages"].items() if name in ALL_STAGES
                for o in stage.get("outs", [])]
    assert len(declared) >= 20
    for path in declared:
        assert (pipeline.root / path).exists(), path
    for name in ("report.html", "report.md"):
        assert (pipeline.root / "reports" / name).stat().st_size > 1000


def test_metrics_are_finite_and_in_range(pipeline):
    table = pipeline.json("metrics/latent_stats.json")
    assert set(table) == {"pca", "tsne", "ae", "dae", "vae"}
    for method, row in table.items():
        assert all(math.isfinite(v) for v in row.values()), method
        assert 0.0 <= row["knn_accuracy"] <= 1.0 and 0.5 <= row["trustworthiness"] <= 1.0
    assert table["pca"]["knn_accuracy"] > 0.8  # chance is 0.1 on ten digits
    assert "recon_mse" not in table["tsne"] and 0 < table["ae"]["recon_mse"] < 0.1
    vae = table["vae"]
    assert vae["test_kl_nats"] >= 0
    assert vae["test_elbo_nats"] == pytest.approx(-vae["test_recon_nats"] - vae["test_kl_nats"])


def test_second_repro_runs_nothing(pipeline):
    assert pipeline.steps["noop"] == set()


def test_same_params_and_seed_give_byte_identical_metrics(pipeline):
    assert pipeline.steps["forced_ae"] == {"train@ae"}
    assert pipeline.steps["forced_ae_after"] == pipeline.steps["forced_ae_before"]


def test_a_train_vae_edit_reruns_only_train_vae_and_downstream(pipeline):
    assert pipeline.steps["after_beta"] == {"train@vae", "evaluate", "latent_stats", "report"}
    assert (pipeline.root / "metrics/train/vae.json").read_bytes() != \
        pipeline.steps["vae_metrics_first"]


def test_a_tsne_edit_reruns_only_tsne_and_downstream(pipeline):
    assert pipeline.steps["after_perplexity"] == {"baseline@tsne", "latent_stats", "report"}


def test_latent_statistics_are_consistent(pipeline):
    vae = pipeline.json("metrics/latent_stats.json")["vae"]
    assert vae["test_gap_nats"] >= 0 and pipeline.json("metrics/evaluate.json")["vae"][
        "gap_min_nats"] >= 0
    assert 0 <= vae["active_units"] <= vae["latent_dim"]
    assert 0 <= vae["mutual_information_nats"] <= vae["mutual_information_max_nats"] + 1e-9
    assert vae["posterior_cross_entropy_nats"] == pytest.approx(
        vae["posterior_entropy_nats"] + vae["kl_q_p_nats"])
    sweep = pipeline.json("metrics/dae_sweep_scores.json")
    assert set(sweep) == {"0.0", "0.5", "best"}
    assert sweep["best"]["by_recon_mse"] in (0.0, 0.5)


def test_mlflow_holds_a_vae_run_with_one_kl_point_per_epoch(pipeline):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{pipeline.root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("latentlab")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])
    names = [r.info.run_name for r in runs]
    assert TRACKED_STAGES <= set(names)
    assert all(r.info.status == "FINISHED" for r in runs)
    latest_vae = next(r for r in runs if r.info.run_name == "train@vae")
    assert latest_vae.data.params["train.vae.beta"] == "0.5"
    assert latest_vae.data.tags["dvc.stage"] == "train@vae"
    assert "mlflow.source.git.commit" in latest_vae.data.tags
    epochs_run = pipeline.json("metrics/train/vae.json")["epochs_run"]
    for key in ("train/recon", "train/kl", "train/elbo", "val/recon", "val/kl", "val/elbo"):
        history = client.get_metric_history(latest_vae.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, epochs_run + 1)), key
