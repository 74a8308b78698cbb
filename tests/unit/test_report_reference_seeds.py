"""The report's words for the raw-pixel reference row and the training-seed spread: each
claim follows the paired interval or the seed ranges, never a point estimate alone."""

from latentlab.report.inputs import Criterion, Seeds
from latentlab.report.verdicts import leaders_words, reference_words, seed_words

STATS = {"ae": {"knn_accuracy": 0.95, "knn_accuracy_ci_low": 0.93, "knn_accuracy_ci_high": 0.97},
         "vae": {"knn_accuracy": 0.90, "knn_accuracy_ci_low": 0.87, "knn_accuracy_ci_high": 0.93},
         "pixels": {"knn_accuracy": 0.97, "knn_accuracy_ci_low": 0.955,
                    "knn_accuracy_ci_high": 0.985, "latent_dim": 64}}


def _criterion(reference=None, seeds=None, decided=True):
    return Criterion(key="knn_accuracy", better="max", ranked=("ae", "vae"),
                     leaders=("ae",) if decided else ("ae", "vae"), decided=decided,
                     excluded={}, differences={"vae": (0.02, 0.08) if decided else (-0.01, 0.1)},
                     reference=reference, seeds=seeds)


def test_the_top_against_the_raw_pixels_follows_the_paired_interval():
    assert reference_words(_criterion(), STATS) == ""
    below = reference_words(_criterion(reference=(-0.04, -0.005)), STATS)
    assert "ae is worse than the raw pixels beyond noise" in below
    assert "0.9700 (0.9550–0.9850)" in below and "ae − pixels: -0.0400 to -0.0050, paired" in below
    within = reference_words(_criterion(reference=(-0.02, 0.01)), STATS)
    assert "within noise of the raw pixels" in within
    above = reference_words(_criterion(reference=(0.01, 0.03)), STATS)
    assert "better than the raw pixels beyond noise" in above


class Verdict:
    def __init__(self, c):
        self.criteria = {"knn_accuracy": c}


def test_a_decided_best_says_whether_it_holds_across_training_seeds():
    holds = Seeds(n_seeds=3, ranges={"ae": (0.94, 0.96), "vae": (0.88, 0.92)}, holds=True)
    words = leaders_words(Verdict(_criterion(seeds=holds)), "knn_accuracy", STATS)
    assert words.startswith("best ae 0.9500 (0.9300–0.9700), beyond noise, and across the 3 "
                            "training seeds too")
    fails = Seeds(n_seeds=3, ranges={"ae": (0.91, 0.96), "vae": (0.88, 0.92)}, holds=False)
    assert seed_words(_criterion(seeds=fails)) == ("on the first training seed only: across 3 "
                                                   "seeds its range overlaps vae's")
    assert seed_words(_criterion()) == ""
    undecided = Seeds(n_seeds=3, ranges={"ae": (0.94, 0.96), "vae": (0.88, 0.92)}, holds=None)
    assert seed_words(_criterion(seeds=undecided, decided=False)) == ""
