"""PyTorch models: MLP building blocks, the autoencoder and the VAE.

Both models share the verbs ``encode``, ``decode`` (returns logits of the pixel
means) and ``forward``; sizes come from the config, never from literals.
"""

from latentlab.models.autoencoder import AutoEncoder
from latentlab.models.vae import VAE

__all__ = ["AutoEncoder", "VAE", "build_model"]


def build_model(kind: str, input_dim: int, hidden_sizes, latent_dim: int, activation: str):
    """``ae`` and ``dae`` give an :class:`AutoEncoder`; ``vae`` gives a :class:`VAE`."""
    if kind in ("ae", "dae"):
        return AutoEncoder(input_dim, tuple(hidden_sizes), latent_dim, activation)
    if kind == "vae":
        return VAE(input_dim, tuple(hidden_sizes), latent_dim, activation)
    raise ValueError(f"unknown model {kind!r}")
