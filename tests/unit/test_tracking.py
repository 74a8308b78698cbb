"""Tracking against a real MLflow SQLite store in a temporary directory."""

import os
import signal
import time

import pytest
from mlflow.tracking import MlflowClient

from latentlab.errors import StageTerminated, TrackingError
from latentlab.tracking.mlflow_runs import replay_pending
from latentlab.tracking.run_record import MAX_PARAM_LENGTH, PENDING_DIR
from latentlab.tracking.stage_run import stage_run, standard_tags
from latentlab.tracking.store import DEFAULT_EXPERIMENT, tracking_uri


@pytest.fixture()
def store(store_dir, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "train@vae")
    return store_dir


def _runs(uri):
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    return client, client.search_runs([exp.experiment_id])


def test_uri_is_absolute_and_follows_dvc_root(store, monkeypatch):
    assert tracking_uri() == f"sqlite:///{store / 'mlflow.db'}"
    monkeypatch.setenv("DVC_ROOT", "/somewhere/else")
    assert tracking_uri() == "sqlite:////somewhere/else/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert tracking_uri() == "http://127.0.0.1:5999"


def test_stage_run_logs_params_tags_and_epoch_history(store):
    with stage_run("train@vae", {"train.vae.beta": 1.0, "seed": 0},
                   standard_tags("train@vae", "abc")) as run:
        for epoch in range(1, 6):
            run.log_epoch(epoch, {"epoch": epoch, "train/kl": 1.0 / epoch, "val/elbo": -epoch})
        run.log_metrics({"test/elbo": -3.0}, step=5)
    client, runs = _runs(tracking_uri())
    (r,) = runs
    assert r.info.status == "FINISHED" and r.info.run_name == "train@vae"
    assert r.data.params == {"train.vae.beta": "1.0", "seed": "0"}
    assert r.data.tags["dvc.stage"] == "train@vae"
    assert r.data.tags["latentlab.params_hash"] == "abc"
    history = client.get_metric_history(r.info.run_id, "train/kl")
    assert sorted((m.step, m.value) for m in history) == [(e, 1.0 / e) for e in range(1, 6)]
    exp = client.get_experiment_by_name(DEFAULT_EXPERIMENT)
    assert exp.artifact_location == (store / "mlartifacts").as_uri()


def test_a_failing_stage_ends_its_run_failed(store):
    with pytest.raises(RuntimeError):
        with stage_run("train@ae", {}, {}):
            raise RuntimeError("boom")
    _, (r,) = _runs(tracking_uri())
    assert r.info.status == "FAILED"


def test_unreachable_server_is_a_clear_error_within_seconds(store, monkeypatch, closed_port):
    import time

    port = closed_port
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    with pytest.raises(TrackingError, match=f"127.0.0.1:{port}.*MLFLOW_TRACKING_URI"):
        with stage_run("train@ae", {}, {}):
            pass
    assert time.perf_counter() - started < 30


def test_warn_mode_keeps_the_stage_going_and_saves_the_run_for_replay(store, monkeypatch,
                                                                      capsys, closed_port):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed_port}")
    with stage_run("train@vae", {"train.vae.beta": 1.0}, {"dvc.stage": "train@vae"},
                   on_failure="warn") as run:
        for epoch in (1, 2, 3):
            run.log_epoch(epoch, {"epoch": epoch, "train/kl": float(epoch)})
    err = capsys.readouterr().err
    assert "warning: MLflow tracking at http://127.0.0.1" in err and "replay" in err
    (pending,) = (store / PENDING_DIR).glob("train@vae-*.json")

    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the store is back: the local database
    assert len(replay_pending()) == 1
    assert not pending.exists()
    client, (r,) = _runs(tracking_uri())
    assert r.info.run_name == "train@vae" and r.data.params == {"train.vae.beta": "1.0"}
    history = client.get_metric_history(r.info.run_id, "train/kl")
    assert sorted((m.step, m.value) for m in history) == [(1, 1.0), (2, 2.0), (3, 3.0)]


def test_fail_mode_stops_at_the_next_epoch_once_the_store_has_failed(store, monkeypatch,
                                                                      closed_port):
    import time

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed_port}")
    epochs_done = 0
    with pytest.raises(TrackingError, match="tracking.on_failure: warn"):
        with stage_run("train@ae", {}, {}) as run:
            for epoch in range(1, 1000):
                run.log_epoch(epoch, {"train/recon": 1.0})
                epochs_done = epoch
                time.sleep(0.05)
    assert epochs_done < 999  # it did not wait for the end of training


