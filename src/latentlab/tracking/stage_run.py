"""MLflow tracking, off the critical path. The only module that imports mlflow.

A stage wraps its work in :func:`stage_run`. A worker process
(:mod:`latentlab.tracking_worker`) imports mlflow, opens the store, creates the
run (named after the DVC stage, e.g. ``train@vae``) and logs params and tags
while the stage computes; per-epoch metrics are queued and sent in batches as
they come, so the MLflow UI shows a run live and the stage never waits on the
database until it ends. The stage process itself never imports mlflow.

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
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from latentlab.errors import StageTerminated, TrackingError  # re-exported for callers

EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "latentlab"
MAX_PARAM_LENGTH = 500  # MLflow's limit on a param value
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
        location = local_artifact_root()
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
    uri = tracking_uri()
    open_experiment(open_client(), uri, experiment_name())
    return uri


PENDING_DIR = "mlflow-pending"


WORKER_MODULE = "latentlab.tracking_worker"


class StageRun:
    """One MLflow run for one stage execution, driven by a worker process.

    The worker (:mod:`latentlab.tracking_worker`) imports mlflow, opens the
    store, creates the run and logs params and tags on the machine's other
    core while the stage computes. Calls from the stage (``log_epoch``,
    ``log_metrics``, ``log_artifact``, ``set_tags``) only enqueue; a sender
    thread pipes them to the worker in order (queued epochs coalesced into one
    batch) and a receiver thread reads back the run id and any error, so the
    stage never blocks on the store until :meth:`close`. Everything queued is
    also kept in :attr:`record`, so with ``on_failure="warn"`` a run the store
    refused is saved to ``mlflow-pending/`` and can be replayed, never silently
    dropped.

    ``warm`` names what the worker prepares once the run exists, before a late
    event needs it: ``"module"`` is imported, ``"module:function"`` also called
    (``latentlab.model_export:warm_up`` before :meth:`log_encoder`).
    """

    def __init__(self, name: str, params: dict[str, Any], tags: dict[str, str],
                 on_failure: str = "fail", warm: tuple[str, ...] = ()):
        self.name, self.on_failure = name, on_failure
        self.run_id: str | None = None
        self.error: str | None = None  # one line: what the store (or the worker) refused
        params = truncated_params(params)
        self.record: dict[str, Any] = {"name": name, "params": params, "tags": tags,
                                       "events": []}
        self._outbox: queue.Queue = queue.Queue()
        self._outbox.put(("open", {"name": name, "params": params, "tags": tags,
                                   "warm": tuple(warm)}))
        reply_fd, worker_fd = os.pipe()
        try:
            self._worker = subprocess.Popen([sys.executable, "-m", WORKER_MODULE, str(worker_fd)],
                                            stdin=subprocess.PIPE, pass_fds=(worker_fd,))
        except OSError as exc:
            os.close(reply_fd)
            self._worker = None
            self.error = f"could not start the tracking worker: {one_line(exc)}"
        finally:
            os.close(worker_fd)
        if self._worker is not None:
            self._replies = os.fdopen(reply_fd, "rb")
            threading.Thread(target=self._send_all, name=f"mlflow-send-{name}",
                             daemon=True).start()
            self._receiver = threading.Thread(target=self._receive_all,
                                              name=f"mlflow-receive-{name}", daemon=True)
            self._receiver.start()

    # -- what the stage calls ------------------------------------------------
    def log_epoch(self, epoch: int, row: dict[str, float]) -> None:
        """Queue one epoch's metrics, logged with ``step=epoch``.

        With ``on_failure="fail"`` a store that already failed stops the stage
        here, at the next epoch, rather than after training.
        """
        if self.error is not None and self.on_failure == "fail":
            raise self._tracking_error()
        self._put("metrics", [(k, float(v), int(time.time() * 1000), epoch)
                              for k, v in row.items() if k != "epoch"])

    def log_metrics(self, metrics: dict[str, Any], step: int = 0) -> None:
        """Queue final metrics; text values (a diagnosis sentence) become tags of the same key."""
        stamp = int(time.time() * 1000)
        self._put("metrics", [(k, float(v), stamp, step) for k, v in metrics.items()
                              if not isinstance(v, str)])
        texts = {k: v for k, v in metrics.items() if isinstance(v, str)}
        if texts:
            self._put("tags", texts)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None, *,
                     to_parent: bool = False) -> None:
        """Queue one file; ``to_parent`` logs it on the pipeline's parent run instead (if any)."""
        kind = "parent_artifact" if to_parent else "artifact"
        self._put(kind, (str(Path(path).resolve()), artifact_path))

    def log_artifacts(self, directory: str | Path, artifact_path: str | None = None, *,
                      to_parent: bool = False) -> None:
        """Queue every file under ``directory`` (on the parent run with ``to_parent``)."""
        kind = "parent_artifacts" if to_parent else "artifacts"
        self._put(kind, (str(Path(directory).resolve()), artifact_path))

    def set_tags(self, tags: dict[str, str]) -> None:
        self._put("tags", tags)

    def log_comparison(self, table_path: str | Path) -> None:
        """Queue the comparison table for the parent run (see :func:`parent_run.log_comparison`)."""
        self._put("parent_comparison", str(Path(table_path).resolve()))

    def log_encoder(self, model: Any) -> None:
        """Queue the trained model's encoder as an MLflow PyTorch model (``encoder/``).

        The model travels pickled (``torch.save``); see :mod:`latentlab.model_export`.
        A run saved for replay keeps a note instead: the model lives in the DVC
        output ``model.pt``.
        """
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(model, buffer)
        self.record["events"].append(["note", "encoder model not kept for replay"])
        self._outbox.put(("encoder", buffer.getvalue()))

    def close(self, status: str) -> None:
        """Flush everything, end the run with ``status`` and wait for the worker.

        If the store failed: ``fail`` raises :class:`TrackingError`; ``warn``
        saves the run under ``mlflow-pending/`` and prints a warning.
        """
        self._outbox.put(("end", status))
        if self._worker is not None:
            code = self._worker.wait()
            self._receiver.join()  # every reply read: the last one says how the run ended
            if code != 0 and self.error is None:
                self.error = f"the tracking worker ({WORKER_MODULE}) exited with status {code}"
        if self.error is None:
            return
        if self.on_failure == "warn":
            self.record["status"] = status
            saved = save_pending(self.record)
            print(f"warning: {self._tracking_error()}. The run was saved to {saved}; replay it "
                  "with `python -m latentlab.tracking replay` once the store is back.",
                  file=sys.stderr)
        elif status == "FINISHED":
            raise self._tracking_error()

    def _put(self, kind: str, payload: Any) -> None:
        self.record["events"].append([kind, payload])
        self._outbox.put((kind, payload))

    def _tracking_error(self) -> TrackingError:
        return TrackingError(
            f"MLflow tracking at {tracking_uri()} failed: {self.error}; "
            "start the server, or unset MLFLOW_TRACKING_URI to use the local mlflow.db, "
            "or set tracking.on_failure: warn"
        )

    # -- the threads that talk to the worker ----------------------------------
    def _send_all(self) -> None:
        """Pipe queued events to the worker in order, epochs queued meanwhile as one batch."""
        import pickle

        pipe, held = self._worker.stdin, None
        while True:
            kind, payload = held if held is not None else self._outbox.get()
            held = None
            while kind == "metrics":  # coalesce what queued up while the worker was busy
                try:
                    nxt = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if nxt[0] != "metrics":
                    held = nxt
                    break
                payload = payload + nxt[1]
            if pipe is not None:
                try:
                    pickle.dump((kind, payload), pipe)
                    pipe.flush()
                except (BrokenPipeError, OSError):  # the worker died; close() reports its status
                    pipe = None
            if kind == "end":
                if pipe is not None:
                    pipe.close()
                return

    def _receive_all(self) -> None:
        """Read the worker's replies: the run id, errors, and its last word."""
        import pickle

        try:
            while True:
                try:
                    message = pickle.load(self._replies)
                except EOFError:
                    return
                if message[0] == "started":
                    self.run_id = message[1]
                    self.record["tags"] = message[2]  # a replayed run nests under the same parent
                elif message[1] is not None and self.error is None:  # "error" or "closed"
                    self.error = message[1]
        finally:
            self._replies.close()


