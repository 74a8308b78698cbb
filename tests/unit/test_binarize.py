"""Dynamic binarisation: a fresh, seeded Bernoulli sample of the training set each epoch."""

import numpy as np
import torch

from latentlab.data.binarize import DynamicBinarizer, epoch_sample
from latentlab.train.loop import autoencoder_objective, fit
from tiny_params import tiny_train_params


def _p(n=300, d=20, seed=0):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed))


def test_each_epoch_draws_a_different_binary_sample_with_mean_p():
    p = _p()
    samples = [epoch_sample(p, seed=0, epoch=e) for e in (1, 2, 3)]
    for x in samples:
        assert set(torch.unique(x).tolist()) == {0.0, 1.0}
        assert abs(float(x.mean() - p.mean())) < 4 * 0.5 / np.sqrt(p.numel())
    assert not torch.equal(samples[0], samples[1]) and not torch.equal(samples[1], samples[2])
    # averaged over many epochs the samples approach p itself
    mean = torch.stack([epoch_sample(p, 0, e) for e in range(1, 201)]).mean(0)
    assert float((mean - p).abs().max()) < 0.2


def test_the_sample_of_an_epoch_depends_only_on_seed_and_epoch():
    p = _p()
    binarizer = DynamicBinarizer(p, seed=5)
    later = binarizer(7)
    torch.rand(1000)  # unrelated draws from the global generator change nothing
    assert torch.equal(DynamicBinarizer(p, seed=5)(7), later)
    assert not torch.equal(DynamicBinarizer(p, seed=6)(7), later)


def test_fit_trains_on_the_inputs_of_each_epoch():
    p = _p(64, 6)
    seen: list[torch.Tensor] = []
    base = autoencoder_objective("bernoulli", 0.1)

    def objective(model, x_in, x):
        if model.training:
            seen.append(x.clone())
        return base(model, x_in, x)

    from latentlab.models import build_model

    torch.manual_seed(0)
    model = build_model("ae", 6, (8,), 2, "relu")
    binarizer = DynamicBinarizer(p, seed=1)
    fit(model, p, p, objective, epochs=3, batch_size=64, learning_rate=1e-3, patience=5, seed=0,
        train_inputs=binarizer)
    assert len(seen) == 3  # one full batch per epoch
    for epoch, batch in enumerate(seen, start=1):
        expected = binarizer(epoch)
        # the batch is a permutation of that epoch's sample: the same multiset of rows
        assert sorted(map(tuple, batch.tolist())) == sorted(map(tuple, expected.tolist()))
    assert not torch.equal(seen[0], seen[1])




def _splits(dynamic: bool):
    from latentlab.data.preprocess import binarize_splits

    rng = np.random.default_rng(0)
    grey = {s: rng.random((n, 12), dtype=np.float32) for s, n in
            (("train", 96), ("val", 32), ("test", 32))}
    mode = "dynamic" if dynamic else "none"
    out = binarize_splits(grey, mode, 0.5, seed=0)
    out["binarize"] = np.asarray(mode)
    return out


def test_training_with_dynamic_binarisation_is_recorded_and_reproducible():
    from latentlab.train.trainer import train_and_encode

    first = train_and_encode(tiny_train_params(), _splits(True))
    again = train_and_encode(tiny_train_params(), _splits(True))
    assert first.metrics["binarize"] == "dynamic" and not first.metrics["likelihood_is_relaxation"]
    assert first.metrics == again.metrics  # same seed, same samples, same numbers
    fixed = train_and_encode(tiny_train_params(),
                             {k: v for k, v in _splits(True).items() if k != "p_train"})
    assert fixed.history.rows[-1]["train/recon"] != first.history.rows[-1]["train/recon"]
    grey = train_and_encode(tiny_train_params(), _splits(False))
    assert grey.metrics["binarize"] == "none" and grey.metrics["likelihood_is_relaxation"]
    gauss = train_and_encode(tiny_train_params(likelihood="gaussian"), _splits(False))
    assert not gauss.metrics["likelihood_is_relaxation"]
