"""A new SQLite tracking database appears whole or not at all.

MLflow migrates a new database in place; a process killed part way leaves one
that fails for ever ("table jobs already exists", "duplicate column name").
These tests kill the builder at several moments with SIGKILL, which nothing
can catch, and check that the next process still gets a working store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from latentlab.tracking.sqlite_store import (
    TEMP_SUFFIX,
    check_sqlite_database,
    ensure_sqlite_database,
    remove_stale_builds,
    sqlite_path,
)

BUILD = textwrap.dedent("""
    import sys
    from latentlab.tracking.sqlite_store import ensure_sqlite_database
    ensure_sqlite_database(sys.argv[1], sys.argv[2])
""")


def _uri(path: Path) -> str:
    return f"sqlite:///{path}"


def _temps(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f".{db.name}.*{TEMP_SUFFIX}"))


def _create_a_run(db: Path) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=_uri(db))
    experiment_id = client.create_experiment(f"e{time.monotonic_ns()}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "loss", 1.0)
    return run.info.run_id


@pytest.mark.parametrize("uri, expected", [
    ("sqlite:////abs/mlflow.db", Path("/abs/mlflow.db")),
    ("sqlite:////abs/mlflow.db?timeout=30", Path("/abs/mlflow.db")),
    ("sqlite:///rel.db", Path(os.path.abspath("rel.db"))),
    ("sqlite:///:memory:", None),
    ("sqlite://", None),
    ("http://127.0.0.1:5000", None),
    ("postgresql://u@h/db", None),
])
def test_sqlite_path(uri, expected):
    assert sqlite_path(uri) == expected


def test_builds_a_missing_database_that_mlflow_can_use(tmp_path):
    db = tmp_path / "sub" / "mlflow.db"
    ensure_sqlite_database(_uri(db), tmp_path.as_uri())
    assert db.is_file() and not _temps(db)
    assert _create_a_run(db)


def test_an_existing_database_is_left_alone(tmp_path):
    db = tmp_path / "mlflow.db"
    ensure_sqlite_database(_uri(db), tmp_path.as_uri())
    run_id = _create_a_run(db)
    before = (db.stat().st_ino, db.stat().st_mtime_ns)
    ensure_sqlite_database(_uri(db), tmp_path.as_uri())
    assert (db.stat().st_ino, db.stat().st_mtime_ns) == before
    from mlflow.tracking import MlflowClient

    assert MlflowClient(tracking_uri=_uri(db)).get_run(run_id).info.run_id == run_id


def test_other_stores_are_not_touched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ensure_sqlite_database("http://127.0.0.1:9", tmp_path.as_uri())
    ensure_sqlite_database("sqlite:///:memory:", tmp_path.as_uri())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("delay", [0.0, 0.7, 1.4])
def test_sigkill_while_building_leaves_no_database_and_the_next_process_builds_one(
        tmp_path, delay):
    db = tmp_path / "mlflow.db"
    proc = subprocess.Popen([sys.executable, "-c", BUILD, _uri(db), tmp_path.as_uri()],
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _temps(db) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # the build has started once its temporary file exists
    assert _temps(db), "the builder never created its temporary database"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    if db.exists():  # the kill came after the link: then the database must be whole
        assert _create_a_run(db)
        return
    assert _temps(db)  # the killed builder's half-built file, never at the real name
    ensure_sqlite_database(_uri(db), tmp_path.as_uri())
    assert not _temps(db), "the dead builder's temporary file was not cleaned up"
    assert _create_a_run(db)


def test_two_processes_racing_on_a_new_database_both_succeed(tmp_path):
    db = tmp_path / "mlflow.db"
    procs = [subprocess.Popen([sys.executable, "-c", BUILD, _uri(db), tmp_path.as_uri()],
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert not _temps(db)
    assert _create_a_run(db)


def test_a_live_builders_temporary_file_is_not_removed(tmp_path):
    db = tmp_path / "mlflow.db"
    mine = tmp_path / f".mlflow.db.{os.getpid()}{TEMP_SUFFIX}"
    dead = tmp_path / f".mlflow.db.{2 ** 22 + 12345}{TEMP_SUFFIX}"  # above Linux's pid_max
    mine.write_bytes(b"x")
    dead.write_bytes(b"x")
    assert remove_stale_builds(db) == [dead]
    assert mine.exists() and not dead.exists()


@pytest.mark.parametrize("make,cause", [
    (lambda db: db.mkdir(), "mlflow.db cannot be opened (unable to open database file)"),
    (lambda db: db.write_text("not sqlite " * 20), "mlflow.db is not an SQLite database"),
])
def test_a_database_that_cannot_be_opened_fails_at_once_naming_the_cause(tmp_path, make, cause):
    """Not after MLflow's ten engine retries (about 100 s, a warning each)."""
    import sqlite3

    from latentlab.tracking.store_errors import describe

    db = tmp_path / "mlflow.db"
    make(db)
    started = time.monotonic()
    with pytest.raises(sqlite3.DatabaseError) as raised:
        check_sqlite_database(_uri(db))
    assert time.monotonic() - started < 1
    assert describe(raised.value, _uri(db)).startswith(cause)
