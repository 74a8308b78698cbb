"""Training params small enough to train in a second: the one place unit tests build them."""

from __future__ import annotations

from latentlab.params import TrainParams


def tiny_train_params(**overrides) -> TrainParams:
    """A tiny VAE by default; any field overridable (``model="ae"``, ``epochs=2``, ...)."""
    base = dict(model="vae", hidden_sizes=(16,), latent_dim=2, activation="relu",
                likelihood="bernoulli", gaussian_std=0.1, epochs=3, batch_size=32,
                learning_rate=1e-3, patience=5, n_prior_samples=2, num_threads=1,
                grad_clip_norm=0.0, seed=0, beta=1.0, kl_schedule="constant",
                kl_warmup_epochs=0, kl_cycles=1, active_unit_threshold=0.01,
                collapse_min_active_fraction=0.5)
    return TrainParams(**{**base, **overrides})
