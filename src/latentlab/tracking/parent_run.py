"""One parent MLflow run per pipeline run, with one child run per stage that ran.

DVC runs each stage in its own process and passes nothing from one stage to
the next, so the stages find their parent in one of two ways:

* **The wrapper** (``python -m latentlab.pipeline.run repro`` — what
  ``make repro`` runs — or ``... exp run``): it sets
  :data:`PARENT_FILE_ENV` to a file path before starting DVC, creates the
  parent run in a thread while DVC starts, and writes the run id into that
  file. A stage's tracking worker waits for the file (the stage itself never
  waits). The wrapper ends the parent with DVC's outcome.
* **A DVC experiment** (``dvc exp run``, queued or not, without the wrapper):
  DVC sets ``DVC_EXP_NAME`` in every stage's environment, also in a queue
  worker's temporary copy, so the stages of one experiment find-or-create the
  parent tagged with that name. Stages of one experiment run one after the
  other, so two of them never create it at once; parallel queue workers run
  different experiments. Each stage reopens that parent (RUNNING) when it
  starts and ends it with its own status, so the parent is FINISHED after the
  last stage, FAILED or KILLED if a stage was, and never left RUNNING.

A plain ``dvc repro`` has neither, and its stage runs are top-level runs; a
stage restored from DVC's run-cache runs no code and makes no run at all.

Each parent names its owner (:mod:`latentlab.tracking.owner`): the wrapper, or
the worker of the stage that last reopened it. If the owner is killed outright,
:mod:`latentlab.tracking.reaper` ends the parent KILLED.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from latentlab.tracking.owner import owner_tags
from latentlab.tracking.store import BATCH_LIMIT

PARENT_FILE_ENV = "LATENTLAB_PARENT_RUN_FILE"
PARENT_TAG = "latentlab.parent"
WAIT_SECONDS = 120.0  # how long a stage's tracking worker waits for the wrapper's parent


@dataclass(frozen=True)
class Parent:
    """The parent run a stage's run hangs under, and who ends it."""

    run_id: str
    ended_by_stages: bool  # True for an experiment's parent; the wrapper ends its own


def write_parent_file(path: str | Path, *, run_id: str | None = None,
                      error: str | None = None) -> None:
    """Hand the wrapper's parent run id (or why there is none) to the stages, atomically."""
    from latentlab.io import atomic_write_text

    atomic_write_text(path, json.dumps({"run_id": run_id, "error": error}) + "\n")


def read_parent_file(path: str | Path, timeout: float = WAIT_SECONDS) -> str | None:
    """The run id the wrapper wrote; None if it could not make one or never wrote it."""
    deadline = time.monotonic() + timeout
    path = Path(path)
    while not path.exists():
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    return json.loads(path.read_text()).get("run_id")


def resolve(client, experiment_id: str, tags: dict[str, str],
            start_time: int | None = None) -> Parent | None:
    """The parent of the stage run about to be created (see the module docstring)."""
    if os.environ.get(PARENT_FILE_ENV):
        run_id = read_parent_file(os.environ[PARENT_FILE_ENV])
        return Parent(run_id, ended_by_stages=False) if run_id else None
    exp_name = os.environ.get("DVC_EXP_NAME")
    if exp_name:
        return Parent(experiment_parent(client, experiment_id, exp_name, tags, start_time),
                      ended_by_stages=True)
    return None


def parent_tags(tags: dict[str, str], command: str, source: str) -> dict[str, str]:
    """A parent's tags: the stage tags that describe the whole pipeline, plus what ran.

    ``source`` (``dvc repro``, ``dvc exp run``) is the run's ``mlflow.source.name``: MLflow's
    runs table shows it as the Source column, and its run page shows the git commit only
    beside a source name (see :func:`latentlab.tracking.stage_run.source_tags`).
    """
    keep = ("mlflow.source.git.commit", "dvc.exp_name", "latentlab.splits_sha256")
    return {**{k: v for k, v in tags.items() if k in keep}, PARENT_TAG: "true",
            "latentlab.command": command, "mlflow.source.name": source,
            "mlflow.source.type": "LOCAL"}


def pipeline_params(params_file: str | Path = "params.yaml") -> dict[str, object]:
    """All of ``params_file``, flattened (``train.vae.beta``): what a parent run carries, so
    MLflow's compare view lines parents up by the values each pipeline run used. ``{}``
    without the file."""
    import yaml

    from latentlab import params

    path = Path(params_file)
    return params.flatten(yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def experiment_parent(client, experiment_id: str, exp_name: str, tags: dict[str, str],
                      start_time: int | None = None) -> str:
    """Find or create the parent run of DVC experiment ``exp_name``; mark it RUNNING.

    The stage that creates it gives it all of ``params.yaml`` as params (DVC runs every stage
    in the experiment's workspace, where ``-S`` already wrote its values), as the wrapper's
    parent has them; ``start_time`` (ms since the epoch) is that stage's start.
    """
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{PARENT_TAG}` = 'true' and tags.`dvc.exp_name` = '{exp_name}'",
        max_results=1)
    if found:  # this process (the stage's tracking worker) becomes the owner, then reopens it
        from mlflow.entities import RunTag

        run_id = found[0].info.run_id
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in owner_tags().items()])
        client.update_run(run_id, status="RUNNING")
        return run_id
    from latentlab.tracking.run_params import log_params

    created = client.create_run(experiment_id, run_name=f"dvc exp {exp_name}",
                                start_time=start_time,
                                tags={**parent_tags({**tags, "dvc.exp_name": exp_name},
                                                    f"dvc exp run (experiment {exp_name})",
                                                    "dvc exp run"),
                                      **owner_tags()})
    log_params(client, created.info.run_id, pipeline_params())
    return created.info.run_id


def comparison_metrics(table: dict) -> dict[str, float]:
    """The comparison table as flat metrics ``<method>/<metric>`` (numbers only)."""
    return {f"{method}/{key}": float(value)
            for method, row in sorted(table.items()) for key, value in sorted(row.items())
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


def comparison_csv(table: dict) -> str:
    """The comparison table as CSV: one row per method, one column per metric."""
    columns = sorted({key for row in table.values() for key in row})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["method", *columns])
    for method in sorted(table):
        writer.writerow([method, *(table[method].get(key, "") for key in columns)])
    return out.getvalue()


def log_comparison(client, run_id: str, table_path: str | Path) -> None:
    """Put the comparison table (``metrics/latent_stats.json``) on a parent run.

    As metrics ``<method>/<metric>`` (so parents of a sweep compare side by side
    in the MLflow UI) and as artifacts ``comparison/comparison.csv`` and
    ``comparison/latent_stats.json``.
    """
    from mlflow.entities import Metric


    table = json.loads(Path(table_path).read_text())
    stamp = int(time.time() * 1000)
    metrics = [Metric(key, value, stamp, 0) for key, value in comparison_metrics(table).items()]
    for start in range(0, len(metrics), BATCH_LIMIT):
        client.log_batch(run_id, metrics=metrics[start:start + BATCH_LIMIT])
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "comparison.csv").write_text(comparison_csv(table))
        shutil.copy(table_path, Path(tmp) / "latent_stats.json")
        client.log_artifacts(run_id, tmp, "comparison")
