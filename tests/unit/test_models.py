"""Model shapes and verbs."""

import torch

from latentlab.models import build_model
from latentlab.models.vae import LOGVAR_MAX, LOGVAR_MIN


def test_autoencoder_shapes():
    model = build_model("ae", 12, (8, 6), 3, "relu")
    x = torch.rand(5, 12)
    assert model.encode(x).shape == (5, 3)
    assert model(x).shape == (5, 12)
    assert model.codes(x).shape == (5, 3)


def test_vae_shapes_and_codes_are_means():
    model = build_model("vae", 12, (8,), 4, "tanh")
    x = torch.rand(5, 12)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 4)
    logits, mu2, _ = model(x)
    assert logits.shape == (5, 12)
    assert torch.equal(model.codes(x), mu) and torch.equal(mu, mu2)


def test_logvar_is_clamped():
    model = build_model("vae", 2, (2,), 1, "relu")
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1e4)
    _, logvar = model.encode(torch.ones(1, 2))
    assert LOGVAR_MIN <= logvar.item() <= LOGVAR_MAX


def test_reparameterize_has_the_posterior_moments():
    torch.manual_seed(0)
    mu, logvar = torch.full((20000, 1), 2.0), torch.full((20000, 1), 0.0)
    z = build_model("vae", 2, (2,), 1, "relu").reparameterize(mu, logvar)
    assert abs(z.mean().item() - 2.0) < 0.03 and abs(z.std().item() - 1.0) < 0.03
