"""The process that talks to MLflow for one stage run (``python -m latentlab.tracking.worker``).

Why a process and not a thread: importing mlflow and opening the store is
~2.5 s of Python bytecode. In a thread of the stage it holds the stage's GIL
while the stage imports torch and trains a small model (itself
Python-bound), so the two serialise: the thread cost each tracked stage 4–5 s
of wall time (``benchmarks/stage_profile.py``). As a process it runs on the
machine's other core and the stage waits for it only at the very end.

Protocol (both directions are pickles on pipes; the stage is the only writer
of our stdin, and we are the only writer of the reply pipe whose fd is our
one argument, so MLflow's own prints on stdout/stderr never mix in):

* in: ``("open", {"name", "params", "tags", "start_ms", "warm"})``, then events
  ``(kind, payload)`` as :func:`latentlab.tracking.mlflow_runs.send_event` knows them,
  then ``("end", status)``;
* out: ``("started", run_id, tags)`` (the tags as logged, parent link
  included) or ``("error", text)``; any later ``("error", text)``; finally
  ``("closed", text or None)``.

If stdin closes without ``end`` the stage process died (SIGKILL, OOM): the
run is ended KILLED instead of being left RUNNING for ever. Once its own run
is open, the worker also ends the runs whose owners are gone (the reaper), so
the next stage of a plain ``dvc repro`` cleans up after a killed one. SIGINT and SIGTERM
are ignored here: a Ctrl-C reaches the whole process group, and the stage
itself decides the run's status and tells us. This process is the run's owner
(:mod:`latentlab.tracking.owner`): if it is killed too, the reaper ends the run.

Every write waits out a store that is locked or briefly unreachable
(:func:`~latentlab.tracking.store_errors.retrying`, up to a minute), the end of
the run too. A run the store refused part of is still ended, FAILED where the
stage finished, since the stage saves it whole for replay
(``tracking.on_failure: warn``) and the replay takes its place. Errors travel
as one line (:func:`~latentlab.tracking.store_errors.describe`); MLflow's own
ERROR log records, which repeat them with tracebacks, are dropped
(:func:`latentlab.tracking.store.open_client`).
"""

from __future__ import annotations

import importlib
import io
import pickle
import signal
import sys
from pathlib import Path
from typing import Any, BinaryIO

from latentlab.errors import one_line
from latentlab.tracking.mlflow_runs import resolve_parent, send_event, start_run
from latentlab.tracking.reaper import reap
from latentlab.tracking.store import (error_log_note, experiment_name, open_client,
                                      open_experiment, tracking_uri)
from latentlab.tracking.store_errors import RETRY_SECONDS, describe, retrying

PARTIAL_RETRY_SECONDS = 5.0


def serve(inbox: BinaryIO, outbox: BinaryIO) -> int:
    """Run one stage run from ``inbox``'s messages; report on ``outbox``."""
    def reply(*message: Any) -> None:
        try:
            pickle.dump(message, outbox)
            outbox.flush()
        except BrokenPipeError:  # the stage died (SIGKILL, OOM): nobody is left to tell
            pass

    _, opening = pickle.load(inbox)
    uri = tracking_uri()
    error: str | None = None
    client = run_id = parent = None
    try:
        client = open_client()
        experiment_id = open_experiment(client, uri, experiment_name())
        start_ms = opening.get("start_ms")
        parent, tags = resolve_parent(client, experiment_id, opening["tags"], start_ms)
        run_id = start_run(client, opening["name"], opening["params"], tags,
                           experiment_id, start_ms)
        if opening.get("marker"):  # the run exists now: the stage's start marker has done its job
            Path(opening["marker"]).unlink(missing_ok=True)
        reply("started", run_id, tags)
    except BaseException as exc:  # noqa: BLE001 - the stage decides what a failure means
        error = describe(exc, uri) + error_log_note()
        reply("error", error)
    if error is None:
        for target in opening.get("warm", ()):
            warm(target)
        reap_orphans(client, experiment_id)

    status = "KILLED"  # if stdin closes without "end", the stage process is gone
    while True:
        try:
            kind, payload = pickle.load(inbox)
        except EOFError:
            break
        if kind == "end":
            status = payload
            break
        if error is not None:
            continue  # the stage keeps the events for replay; nothing more goes to the store
        try:
            retrying(_deliver, client, run_id, parent, kind, payload)
        except BaseException as exc:  # noqa: BLE001
            error = describe(exc, uri) + error_log_note()
            reply("error", error)
    if run_id is not None:
        ended = end_run(client, run_id, parent, status, partial=error is not None)
        error = error or (None if ended is None else describe(ended, uri) + error_log_note())
    reply("closed", error)
    return 0


def end_run(client, run_id: str, parent, status: str, *, partial: bool) -> Exception | None:
    """End the run with ``status`` (FAILED if the store missed part of a FINISHED run) and a
    parent the stages end, waiting out a locked store; what still failed, or None.

    After a failure (``partial``) the store had its minute already: a few seconds more, then
    the reaper ends the run once this process is gone.
    """
    seconds = PARTIAL_RETRY_SECONDS if partial else RETRY_SECONDS
    try:
        retrying(client.set_terminated, run_id, seconds=seconds,
                 status="FAILED" if partial and status == "FINISHED" else status)
        if parent is not None and parent.ended_by_stages:
            retrying(client.set_terminated, parent.run_id, seconds=seconds, status=status)
    except Exception as exc:  # noqa: BLE001 - the reaper ends it once this process is gone
        return exc
    return None


def reap_orphans(client, experiment_id: str) -> None:
    """End the runs that killed processes left RUNNING (:mod:`latentlab.tracking.reaper`),
    one stderr line per run ended. Done by every stage's worker, so plain ``dvc repro`` (not
    only ``make repro``) cleans up after a SIGKILL; it runs while the stage computes, and a
    failure here is only a warning: the run of this stage is not at stake."""
    try:
        result = reap(client, experiment_id)
    except Exception as exc:  # noqa: BLE001
        print(f"warning: the runs left RUNNING by killed processes were not checked: "
              f"{describe(exc, tracking_uri())}", file=sys.stderr)
        return
    for line in result.lines():  # what it ended; not what it left alone (said by `reap`)
        if line.startswith(("reaped run", "recorded run")):
            print(f"MLflow: {line}", file=sys.stderr)


def warm(target: str) -> None:
    """Import ``module`` or call ``module:function``: what a later event needs, done while the
    stage still computes. A failure here is not the run's: the event itself will report it."""
    module, _, function = target.partition(":")
    try:
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()
    except Exception as exc:  # noqa: BLE001
        print(f"warning: tracking worker could not prepare {target}: {one_line(exc)}",
              file=sys.stderr)


def _deliver(client, run_id: str, parent, kind: str, payload: Any) -> None:
    """One event: to the stage's run, or with a ``parent_`` kind to its parent run (if any)."""
    if kind.startswith("parent_"):
        if parent is None:
            return  # no parent run: the stage's own run already has the files
        kind, run_id = kind[len("parent_"):], parent.run_id
    if kind == "encoder":  # a pickled nn.Module (torch.save), from the stage's own classes
        import torch

        payload = torch.load(io.BytesIO(payload), weights_only=False)
    send_event(client, run_id, kind, payload)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m latentlab.tracking.worker REPLY_FD (started by a stage)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    outbox = open(int(args[0]), "wb")
    try:
        return serve(sys.stdin.buffer, outbox)
    finally:
        try:
            outbox.close()
        except BrokenPipeError:  # the stage is gone; what was left to flush has no reader
            pass


if __name__ == "__main__":
    raise SystemExit(main())