def open_client():
    """An MlflowClient on :func:`tracking_uri`; a local database that is missing is built first.

    The database is built whole under a temporary name and then linked into
    place (:mod:`latentlab.tracking_db`), so a stage killed while creating it
    cannot leave a half-migrated store behind.
    """
    _configure_mlflow()
    from mlflow.tracking import MlflowClient

    from latentlab.tracking_db import ensure_sqlite_database

    uri = tracking_uri()
    ensure_sqlite_database(uri, local_artifact_root())
    return MlflowClient(tracking_uri=uri)


def start_run(client, name: str, params: dict[str, Any], tags: dict[str, str],
              experiment_id: str | None = None) -> str:
    """Create the run, log its params (truncated to MLflow's limit) and return its id."""
    if experiment_id is None:
        experiment_id = open_experiment(client, tracking_uri(), experiment_name())
    run_id = client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
    log_params(client, run_id, params)
    return run_id


def resolve_parent(client, experiment_id: str, tags: dict[str, str]):
    """The run's parent (:func:`latentlab.parent_run.resolve`) and its tags pointing there."""
    from latentlab import parent_run

    parent = parent_run.resolve(client, experiment_id, tags)
    if parent is not None:
        tags = {**tags, "mlflow.parentRunId": parent.run_id}
    return parent, tags


