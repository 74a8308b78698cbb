"""No run left RUNNING, and store failures said in one line (issue 17, items 1 and 5).

Against a real MLflow SQLite store in a temporary directory: the reaper, a
store locked while a run ends, a read-only database, and warn-mode replay.
"""

import os
import subprocess
import time

import pytest
from mlflow.tracking import MlflowClient

from latentlab.tracking import owner
from latentlab.tracking.__main__ import main as tracking_main
from latentlab.tracking.stage_run import stage_run
from latentlab.tracking.store import DEFAULT_EXPERIMENT, ensure_store, tracking_uri


@pytest.fixture()
def store(tmp_path, monkeypatch):
    (tmp_path / ".dvc").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "LATENTLAB_PARENT_RUN_FILE"):
        monkeypatch.delenv(name, raising=False)
    ensure_store()
    return tmp_path


def _client():
    client = MlflowClient(tracking_uri=tracking_uri())
    return client, client.get_experiment_by_name(DEFAULT_EXPERIMENT).experiment_id


def _dead_pid_tags() -> dict[str, str]:
    proc = subprocess.Popen(["sleep", "30"])
    tags = owner.owner_tags(proc.pid)
    proc.kill()
    proc.wait()
    return tags


def test_the_reaper_kills_a_dead_owners_run_and_leaves_live_and_foreign_ones(store, capsys):
    client, experiment_id = _client()
    runs = {
        "dead": owner.owner_tags() | _dead_pid_tags(),
        "recycled": owner.owner_tags() | {owner.START_TAG: "another-boot:1"},  # our pid, reused
        "alive": owner.owner_tags(),  # this test process
        "elsewhere": {owner.HOST_TAG: "another-host", owner.PID_TAG: "1"},
        "unowned": {},
    }
    ids = {name: client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
           for name, tags in runs.items()}
    assert tracking_main(["reap"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines[:2]) == sorted(
        f"reaped run {ids[name]} ({name}): its owner, pid {runs[name][owner.PID_TAG]} on this "
        "host, is gone; set KILLED" for name in ("dead", "recycled"))
    assert lines[2:] == [
        "left alone: 1 RUNNING run(s) of other hosts (another-host: 1); run the reaper there",
        "left alone: 1 RUNNING run(s) that name no owner (made before owners were recorded, "
        "or by another tool)"]
    status = {name: client.get_run(run_id) for name, run_id in ids.items()}
    assert {name: r.info.status for name, r in status.items()} == {
        "dead": "KILLED", "recycled": "KILLED", "alive": "RUNNING", "elsewhere": "RUNNING",
        "unowned": "RUNNING"}
    assert status["dead"].data.tags[owner.ENDED_BY_TAG] == "reaper"
    assert tracking_main(["reap"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "no orphaned runs"


def test_a_stage_run_names_its_worker_as_owner(store):
    with stage_run("train@ae", {}, {}) as run:
        while run.run_id is None:
            time.sleep(0.05)
        client, _ = _client()
        tags = client.get_run(run.run_id).data.tags
        assert tags[owner.HOST_TAG] == os.uname().nodename
        assert int(tags[owner.PID_TAG]) == run._worker.pid
        assert owner.owner_state(tags) == owner.ALIVE
    assert owner.owner_state(tags) == owner.DEAD  # the worker exits once the run is ended
