"""The DAE sweep decided like the comparison (intervals, ties), train@dae not retrained by the
sweep, and the raw pixels as the comparison's reference row."""

import numpy as np
import pytest
import yaml

from latentlab import params
from latentlab.analysis.latent_stats import REFERENCE, against_reference, pixel_reference
from latentlab.analysis.intervals import resamples
from latentlab.analysis.sweep import sweep_rows, sweep_scores
from latentlab.errors import ParamsError


def _blobs(n_train=120, n_test=90, d=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (3, d))
    y_train, y_test = rng.integers(0, 3, n_train), rng.integers(0, 3, n_test)
    x_train = centres[y_train] + rng.normal(0, 1, (n_train, d))
    x_test = centres[y_test] + rng.normal(0, 1, (n_test, d))
    return {"x_train": x_train.astype(np.float32), "x_test": x_test.astype(np.float32),
            "y_train": y_train, "y_test": y_test}


def _member(splits, recon_noise, seed):
    rng = np.random.default_rng(seed)
    return {"z_train": splits["x_train"][:, :2], "z_test": splits["x_test"][:, :2],
            "recon_test": splits["x_test"] + rng.normal(0, recon_noise, splits["x_test"].shape)}


def test_a_level_within_noise_of_the_best_is_tied_and_a_clear_gap_is_decided():
    splits = _blobs()
    members = {0.0: ("dae_sweep@0.0", _member(splits, 0.30, 1)),
               0.25: ("train@dae", _member(splits, 0.301, 2)),  # within noise of 0.0
               0.5: ("dae_sweep@0.5", _member(splits, 0.60, 3))}  # clearly worse
    scores = sweep_scores(splits, members, knn_neighbors=5, seed=0, bootstrap_samples=200,
                          confidence=0.95)
    recon = scores["verdict"]["recon_mse"]
    assert set(recon["leaders"]) == {"0.0", "0.25"} and not recon["decided"]
    assert "0.5" not in recon["leaders"] and recon["differences"]["0.5"]["low"] > 0
    assert scores["0.25"]["trained_by"] == "train@dae"
    for key in ("0.0", "0.25", "0.5"):
        row = scores[key]
        assert row["recon_mse_ci_low"] <= row["recon_mse_ci_high"]
        assert {"knn_accuracy_ci_low", "probe_accuracy_ci_high"} <= set(row)
    assert scores["best"]["by_recon_mse"] == float(recon["top"])
    # drop the tie: the best is then decided beyond noise
    del members[0.25]
    decided = sweep_scores(splits, members, knn_neighbors=5, seed=0, bootstrap_samples=200,
                           confidence=0.95)["verdict"]["recon_mse"]
    assert decided["decided"] and decided["leaders"] == ["0.0"]


def test_sweep_rows_carry_the_interval_bounds_in_level_order():
    splits = _blobs()
    members = {0.5: ("dae_sweep@0.5", _member(splits, 0.5, 3)),
               0.0: ("dae_sweep@0.0", _member(splits, 0.3, 1))}
    scores = sweep_scores(splits, members, knn_neighbors=5, seed=0, bootstrap_samples=100,
                          confidence=0.9, labelled=False)
    columns, rows = sweep_rows(scores)
    assert columns == ["noise_level", "recon_mse", "recon_mse_ci_low", "recon_mse_ci_high"]
    assert [r[0] for r in rows] == [0.0, 0.5]
    assert "knn_accuracy" not in scores["0.0"] and list(scores["verdict"]) == ["recon_mse"]


def _params_file(tmp_path, levels, dae_level=0.25, dae_type="masking", sweep_type="masking"):
    raw = yaml.safe_load(open(params.DEFAULT_PARAMS_FILE))
    raw["dae_sweep"]["levels"] = levels
    raw["dae_sweep"]["noise_type"] = sweep_type
    raw["train"]["dae"]["noise_level"] = dae_level
    raw["train"]["dae"]["noise_type"] = dae_type
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_sweep_includes_train_dae_and_refuses_to_retrain_it(tmp_path):
    sweep = params.load("dae_sweep", _params_file(tmp_path, [0.0, 0.5]))
    assert sweep.members == ((0.0, "dae_sweep@0.0"), (0.25, "train@dae"),
                             (0.5, "dae_sweep@0.5"))
    assert sweep.all_levels == (0.0, 0.25, 0.5)
    with pytest.raises(ParamsError, match=r"^dae_sweep.levels: 0.25 is train.dae.noise_level"):
        params.load("dae_sweep", _params_file(tmp_path, [0.0, 0.25]))
    with pytest.raises(ParamsError, match=r"^dae_sweep.levels: 0.5 is listed twice"):
        params.load("dae_sweep", _params_file(tmp_path, [0.5, 0.0, 0.5]))
    # another corruption than train.dae's: train@dae is no member, and 0.25 may be swept
    other = params.load("dae_sweep", _params_file(tmp_path, [0.0, 0.25], dae_type="gaussian"))
    assert other.train_dae_level is None and other.all_levels == (0.0, 0.25)


def test_the_committed_params_train_no_level_twice():
    sweep = params.load("dae_sweep")
    dae = params.load("train.dae")
    stages = [stage for _, stage in sweep.members]
    assert stages.count("train@dae") == 1 and dae.noise_level in sweep.all_levels
    assert dae.noise_level not in sweep.levels


def test_raw_pixels_are_a_reference_row_and_the_top_is_compared_with_them_paired():
    splits = _blobs()
    rows = resamples(len(splits["x_test"]), 200, 0)
    row, on = pixel_reference(splits, rows, knn_neighbors=5, seed=0, confidence=0.95)
    assert row["trustworthiness"] == 1.0 and row["latent_dim"] == 6
    assert row["knn_accuracy_ci_low"] <= row["knn_accuracy"] <= row["knn_accuracy_ci_high"]
    assert on["knn_accuracy"].shape == (200,)
    # a method that is right on every image beats the pixels beyond noise wherever they err
    table = {"ae": {"knn_accuracy": 1.0}, REFERENCE: row}
    verdict = {"knn_accuracy": {"top": "ae"}}
    against_reference(verdict, table, {"ae": {"knn_accuracy": np.ones(200)}},
                      {"knn_accuracy": on["knn_accuracy"]}, 0.95)
    ref = verdict["knn_accuracy"]["reference"]
    assert ref["method"] == REFERENCE and ref["value"] == row["knn_accuracy"]
    low, high = ref["top_minus_reference"]["low"], ref["top_minus_reference"]["high"]
    assert 0 <= low <= high
    assert (low > 0) == (row["knn_accuracy_ci_high"] < 1.0)
    # without labels only the trustworthiness, and nothing to compare
    unlabelled = {**splits, "has_labels": np.asarray(False)}
    row, on = pixel_reference(unlabelled, rows, knn_neighbors=5, seed=0, confidence=0.95)
    assert row == {"latent_dim": 6, "trustworthiness": 1.0} and on == {}
