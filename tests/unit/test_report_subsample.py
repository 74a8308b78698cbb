"""Issue 20: the report says when log p(x) and trustworthiness scored a subsample, and their SEs."""

from types import SimpleNamespace

from latentlab.report import sections_comparison, sections_info

EVALUATE = {"iwae_samples": 1000, "log_px_nats": -229.1, "elbo_k_nats": -231.2,
            "gap_nats": 2.1, "gap_min_nats": 0.3, "log_px_bits_per_dim": 0.42,
            "log_px_se_nats": 0.38, "elbo_k_se_nats": 0.39, "gap_se_nats": 0.026}


def test_log_px_on_a_subsample_says_so_with_its_standard_errors():
    sentence = sections_info.elbo_tightness_sentence(
        {**EVALUATE, "n_images": 2000, "n_test": 10000, "subsampled": True}, -231.0, 784)
    assert "on a seeded random subsample of 2000 of the 10000 test images" in sentence
    assert "log p(x) ≈ -229.1 ± 0.3800 (standard error, `log_px_se_nats`)" in sentence
    assert "2.100 ± 0.02600 (standard error, `gap_se_nats`)" in sentence
    # the training's ELBO covers every test image: the difference carries log p(x)'s SE
    assert "not the same ones" in sentence


def test_log_px_on_every_image_says_so():
    sentence = sections_info.elbo_tightness_sentence(
        {**EVALUATE, "n_images": 269, "n_test": 269, "subsampled": False}, -231.0, 784)
    assert "on all 269 test images" in sentence and "subsample" not in sentence
    assert "± 0.3800" in sentence


def _inputs(subsampled: bool):
    protocol = {"n_test": 10000, "trustworthiness_n_points": 2000 if subsampled else 10000,
                "trustworthiness_subsampled": subsampled}
    stats = {"pca": {"trustworthiness_se": 0.00021}, "ae": {"trustworthiness_se": 0.00088},
             "pixels": {"trustworthiness": 1.0}}
    return SimpleNamespace(verdict=SimpleNamespace(protocol=protocol), latent_stats=stats)


def test_trustworthiness_on_a_subsample_says_so_with_each_methods_se():
    words = sections_comparison._trustworthiness_points(_inputs(True))
    assert "a seeded random subsample of 2000 of the 10000 test points" in words
    assert "the same points for every method" in words
    assert "pca 2.100e-04, ae 8.800e-04" in words and "pixels" not in words


def test_trustworthiness_on_every_point_says_so():
    words = sections_comparison._trustworthiness_points(_inputs(False))
    assert "scored on all 10000 test points" in words and "subsample" not in words
