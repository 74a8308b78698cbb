"""The weight on the VAE's KL term per epoch: constant, linear warm-up, or cyclical.

A KL warm-up (Bowman et al. 2016) lets the decoder learn to use z before the
KL term pulls every q(z|x) onto the prior, a common cure for posterior
collapse; the cyclical schedule (Fu et al. 2019) repeats the warm-up so later
cycles can recover information the first one lost. The schedule weighs only the
training objective: the logged and monitored ELBO always has weight 1.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "linear", "cyclical")


def beta_at(epoch: int, *, schedule: str, beta: float, warmup_epochs: int, cycles: int,
            epochs: int) -> float:
    """The effective β at ``epoch`` (1-based).

    Parameters
    ----------
    schedule : {"constant", "linear", "cyclical"}
        ``constant``: β every epoch. ``linear``: β · epoch / warmup_epochs for the
        first ``warmup_epochs`` epochs, then β. ``cyclical``: the epochs are cut
        into ``cycles`` cycles of ceil(epochs / cycles) epochs, and each cycle
        repeats the linear warm-up from its own first epoch.
    beta : float
        The target weight (``train.vae.beta``).
    warmup_epochs : int
        Epochs of the linear ramp (0: no ramp).
    cycles : int
        Number of cycles (cyclical only).
    epochs : int
        The epoch budget the cycles divide (``train.common.epochs``).
    """
    if schedule == "constant" or warmup_epochs <= 0:
        return beta
    if schedule == "linear":
        position = epoch
    elif schedule == "cyclical":
        period = math.ceil(epochs / cycles)
        position = (epoch - 1) % period + 1
    else:
        raise ValueError(f"unknown KL schedule {schedule!r}; expected one of {SCHEDULES}")
    return beta * min(1.0, position / warmup_epochs)
