"""Parent runs against a real MLflow SQLite store: an experiment's stages nest under one parent."""

import json
import os
import signal
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from latentlab.pipeline import run as pipeline_run
from latentlab.tracking import parent_run
from latentlab.tracking.stage_run import stage_run, standard_tags
from latentlab.tracking.store import DEFAULT_EXPERIMENT, ensure_store, tracking_uri


@pytest.fixture()
def store(store_dir):
    return store_dir


def _runs(filter_string=""):
    client = MlflowClient(tracking_uri=tracking_uri())
    exp = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    return client, {r.info.run_name: r for r in client.search_runs([exp.experiment_id],
                                                                   filter_string)}


def test_an_experiments_stages_share_one_parent_that_ends_with_the_last_stage(store, monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "beta-two")
    ended = []
    for stage in ("train@vae", "evaluate"):
        with stage_run(stage, {}, standard_tags(stage, "h")):
            pass
        _, runs = _runs()
        ended.append((runs["dvc exp beta-two"].info.status, runs["dvc exp beta-two"].info.end_time,
                      runs[stage].info.end_time))
    client, runs = _runs()
    parent = runs["dvc exp beta-two"]
    assert parent.data.tags[parent_run.PARENT_TAG] == "true"
    assert parent.data.tags["dvc.exp_name"] == "beta-two"
    for stage in ("train@vae", "evaluate"):
        assert runs[stage].data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert len(runs) == 3  # found again by the second stage, not created twice
    # FINISHED after each stage, and its end moves with the last stage's end
    assert [status for status, _, _ in ended] == ["FINISHED", "FINISHED"]
    assert all(parent_end >= stage_end for _, parent_end, stage_end in ended)
    assert ended[1][1] >= ended[0][2]


def test_a_failing_stage_marks_the_experiments_parent_failed(store, monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "boom")
    with pytest.raises(RuntimeError):
        with stage_run("train@ae", {}, {}):
            raise RuntimeError("boom")
    _, runs = _runs()
    assert runs["dvc exp boom"].info.status == "FAILED"
    assert runs["train@ae"].info.status == "FAILED"


def test_the_wrappers_parent_is_handed_over_by_file_and_left_for_the_wrapper_to_end(
        store, monkeypatch):
    client = MlflowClient(tracking_uri=tracking_uri())
    experiment_id = ensure_store() and client.get_experiment_by_name(
        DEFAULT_EXPERIMENT).experiment_id
    parent_id = client.create_run(experiment_id, run_name="dvc repro").info.run_id
    handoff = store / "parent.json"
    parent_run.write_parent_file(handoff, run_id=parent_id)
    monkeypatch.setenv(parent_run.PARENT_FILE_ENV, str(handoff))
    monkeypatch.setenv("DVC_EXP_NAME", "ignored-when-the-wrapper-runs")
    table = store / "latent_stats.json"
    table.write_text(json.dumps({"vae": {"knn_accuracy": 0.9}, "pca": {"knn_accuracy": 0.8}}))
    with stage_run("report", {}, {}) as run:
        run.log_artifact(handoff, "report", to_parent=True)
        run.log_comparison(table)
    _, runs = _runs()
    assert set(runs) == {"dvc repro", "report"}
    assert runs["report"].data.tags["mlflow.parentRunId"] == parent_id
    assert runs["dvc repro"].info.status == "RUNNING"  # the wrapper ends it, not a stage
    assert [a.path for a in client.list_artifacts(parent_id, "report")] == ["report/parent.json"]
    assert {a.path for a in client.list_artifacts(parent_id, "comparison")} == {
        "comparison/comparison.csv", "comparison/latent_stats.json"}
    assert client.get_run(parent_id).data.metrics == {"pca/knn_accuracy": 0.8,
                                                      "vae/knn_accuracy": 0.9}
    assert client.list_artifacts(runs["report"].info.run_id) == []


def test_without_wrapper_or_experiment_a_stage_run_is_top_level(store):
    with stage_run("train@ae", {}, {}):
        pass
    _, runs = _runs()
    assert set(runs) == {"train@ae"}
    assert "mlflow.parentRunId" not in runs["train@ae"].data.tags


def test_a_parent_file_without_a_run_id_leaves_the_stage_top_level(store, monkeypatch):
    handoff = store / "parent.json"
    parent_run.write_parent_file(handoff, error="store unreachable")
    monkeypatch.setenv(parent_run.PARENT_FILE_ENV, str(handoff))
    with stage_run("train@ae", {}, {}):
        pass
    _, runs = _runs()
    assert "mlflow.parentRunId" not in runs["train@ae"].data.tags


def test_comparison_table_as_metrics_and_csv():
    table = {"vae": {"knn_accuracy": 0.9, "latent_dim": 8, "note": "x"},
             "pca": {"knn_accuracy": 0.8, "recon_mse": 0.02}}
    assert parent_run.comparison_metrics(table) == {
        "pca/knn_accuracy": 0.8, "pca/recon_mse": 0.02, "vae/knn_accuracy": 0.9,
        "vae/latent_dim": 8.0}
    assert parent_run.comparison_csv(table).splitlines() == [
        "method,knn_accuracy,latent_dim,note,recon_mse", "pca,0.8,,,0.02", "vae,0.9,8,x,"]