def truncated_params(params: dict[str, Any]) -> dict[str, str]:
    """Params as MLflow stores them (text), over-long values truncated with a warning."""
    out = {}
    for key, value in sorted(params.items()):
        text = str(value)
        if len(text) > MAX_PARAM_LENGTH:
            text = text[: MAX_PARAM_LENGTH - 3] + "..."
            print(f"warning: param {key} is longer than MLflow's {MAX_PARAM_LENGTH} characters; "
                  "logged truncated (params.yaml holds the full value)", file=sys.stderr)
        out[key] = text
    return out


def log_params(client, run_id: str, params: dict[str, Any]) -> None:
    """Log flat params in batches of 100 (MLflow's limit), truncating over-long values loudly."""
    from mlflow.entities import Param

    items = [Param(key, text) for key, text in truncated_params(params).items()]
    for start in range(0, len(items), 100):
        client.log_batch(run_id, params=items[start:start + 100])


def send_event(client, run_id: str, kind: str, payload: Any) -> None:
    """Log one event of a :class:`StageRun` (or of a saved pending run) to ``run_id``."""
    if kind == "metrics":
        from mlflow.entities import Metric

        metrics = [Metric(k, v, ts, step) for k, v, ts, step in payload]
        for start in range(0, len(metrics), BATCH_LIMIT):
            client.log_batch(run_id, metrics=metrics[start:start + BATCH_LIMIT])
    elif kind == "artifact":
        client.log_artifact(run_id, *payload)
    elif kind == "artifacts":
        client.log_artifacts(run_id, *payload)
    elif kind == "tags":
        for key, value in payload.items():
            client.set_tag(run_id, key, value)
    elif kind == "comparison":
        from latentlab.parent_run import log_comparison

        log_comparison(client, run_id, payload)
    elif kind == "encoder":
        from latentlab.model_export import log_embedder

        log_embedder(client, run_id, payload)


