"""One training loop for every model, with early stopping and a non-finite guard.

The loop is generic: an *objective* maps ``(model, x_in, x_target)`` to the
scalar loss to minimise and a dict of per-example terms (nats, shape
``(batch,)``). The AE, the DAE (the AE given a ``corrupt`` function) and the VAE
differ only in the objective they pass. The data set lives in memory as one
tensor; batches are index slices of it, and per-batch terms accumulate on the
device and are read once per epoch (no ``.item()`` in the inner loop). The
device is wherever the caller put the tensors and the model (see
:mod:`latentlab.train.device`); nothing here moves data between host and device.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from latentlab.errors import NonFiniteLossError  # re-exported for callers
from latentlab.train import device as devices
from latentlab.train.losses import elbo_terms, reconstruction_nll, vae_objective

Objective = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor],
                     tuple[torch.Tensor, dict[str, torch.Tensor]]]
EVAL_BATCH = 4096


def seed_everything(seed: int) -> None:
    """One seed for Python, NumPy and PyTorch.

    The CPU kernels this MLP uses are deterministic for a fixed thread count, so
    same seed and params give the same metrics (``tests/e2e`` checks it).
    ``torch.use_deterministic_algorithms`` is not called: it imports
    torch._dynamo, ~2.7 s per stage here, and changes nothing on the CPU.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autoencoder_objective(likelihood: str, gaussian_std: float) -> Objective:
    """Reconstruction NLL of the AE / DAE: loss = mean over the batch of −log p(x | z)."""

    def objective(model, x_in, x):
        recon = reconstruction_nll(model(x_in), x, likelihood, gaussian_std)
        return recon.mean(), {"loss": recon, "recon": recon}

    return objective


class VaeObjective:
    """The β-weighted negative ELBO; the unweighted terms are returned for logging.

    ``beta`` is an attribute so a KL schedule can set it at the start of each
    epoch (see :mod:`latentlab.train.kl_schedule`).
    """

    def __init__(self, likelihood: str, gaussian_std: float, beta: float):
        self.likelihood, self.gaussian_std, self.beta = likelihood, gaussian_std, beta

    def __call__(self, model, x_in, x):
        x_logits, mu, logvar = model(x_in)
        terms = elbo_terms(x_logits, x, mu, logvar, self.likelihood, self.gaussian_std)
        loss_per_example = terms.recon + self.beta * terms.kl
        return vae_objective(terms, self.beta), {
            "loss": loss_per_example, "recon": terms.recon, "kl": terms.kl, "elbo": terms.elbo,
        }


def vae_training_objective(likelihood: str, gaussian_std: float, beta: float) -> VaeObjective:
    """The VAE's training objective with a fixed β (a schedule may change it per epoch)."""
    return VaeObjective(likelihood, gaussian_std, beta)


@dataclass
class History:
    """Per-epoch means of every term, ``rows[i] = {"epoch", "train/<term>", "val/<term>"}``."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False


@torch.no_grad()
def evaluate(model: torch.nn.Module, objective: Objective, x_in: torch.Tensor,
             x: torch.Tensor, precision: str = "fp32") -> dict[str, float]:
    """Mean of every per-example term over a whole split, in eval mode."""
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    for start in range(0, len(x), EVAL_BATCH):
        with devices.autocast(x.device, precision):
            _, terms = objective(model, x_in[start:start + EVAL_BATCH],
                                 x[start:start + EVAL_BATCH])
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value.float().sum()
    return {key: float(total) / len(x) for key, total in sums.items()}


def _check_finite(prefix: str, means: dict[str, float], epoch: int, hint: str) -> None:
    """Raise on the first non-finite term, naming the ELBO's own terms before the total loss."""
    for key, value in sorted(means.items(), key=lambda item: item[0] == "loss"):
        if not math.isfinite(value):
            raise NonFiniteLossError(f"{prefix}/{key} is {value} at epoch {epoch}; {hint}")


def patience_counts(value: float, counted: float, min_rel_improvement: float) -> bool:
    """Whether ``value`` (minimised) improves on ``counted`` enough to reset the patience count.

    Enough: by more than ``min_rel_improvement`` of ``|counted|``. A relative
    tolerance reads the same on every data set, whose losses differ in scale
    with the pixel count (24 nats on 8×8 digits, ~90 on 28×28 MNIST).
    """
    if math.isinf(counted):
        return True
    return value < counted - min_rel_improvement * abs(counted)


