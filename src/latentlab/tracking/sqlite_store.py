"""Create a fresh SQLite tracking database atomically.

MLflow creates and migrates a new SQLite database in place, through dozens of
alembic steps that SQLite does not run as one transaction. A process killed
part way (SIGKILL, an OOM kill, a power cut: nothing a handler can catch)
leaves a database whose schema is half migrated, and every later run fails
with "duplicate column name". So a database that does not exist yet is built
under a temporary name beside it and hard-linked into place only when whole:
any other process sees either no database or a complete one. Two processes
racing both build one; the first link wins and the other is discarded.
"""

from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".building"


def sqlite_path(uri: str) -> Path | None:
    """The file behind a ``sqlite:///`` URI; None for any other store or in-memory SQLite."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = uri[len(prefix):].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path if path.startswith("/") else os.path.abspath(path))


def ensure_sqlite_database(uri: str, artifact_root: str) -> None:
    """Build the database behind ``uri`` if it does not exist yet, never in place.

    ``artifact_root`` is the store's default artifact location (that of
    MLflow's "Default" experiment, which every new database holds).
    """
    path = sqlite_path(uri)
    if path is None or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    temp.unlink(missing_ok=True)
    try:
        _build(temp, artifact_root)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # a parallel process finished first; its database is whole as well
    finally:
        temp.unlink(missing_ok=True)


def check_sqlite_database(uri: str) -> None:
    """Open the database behind ``uri`` once, so one that cannot be opened (a folder, a file
    that is not SQLite, no permission) fails at once with sqlite's own error, instead of after
    MLflow's ten engine retries (about 100 s, a warning each). A lock is left to MLflow."""
    import sqlite3

    path = sqlite_path(uri)
    if path is None:
        return
    connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=0.1)
    try:
        connection.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
    finally:
        connection.close()


def remove_stale_builds(path: Path) -> list[Path]:
    """Delete half-built databases left by killed processes (their pid is gone)."""
    removed = []
    for temp in path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}"):
        pid_text = temp.name[len(path.name) + 2: -len(TEMP_SUFFIX)]
        if pid_text.isdigit() and _alive(int(pid_text)):
            continue
        temp.unlink(missing_ok=True)
        removed.append(temp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _build(temp: Path, artifact_root: str) -> None:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{temp}", artifact_root)
    store.engine.dispose()  # close the file before it is linked into place
