"""Manifold walks: what a decoder makes of points between and around the codes.

A straight line between the codes of two test images of different classes,
decoded step by step, shows whether the space between them decodes to digits
(a VAE's, trained to decode every region the prior covers) or to blur (an
AE's, trained only on the codes of training images). For a 2-D latent space,
a grid over the prior's quantiles shows the whole learned manifold
(Kingma & Welling 2014, fig. 4).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtri


def pick_pair(labels: np.ndarray) -> tuple[int, int]:
    """Indices of the first example and of the first example of another class.

    Without a second class (a data set without labels: all -1) the last example.
    """
    first = 0
    others = np.flatnonzero(labels != labels[first])
    return first, int(others[0]) if len(others) else len(labels) - 1


def interpolate(z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` points on the segment from ``z_a`` to ``z_b`` (both ends included)."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1.0 - t) * np.asarray(z_a)[None] + t * np.asarray(z_b)[None]


def prior_quantile_grid(steps: int) -> np.ndarray:
    """A steps × steps grid of 2-D points at the N(0, 1) quantiles 1/(s+1) … s/(s+1).

    Returns
    -------
    ndarray of shape (steps * steps, 2), row-major (first coordinate varies slowest).
    """
    q = ndtri(np.arange(1, steps + 1) / (steps + 1))
    return np.stack(np.meshgrid(q, q, indexing="ij"), axis=-1).reshape(-1, 2)


@torch.no_grad()
def decode(model: torch.nn.Module, z: np.ndarray) -> np.ndarray:
    """Pixel means sigmoid(decode(z)) for codes of shape (n, latent_dim), on the host."""
    device = next(model.parameters()).device
    z_t = torch.as_tensor(z, dtype=torch.float32, device=device)
    return torch.sigmoid(model.decode(z_t)).cpu().numpy()
