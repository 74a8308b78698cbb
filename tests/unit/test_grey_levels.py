"""Binarisation concerns the likelihood only: every representation measure reads grey levels.

Before, PCA, t-SNE, the encoders' codes, kNN, the probe and trustworthiness all ran on one
binarised draw of the images; each test here fails on that behaviour.
"""

import numpy as np
import pytest

from latentlab.analysis.baselines import fit_baseline
from latentlab.analysis.latent_stats import representation_splits
from latentlab.data.preprocess import SPLITS, binarize_splits, grey_levels
from latentlab.params import PcaParams
from tiny_params import tiny_train_params


def _grey(n=(80, 24, 30), d=12, seed=0):
    rng = np.random.default_rng(seed)
    return {s: rng.random((k, d), dtype=np.float32) for s, k in zip(SPLITS, n)}


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_binarised_splits_keep_the_grey_levels_and_grey_levels_finds_them(mode):
    grey = _grey()
    splits = binarize_splits(grey, mode, 0.5, seed=0)
    for split in SPLITS:
        assert set(np.unique(splits[f"x_{split}"]).tolist()) <= {0.0, 1.0}
        np.testing.assert_array_equal(grey_levels(splits, split), grey[split])


def test_without_binarisation_the_inputs_are_the_grey_levels():
    grey = _grey()
    splits = binarize_splits(grey, "none", 0.5, seed=0)
    assert not any(k.startswith("grey_") for k in splits) and "p_train" not in splits
    for split in SPLITS:
        assert grey_levels(splits, split) is splits[f"x_{split}"]


def _labelled(mode):
    splits = binarize_splits(_grey(), mode, 0.5, seed=0)
    rng = np.random.default_rng(1)
    for split, n in zip(SPLITS, (80, 24, 30)):
        splits[f"y_{split}"] = rng.integers(0, 3, n)
    return splits


def test_pca_is_fit_on_the_grey_levels_not_on_the_binarised_draw():
    splits = _labelled("dynamic")
    codes, metrics, _ = fit_baseline("pca", splits, PcaParams(n_components=3, whiten=False,
                                                                seed=0))
    np.testing.assert_allclose(codes["mean"], splits["p_train"].mean(axis=0), rtol=1e-5)
    assert not np.allclose(codes["mean"], splits["x_train"].mean(axis=0), atol=1e-3)
    # its reconstructions are of the grey test images
    assert codes["recon_test"].shape == splits["grey_test"].shape
    assert metrics["n_components"] == 3


def test_the_encoders_codes_are_those_of_the_grey_levels():
    import torch

    from latentlab.train.trainer import train_and_encode

    splits = _labelled("static")
    splits["binarize"] = np.asarray("static")
    p = tiny_train_params(epochs=2)
    trained = train_and_encode(p, splits)
    with torch.no_grad():
        mu_grey, _ = trained.model.encode(torch.from_numpy(splits["grey_test"]))
        mu_binary, _ = trained.model.encode(torch.from_numpy(splits["x_test"]))
    np.testing.assert_allclose(trained.arrays["z_test"], mu_grey.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(trained.arrays["z_test"], mu_binary.numpy(), atol=1e-4)
    # the likelihood is still the binarised one: a Bernoulli pmf, not a relaxation
    assert trained.metrics["binarize"] == "static" and not trained.metrics[
        "likelihood_is_relaxation"]


def test_latent_stats_scores_on_the_grey_levels():
    splits = _labelled("dynamic")
    scored = representation_splits(splits)
    np.testing.assert_array_equal(scored["x_test"], splits["grey_test"])
    np.testing.assert_array_equal(scored["x_train"], splits["p_train"])
    np.testing.assert_array_equal(scored["y_test"], splits["y_test"])


@pytest.mark.parametrize("mode", ["none", "static", "dynamic"])
def test_latent_stats_reads_the_grey_levels_and_labels_of_splits_npz_and_nothing_else(
        tmp_path, mode):
    from latentlab import io
    from latentlab.data.preprocess import read_representation_splits

    splits = {**_labelled(mode), "has_labels": np.asarray(True)}
    io.atomic_write_npz(tmp_path / "splits.npz", **splits)
    read = read_representation_splits(tmp_path / "splits.npz")
    grey = {"none": {"x_train", "x_test"}, "static": {"grey_train", "grey_test"},
            "dynamic": {"p_train", "grey_test"}}[mode]
    assert set(read) == {"y_train", "y_test", "has_labels", *grey}  # no draw, no val split
    whole = representation_splits(splits)
    for key, value in representation_splits(read).items():
        np.testing.assert_array_equal(value, whole[key])
