"""MLflow tracking of one stage, off the critical path: the stage never imports mlflow.

A stage wraps its work in :func:`track_stage` (or :func:`stage_run`). A worker
process (:mod:`latentlab.tracking.worker`) imports mlflow, opens the store
(:mod:`latentlab.tracking.store`), creates the run (named after the DVC stage,
e.g. ``train@vae``) and logs params and tags while the stage computes;
per-epoch metrics are queued and sent in batches as they come, so the MLflow UI
shows a run live and the stage never waits on the database until it ends.

Nothing here is ever written into a DVC output: run ids and timestamps live in
MLflow only.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from latentlab.errors import StageTerminated, TrackingError, one_line
from latentlab.tracking.owner import owner_tags, process_started_at
from latentlab.tracking.run_record import (START_ID_TAG, mark_started, new_start, save_pending,
                                           truncated_params)
from latentlab.tracking.store import (
    experiment_name,
    git_commit,
    open_client,
    repo_root,
    tracking_uri,
)
from latentlab.tracking.store_errors import failure_line

WORKER_MODULE = "latentlab.tracking.worker"
SPLITS_TAG = "latentlab.splits_sha256"  # sha256 of the stage's splits.npz (see standard_tags)


class StageRun:
    """One MLflow run for one stage execution, driven by a worker process.

    The worker (:mod:`latentlab.tracking.worker`) imports mlflow, opens the
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
    (``latentlab.tracking.model_export:warm_up`` before :meth:`log_encoder`).
    """

    def __init__(self, name: str, params: dict[str, Any], tags: dict[str, str],
                 on_failure: str = "fail", warm: tuple[str, ...] = (),
                 terminated: list[int] | None = None):
        self.name, self.on_failure = name, on_failure
        self._terminated = terminated if terminated is not None else []
        self.run_id: str | None = None
        self.error: str | None = None  # one line: what the store (or the worker) refused
        params = truncated_params(params)
        start_id, self._marker = new_start(name)
        tags = {**tags, START_ID_TAG: start_id}
        now = time.time()
        start_ms = int(1000 * min(now, process_started_at() or now))  # the stage's own start
        self.record: dict[str, Any] = {"name": name, "params": params, "tags": tags,
                                       "start_ms": start_ms, "events": []}
        self._outbox: queue.Queue = queue.Queue()
        self._outbox.put(("open", {"name": name, "params": params, "tags": tags,
                                   "start_ms": start_ms, "warm": tuple(warm),
                                   "marker": str(self._marker)}))
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
            # the worker owns the run; until it has created it, this marker stands for it
            mark_started(self._marker, {"name": name, "params": params, "tags": tags,
                                        "owner": owner_tags(self._worker.pid),
                                        "experiment": experiment_name(), "uri": tracking_uri(),
                                        "start_ms": start_ms})
            self._replies = os.fdopen(reply_fd, "rb")
            threading.Thread(target=self._send_all, name=f"mlflow-send-{name}",
                             daemon=True).start()
            self._receiver = threading.Thread(target=self._receive_all,
                                              name=f"mlflow-receive-{name}", daemon=True)
            self._receiver.start()

    # -- what the stage calls ------------------------------------------------
    def stop_if_terminated(self) -> None:
        """Raise :class:`StageTerminated` if SIGTERM came and the stage is still going.

        The signal handler raises wherever the main thread is; code that catches
        every exception there (``except:`` or ``except BaseException`` without a
        re-raise, in a library) swallows it, and the stage trained on, its run
        RUNNING (seen once in eight SIGTERMs ~4 s into ``train@vae`` on a busy
        machine). Every tracking call and the end of the block check again.
        """
        if self._terminated:
            raise StageTerminated(self._terminated[0])

    def log_epoch(self, epoch: int, row: dict[str, float]) -> None:
        """Queue one epoch's metrics, logged with ``step=epoch``.

        With ``on_failure="fail"`` a store that already failed stops the stage
        here, at the next epoch, rather than after training. A SIGTERM swallowed
        on the way stops it here too (:meth:`stop_if_terminated`).
        """
        self.stop_if_terminated()
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

        The model travels pickled (``torch.save``); see :mod:`latentlab.tracking.model_export`.
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
        saves the run under ``mlflow-pending/`` (with the id of the partial run
        the store kept, which the worker ended FAILED and the replay deletes) and
        prints a warning.
        """
        self._outbox.put(("end", status))
        if self._worker is not None:
            code = self._worker.wait()
            self._receiver.join()  # every reply read: the last one says how the run ended
            if code != 0 and self.error is None:
                self.error = f"the tracking worker ({WORKER_MODULE}) exited with status {code}"
        self._marker.unlink(missing_ok=True)  # the run exists, or the failure is reported here
        if self.error is None:
            return
        if self.on_failure == "warn":
            self.record["status"] = status
            self.record["end_ms"] = int(time.time() * 1000)
            if self.run_id is not None:  # the part the store took; the replay replaces it
                self.record["partial"] = {"uri": tracking_uri(), "run_id": self.run_id}
            saved = save_pending(self.record)
            print(f"warning: {self._tracking_error()}. The run was saved to {saved}; replay it "
                  "with `python -m latentlab.tracking replay` once the store is back.",
                  file=sys.stderr)
        elif status == "FINISHED":
            raise self._tracking_error()

    def _put(self, kind: str, payload: Any) -> None:
        self.stop_if_terminated()
        self.record["events"].append([kind, payload])
        self._outbox.put((kind, payload))

    def _tracking_error(self) -> TrackingError:
        return TrackingError(failure_line(tracking_uri(), self.error, self.on_failure))

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


