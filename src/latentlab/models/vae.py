"""The variational autoencoder (Kingma & Welling 2014).

q(z|x) = N(mu(x), diag(exp(logvar(x)))), p(z) = N(0, I), p(x|z) from the
decoder's logits. The encoder is one MLP whose last layer emits ``mu`` and
``logvar`` side by side.
"""

from __future__ import annotations

import torch
from torch import nn

from latentlab.models.mlp import mlp

# exp(-30) .. exp(20): keeps exp(logvar) finite in float32 without touching sane values.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0


class VAE(nn.Module):
    def __init__(self, input_dim: int, hidden_sizes: tuple[int, ...], latent_dim: int,
                 activation: str = "relu"):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.encoder = mlp((input_dim, *hidden_sizes, 2 * latent_dim), activation)
        self.decoder = mlp((latent_dim, *reversed(hidden_sizes), input_dim), activation)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, input_dim) → mu, logvar, each (batch, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): a sample of q(z|x) differentiable in mu, logvar."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) → logits of the pixel means (batch, input_dim)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor):
        """One-sample pass: returns ``x_logits, mu, logvar``."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The latent representation reported for ``x``: the posterior mean."""
        return self.encode(x)[0]
