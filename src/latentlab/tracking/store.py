"""Where runs go: the one tracking URI, the experiment, and the MLflow client on them.

``MLFLOW_TRACKING_URI`` when it is set, else one absolute
``sqlite:///<repo root>/mlflow.db``. The repo root is ``DVC_ROOT`` (set by DVC,
and pointing at the main repository even inside ``dvc exp run --queue``'s
temporary copies, so no run is lost with the copy), else the nearest parent
directory holding ``.dvc``. Artifacts of a local store go to
``<repo root>/mlartifacts``. mlflow itself is imported only when a client is
opened (:func:`open_client`), in the tracking worker, never in a stage.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"

DEFAULT_EXPERIMENT = "latentlab"


BATCH_LIMIT = 1000  # MLflow's limit on metrics per log_batch


def repo_root(start: str | Path | None = None) -> Path:
    """``DVC_ROOT`` if set, else the nearest directory above ``start`` that holds ``.dvc``."""
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    here = Path(start or os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
    return here


def tracking_uri() -> str:
    """The one tracking URI every stage uses (see the module docstring)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


def experiment_name() -> str:
    """The experiment every run goes to: ``MLFLOW_EXPERIMENT_NAME``, else ``latentlab``."""
    return os.environ.get(EXPERIMENT_ENV, DEFAULT_EXPERIMENT)


def local_artifact_root() -> str:
    """Where a local store keeps artifacts: ``<repo root>/mlartifacts`` as an absolute URI."""
    return (repo_root() / "mlartifacts").as_uri()


def _is_local_store(uri: str) -> bool:
    return uri.startswith("sqlite:") or uri.startswith("file:") or "://" not in uri


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


class _NoErrorRecords(logging.Filter):
    """Keep MLflow's ERROR records off the terminal: a store failure is logged there with its
    traceback and then raised, and the raised exception is what we report, in one line. The
    records go to :func:`error_log` instead, which that line names."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


ERROR_LOG = Path("mlflow-pending") / "tracking-errors.log"  # under the repo root, git-ignored


class _ErrorLogHandler(logging.FileHandler):
    """Appends MLflow's, alembic's and SQLAlchemy's ERROR records (tracebacks included) to
    the error log, creating it on the first one; counts them, so a one-line error can say
    where the details went only when there are any."""

    def __init__(self, path: Path):
        super().__init__(path, delay=True, encoding="utf-8")
        self.setLevel(logging.ERROR)
        self.setFormatter(logging.Formatter("%(asctime)s pid %(process)d %(name)s "
                                            "%(levelname)s: %(message)s"))
        self.emitted = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.emitted += 1
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        super().emit(record)


_error_log: _ErrorLogHandler | None = None


def error_log() -> Path:
    """``<repo root>/mlflow-pending/tracking-errors.log``: where the store's own ERROR records
    (with their tracebacks) go instead of the stage's stderr."""
    return repo_root() / ERROR_LOG


def error_log_note() -> str:
    """``"; details: <log>"`` when this process wrote ERROR records to the log, else ``""``."""
    if _error_log is None or not _error_log.emitted:
        return ""
    return f"; MLflow's own log of it: {_error_log.baseFilename}"


def _configure_mlflow() -> None:
    """Fail fast on an unreachable server; keep MLflow's logs to warnings, and short.

    An unreachable server should fail in seconds, not after MLflow's default
    minutes of retries; the database-migration INFO lines, and the ERROR
    records with a traceback that a failing SQLite store logs before raising,
    would bury a stage's one-line error.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    import mlflow  # noqa: F401  (configures its loggers on import; then we override)

    global _error_log
    if _error_log is None:
        _error_log = _ErrorLogHandler(error_log())
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logger = logging.getLogger(name)
        if name != "sqlalchemy":
            logger.setLevel(logging.WARNING)
        for handler in logger.handlers:
            if handler is not _error_log and \
                    not any(isinstance(f, _NoErrorRecords) for f in handler.filters):
                handler.addFilter(_NoErrorRecords())
        if _error_log not in logger.handlers:
            logger.addHandler(_error_log)


def open_experiment(client, uri: str, name: str) -> str:
    """Get or create the experiment; a local store gets an absolute file:// artifact root."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if _is_local_store(uri):
        location = local_artifact_root()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # a parallel worker created it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def open_client():
    """An MlflowClient on :func:`tracking_uri`; a local database that is missing is built first.

    The database is built whole under a temporary name and then linked into
    place (:mod:`latentlab.tracking.sqlite_store`), so a stage killed while creating it
    cannot leave a half-migrated store behind; one that cannot be opened fails at once.
    """
    _configure_mlflow()
    from mlflow.tracking import MlflowClient

    from latentlab.tracking.sqlite_store import check_sqlite_database, ensure_sqlite_database

    uri = tracking_uri()
    ensure_sqlite_database(uri, local_artifact_root())
    check_sqlite_database(uri)
    return MlflowClient(tracking_uri=uri)


def ensure_store() -> str:
    """Create (and migrate) the tracking database and the experiment once.

    Run before parallel ``dvc queue`` workers start: two processes migrating a
    fresh SQLite database at the same time crash.
    """
    uri = tracking_uri()
    open_experiment(open_client(), uri, experiment_name())
    return uri
