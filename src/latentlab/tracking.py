"""MLflow tracking, off the critical path. The only module that imports mlflow.

A stage wraps its work in :func:`stage_run`. A worker thread imports mlflow,
opens the store, creates the run (named after the DVC stage, e.g.
``train@vae``) and logs params and tags while the stage computes; per-epoch
metrics are queued and sent in batches as they come, so the MLflow UI shows a
run live and the stage never waits on the database until it ends.

Where runs go: ``MLFLOW_TRACKING_URI`` when it is set, else one absolute
``sqlite:///<repo root>/mlflow.db``. The repo root is ``DVC_ROOT`` (set by DVC,
and pointing at the main repository even inside ``dvc exp run --queue``'s
temporary copies, so no run is lost with the copy), else the nearest parent
directory holding ``.dvc``. Artifacts of a local store go to
``<repo root>/mlartifacts``.

Nothing here is ever written into a DVC output: run ids and timestamps live in
MLflow only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from latentlab.errors import TrackingError  # re-exported for callers

EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "latentlab"
MAX_PARAM_LENGTH = 500  # MLflow's limit on a param value
BATCH_LIMIT = 1000  # MLflow's limit on metrics per log_batch


class StageTerminated(BaseException):
    """Raised in the main thread when the stage receives SIGTERM."""


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


def _configure_mlflow() -> None:
    """Fail fast on an unreachable server; keep MLflow's INFO chatter out of stage output.

    An unreachable server should fail in seconds, not after MLflow's default
    minutes of retries; the database-migration INFO lines would bury a stage's
    one-line error.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    import mlflow  # noqa: F401  (configures its loggers on import; then we override)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def open_experiment(client, uri: str, name: str) -> str:
    """Get or create the experiment; a local store gets an absolute file:// artifact root."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if _is_local_store(uri):
        location = (repo_root() / "mlartifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # a parallel worker created it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def ensure_store() -> str:
    """Create (and migrate) the tracking database and the experiment once.

    Run before parallel ``dvc queue`` workers start: two processes migrating a
    fresh SQLite database at the same time crash.
    """
    _configure_mlflow()
    from mlflow.tracking import MlflowClient

    uri = tracking_uri()
    client = MlflowClient(tracking_uri=uri)
    open_experiment(client, uri, os.environ.get(EXPERIMENT_ENV, DEFAULT_EXPERIMENT))
    return uri


class StageRun:
    """One MLflow run for one stage execution, driven by a worker thread.

    Calls from the stage (``log_epoch``, ``log_metrics``, ``log_artifact``,
    ``set_tags``) only enqueue; the worker sends them in order.
    """

    def __init__(self, name: str, params: dict[str, Any], tags: dict[str, str]):
        self.name = name
        self.run_id: str | None = None
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue()
        self._worker = threading.Thread(
            target=self._work, args=(params, tags), name=f"mlflow-{name}", daemon=True
        )
        self._worker.start()

    # -- what the stage calls ------------------------------------------------
    def log_epoch(self, epoch: int, row: dict[str, float]) -> None:
        """Queue one epoch's metrics, logged with ``step=epoch``."""
        stamp = int(time.time() * 1000)
        self._queue.put(("metrics", [(k, float(v), stamp, epoch) for k, v in row.items()
                                     if k != "epoch"]))

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        stamp = int(time.time() * 1000)
        self._queue.put(("metrics", [(k, float(v), stamp, step) for k, v in metrics.items()]))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._queue.put(("artifact", (str(path), artifact_path)))

    def log_artifacts(self, directory: str | Path, artifact_path: str | None = None) -> None:
        """Queue every file under ``directory``."""
        self._queue.put(("artifacts", (str(directory), artifact_path)))

    def set_tags(self, tags: dict[str, str]) -> None:
        self._queue.put(("tags", tags))

    def close(self, status: str) -> None:
        """Flush everything, end the run with ``status``; raise if tracking failed."""
        self._queue.put(("end", status))
        self._worker.join()
        if self.error is not None and status == "FINISHED":
            raise TrackingError(
                f"MLflow tracking at {tracking_uri()} failed: {_one_line(self.error)}; "
                "check MLFLOW_TRACKING_URI or unset it to use the local mlflow.db"
            )

    # -- the worker ------------------------------------------------------------
    def _work(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        client = None
        try:
            _configure_mlflow()
            from mlflow.tracking import MlflowClient

            uri = tracking_uri()
            client = MlflowClient(tracking_uri=uri)
            experiment_id = open_experiment(
                client, uri, os.environ.get(EXPERIMENT_ENV, DEFAULT_EXPERIMENT)
            )
            run = client.create_run(experiment_id, run_name=self.name, tags=tags)
            self.run_id = run.info.run_id
            self._log_params(client, params)
        except BaseException as exc:  # noqa: BLE001 - reported by close()
            self.error = exc
        while True:
            kind, payload = self._queue.get()
            batch = [(kind, payload)]
            while kind == "metrics" and not self._queue.empty():  # coalesce queued epochs
                nxt = self._queue.get()
                if nxt[0] != "metrics":
                    batch.append(nxt)
                    break
                payload = payload + nxt[1]
                batch[0] = ("metrics", payload)
            for kind, payload in batch:
                if kind == "end":
                    self._end(client, payload)
                    return
                if self.error is None:
                    try:
                        self._send(client, kind, payload)
                    except BaseException as exc:  # noqa: BLE001
                        self.error = exc

    def _log_params(self, client, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = []
        for key, value in sorted(params.items()):
            text = str(value)
            if len(text) > MAX_PARAM_LENGTH:
                text = text[: MAX_PARAM_LENGTH - 3] + "..."
            items.append(Param(key, text))
        for start in range(0, len(items), 100):
            client.log_batch(self.run_id, params=items[start:start + 100])

    def _send(self, client, kind: str, payload: Any) -> None:
        if kind == "metrics":
            from mlflow.entities import Metric

            metrics = [Metric(k, v, ts, step) for k, v, ts, step in payload]
            for start in range(0, len(metrics), BATCH_LIMIT):
                client.log_batch(self.run_id, metrics=metrics[start:start + BATCH_LIMIT])
        elif kind == "artifact":
            path, artifact_path = payload
            client.log_artifact(self.run_id, path, artifact_path)
        elif kind == "artifacts":
            directory, artifact_path = payload
            client.log_artifacts(self.run_id, directory, artifact_path)
        elif kind == "tags":
            for key, value in payload.items():
                client.set_tag(self.run_id, key, value)

    def _end(self, client, status: str) -> None:
        if self.run_id is None:
            return
        try:
            client.set_terminated(self.run_id, status=status)
        except BaseException as exc:  # noqa: BLE001
            self.error = self.error or exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def standard_tags(stage: str, params_hash: str, data_checksum: str | None = None) -> dict[str, str]:
    """Tags that link a run to the code, the DVC stage and experiment, and its inputs."""
    root = repo_root()
    tags = {"dvc.stage": os.environ.get("DVC_STAGE", stage), "latentlab.params_hash": params_hash}
    commit = git_commit(Path.cwd()) or git_commit(root)
    if commit:
        tags["mlflow.source.git.commit"] = commit
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc.exp_name"] = os.environ["DVC_EXP_NAME"]
    if data_checksum:
        tags["latentlab.data_sha256"] = data_checksum
    return tags


@contextlib.contextmanager
def stage_run(name: str, params: dict[str, Any], tags: dict[str, str]) -> Iterator[StageRun]:
    """Run the block inside one MLflow run; end it FINISHED, FAILED or KILLED.

    SIGTERM (what ``kill`` and DVC's cancellation send) becomes
    :class:`StageTerminated`, so the run is marked KILLED instead of being left
    RUNNING.
    """

    def _terminate(signum, frame):  # noqa: ARG001
        raise StageTerminated(f"received signal {signum}")

    previous = signal.signal(signal.SIGTERM, _terminate)
    run = StageRun(name, params, tags)
    try:
        yield run
    except (KeyboardInterrupt, StageTerminated):
        run.close("KILLED")
        raise
    except BaseException:
        run.close("FAILED")
        raise
    else:
        run.close("FINISHED")
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # python -m latentlab.tracking init
    import sys

    if sys.argv[1:] == ["init"]:
        print(f"tracking store ready: {ensure_store()}")
    elif sys.argv[1:] == ["uri"]:
        print(tracking_uri())
    else:
        raise SystemExit("usage: python -m latentlab.tracking init|uri")
