"""PCA and t-SNE baselines, and the metrics that score every method."""

import numpy as np
import pytest

from latentlab.analysis.baselines import canonicalize_signs, embed_tsne, fit_pca
from latentlab.analysis.metrics import knn_accuracy, reconstruction_mse, trustworthiness


def _blobs(n=120, d=10, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = rng.standard_normal((3, d)) * 4
    return (centres[labels] + rng.standard_normal((n, d))).astype(np.float32), labels


def test_canonical_signs_make_largest_loading_positive():
    comps = np.array([[0.1, -0.9], [0.8, 0.2]])
    signs = canonicalize_signs(comps)
    assert signs.tolist() == [-1.0, 1.0]
    assert canonicalize_signs(-comps).tolist() == [1.0, -1.0]


def test_pca_full_rank_reconstructs_exactly_with_canonical_signs():
    x, _ = _blobs()
    out, seconds = fit_pca(x[:80], x[80:100], x[100:], n_components=10, whiten=False, seed=0)
    assert seconds > 0
    np.testing.assert_allclose(out["recon_test"], x[100:], atol=1e-4)
    assert out["explained_variance_ratio"].sum() == pytest.approx(1.0)
    rows = np.arange(10)
    assert np.all(out["components"][rows, np.abs(out["components"]).argmax(1)] > 0)


def test_tsne_embeds_train_and_test_jointly_and_separates_blobs():
    x, y = _blobs()
    out, seconds = embed_tsne(x[:90], x[90:], perplexity=10.0, max_iter=250,
                              early_exaggeration=12.0, init="pca", learning_rate="auto", seed=0)
    assert seconds > 0
    assert out["z_train"].shape == (90, 2) and out["z_test"].shape == (30, 2)
    assert knn_accuracy(out["z_train"], y[:90], out["z_test"], y[90:], 3) > 0.9


def test_tsne_rejects_a_perplexity_above_the_point_count():
    x, _ = _blobs(n=20)
    with pytest.raises(ValueError, match="baselines.tsne.perplexity"):
        embed_tsne(x[:15], x[15:], perplexity=30.0, max_iter=250, early_exaggeration=12.0,
                   init="pca", learning_rate="auto", seed=0)


def test_metric_known_answers():
    x, y = _blobs()
    assert trustworthiness(x, x @ np.linalg.qr(np.random.default_rng(0).standard_normal(
        (10, 10)))[0], 5) == pytest.approx(1.0)  # an isometry keeps every neighbour
    assert knn_accuracy(x, y, x, y, 1) == 1.0
    assert reconstruction_mse(np.zeros((2, 2)), np.full((2, 2), 0.5)) == 0.25
    assert reconstruction_mse(np.zeros((1, 1)), np.full((1, 1), 3.0)) == 1.0  # clipped to [0, 1]


def test_pca_codes_do_not_depend_on_the_sign_convention_of_the_library(monkeypatch):
    """Simulate a scikit-learn release that returns every component with the other sign."""
    from sklearn.decomposition import PCA

    x, _ = _blobs()
    before, _ = fit_pca(x[:80], x[80:100], x[100:], n_components=4, whiten=False, seed=0)
    original_fit = PCA.fit

    def flipped_fit(self, *args, **kwargs):
        out = original_fit(self, *args, **kwargs)
        self.components_ = -self.components_
        return out

    monkeypatch.setattr(PCA, "fit", flipped_fit)
    after, _ = fit_pca(x[:80], x[80:100], x[100:], n_components=4, whiten=False, seed=0)
    for key in ("z_train", "z_test", "recon_test", "components"):
        np.testing.assert_allclose(after[key], before[key], atol=1e-5)


TSNE_IN_A_FRESH_PROCESS = """
import sys, numpy as np
from sklearn.datasets import load_digits
from latentlab.analysis.baselines import embed_tsne
x = (load_digits().data[:400] / 16).astype(np.float32)
result, _ = embed_tsne(x[:300], x[300:], perplexity=30.0, max_iter=250, early_exaggeration=12.0,
                       init="pca", learning_rate="auto", seed=0, num_threads=2)
sys.stdout.buffer.write(result["z_train"].tobytes() + result["z_test"].tobytes())
"""


def test_tsne_gives_the_same_bytes_whatever_threads_the_machine_would_default_to():
    """OMP_NUM_THREADS stands for the machine's core count; baselines.tsne.num_threads wins."""
    import os
    import subprocess
    import sys

    def embedding(omp_threads: str) -> bytes:
        env = {**os.environ, "OMP_NUM_THREADS": omp_threads}
        return subprocess.run([sys.executable, "-c", TSNE_IN_A_FRESH_PROCESS], env=env,
                              capture_output=True, check=True, timeout=300).stdout

    one, four = embedding("1"), embedding("4")
    assert len(one) == 400 * 2 * 4 and one == four


def test_tsne_stopped_at_the_exaggeration_phase_has_no_objective_not_a_sentinel():
    import numpy as np

    from latentlab.analysis.baselines import embed_tsne, tsne_objective
    from latentlab.report.sections_baselines import _objective_words

    assert tsne_objective(np.finfo(np.float64).max) is None  # scikit-learn's "unset"
    assert tsne_objective(0.75) == 0.75
    x = np.random.default_rng(0).random((60, 5)).astype(np.float32)
    common = dict(perplexity=5.0, early_exaggeration=12.0, init="pca", learning_rate="auto",
                  seed=0, num_threads=1)
    short, _ = embed_tsne(x[:40], x[40:], max_iter=250, **common)
    assert short["kl_divergence"] is None
    assert "`baselines.tsne.max_iter` stopped there" in _objective_words(short)
    longer, _ = embed_tsne(x[:40], x[40:], max_iter=300, **common)
    assert 0 < longer["kl_divergence"] < 10
    assert _objective_words(longer).startswith("at KL divergence")


def test_a_latent_dim_wider_than_the_images_is_refused_not_silently_capped():
    import numpy as np
    import pytest

    from latentlab.analysis.baselines import fit_baseline
    from latentlab.errors import ParamsError
    from latentlab.params import PcaParams

    rng = np.random.default_rng(0)
    splits = {f"x_{s}": rng.random((n, 6), dtype=np.float32)
              for s, n in (("train", 40), ("val", 10), ("test", 10))}
    splits.update({f"y_{s}": np.zeros(len(splits[f"x_{s}"]), int) for s in ("train", "val",
                                                                              "test")})
    with pytest.raises(ParamsError, match=r"^train.common.latent_dim: got 8, expected at most 6"):
        fit_baseline("pca", splits, PcaParams(n_components=8, whiten=False, seed=0))
    codes, metrics, _ = fit_baseline("pca", splits, PcaParams(n_components=6, whiten=False,
                                                                seed=0))
    assert metrics["n_components"] == 6
