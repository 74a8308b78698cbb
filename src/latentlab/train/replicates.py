"""Training-seed replicates: the same model trained again at other seeds, in one process.

A comparison decided on one trained model says nothing about how much its numbers would
move had training started elsewhere. ``train.common.replicates`` (R) trains each model at
R seeds: the stage's seed first (its model is *the* model: weights, codes, figures, the
verdict's bootstrap intervals), then ``seed + REPLICATE_SEED_STEP * k`` for k = 1 .. R-1,
each with every other setting unchanged. They run in the stage's process, one after the
other, so a replicate costs its training and nothing else (no stage start-up, no import).
This module is the record's layout alone (numpy, no torch), so the stage that reads
the replicates does not depend on the training code;
:func:`latentlab.train.trainer.train_replicates` trains them. What they are used for:
:mod:`latentlab.analysis.seed_spread`.
"""

from __future__ import annotations

import numpy as np

from latentlab.params import TrainParams

REPLICATE_SEED_STEP = 1000  # far from the small offsets each run adds to its own seed
# replicates.npz: ``seeds`` (all R, the first the model's own) and ``<key>_<k>`` of replicate
# k = 1 .. R-1, for each of these keys its codes have
CODE_KEYS = ("z_train", "z_test", "recon_test", "logvar_test")


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """The R training seeds: ``seed`` first, then ``seed + REPLICATE_SEED_STEP * k``."""
    return [seed + REPLICATE_SEED_STEP * k for k in range(replicates)]


def replicate_arrays(p: TrainParams, others: list) -> dict[str, np.ndarray]:
    """``replicates.npz``: ``seeds`` (all R) and ``<code key>_<k>`` of replicate k >= 1."""
    out = {"seeds": np.asarray(replicate_seeds(p.seed, p.replicates), dtype=np.int64)}
    for k, trained in enumerate(others, start=1):
        out.update({f"{key}_{k}": trained.arrays[key] for key in CODE_KEYS
                    if key in trained.arrays})
    return out


def replicate_record(p: TrainParams, first, others: list) -> dict:
    """The metrics file's ``replicates``: the seeds and each test metric per seed, in order."""
    runs = [first, *others]
    return {"seeds": replicate_seeds(p.seed, p.replicates),
            "best_epoch": [int(t.metrics["best_epoch"]) for t in runs],
            "test": {key: [float(t.metrics["test"][key]) for t in runs]
                     for key in first.metrics["test"]
                     if isinstance(first.metrics["test"][key], (int, float))
                     and not isinstance(first.metrics["test"][key], bool)}}


def read_replicate_codes(arrays: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """The codes of replicates 1 .. R-1 from a ``replicates.npz`` (empty for R = 1)."""
    n = len(arrays["seeds"])
    return [{key: arrays[f"{key}_{k}"] for key in CODE_KEYS if f"{key}_{k}" in arrays}
            for k in range(1, n)]
