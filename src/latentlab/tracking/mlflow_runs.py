"""Runs made with an MlflowClient: create one, log its params and events, replay saved ones.

What the tracking worker (:mod:`latentlab.tracking.worker`) does for a
:class:`~latentlab.tracking.stage_run.StageRun`, and what ``python -m
latentlab.tracking replay`` does for a run the store refused earlier (saved
under ``mlflow-pending/`` by :mod:`latentlab.tracking.run_record`). Only the
worker and the ``replay`` command import this module; mlflow is imported inside
the functions.
"""

from __future__ import annotations

from typing import Any

from latentlab.tracking.owner import owner_tags
from latentlab.tracking.run_params import log_params
from latentlab.tracking.run_record import PENDING_DIR
from latentlab.tracking.store import (BATCH_LIMIT, experiment_name, open_client, open_experiment,
                                      repo_root, tracking_uri)
from latentlab.tracking.store_errors import retrying


def start_run(client, name: str, params: dict[str, Any], tags: dict[str, str],
              experiment_id: str | None = None, start_ms: int | None = None) -> str:
    """Create the run, owned by this process (it ends the run), log its params (truncated to
    MLflow's limit) and return its id.

    ``start_ms`` (ms since the epoch) is when the stage started: the worker creates the run
    seconds later, once mlflow is imported, and a replay much later, so without it MLflow's
    Duration would be the logging time only.
    """
    if experiment_id is None:
        experiment_id = open_experiment(client, tracking_uri(), experiment_name())
    tags = {**tags, **owner_tags()}  # a replayed run's owner is the replay, not the old worker
    run_id = client.create_run(experiment_id, run_name=name, tags=tags,
                               start_time=start_ms).info.run_id
    log_params(client, run_id, params)
    return run_id


def resolve_parent(client, experiment_id: str, tags: dict[str, str],
                   start_ms: int | None = None):
    """The run's parent (:func:`.parent_run.resolve`) and its tags pointing there."""
    from latentlab.tracking import parent_run

    parent = parent_run.resolve(client, experiment_id, tags, start_ms)
    if parent is not None:
        tags = {**tags, "mlflow.parentRunId": parent.run_id}
    return parent, tags


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
        from latentlab.tracking.parent_run import log_comparison

        log_comparison(client, run_id, payload)
    elif kind == "encoder":
        from latentlab.tracking.model_export import log_embedder

        log_embedder(client, run_id, payload)


def replay_pending() -> list[str]:
    """Log every saved pending run to the current store; delete each file once it is logged.

    The partial run the store kept of it (if any, in this same store) is then
    ended FAILED where it was left RUNNING, tagged ``latentlab.replaced_by``
    with the replayed run's id, and deleted (MLflow's soft delete: ``mlflow
    runs restore`` brings it back), so one run per stage execution is shown.
    """
    import json

    client = open_client()
    replayed = []
    for path in sorted((repo_root() / PENDING_DIR).glob("*.json")):
        record = json.loads(path.read_text())
        run_id = start_run(client, record["name"], record["params"], record["tags"],
                           start_ms=record.get("start_ms"))
        for kind, payload in record["events"]:
            if kind.startswith("parent_") or kind == "note":
                continue  # the parent's copy, or what could not be kept
            if kind == "metrics":
                payload = [tuple(item) for item in payload]
            retrying(send_event, client, run_id, kind, payload)
        retrying(client.set_terminated, run_id, status=record.get("status", "FINISHED"),
                 end_time=record.get("end_ms"))
        path.unlink()
        replayed.append(run_id)
        partial = record.get("partial") or {}
        if partial.get("run_id") and partial.get("uri") == tracking_uri():
            retire_partial(client, partial["run_id"], run_id)
    return replayed


def retire_partial(client, partial_id: str, replayed_id: str) -> None:
    """End (FAILED, if still RUNNING), tag and delete the partial run a replay replaces."""
    from mlflow.exceptions import MlflowException

    try:
        client.set_tag(partial_id, "latentlab.replaced_by", replayed_id)
        if client.get_run(partial_id).info.status == "RUNNING":
            client.set_terminated(partial_id, status="FAILED")
        client.delete_run(partial_id)
    except MlflowException:  # already deleted by hand, or gone with its store: nothing to hide
        pass
