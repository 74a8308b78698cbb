"""A run whose loss stays finite but ends worse than the untrained model is refused.

Before, ``learning_rate: 10`` exited 0 on digits with an AE reconstruction of 695 nats
(16 is normal) and a VAE KL of 1e9; only NaN was caught.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from latentlab.errors import TrainingDivergedError
from tiny_params import tiny_train_params
from latentlab.train.trainer import check_not_diverged, train_and_encode


def _params(model, learning_rate):
    return tiny_train_params(model=model, hidden_sizes=(32,), latent_dim=4, batch_size=64,
                             learning_rate=learning_rate)


@pytest.fixture(scope="module")
def splits():
    x = (load_digits().data / 16.0).astype(np.float32)
    return {"x_train": x[:600], "x_val": x[600:800], "x_test": x[800:900]}


@pytest.mark.parametrize("model", ["ae", "vae"])
def test_a_finite_divergence_is_refused_in_one_line_and_a_short_sane_run_is_not(model, splits):
    with pytest.raises(TrainingDivergedError) as caught:
        train_and_encode(_params(model, 10.0), splits)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"train.{model}: training diverged")
    assert f"lower train.{model}.learning_rate" in message
    # three epochs at the default rate are far from converged, yet better than no training
    trained = train_and_encode(_params(model, 1e-3), splits)
    assert np.isfinite(trained.metrics["val"]["elbo" if model == "vae" else "recon"])


def test_the_check_compares_the_kept_model_with_the_untrained_one():
    check_not_diverged(_params("ae", 1e-3), {"recon": 44.0}, {"recon": 43.9}, "hint")
    # noise a model cannot learn ends a hair above the start: not a divergence
    check_not_diverged(_params("ae", 1e-3), {"recon": 8.437}, {"recon": 8.508}, "hint")
    with pytest.raises(TrainingDivergedError, match="reconstruction NLL is 49.5 nats"):
        check_not_diverged(_params("ae", 1e-3), {"recon": 44.0}, {"recon": 49.5}, "hint")
    with pytest.raises(TrainingDivergedError, match="−ELBO"):
        check_not_diverged(_params("vae", 1e-3), {"elbo": -44.0}, {"elbo": -60.0}, "hint")
