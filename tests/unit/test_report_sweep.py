"""The report's DAE sweep: intervals, a best level only beyond noise, the claim tested
against the verdict, and a reader that refuses a scores file that does not hold together."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_report import (
    PARAMS_YAML,
    SWEEP,
    _edit_json,
    sweep_scores,
    write_inputs,
    write_sweep,
)

from latentlab import io
from latentlab.io import DataFileError
from latentlab.report import sections_sweep
from latentlab.report.build import load_inputs
from latentlab.report.figures_curves import sweep_figure

TIED_RECON = {"recon_mse": (0.25,)}  # 0.1 has the lowest MSE, 0.25 within noise of it


def _sweep(tmp_path, sweep=SWEEP, tied=None, labelled=True) -> dict:
    paths = write_inputs(tmp_path, labelled=labelled)
    write_sweep(tmp_path, sweep, labelled, tied)
    return load_inputs(paths).dae_sweep


def _column(table: dict, header: str) -> dict[str, dict]:
    """Level label -> its cell in the column ``header`` of the sweep table."""
    i = table["table"]["columns"].index(header)
    return {row["label"]: row["cells"][i] for row in table["table"]["rows"]}


# --------------------------------------------------------------------------
# The table and the sentences
# --------------------------------------------------------------------------


def test_a_point_best_within_noise_renders_as_tied(tmp_path):
    sweep = _sweep(tmp_path, tied=TIED_RECON)
    recon = _column(sections_sweep.sweep_table(sweep), "recon MSE ↓")
    assert not any(c["best"] for c in recon.values())  # no bold: nothing decided
    assert [label for label, c in recon.items() if c["text"].endswith(" ≈")] == ["0.1", "0.25"]
    assert recon["0.1"]["text"] == "0.01000 (0.00980–0.01020) ≈"
    knn = _column(sections_sweep.sweep_table(sweep), "kNN accuracy ↑")  # still decided
    assert [label for label, c in knn.items() if c["best"]] == ["0.5"]
    assert not any("≈" in c["text"] for c in knn.values())
    sentence = sections_sweep.best_level_sentence(sweep)
    assert "by recon MSE, tied: 0.1 and 0.25 (the paired 95% interval of the difference to " \
           "the top, 0.1, includes 0: 0.25 − 0.1: -0.0040 to 0.0160)" in sentence
    assert "best level 0.1" not in sentence


def test_a_decided_best_is_bold_and_marked_nowhere_else(tmp_path):
    recon = _column(sections_sweep.sweep_table(_sweep(tmp_path)), "recon MSE ↓")
    assert [label for label, c in recon.items() if c["best"]] == ["0.1"]
    assert recon["0.1"]["text"] == "0.01000 (0.00980–0.01020)"
    assert not any("≈" in c["text"] for c in recon.values())


def test_the_legend_says_what_bold_and_tied_mean(tmp_path):
    words = " ".join(b["text"] for b in sections_sweep.sweep_blocks(
        _sweep(tmp_path), {"dae_sweep": None}) if b["kind"] == "p")
    assert "the percentile interval of 200 bootstrap resamples of the 30 test images" in words
    assert "Bold: the best level, beyond noise" in words
    assert "≈: tied for best" in words
    assert "Level 0.25 is `train.dae.noise_level`: its DAE is train@dae, the DAE of the " \
           "comparison — not retrained" in words


@pytest.mark.parametrize(("sweep", "tied", "claim"), [
    (sweep_scores(0.25, 0.5), None, "agrees, beyond noise: level 0.25 has the lowest recon "
                                    "MSE"),
    (SWEEP, TIED_RECON, "is consistent with the claim, but not decided: 0.25 is tied with 0.1 "
                        "for the lowest recon MSE (paired 95% interval of the difference to "
                        "the top: 0.25 − 0.1: -0.0040 to 0.0160; includes 0)"),
    (sweep_scores(0.25, 0.5), {"recon_mse": (0.1, 0.0)},
     "is consistent with the claim, but not decided: 0.25 is tied with 0.1 and 0 for the "
     "lowest recon MSE"),
    (SWEEP, None, "differs: the best is 0.1, beyond noise; the paired 95% interval of "
                  "0.25 − 0.1 (recon MSE at 0.25 minus at 0.1) is 0.00150 to 0.00450, "
                  "excluding 0"),
    (SWEEP, {"recon_mse": (0.0,)}, "differs: the leaders are 0.1 and 0, tied, with 0.1 the "
                                   "top; the paired 95% interval of 0.25 − 0.1"),
])
def test_the_claim_is_tested_against_the_verdict(tmp_path, sweep, tied, claim):
    sentence = sections_sweep.claim_sentence(_sweep(tmp_path, sweep, tied))
    assert f"not a point estimate, our sweep {claim}" in sentence
    assert sentence.count("agrees") + sentence.count("consistent") \
        + sentence.count("differs") == 1
    assert "Our loss is the recon MSE on clean test images" in sentence


def test_without_labels_the_sweep_is_recon_mse_alone(tmp_path):
    sweep = _sweep(tmp_path, tied=TIED_RECON, labelled=False)
    assert sweep["scores"] == ("recon_mse",)
    assert sections_sweep.sweep_table(sweep)["table"]["columns"] == ["recon MSE ↓", "trained by"]
    assert sections_sweep.best_level_sentence(sweep).endswith(
        "No labels: kNN and probe accuracy are skipped, so recon MSE is the only criterion.")
    claim = sections_sweep.claim_sentence(sweep)
    assert "consistent with the claim, but not decided" in claim
    assert "representation" not in claim


def test_criteria_agreeing_only_within_noise_are_not_called_agreeing(tmp_path):
    sentence = sections_sweep.best_level_sentence(
        _sweep(tmp_path, sweep_scores(0.25, 0.5), {"knn_accuracy": (0.25,),
                                                    "probe_accuracy": (0.25,)}))
    assert sentence.endswith("Level 0.25 is among the leaders of every criterion, but not "
                             "every criterion is decided.")


def test_a_value_outside_its_interval_is_shown_and_said(tmp_path):
    paths = write_inputs(tmp_path)

    def shift(o):
        o["0.5"].update(recon_mse_ci_low=0.0185, recon_mse_ci_high=0.019)

    _edit_json(paths.dae_sweep_scores, shift)
    rows = io.read_csv(paths.dae_sweep_plot)
    rows[3].update(recon_mse_ci_low="0.0185", recon_mse_ci_high="0.019")
    io.atomic_write_csv(paths.dae_sweep_plot, list(rows[0]), [list(r.values()) for r in rows])
    words = " ".join(b["text"] for b in sections_sweep.sweep_blocks(
        load_inputs(paths).dae_sweep, {"dae_sweep": None}) if b["kind"] == "p")
    assert "Outside its own interval: recon MSE at level 0.5, 0.01800 (0.01850–0.01900)." in words


# --------------------------------------------------------------------------
# The figure: a star only on a decided best
# --------------------------------------------------------------------------


def _legend(fig) -> list[list[str]]:
    return [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]


def test_the_figure_stars_only_a_decided_best(tmp_path):
    sweep = _sweep(tmp_path, tied=TIED_RECON)
    recon, knn, probe = _legend(sweep_figure(sweep, "masking", 0.25, "claim"))
    assert "tied leaders" in recon and not any(t.startswith("best") for t in recon)
    assert "best beyond noise: 0.5" in knn and "tied leaders" not in knn
    assert "claim" in recon and "claim" in probe
    ax = sweep_figure(sweep, "masking").axes[0]
    bars = [c for c in ax.collections if len(c.get_segments()) == 5]
    assert bars, "an error bar per level"
    low, high = zip(*[(s[0][1], s[1][1]) for s in bars[0].get_segments()])
    assert np.allclose(sorted(low), sorted(sweep["recon_mse_ci_low"]))
    assert np.allclose(sorted(high), sorted(sweep["recon_mse_ci_high"]))


# --------------------------------------------------------------------------
# The reader refuses a file that does not hold together
# --------------------------------------------------------------------------


def _refuses(tmp_path, edit, match, csv_edit=None, params=None):
    paths = write_inputs(tmp_path)
    if edit is not None:
        _edit_json(paths.dae_sweep_scores, edit)
    if csv_edit is not None:
        rows = io.read_csv(paths.dae_sweep_plot)
        csv_edit(rows)
        io.atomic_write_csv(paths.dae_sweep_plot, list(rows[0]), [list(r.values()) for r in rows])
    if params is not None:
        paths.params.write_text(params)
    with pytest.raises(DataFileError, match=match) as info:
        load_inputs(paths)
    assert str(info.value).endswith(("; rerun latent_stats", "; rerun the stage that writes it"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("edit", "match"), [
    (lambda o: o["verdict"]["recon_mse"].update(leaders=["0.1", "0.25"]),
     r"verdict\.recon_mse\.leaders are \['0\.1', '0\.25'\] but the difference intervals give "
     r"\['0\.1'\]"),
    (lambda o: o["verdict"]["knn_accuracy"].update(decided=False),
     r"verdict\.knn_accuracy\.decided is False but the leaders are \['0\.5'\]"),
    (lambda o: o["verdict"]["recon_mse"].update(ranked=["0.1", "0.25", "0.0", "0.5", "0.75"]),
     r"verdict\.recon_mse\.ranked .* is not in the order of the levels' recon_mse, best first"),
    (lambda o: o["verdict"]["recon_mse"].update(ranked=["0.1", "0.0", "0.25", "0.5"]),
     r"verdict\.recon_mse\.ranked must hold every level once"),
    (lambda o: o["verdict"]["recon_mse"].update(top="0.0"),
     r"verdict\.recon_mse\.top is '0\.0' but ranked starts with '0\.1'"),
    (lambda o: o["verdict"]["probe_accuracy"]["differences"]["0.25"].update(low=0.5),
     r"verdict\.probe_accuracy\.differences\.0\.25 must be \{low, high\} with low <= high"),
    (lambda o: o["verdict"].pop("probe_accuracy"),
     r"lacks key\(s\) probe_accuracy under 'verdict'"),
    (lambda o: o["best"].update(by_knn_accuracy=0.25),
     r"best\.by_knn_accuracy = 0\.25 but verdict\.knn_accuracy\.top is 0\.5"),
    (lambda o: o["0.5"].update(knn_accuracy_ci_low=0.99),
     r"0\.5\.knn_accuracy must be a number with an interval low <= high, got 0\.95 "
     r"\[0\.99, 0\.969"),
    (lambda o: o["0.25"].update(trained_by="dae_sweep@0.25"),
     r"0\.25\.trained_by is 'dae_sweep@0\.25' but params\.yaml has train@dae train it"),
    (lambda o: o["protocol"].update(confidence=95),
     r"protocol must hold integers bootstrap_samples >= 1, seed and n_test and a confidence"),
    (lambda o: o.pop("0.25"),  # train.dae's level is a member though not in dae_sweep.levels
     r"dae_sweep_scores\.json: levels \[0\.0, 0\.1, 0\.5, 0\.75\] differ from the sweep's "
     r"\[0\.0, 0\.1, 0\.25, 0\.5, 0\.75\]"),
])
def test_the_reader_refuses_an_inconsistent_scores_file(tmp_path, edit, match):
    _refuses(tmp_path, edit, match)


def test_the_reader_refuses_a_csv_disagreeing_on_an_interval_bound(tmp_path):
    def edit(rows):
        rows[2]["recon_mse_ci_high"] = "0.0135"
    _refuses(tmp_path, None, r"dae_sweep_scores\.json: 0\.25\.recon_mse_ci_high = 0\.01326 "
                             r"differs from .*dae_sweep\.csv \(0\.0135\)", csv_edit=edit)


def test_the_reader_expects_the_sweep_members_from_params(tmp_path):
    # train.dae corrupting another way: not a member, so 0.25 is a level params do not have
    other = PARAMS_YAML.replace("dae: {noise_type: masking, noise_level: 0.25}",
                                "dae: {noise_type: gaussian, noise_level: 0.25}")
    assert other != PARAMS_YAML
    _refuses(tmp_path, None, r"dae_sweep\.csv: levels \[0\.0, 0\.1, 0\.25, 0\.5, 0\.75\] "
                             r"differ from the sweep's \[0\.0, 0\.1, 0\.5, 0\.75\]", params=other)


def test_the_reader_returns_levels_intervals_stages_and_verdict(tmp_path):
    sweep = _sweep(tmp_path, tied=TIED_RECON)
    assert sweep["keys"] == ("0.0", "0.1", "0.25", "0.5", "0.75")
    assert np.allclose(sweep["levels"], [0.0, 0.1, 0.25, 0.5, 0.75])
    assert sweep["trained_by"][2] == "train@dae" and sweep["train_dae_level"] == 0.25
    assert np.allclose(sweep["recon_mse_ci_low"], sweep["recon_mse"] * 0.98)
    recon = sweep["verdict"]["recon_mse"]
    assert recon["leaders"] == ("0.1", "0.25") and recon["decided"] is False
    assert sweep["best"] == {"by_recon_mse": 0.1, "by_knn_accuracy": 0.5,
                             "by_probe_accuracy": 0.5}
    assert json.loads(json.dumps(sweep["protocol"]))["bootstrap_samples"] == 200
