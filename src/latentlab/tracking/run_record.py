"""What a stage's run is made of on the stage's side: its params as text, and its saved copy.

The stage process builds the run's record (:class:`~latentlab.tracking.stage_run.StageRun`)
without mlflow: params are truncated to MLflow's limit here, once, and a run the
store refused is saved under ``mlflow-pending/`` for ``python -m
latentlab.tracking replay`` (:func:`latentlab.tracking.mlflow_runs.replay_pending`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from latentlab.tracking.store import repo_root

MAX_PARAM_LENGTH = 500  # MLflow's limit on a param value
PENDING_DIR = "mlflow-pending"


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
