"""Train one of the three models end to end and collect what the stage writes.

``train_and_encode`` builds the model a :class:`~latentlab.params.TrainParams`
describes, fits it, and returns the codes of every split, test reconstructions,
images decoded from prior samples z ~ N(0, I), the per-epoch history and the
final metrics. The stage only writes these to disk.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from latentlab.analysis.latent import collapse_diagnosis
from latentlab.data.binarize import DynamicBinarizer
from latentlab.data.noise import make_corruption
from latentlab.data.preprocess import SPLITS, grey_levels
from latentlab.errors import TrainingDivergedError
from latentlab.models import build_model
from latentlab.params import TrainParams
from latentlab.train import device as devices
from latentlab.train.kl_schedule import beta_at
from latentlab.train.loop import (
    History,
    autoencoder_objective,
    evaluate,
    fit,
    seed_everything,
    vae_training_objective,
)


@dataclass
class TrainedModel:
    model: torch.nn.Module
    config: dict  # what it takes to rebuild the model from its weights
    history: History
    arrays: dict[str, np.ndarray]  # codes per split, recon_test, prior_samples
    metrics: dict  # {"train": {...}, "val": {...}, "test": {...}, "best_epoch", ...}
    fit_seconds: float


def _objective_and_monitor(p: TrainParams):
    if p.model == "vae":
        return vae_training_objective(p.likelihood, p.gaussian_std, p.beta), "-elbo"
    return autoencoder_objective(p.likelihood, p.gaussian_std), "loss"


@torch.no_grad()
def encode_splits(model: torch.nn.Module,
                  tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """``z_<split>`` for each split; for the VAE also ``logvar_<split>`` (codes are the means)."""
    out = {}
    for split, x in tensors.items():
        if hasattr(model, "reparameterize"):
            mu, logvar = model.encode(x)
            out[f"z_{split}"], out[f"logvar_{split}"] = mu.cpu().numpy(), logvar.cpu().numpy()
        else:
            out[f"z_{split}"] = model.encode(x).cpu().numpy()
    return out


@torch.no_grad()
def decode_images(model: torch.nn.Module, z: torch.Tensor) -> np.ndarray:
    """Pixel means sigmoid(decode(z)), shape (n, features), in [0, 1], on the host."""
    device = next(model.parameters()).device
    return torch.sigmoid(model.decode(z.to(device))).cpu().numpy()


def train_and_encode(p: TrainParams, splits: dict[str, np.ndarray], on_epoch=None) -> TrainedModel:
    """Fit the model of ``p`` on ``splits["x_train"]`` and encode every split.

    Parameters
    ----------
    p : TrainParams
    splits : dict with ``x_train``, ``x_val``, ``x_test`` of shape (n, features) in [0, 1]
        With ``p_train`` (``preprocess.binarize: dynamic``) each epoch trains on a
        fresh Bernoulli sample of it instead of ``x_train``; ``binarize`` (the
        preprocessing's mode) is recorded in the metrics.
    on_epoch : callable, optional
        Passed to :func:`latentlab.train.loop.fit` (tracking hooks in here).
    """
    seed_everything(p.seed)
    torch.set_num_threads(p.num_threads)  # once, before any work; results depend on it bitwise
    device = devices.resolve(p.device)
    tensors = {s: _on(device, splits[f"x_{s}"]) for s in SPLITS}  # the data set lives on device
    input_dim = tensors["train"].shape[1]
    model = build_model(p.model, input_dim, p.hidden_sizes, p.latent_dim,
                        p.activation).to(device)
    objective, monitor = _objective_and_monitor(p)
    binarize = str(splits["binarize"]) if "binarize" in splits else "none"
    train_inputs = None
    if "p_train" in splits:
        p_train = _on(device, splits["p_train"])
        train_inputs = DynamicBinarizer(p_train, p.seed + 3)
    corrupt = make_corruption(p.noise_type, p.noise_level) if p.model == "dae" else None
    hint = (f"lower train.{p.model}.learning_rate" + (" or beta" if p.model == "vae" else "")
            + ", or set train.common.grad_clip_norm (e.g. 1.0)")

    on_epoch_start = None
    if p.model == "vae":
        def on_epoch_start(epoch: int) -> dict[str, float]:
            objective.beta = beta_at(epoch, schedule=p.kl_schedule, beta=p.beta,
                                     warmup_epochs=p.kl_warmup_epochs, cycles=p.kl_cycles,
                                     epochs=p.epochs)
            return {"beta": objective.beta}

    # the clean validation loss before any step: a kept model worse than it has diverged
    clean = autoencoder_objective(p.likelihood, p.gaussian_std) if p.model != "vae" else objective
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        untrained = evaluate(model, clean, tensors["val"], tensors["val"])  # training RNG untouched

    started = time.perf_counter()
    history = fit(
        model, tensors["train"], tensors["val"], objective,
        epochs=p.epochs, batch_size=p.batch_size, learning_rate=p.learning_rate,
        patience=p.patience, min_rel_improvement=p.min_rel_improvement,
        seed=p.seed, monitor=monitor, corrupt=corrupt,
        grad_clip_norm=p.grad_clip_norm, on_epoch_start=on_epoch_start,
        on_epoch=on_epoch, nan_hint=hint, train_inputs=train_inputs, precision=p.precision,
    )
    fit_seconds = time.perf_counter() - started

    # Final metrics on clean inputs (the DAE too: its job is to encode clean data), in fp32
    # whatever the training precision, so a bf16 run is scored like an fp32 one.
    metrics: dict = {split: evaluate(model, clean, t, t) for split, t in tensors.items()}
    check_not_diverged(p, untrained, metrics["val"], hint)
    for split in SPLITS:
        metrics[split].pop("loss", None)  # AE: equals recon; VAE: β-weighted, not a metric
        metrics[split]["bits_per_dim"] = _bits_per_dim(metrics[split], input_dim)
    metrics.update({
        "best_epoch": history.best_epoch,
        "epochs_run": len(history.rows),
        "stopped_early": history.stopped_early,
        "likelihood": p.likelihood,
        "binarize": binarize,
        # a Bernoulli pmf is a likelihood only on binary pixels; on grey levels it is a relaxation
        "likelihood_is_relaxation": p.likelihood == "bernoulli" and binarize == "none",
        "device": device.type,  # auto resolves per machine: metrics say which one ran
        "precision": p.precision,
    })

    # The codes are those of the grey levels (the same tensors unless the splits are
    # binarised): binarisation concerns the likelihood above, not the representation that
    # kNN, the probe and trustworthiness compare across methods (latentlab.data.preprocess).
    grey = {s: tensors[s] if grey_levels(splits, s) is splits[f"x_{s}"]
            else _on(device, grey_levels(splits, s)) for s in SPLITS}
    arrays = encode_splits(model, grey)
    if p.model == "vae":
        metrics["val"].update(collapse_diagnosis(
            arrays["z_val"], arrays["logvar_val"], active_threshold=p.active_unit_threshold,
            min_active_fraction=p.collapse_min_active_fraction))
    arrays["recon_test"] = decode_images(model, torch.from_numpy(arrays["z_test"]))
    prior = torch.Generator().manual_seed(p.seed + 2)
    z_prior = torch.randn(p.n_prior_samples, p.latent_dim, generator=prior)
    arrays["prior_samples"] = decode_images(model, z_prior)

    config = {"kind": p.model, "input_dim": input_dim, "hidden_sizes": list(p.hidden_sizes),
              "latent_dim": p.latent_dim, "activation": p.activation,
              "likelihood": p.likelihood, "gaussian_std": p.gaussian_std}
    return TrainedModel(model, config, history, arrays, metrics, fit_seconds)


# How much worse than untrained a kept model must be to count as diverged: data a model cannot
# learn (noise) leaves it a hair above its start (8.51 against 8.44 nats), which is not a
# divergence; a divergence is orders of magnitude (1647 against 44, 3e8 against 44).
DIVERGENCE_MARGIN_REL = 0.1
DIVERGENCE_MARGIN_NATS = 1.0


def validation_loss(model: str, terms: dict[str, float]) -> float:
    """The clean validation loss a run is judged on: −ELBO for the VAE, recon NLL else."""
    return -terms["elbo"] if model == "vae" else terms["recon"]


def check_not_diverged(p: TrainParams, untrained: dict[str, float], kept: dict[str, float],
                       hint: str) -> None:
    """Refuse a kept model whose clean validation loss is clearly worse than before any step
    (by more than :data:`DIVERGENCE_MARGIN_REL` of it plus :data:`DIVERGENCE_MARGIN_NATS`).

    A loss that stays finite can still have diverged (``learning_rate: 10`` on digits: the
    AE's reconstruction 695 nats against 44 untrained, the VAE's KL 1e9). Every sane run,
    even one stopped after a few epochs, ends below its starting point; one that ends above
    it made the model worse than doing nothing, and its numbers would mislead every
    comparison downstream.

    Raises
    ------
    TrainingDivergedError
        One line: the two losses and what to change.
    """
    before, after = validation_loss(p.model, untrained), validation_loss(p.model, kept)
    if after > before + DIVERGENCE_MARGIN_REL * abs(before) + DIVERGENCE_MARGIN_NATS:
        what = "−ELBO" if p.model == "vae" else "reconstruction NLL"
        raise TrainingDivergedError(
            f"train.{p.model}: training diverged: the kept model's validation {what} is "
            f"{after:.4g} nats, worse than the untrained model's {before:.4g}; {hint}")


def _on(device: torch.device, array: np.ndarray) -> torch.Tensor:
    """A float32 tensor on ``device`` from a host array."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)


def _bits_per_dim(split_metrics: dict, input_dim: int) -> float:
    """−ELBO (VAE) or reconstruction NLL (AE) in bits per pixel: nats / (D · ln 2)."""
    nats = -split_metrics["elbo"] if "elbo" in split_metrics else split_metrics["recon"]
    return nats / (input_dim * math.log(2.0))


def save_model(path, trained: TrainedModel) -> None:
    """Weights and the config that rebuilds the model, written atomically (``torch.load``-able)."""
    import io as _bytes_io

    from latentlab.io import atomic_write_bytes

    buffer = _bytes_io.BytesIO()
    state = {key: value.cpu() for key, value in trained.model.state_dict().items()}
    torch.save({"config": trained.config, "state_dict": state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_model(path) -> tuple[torch.nn.Module, dict]:
    """Rebuild a model saved by :func:`save_model`, in eval mode; return it and its config."""
    from latentlab.io import DataFileError

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing; run `dvc repro` to produce it") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise DataFileError(f"{path}: corrupt or truncated ({type(exc).__name__}); "
                            "delete it and run `dvc repro` to rebuild it") from None
    cfg = checkpoint["config"]
    model = build_model(cfg["kind"], cfg["input_dim"], cfg["hidden_sizes"], cfg["latent_dim"],
                        cfg["activation"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), cfg


def history_table(history: History) -> tuple[list[str], list[list[float]]]:
    """The per-epoch history as a CSV header (``train_recon``, ...) and rows, for DVC plots."""
    keys = list(history.rows[0]) if history.rows else ["epoch"]
    header = [k.replace("/", "_") for k in keys]
    return header, [[row[k] for k in keys] for row in history.rows]


def train_replicates(p: TrainParams, splits: dict[str, np.ndarray], on_start=None) -> list:
    """Train the model of ``p`` at its seeds after the first (``train.common.replicates``,
    :mod:`latentlab.train.replicates`); the trained models, in order.

    ``on_start(seed, k, n)``, if given, is called before replicate k of n (for progress).
    """
    from latentlab.train.replicates import replicate_seeds

    seeds = replicate_seeds(p.seed, p.replicates)[1:]
    out = []
    for k, seed in enumerate(seeds, start=1):
        if on_start is not None:
            on_start(seed, k, len(seeds))
        out.append(train_and_encode(dataclasses.replace(p, seed=seed, replicates=1), splits))
    return out
