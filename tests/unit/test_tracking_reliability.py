"""No run left RUNNING, and store failures said in one line (issue 17, items 1 and 5).

Against a real MLflow SQLite store in a temporary directory: the reaper, a
store locked while a run ends, a read-only database, and warn-mode replay.
"""

import json
import os
import pickle
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from latentlab.errors import TrackingError
from latentlab.tracking import owner, store_errors
from latentlab.tracking.__main__ import main as tracking_main
from latentlab.tracking.mlflow_runs import replay_pending
from latentlab.tracking.run_record import PENDING_DIR
from latentlab.tracking.stage_run import stage_run
from latentlab.tracking.store import DEFAULT_EXPERIMENT, ensure_store, tracking_uri


@pytest.fixture()
def store(store_dir):
    ensure_store()
    return store_dir


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


def _short_busy_timeout(conn, cursor, statement, parameters, context, executemany):
    """MLflow waits up to 20 s for a SQLite lock per call; 1 s keeps the test short."""
    return statement.replace("busy_timeout = 20000", "busy_timeout = 1000"), parameters


def test_ending_a_run_waits_out_a_locked_store(store, monkeypatch):
    from sqlalchemy import event

    from latentlab.tracking import worker

    real_open = worker.open_client

    def open_client():
        client = real_open()
        event.listen(client._tracking_client.store.engine, "before_cursor_execute",
                     _short_busy_timeout, retval=True)
        return client

    monkeypatch.setattr(worker, "open_client", open_client)
    inbox_r, inbox_w = os.pipe()
    reply_r, reply_w = os.pipe()
    with os.fdopen(inbox_r, "rb") as inbox, os.fdopen(inbox_w, "wb") as to_worker, \
            os.fdopen(reply_r, "rb") as replies, os.fdopen(reply_w, "wb") as outbox:
        serving = threading.Thread(target=worker.serve, args=(inbox, outbox))
        serving.start()
        pickle.dump(("open", {"name": "train@ae", "params": {}, "tags": {}}), to_worker)
        to_worker.flush()
        kind, run_id, _ = pickle.load(replies)
        assert kind == "started"
        lock = sqlite3.connect(store / "mlflow.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # another process holds the database
        pickle.dump(("end", "FINISHED"), to_worker)
        to_worker.flush()
        time.sleep(4)  # four times MLflow's (shortened) wait for the lock
        lock.rollback()
        lock.close()
        serving.join(timeout=60)
        assert pickle.load(replies) == ("closed", None)
    client, _ = _client()
    assert client.get_run(run_id).info.status == "FINISHED"


def test_retrying_gives_up_after_its_budget_in_one_line():
    def locked():
        raise sqlite3.OperationalError("database is locked")

    started = time.monotonic()
    with pytest.raises(store_errors.RetriesExhausted) as raised:
        store_errors.retrying(locked, seconds=1.0)
    assert 1.0 <= time.monotonic() - started < 3
    assert store_errors.describe(raised.value, "sqlite:////x/mlflow.db") == (
        "mlflow.db is locked by another process for 1 s (database is locked): stop the process "
        "holding it, or use a tracking server for many writers")


@pytest.fixture()
def read_only(store):
    """mlflow.db made read-only (chmod, or for root, whom chmod does not stop, chattr +i)."""
    db = store / "mlflow.db"
    if os.geteuid() != 0:
        db.chmod(0o444)
        yield db
        db.chmod(0o644)
        return
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("running as root, and chattr +i is not available here")
    try:
        yield db
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


def test_a_read_only_database_is_named_as_the_cause_in_one_line(read_only, capfd):
    uri = tracking_uri()
    cause = ("mlflow.db is read-only (attempt to write a readonly database): make it writable "
             "or set MLFLOW_TRACKING_URI")
    with pytest.raises(TrackingError) as raised:
        with stage_run("train@ae", {}, {}):
            pass
    log = read_only.parent / "mlflow-pending" / "tracking-errors.log"
    assert str(raised.value) == (f"MLflow tracking at {uri} failed: {cause}; MLflow's own log "
                                 f"of it: {log}; or set tracking.on_failure: warn")
    assert capfd.readouterr().err == ""  # none of MLflow's ERROR records and tracebacks...
    logged = log.read_text()  # ...which went to the log the line names, tracebacks included
    assert "Traceback" in logged and "attempt to write a readonly database" in logged

    with stage_run("train@ae", {}, {}, on_failure="warn"):
        pass
    (line,) = capfd.readouterr().err.splitlines()
    assert line.startswith(f"warning: MLflow tracking at {uri} failed: {cause}; MLflow's own "
                           f"log of it: {log}. The run was saved to ")


def test_each_cause_gets_its_own_advice():
    full = RuntimeError("(raised as a result of Query-invoked autoflush; ...)")
    full.__cause__ = sqlite3.OperationalError("database or disk is full")
    line = store_errors.failure_line("sqlite:////r/mlflow.db",
                                     store_errors.describe(full, "sqlite:////r/mlflow.db"), "warn")
    assert line == ("MLflow tracking at sqlite:////r/mlflow.db failed: the disk holding "
                    "mlflow.db is full (database or disk is full): free some space or set "
                    "MLFLOW_TRACKING_URI")
    refused = ConnectionError("HTTPConnectionPool(...): Max retries exceeded (Connection refused)")
    error = store_errors.describe(refused, "http://127.0.0.1:5000")
    assert store_errors.failure_line("http://127.0.0.1:5000", error, "fail") == (
        "MLflow tracking at http://127.0.0.1:5000 failed: the server does not answer (Connection "
        "refused); start the server, or unset MLFLOW_TRACKING_URI to use the local mlflow.db, "
        "or set tracking.on_failure: warn")


def test_warn_mode_replay_leaves_no_running_duplicate(store):
    extra = store / "extra.txt"
    extra.write_text("logged after the store failed\n")
    with stage_run("train@vae", {"seed": 0}, {}, on_failure="warn") as run:
        run.log_epoch(1, {"train/kl": 1.0})
        while run.run_id is None:
            time.sleep(0.05)
        blocker = store / "mlartifacts" / run.run_id  # a file where the run's artifacts go
        blocker.parent.mkdir(exist_ok=True)
        blocker.write_text("")
        run.log_artifact(extra)
        run.log_epoch(2, {"train/kl": 0.5})
    partial_id = run.run_id
    client, experiment_id = _client()
    assert client.get_run(partial_id).info.status == "FAILED"  # ended at once, not RUNNING
    (pending,) = (store / PENDING_DIR).glob("train@vae-*.json")
    assert json.loads(pending.read_text())["partial"] == {"uri": tracking_uri(),
                                                          "run_id": partial_id}

    (replayed_id,) = replay_pending()
    (active,) = client.search_runs([experiment_id])  # the partial run is in the trash
    assert active.info.run_id == replayed_id and active.info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(replayed_id)] == ["extra.txt"]
    partial = client.get_run(partial_id)
    assert partial.info.lifecycle_stage == "deleted" and partial.info.status == "FAILED"
    assert partial.data.tags["latentlab.replaced_by"] == replayed_id
    everything = client.search_runs([experiment_id], run_view_type=ViewType.ALL)
    assert [r.info.status for r in everything].count("RUNNING") == 0


