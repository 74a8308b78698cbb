"""The deterministic autoencoder; the DAE is this model trained on corrupted inputs."""

from __future__ import annotations

import torch
from torch import nn

from latentlab.models.mlp import mlp


class AutoEncoder(nn.Module):
    """x → z = encoder(x) → logits = decoder(z). Nothing ties z to any prior."""

    def __init__(self, input_dim: int, hidden_sizes: tuple[int, ...], latent_dim: int,
                 activation: str = "relu"):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.encoder = mlp((input_dim, *hidden_sizes, latent_dim), activation)
        self.decoder = mlp((latent_dim, *reversed(hidden_sizes), input_dim), activation)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, input_dim) → codes (batch, latent_dim)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) → logits of the pixel means (batch, input_dim)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The latent representation reported for ``x`` (the code itself)."""
        return self.encode(x)