def source_tags(script: str | Path | None = None) -> dict[str, str]:
    """``mlflow.source.name`` (the script, relative to the repository: ``stages/train.py``) and
    ``mlflow.source.type`` ``LOCAL``.

    MLflow 3.17's runs table shows the source name as its Source column, and the run page
    shows ``mlflow.source.git.commit`` only beside a source name: without these the commit,
    though tagged, appears nowhere but the tags list.
    """
    script = Path(script if script is not None else sys.argv[0]).resolve()
    try:
        name = script.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        name = script.name
    return {"mlflow.source.name": name, "mlflow.source.type": "LOCAL"}


def standard_tags(stage: str, params_hash: str, splits_checksum: str | None = None
                  ) -> dict[str, str]:
    """Tags that link a run to the code, the DVC stage and experiment, and its inputs.

    ``splits_checksum`` is the sha256 of the stage's ``--data`` file, the preprocess stage's
    ``splits.npz``: tagged ``latentlab.splits_sha256``, not a bare "data sha256", since the
    report's data checksum is another file's (the raw data set's, ``source.json``).
    """
    root = repo_root()
    tags = {"dvc.stage": os.environ.get("DVC_STAGE", stage), "latentlab.params_hash": params_hash,
            **source_tags()}
    commit = git_commit(Path.cwd()) or git_commit(root)
    if commit:
        tags["mlflow.source.git.commit"] = commit
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc.exp_name"] = os.environ["DVC_EXP_NAME"]
    if splits_checksum:
        tags[SPLITS_TAG] = splits_checksum
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
                                 "splits_sha256": tags[SPLITS_TAG],
                                 "mlflow_filter": (
                                     f"tags.`latentlab.params_hash` = "
                                     f"'{tags['latentlab.params_hash']}' and "
                                     f"tags.`{SPLITS_TAG}` = '{tags[SPLITS_TAG]}'")})


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

    received: list[int] = []  # the signal, kept: library code may swallow the exception

    def _terminate(signum, frame):  # noqa: ARG001
        received.append(signum)
        raise StageTerminated(signum)

    previous = signal.signal(signal.SIGTERM, _terminate)
    run = StageRun(name, params, tags, on_failure, warm, terminated=received)
    try:
        yield run
        run.stop_if_terminated()  # swallowed after the last tracking call: still KILLED
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
