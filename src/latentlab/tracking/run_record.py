"""What a stage's run is made of on the stage's side: its params as text, and its saved copies.

The stage process builds the run's record (:class:`~latentlab.tracking.stage_run.StageRun`)
without mlflow: params are truncated to MLflow's limit here, once, and a run the
store refused is saved under ``mlflow-pending/`` for ``python -m
latentlab.tracking replay`` (:func:`latentlab.tracking.mlflow_runs.replay_pending`).

A stage also leaves a *start marker* (``mlflow-pending/started/``) the moment it
starts: its tracking worker needs a second or two to import mlflow and create
the run, and a SIGKILL of the whole process group in that window would leave no
trace of the work at all. The worker deletes the marker once the run exists
(the run carries the marker's :data:`START_ID_TAG`); a marker whose worker is
gone and whose run never appeared is turned into a KILLED run by the reaper
(:mod:`latentlab.tracking.reaper`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from latentlab.tracking.store import repo_root

MAX_PARAM_LENGTH = 500  # MLflow's limit on a param value
PENDING_DIR = "mlflow-pending"
STARTED_DIR = "started"  # under PENDING_DIR: start markers
START_ID_TAG = "latentlab.start_id"  # ties a run to the start marker of the stage that made it


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


def save_pending(record: dict[str, Any]) -> Path:
    """Write a run the store refused to ``<repo root>/mlflow-pending/`` (git-ignored)."""
    import json
    import uuid

    from latentlab.io import atomic_write_text

    path = repo_root() / PENDING_DIR / f"{record['name']}-{uuid.uuid4().hex[:8]}.json"
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def new_start(name: str) -> tuple[str, Path]:
    """A fresh start id for a stage run called ``name``, and where its start marker goes."""
    import uuid

    start_id = uuid.uuid4().hex
    return start_id, started_dir() / f"{name}-{start_id[:12]}.json"


def started_dir(root: Path | None = None) -> Path:
    """``<repo root>/mlflow-pending/started``: the start markers of runs not created yet."""
    return (root or repo_root()) / PENDING_DIR / STARTED_DIR


def mark_started(path: Path, marker: dict[str, Any]) -> bool:
    """Write a start marker (name, params, tags, owner, experiment, tracking URI, start time).

    Best effort: a stage whose marker cannot be written (a full disk, which its outputs will
    report) goes on; only the safety net for a SIGKILL before the run exists is missing.
    """
    import json

    from latentlab.errors import LatentlabError
    from latentlab.io import atomic_write_text

    try:
        atomic_write_text(path, json.dumps(marker, indent=1, sort_keys=True) + "\n")
    except (OSError, LatentlabError):
        return False
    return True
