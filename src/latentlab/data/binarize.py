"""Dynamic binarisation: a fresh Bernoulli sample of the training set each epoch.

With ``preprocess.binarize: dynamic`` the splits hold ``p_train``, the pixel
intensities in [0, 1]; each training epoch sees ``x ~ Bernoulli(p_train)``
drawn anew (Salakhutdinov & Murray 2008; Burda et al. 2016), so the Bernoulli
likelihood models binary data while no information in the grey levels is
thrown away over the epochs. The sample of epoch ``e`` depends only on
``(seed, e)``: a rerun draws the same sequence, whatever ran before.
"""

from __future__ import annotations

import torch

EPOCH_SEED_STRIDE = 1_000_003  # a prime: (seed, epoch) pairs map to distinct generator seeds


def epoch_sample(p: torch.Tensor, seed: int, epoch: int) -> torch.Tensor:
    """``x ~ Bernoulli(p)`` elementwise for ``epoch`` (1-based), seeded by ``(seed, epoch)``.

    Parameters
    ----------
    p : Tensor of shape (n, features), probabilities in [0, 1]

    Returns
    -------
    Tensor like ``p`` holding 0.0 and 1.0.
    """
    generator = torch.Generator(device=p.device).manual_seed(seed * EPOCH_SEED_STRIDE + epoch)
    return torch.bernoulli(p, generator=generator)


class DynamicBinarizer:
    """``binarizer(epoch)`` -> the training inputs of that epoch (see :func:`epoch_sample`)."""

    def __init__(self, p_train: torch.Tensor, seed: int):
        self.p_train, self.seed = p_train, seed

    def __call__(self, epoch: int) -> torch.Tensor:
        return epoch_sample(self.p_train, self.seed, epoch)