@pytest.mark.parametrize("code, status", [(0, "FINISHED"), (1, "FAILED"), (255, "FAILED"),
                                          (128 + signal.SIGINT, "KILLED"), (-signal.SIGTERM,
                                                                            "KILLED")])
def test_dvc_exit_codes_map_to_run_status(code, status):
    assert pipeline_run.exit_status(code) == status


def test_the_wrapper_refuses_other_dvc_commands_with_usage():
    out = subprocess.run([sys.executable, "-m", "latentlab.pipeline.run", "push"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.startswith("usage:")


def test_read_parent_file_gives_up_after_its_timeout(tmp_path):
    assert parent_run.read_parent_file(tmp_path / "never.json", timeout=0.2) is None
    (tmp_path / "p.json").write_text(json.dumps({"run_id": "abc", "error": None}))
    assert parent_run.read_parent_file(tmp_path / "p.json") == "abc"


def _fake_dvc(tmp_path, monkeypatch) -> None:
    """A `dvc` on the PATH that succeeds at once."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dvc").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "dvc").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_after_dvc_the_wrapper_prints_what_changed_and_logs_it_to_the_parent(
        store, tmp_path, monkeypatch, capsys):
    from latentlab.report import changes

    def write_changes(root, out):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("# What changed since the last commit\n")
        return out.read_text()

    _fake_dvc(tmp_path, monkeypatch)
    monkeypatch.setattr(changes, "write_changes", write_changes)
    assert pipeline_run.main(["repro"]) == 0
    assert capsys.readouterr().out.startswith("# What changed since the last commit\n")
    client, runs = _runs()
    parent = runs["dvc repro"]
    assert parent.info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "report")] == [
        "report/changes.md"]


def test_a_failing_what_changed_only_warns(store, tmp_path, monkeypatch, capsys):
    _fake_dvc(tmp_path, monkeypatch)  # and no dvc.yaml: the changes step fails
    assert pipeline_run.main(["repro"]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("warning")] == [
        "warning: what changed since the last commit was not written (reports/changes.md): "
        "DataFileError: dvc.yaml: missing; run from the repository root"]
    assert "Traceback" not in err and not (store / "reports/changes.md").exists()
    client, runs = _runs()
    assert runs["dvc repro"].info.status == "FINISHED"
    assert client.list_artifacts(runs["dvc repro"].info.run_id, "report") == []


def test_the_wrapper_reaps_runs_whose_owner_is_gone_and_owns_its_parent(store, tmp_path,
                                                                        monkeypatch, capsys):
    from latentlab.tracking import owner

    ensure_store()
    client, _ = _runs()
    experiment_id = client.get_experiment_by_name(DEFAULT_EXPERIMENT).experiment_id
    gone = subprocess.Popen(["sleep", "30"])
    tags = owner.owner_tags(gone.pid)
    gone.kill()
    gone.wait()
    orphan = client.create_run(experiment_id, run_name="train@vae", tags=tags).info.run_id
    _fake_dvc(tmp_path, monkeypatch)
    assert pipeline_run.main(["repro"]) == 0
    assert f"MLflow: reaped run {orphan} (train@vae)" in capsys.readouterr().out
    client, runs = _runs()
    assert runs["train@vae"].info.status == "KILLED"
    parent = runs["dvc repro"]
    assert parent.data.tags[owner.PID_TAG] == str(os.getpid())
    assert parent.data.tags[owner.HOST_TAG] == owner.owner_tags()[owner.HOST_TAG]


def test_an_experiments_parent_carries_all_of_params_yaml_and_a_source(store, monkeypatch):
    (store / "params.yaml").write_text("seed: 0\ntrain:\n  vae:\n    beta: 2.0  # -S wrote it\n"
                                       "tracking:\n  on_failure: fail\n")
    monkeypatch.setenv("DVC_EXP_NAME", "beta-two")
    with stage_run("train@vae", {"train.vae.beta": 2.0}, standard_tags("train@vae", "h")):
        pass
    _, runs = _runs()
    parent = runs["dvc exp beta-two"]
    assert parent.data.params == {"seed": "0", "train.vae.beta": "2.0",
                                  "tracking.on_failure": "fail"}
    assert parent.data.tags["mlflow.source.name"] == "dvc exp run"
    assert parent.data.tags["mlflow.source.type"] == "LOCAL"


def test_the_wrappers_parent_names_its_source(store, tmp_path, monkeypatch):
    _fake_dvc(tmp_path, monkeypatch)
    (store / "params.yaml").write_text("seed: 3\n")
    pipeline_run.main(["repro"])
    _, runs = _runs()
    tags = runs["dvc repro"].data.tags
    assert (tags["mlflow.source.name"], tags["mlflow.source.type"]) == ("dvc repro", "LOCAL")
    assert runs["dvc repro"].data.params == {"seed": "3"}
