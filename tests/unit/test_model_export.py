"""The encoder logged as an MLflow PyTorch model embeds new images through mlflow.pyfunc."""

import mlflow
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from latentlab.models.autoencoder import AutoEncoder
from latentlab.models.vae import VAE
from latentlab.tracking.stage_run import stage_run
from latentlab.tracking.store import tracking_uri


@pytest.fixture()
def store(store_dir):
    return store_dir


@pytest.mark.parametrize("model_class", [VAE, AutoEncoder])
def test_pyfunc_predict_gives_the_models_codes(store, model_class):
    torch.manual_seed(0)
    model = model_class(64, (16,), 3).eval()
    with stage_run("train@x", {}, {}) as run:
        run.log_encoder(model)
    client = MlflowClient(tracking_uri=tracking_uri())
    (r,) = client.search_runs([client.get_experiment_by_name("latentlab").experiment_id])
    mlflow.set_tracking_uri(tracking_uri())
    loaded = mlflow.pyfunc.load_model(f"runs:/{r.info.run_id}/encoder")
    x = np.random.default_rng(0).random((7, 64), dtype=np.float32)
    with torch.no_grad():
        expected = model.codes(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(loaded.predict(x), expected, rtol=1e-6, atol=1e-6)
    inputs = loaded.metadata.get_input_schema().inputs[0]
    assert inputs.shape == (-1, 64) and inputs.type == np.dtype(np.float32)
    assert loaded.metadata.get_output_schema().inputs[0].shape == (-1, 3)


def test_the_encoder_is_a_logged_model_of_its_run_listed_in_the_experiment(store):
    model = VAE(64, (16,), 3).eval()
    with stage_run("train@vae", {}, {}) as run:
        run.log_encoder(model)
    client = MlflowClient(tracking_uri=tracking_uri())
    experiment_id = client.get_experiment_by_name("latentlab").experiment_id
    (r,) = client.search_runs([experiment_id])
    (logged,) = client.search_logged_models([experiment_id])  # what the Models tab lists
    assert (logged.name, logged.source_run_id, str(logged.status)) == (
        "encoder", r.info.run_id, "READY")
    assert [o.model_id for o in r.outputs.model_outputs] == [logged.model_id]
    mlflow.set_tracking_uri(tracking_uri())
    loaded = mlflow.pyfunc.load_model(f"models:/{logged.model_id}")
    assert loaded.predict(np.zeros((2, 64), dtype=np.float32)).shape == (2, 3)