def test_a_long_param_is_truncated_with_a_warning_not_an_error(store, capsys):
    with stage_run("report", {"report.note": "x" * 600}, {}):
        pass
    _, (r,) = _runs(tracking_uri())
    assert len(r.data.params["report.note"]) == MAX_PARAM_LENGTH
    assert r.data.params["report.note"].endswith("...")
    assert "warning: param report.note is longer than MLflow's 500" in capsys.readouterr().err


def test_init_against_an_unreachable_server_is_one_line_and_exit_1(tmp_path, closed_port):
    import os
    import subprocess
    import sys

    port = closed_port
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"}
    out = subprocess.run([sys.executable, "-m", "latentlab.tracking", "init"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith(f"error: MLflow tracking at http://127.0.0.1:{port} failed: ")
    assert line.endswith("start the server, or unset MLFLOW_TRACKING_URI to use the local "
                         "mlflow.db")
    assert not (tmp_path / "mlflow.db").exists()


STAGE_SCRIPT = """
import sys, time
from latentlab.tracking.stage_run import stage_run
with stage_run("train@ae", {"seed": 0}, {}) as run:
    run.log_epoch(1, {"train/recon": 2.0})
    while run.run_id is None:
        time.sleep(0.05)
    print("mlflow" in sys.modules, flush=True)
    if sys.argv[1] == "hang":
        time.sleep(600)
"""


def test_the_stage_process_never_imports_mlflow_its_worker_process_does(store):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", STAGE_SCRIPT, "finish"], cwd=store,
                         capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False"]
    client, (r,) = _runs(tracking_uri())
    assert r.info.status == "FINISHED"
    assert [m.value for m in client.get_metric_history(r.info.run_id, "train/recon")] == [2.0]


def test_a_stage_killed_by_sigkill_leaves_its_run_killed_not_running(store):
    """SIGKILL cannot be caught, but the worker sees its stdin close and ends the run."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", STAGE_SCRIPT, "hang"], cwd=store,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().split() == ["False"]  # the run exists; the stage is working
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 60
    while True:
        _, (r,) = _runs(tracking_uri())
        if r.info.status != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.info.status == "KILLED"


def test_a_stage_runs_duration_covers_the_stages_work(store):
    import time

    started = time.time()
    with stage_run("evaluate", {}, {}):  # the worker needs ~2 s to import mlflow: more than this
        time.sleep(0.5)
    wall = time.time() - started
    _, (r,) = _runs(tracking_uri())
    assert (r.info.end_time - r.info.start_time) / 1000 >= wall
    assert r.info.start_time / 1000 <= started  # the stage process's start, not the worker's


def test_stage_tags_name_the_script_and_the_splits_checksum(store, monkeypatch):
    from latentlab.tracking.stage_run import source_tags

    assert source_tags(store / "stages/train.py") == {"mlflow.source.name": "stages/train.py",
                                                      "mlflow.source.type": "LOCAL"}
    tags = standard_tags("train@vae", "abc", "f00d")
    assert tags["latentlab.splits_sha256"] == "f00d" and "latentlab.data_sha256" not in tags
    assert tags["mlflow.source.type"] == "LOCAL"


@pytest.mark.parametrize("after", ["a tracking call", "nothing"])
def test_a_sigterm_that_library_code_swallowed_still_ends_the_stage_killed(store, after):
    """SIGTERM raises wherever the main thread is; a bare ``except:`` there (in a library)
    swallowed it and the stage trained on, its run RUNNING, until the test gave up (seen in
    CI). The signal is remembered: the next tracking call, or the end of the block, stops the
    stage and ends its run KILLED."""
    with pytest.raises(StageTerminated):
        with stage_run("train@vae", {}, standard_tags("train@vae", "abc")) as run:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises in here
            except BaseException:  # noqa: BLE001 - what the library did
                pass
            if after == "a tracking call":
                run.log_epoch(1, {"epoch": 1, "train/loss": 1.0})
                pytest.fail("the stage went on after SIGTERM")
    _, runs = _runs(tracking_uri())
    assert [r.info.status for r in runs] == ["KILLED"]