def test_the_reap_command_against_a_dead_server_is_one_line(tmp_path, closed_port):
    port = closed_port
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"}
    out = subprocess.run([sys.executable, "-m", "latentlab.tracking", "reap"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"error: MLflow tracking at http://127.0.0.1:{port} failed: the server does not answer "
        "(Connection refused); start the server, or unset MLFLOW_TRACKING_URI to use the local "
        "mlflow.db"]


def _marker(name: str, owner_tags: dict, *, start_id: str, **extra) -> dict:
    from latentlab.tracking.run_record import START_ID_TAG
    from latentlab.tracking.store import experiment_name

    return {"name": name, "params": {"train.vae.beta": "2.0"},
            "tags": {"dvc.stage": name, START_ID_TAG: start_id}, "owner": owner_tags,
            "experiment": experiment_name(), "uri": tracking_uri(), "start_ms": 1_000_000,
            **extra}


def test_a_stage_killed_before_its_run_existed_is_recorded_killed_from_its_marker(store, capsys):
    """SIGKILL of stage and worker in the second or two before the worker creates the run: the
    start marker is all that is left, and the reaper makes it a KILLED run (issue 17, item 1)."""
    from latentlab.tracking.run_record import START_ID_TAG, mark_started, started_dir

    client, experiment_id = _client()
    markers = started_dir()
    dead = _dead_pid_tags()
    mark_started(markers / "train@vae-dead.json", _marker("train@vae", dead, start_id="dead"))
    mark_started(markers / "train@ae-alive.json", _marker("train@ae", owner.owner_tags(),
                                                          start_id="alive"))
    made = client.create_run(experiment_id, run_name="train@dae",
                             tags={START_ID_TAG: "made"}).info.run_id
    client.set_terminated(made)  # the worker made the run, then died before deleting the marker
    mark_started(markers / "train@dae-made.json", _marker("train@dae", _dead_pid_tags(),
                                                          start_id="made"))
    mark_started(markers / "other-store.json", _marker("train@vae", _dead_pid_tags(),
                                                       start_id="x", uri="sqlite:////elsewhere"))
    assert tracking_main(["reap"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    (recorded,) = client.search_runs([experiment_id], f"tags.`{START_ID_TAG}` = 'dead'")
    assert line == (f"recorded run {recorded.info.run_id} (train@vae): killed with its worker, "
                    f"pid {dead[owner.PID_TAG]}, before the run was created; set KILLED")
    assert recorded.info.status == "KILLED" and recorded.info.run_name == "train@vae"
    assert recorded.data.params == {"train.vae.beta": "2.0"}
    assert recorded.data.tags[owner.ENDED_BY_TAG] == "reaper"
    assert recorded.info.start_time == 1_000_000
    assert len(client.search_runs([experiment_id], f"tags.`{START_ID_TAG}` = 'made'")) == 1
    assert sorted(p.name for p in markers.iterdir()) == ["other-store.json", "train@ae-alive.json"]
    assert tracking_main(["reap"]) == 0
    assert capsys.readouterr().out.splitlines() == ["no orphaned runs"]


def test_a_stage_run_leaves_no_marker_once_its_run_exists(store):
    """The worker deletes the marker when it has created the run (and the stage at its end)."""
    from latentlab.tracking.run_record import START_ID_TAG, started_dir

    with stage_run("evaluate", {"a": 1}, {"dvc.stage": "evaluate"}) as run:
        deadline = time.monotonic() + 60
        while run.run_id is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.run_id is not None
        assert list(started_dir().glob("*.json")) == []
    client, _ = _client()
    assert client.get_run(run.run_id).data.tags[START_ID_TAG]
    assert list(started_dir().glob("*.json")) == []
