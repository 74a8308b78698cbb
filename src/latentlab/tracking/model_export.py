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


def save_embedder(model: nn.Module, path: str | Path) -> None:
    """Write an MLflow PyTorch model directory for ``model``'s encoder at ``path``."""
    import mlflow.pytorch

    embedder = Embedder(copy.deepcopy(model).cpu().eval())
    example = np.zeros((2, model.input_dim), dtype=np.float32)  # batch > 1: stays dynamic
    mlflow.pytorch.save_model(
        embedder, str(path), serialization_format="pt2", input_example=example,
        signature=signature(model.input_dim, model.latent_dim),
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


def log_embedder(client, run_id: str, model: nn.Module, artifact_path: str = ARTIFACT_PATH):
    """Save the encoder to a temporary directory and log it as ``artifact_path`` of the run."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        save_embedder(model, Path(tmp) / artifact_path)
        client.log_artifacts(run_id, str(Path(tmp) / artifact_path), artifact_path)
