"""Logging a run's params to MLflow: one helper shared by stage runs, parents and the reaper.

Its own module so that :mod:`latentlab.tracking.mlflow_runs` and
:mod:`latentlab.tracking.parent_run`, which import each other's neighbours, both take it
from below and form no import circle.
"""

from __future__ import annotations

from typing import Any

from latentlab.tracking.run_record import truncated_params

PARAMS_PER_BATCH = 100  # MLflow's limit on params per log_batch


def log_params(client, run_id: str, params: dict[str, Any]) -> None:
    """Log flat params in batches of 100 (MLflow's limit), truncating over-long values loudly."""
    from mlflow.entities import Param

    items = [Param(key, text) for key, text in truncated_params(params).items()]
    for start in range(0, len(items), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=items[start:start + PARAMS_PER_BATCH])
