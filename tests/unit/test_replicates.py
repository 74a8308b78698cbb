"""Training-seed replicates: trained in one process, recorded, and read back as a spread across
seeds that checks whether a decided best holds beyond seed 0."""

import numpy as np
import pytest

from latentlab import params
from latentlab.analysis.seed_spread import check_verdict, seed_values, spread_columns
from tiny_params import tiny_train_params
from latentlab.train.replicates import (
    read_replicate_codes,
    replicate_arrays,
    replicate_record,
    replicate_seeds,
)


def _params(**kw):
    return tiny_train_params(**{**dict(model="ae", hidden_sizes=(8,), epochs=2, seed=7,
                                       replicates=3), **kw})


def _splits():
    rng = np.random.default_rng(0)
    return {f"x_{s}": rng.random((n, 10), dtype=np.float32)
            for s, n in (("train", 64), ("val", 16), ("test", 20))}


def test_replicates_train_at_their_own_seeds_and_round_trip_through_the_record():
    from latentlab.train.trainer import train_and_encode, train_replicates

    p = _params()
    first = train_and_encode(p, _splits())
    started = []
    others = train_replicates(p, _splits(), on_start=lambda seed, k, n: started.append((seed, k,
                                                                                         n)))
    assert replicate_seeds(7, 3) == [7, 1007, 2007]
    assert started == [(1007, 1, 2), (2007, 2, 2)]
    assert len(others) == 2
    # a replicate is the same model at another seed: other codes, and reproducible
    assert not np.allclose(others[0].arrays["z_test"], first.arrays["z_test"])
    again = train_and_encode(_params(seed=1007, replicates=1), _splits())
    np.testing.assert_array_equal(again.arrays["z_test"], others[0].arrays["z_test"])
    record = replicate_record(p, first, others)
    assert record["seeds"] == [7, 1007, 2007]
    assert record["test"]["recon"][0] == first.metrics["test"]["recon"]
    assert len(record["test"]["recon"]) == 3 and len(set(record["test"]["recon"])) == 3
    codes = read_replicate_codes(replicate_arrays(p, others))
    assert len(codes) == 2 and set(codes[0]) == {"z_train", "z_test", "recon_test"}
    np.testing.assert_array_equal(codes[1]["z_test"], others[1].arrays["z_test"])
    # one seed: an empty record, nothing to read
    assert read_replicate_codes(replicate_arrays(_params(replicates=1), [])) == []


def test_the_spread_across_seeds_and_whether_a_decided_best_holds_across_them():
    class Const:
        def __init__(self, v):
            self.v = v

        def __call__(self, rows):
            return self.v

    values = seed_values({"knn_accuracy": 0.90, "recon_mse": 0.02},
                         [{"knn_accuracy": Const(0.92)}, {"knn_accuracy": Const(0.88)}], 5)
    assert values == {"knn_accuracy": [0.90, 0.92, 0.88], "recon_mse": [0.02]}
    cols = spread_columns(values)
    assert cols["knn_accuracy_seed_mean"] == pytest.approx(0.90)
    assert cols["knn_accuracy_seed_sd"] == pytest.approx(0.02)
    assert (cols["knn_accuracy_seed_min"], cols["knn_accuracy_seed_max"]) == (0.88, 0.92)
    assert cols["recon_mse_seed_sd"] == 0.0

    table = {"ae": {"knn_accuracy": 0.95, "knn_accuracy_seed_min": 0.94,
                    "knn_accuracy_seed_max": 0.96, "n_seeds": 3},
             "vae": {"knn_accuracy": 0.90, "knn_accuracy_seed_min": 0.89,
                     "knn_accuracy_seed_max": 0.945, "n_seeds": 3},
             "pca": {"knn_accuracy": 0.80}}
    verdict = {"knn_accuracy": {"ranked": ["ae", "vae", "pca"], "decided": True}}
    check_verdict(verdict, table)
    seeds = verdict["knn_accuracy"]["seeds"]
    assert seeds["holds"] is False  # vae's best seed (0.945) beats ae's worst (0.94)
    assert seeds["ranges"]["pca"] == [0.80, 0.80] and seeds["n_seeds"] == 3
    table["vae"]["knn_accuracy_seed_max"] = 0.93
    check_verdict(verdict, table)
    assert verdict["knn_accuracy"]["seeds"]["holds"] is True
    verdict["knn_accuracy"]["decided"] = False
    check_verdict(verdict, table)
    assert verdict["knn_accuracy"]["seeds"]["holds"] is None


def test_replicates_default_to_one_seed_for_an_older_params_file_and_sweeps_train_one(tmp_path):
    import yaml

    raw = yaml.safe_load(open(params.DEFAULT_PARAMS_FILE))
    assert raw["train"]["common"]["replicates"] == 3  # the default data set's setting
    del raw["train"]["common"]["replicates"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert params.load("train.vae", path).replicates == 1
    assert params.load_dae_sweep_member(0.5).replicates == 1
    raw["train"]["common"]["replicates"] = 0
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(params.ParamsError, match=r"^train.common.replicates"):
        params.load("train.ae", path)