def fit(
    model: torch.nn.Module,
    x_train: torch.Tensor,
    x_val: torch.Tensor,
    objective: Objective,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
    monitor: str = "loss",
    min_rel_improvement: float = 0.0,
    corrupt: Callable | None = None,
    grad_clip_norm: float = 0.0,
    on_epoch_start: Callable[[int], dict[str, float]] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    nan_hint: str = "lower the learning rate",
    train_inputs: Callable[[int], torch.Tensor] | None = None,
    precision: str = "fp32",
) -> History:
    """Train with Adam and early stopping; leave the best weights in ``model``.

    Parameters
    ----------
    x_train, x_val : Tensor of shape (n, features), values in [0, 1]
    objective : Objective
    monitor : str
        The validation term that selects the best epoch, minimised (``"loss"``);
        a name prefixed with ``-`` is maximised (``"-elbo"``: the VAE is selected
        on the unweighted ELBO whatever β is).
    patience, min_rel_improvement : int, float
        Stop after ``patience`` epochs in which the monitored value did not improve
        on the last one that counted by more than ``min_rel_improvement`` of its
        magnitude (0: any improvement counts). The tolerance decides *when to stop*
        only: the weights kept are those of the best epoch seen, however small its
        lead; so a run with a tolerance is the run without one, cut short
        (:func:`patience_counts`).
    corrupt : callable, optional
        ``corrupt(x, generator) -> x_in``: makes the model a denoising AE. The
        validation inputs are corrupted once with a fixed generator, so the
        monitored value is comparable across epochs.
    grad_clip_norm : float
        Clip the gradient's global L2 norm to this before each step; 0 turns it off.
    on_epoch_start : callable, optional
        ``on_epoch_start(epoch) -> {name: value}`` before each epoch (a KL schedule
        sets β here); the values are logged as ``train/<name>``.
    on_epoch : callable, optional
        ``on_epoch(epoch, row)`` after each epoch, with the row's metric means.
    train_inputs : callable, optional
        ``train_inputs(epoch) -> Tensor`` like ``x_train``: the training set of
        that epoch (dynamic binarisation draws a fresh sample each epoch, see
        :mod:`latentlab.data.binarize`); by default ``x_train`` every epoch.
    precision : str
        ``fp32``, or ``bf16``: the forward passes (training and validation) run
        under bf16 autocast; weights, gradients and Adam's state stay float32.
    """
    device = x_train.device
    generator = torch.Generator(device=device).manual_seed(seed)
    optimizer = devices.adam(model.parameters(), learning_rate, device)
    x_val_in = x_val
    if corrupt is not None:
        x_val_in = corrupt(x_val, torch.Generator(device=x_val.device).manual_seed(seed + 1))
    sign = -1.0 if monitor.startswith("-") else 1.0
    monitor_key = monitor.lstrip("-")

    history = History()
    best_value, best_state = math.inf, None
    counted, since_counted = math.inf, 0  # the last value that reset the patience count
    n = len(x_train)
    for epoch in range(1, epochs + 1):
        settings = on_epoch_start(epoch) if on_epoch_start is not None else {}
        model.train()
        x_epoch = train_inputs(epoch) if train_inputs is not None else x_train
        order = torch.randperm(n, generator=generator, device=x_train.device)
        sums: dict[str, torch.Tensor] = {}
        for start in range(0, n, batch_size):
            x = x_epoch[order[start:start + batch_size]]
            x_in = corrupt(x, generator) if corrupt is not None else x
            with devices.autocast(device, precision):
                loss, terms = objective(model, x_in, x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip_norm)
            optimizer.step()
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.detach().float().sum()
        train_means = {key: float(total) / n for key, total in sums.items()}  # one sync per epoch
        _check_finite("train", train_means, epoch, nan_hint)
        val_means = evaluate(model, objective, x_val_in, x_val, precision)
        _check_finite("val", val_means, epoch, nan_hint)

        row = {"epoch": epoch}
        row.update({f"train/{k}": v for k, v in train_means.items()})
        row.update({f"train/{k}": v for k, v in settings.items()})
        row.update({f"val/{k}": v for k, v in val_means.items()})
        history.rows.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row)

        value = sign * val_means[monitor_key]
        if value < best_value:
            best_value, best_state = value, copy.deepcopy(model.state_dict())
            history.best_epoch = epoch
        if patience_counts(value, counted, min_rel_improvement):
            counted, since_counted = value, 0
        else:
            since_counted += 1
            if since_counted >= patience:
                history.stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history
