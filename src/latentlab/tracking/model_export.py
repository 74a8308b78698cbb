"""A trained encoder as an MLflow PyTorch model that ``mlflow.pyfunc`` can load and call.

``mlflow.pyfunc.load_model("runs:/<run id>/encoder").predict(x)`` maps float32
images, flattened to ``(n, input_dim)`` and scaled to [0, 1] as the pipeline's
preprocessing does, to their codes ``(n, latent_dim)``: the code itself for
the AE and DAE, the posterior mean for the VAE (what the pipeline reports as
the VAE's code). The model's signature says so, so MLflow checks inputs.

The DVC output (``model.pt``) stays the source of truth; this copy is for
people who browse runs and want to embed new images without the pipeline.
It is saved in the ``pt2`` format (``torch.export``: the traced graph and
weights, no pickled Python classes), so loading it needs torch and mlflow but
not latentlab; the batch dimension stays dynamic.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

ARTIFACT_PATH = "encoder"


class Embedder(nn.Module):
    """``forward(x)`` returns the model's codes: what pyfunc's ``predict`` calls."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.codes(x)


def signature(input_dim: int, latent_dim: int):
    """float32 ``(-1, input_dim)`` in, float32 ``(-1, latent_dim)`` out."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    return ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, input_dim))]),
                          outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, latent_dim))]))


def save_embedder(model: nn.Module, path: str | Path, mlflow_model=None) -> None:
    """Write an MLflow PyTorch model directory for ``model``'s encoder at ``path``
    (``mlflow_model``: the MLmodel to fill, which names the logged model it belongs to)."""
    import mlflow.pytorch

    embedder = Embedder(copy.deepcopy(model).cpu().eval())
    example = np.zeros((2, model.input_dim), dtype=np.float32)  # batch > 1: stays dynamic
    mlflow.pytorch.save_model(
        embedder, str(path), serialization_format="pt2", input_example=example,
        signature=signature(model.input_dim, model.latent_dim), mlflow_model=mlflow_model,
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}",
                          f"numpy=={np.__version__}"])


def warm_up() -> None:
    """Pay the first export's one-time costs now, on a stand-in model of two tiny layers.

    The first :func:`save_embedder` of a process spends ~4 s importing
    ``torch.export`` (and with it ``torch._dynamo``) and ~3 s while MLflow maps
    every installed package to its modules to check the pinned requirements;
    once both are done an export takes ~0.3 s. The tracking worker calls this
    while the model trains (``warm`` in :class:`latentlab.tracking.stage_run.StageRun`), so
    none of it lands after training, on the stage's critical path.
    """
    import tempfile

    from latentlab.models.vae import VAE

    with tempfile.TemporaryDirectory() as tmp:
        save_embedder(VAE(4, (3,), 2), Path(tmp) / ARTIFACT_PATH)


def log_embedder(client, run_id: str, model: nn.Module, name: str = ARTIFACT_PATH):
    """Log the encoder as an MLflow 3 *logged model* named ``name``, made by run ``run_id``.

    A logged model, not run artifacts: the experiment's Models tab and the run's Models column
    list logged models only (run artifacts named ``encoder/`` showed nowhere but the artifact
    browser). ``runs:/<run id>/encoder`` still loads it: MLflow resolves that URI to the run's
    logged model of that name. The steps are ``mlflow.pytorch.log_model``'s, done with this
    worker's client (``log_model`` would open its own, on the global tracking URI): create
    the model (PENDING) linked to the run, record it as the run's output, save and upload the
    files, mark it READY.
    """
    import tempfile

    from mlflow.entities import LoggedModelOutput
    from mlflow.models import Model

    experiment_id = client.get_run(run_id).info.experiment_id
    logged = client.create_logged_model(experiment_id, name=name, source_run_id=run_id,
                                        model_type="encoder")
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    with tempfile.TemporaryDirectory() as tmp:
        mlmodel = Model(artifact_path=logged.artifact_location, run_id=run_id,
                        model_id=logged.model_id, model_uuid=logged.model_id)
        save_embedder(model, Path(tmp) / name, mlflow_model=mlmodel)
        client.log_model_artifacts(logged.model_id, str(Path(tmp) / name))
    client.finalize_logged_model(logged.model_id, "READY")
    return logged.model_id