def save_pending(record: dict[str, Any]) -> Path:
    """Write a run the store refused to ``<repo root>/mlflow-pending/`` (git-ignored)."""
    import json
    import uuid

    from latentlab.io import atomic_write_text

    path = repo_root() / PENDING_DIR / f"{record['name']}-{uuid.uuid4().hex[:8]}.json"
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def replay_pending() -> list[str]:
    """Log every saved pending run to the current store; delete each file once it is logged."""
    import json

    client = open_client()
    replayed = []
    for path in sorted((repo_root() / PENDING_DIR).glob("*.json")):
        record = json.loads(path.read_text())
        run_id = start_run(client, record["name"], record["params"], record["tags"])
        for kind, payload in record["events"]:
            if kind.startswith("parent_") or kind == "note":
                continue  # the parent's copy, or what could not be kept
            if kind == "metrics":
                payload = [tuple(item) for item in payload]
            send_event(client, run_id, kind, payload)
        client.set_terminated(run_id, status=record.get("status", "FINISHED"))
        path.unlink()
        replayed.append(run_id)
    return replayed


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 300 characters, for one-line errors."""
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
def track_stage(stage: str, p: Any, prefix: str, *, data: str | Path, params_file: str | Path,
                link: str | Path, warm: tuple[str, ...] = ()) -> Iterator[StageRun]:
    """The MLflow run of a stage, and its link file.

    The run gets the params flattened under ``prefix``, the standard tags and
    the ``tracking.on_failure`` policy of ``params_file``. When the stage
    succeeds, ``link`` (a DVC output) records the stage name, params hash and
    data checksum: no run id, so it is deterministic, yet a result that DVC
    restores from its run-cache (which makes no new MLflow run) can be traced to
    the run that produced it by those tags (see :func:`find_runs`). ``warm``: see
    :class:`StageRun`.
    """
    from latentlab import params
    from latentlab.io import atomic_write_json, sha256_file

    tags = standard_tags(stage, params.params_hash(p), sha256_file(data))
    on_failure = params.load("tracking", params_file).on_failure
    with stage_run(stage, params.as_flat_dict(p, prefix), tags, on_failure, warm) as run:
        yield run
        atomic_write_json(link, {"stage": stage,
                                 "params_hash": tags["latentlab.params_hash"],
                                 "data_sha256": tags["latentlab.data_sha256"],
                                 "mlflow_filter": (
                                     f"tags.`latentlab.params_hash` = "
                                     f"'{tags['latentlab.params_hash']}' and "
                                     f"tags.`latentlab.data_sha256` = "
                                     f"'{tags['latentlab.data_sha256']}'")})


def find_runs(link_file: str | Path) -> list:
    """The MLflow runs that produced the outputs a link file stands beside, newest first."""
    import json

    link = json.loads(Path(link_file).read_text())
    client = open_client()
    experiment = client.get_experiment_by_name(experiment_name())
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], filter_string=link["mlflow_filter"],
                              order_by=["attributes.start_time DESC"])


@contextlib.contextmanager
def stage_run(name: str, params: dict[str, Any], tags: dict[str, str],
              on_failure: str = "fail", warm: tuple[str, ...] = ()) -> Iterator[StageRun]:
    """Run the block inside one MLflow run; end it FINISHED, FAILED or KILLED.

    SIGTERM (what ``kill`` and DVC's cancellation send) becomes
    :class:`StageTerminated`, so the run is marked KILLED instead of being left
    RUNNING.
    """

    def _terminate(signum, frame):  # noqa: ARG001
        raise StageTerminated(signum)

    previous = signal.signal(signal.SIGTERM, _terminate)
    run = StageRun(name, params, tags, on_failure, warm)
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


def main(argv: list[str] | None = None) -> int:
    """``python -m latentlab.tracking init|uri|replay``; a store that fails is one line, exit 1."""
    command = sys.argv[1:] if argv is None else argv
    if command not in (["init"], ["replay"], ["uri"]):
        print("usage: python -m latentlab.tracking init|uri|replay", file=sys.stderr)
        return 2
    if command == ["uri"]:
        print(tracking_uri())
        return 0
    try:
        if command == ["init"]:
            print(f"tracking store ready: {ensure_store()}")
        else:
            print(f"replayed {len(replay_pending())} pending run(s) into {tracking_uri()}")
    except Exception as exc:  # noqa: BLE001 - whatever the store raised, said in one line
        print(f"error: MLflow tracking at {tracking_uri()} failed: {one_line(exc)}; start the "
              "server, or unset MLFLOW_TRACKING_URI to use the local mlflow.db", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
