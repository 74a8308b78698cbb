"""Issue 20 end to end: a test split above the caps, IWAE and trustworthiness on a subsample.

A custom data set of 800 small images whose test split (160) exceeds caps of 100: the
evaluate stage scores 100 images, latent_stats 100 points for every method, the metrics
say so with the standard errors, and the report states it.
"""

import json

import numpy as np
import pytest

from latentlab.pipeline.sandbox import SMOKE_PARAMS, Sandbox, set_params

pytestmark = pytest.mark.e2e

N, CAP = 800, 100


def _images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each class a bright band at its own rows on 12x12 noise."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 5).astype(np.int64)
    images = rng.integers(0, 90, (n, 12, 12), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 1 + 2 * label: 3 + 2 * label, 2:10] = 255
    return images, labels


@pytest.fixture(scope="module")
def box(tmp_path_factory, repo_root):
    sandbox = Sandbox(repo_root, tmp_path_factory.mktemp("subsample") / "latentlab")
    x, y = _images(N)
    data = sandbox.root.parent / "small.npz"
    np.savez(data, x=x, y=y)
    set_params(sandbox.root / "params.yaml", {
        **SMOKE_PARAMS, ("data", "name"): "custom", ("data", "custom", "path"): str(data),
        ("preprocess", "test_fraction"): 0.2, ("train", "common", "replicates"): 1,
        ("evaluate", "iwae_max_images"): CAP,
        ("latent_stats", "trustworthiness_max_points"): CAP})
    sandbox.commit("a test split above the caps")
    sandbox.repro()
    return sandbox


def _json(box, path):
    return json.loads((box.root / path).read_text())


def test_log_px_scores_a_seeded_subsample_with_its_standard_error(box):
    vae = _json(box, "metrics/evaluate.json")["vae"]
    n_test = len(np.load(box.root / "data/processed/splits.npz")["y_test"])
    assert n_test > CAP
    assert (vae["n_images"], vae["n_test"], vae["subsampled"]) == (CAP, n_test, True)
    assert vae["log_px_se_nats"] > 0 and 0 < vae["gap_se_nats"] < vae["log_px_se_nats"]
    assert f"{CAP} of {n_test}" in vae["subsample_rule"]


def test_trustworthiness_scores_the_same_subsample_for_every_method(box):
    protocol = _json(box, "metrics/verdict.json")["protocol"]
    assert protocol["trustworthiness_subsampled"] is True
    assert protocol["trustworthiness_n_points"] == CAP
    table = _json(box, "metrics/latent_stats.json")
    for method in ("pca", "ae", "dae", "vae"):
        assert table[method]["trustworthiness_n_points"] == CAP
        assert table[method]["trustworthiness_se"] > 0


def test_the_report_states_the_subsamples(box):
    report = (box.root / "reports/report.md").read_text()
    assert f"a seeded random subsample of {CAP} of the" in report
    assert "test points, the same points for every method" in report
    assert "(standard error, `log_px_se_nats`)" in report
