"""The report's opening "Verdict": best or tied per criterion, the likelihood, the caveats."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from test_report import (
    METHODS,
    N_EXAMPLES,
    N_TEST,
    _edit_json,
    _words,
    write_inputs,
)

from latentlab.report import contents, sections_info
from latentlab.report.blocks import FigureRef
from latentlab.report.build import build_report, load_inputs
from latentlab.report.sections_verdict import verdict_blocks, verdict_summary_lines

CEILING = "bounded by the sample size, not a property of the model"


def _lines(inputs) -> tuple[list[str], list[str]]:
    """(criterion lines, caveat lines) as the section lists them."""
    lists = [b["items"] for b in verdict_blocks(inputs) if b["kind"] == "list"]
    return lists[0], (lists[1] if len(lists) > 1 else [])


def test_the_report_opens_with_the_verdict(tmp_path):
    build_report(load_inputs(write_inputs(tmp_path)), tmp_path / "out", N_EXAMPLES)
    md = (tmp_path / "out/report.md").read_text()
    titles = re.findall(r"^## (.+)$", md, flags=re.M)
    assert titles[:2] == ["1. Verdict", "2. Data set"]  # "What changed" is no section
    assert "- [1. Verdict](#verdict)" in md and "- [2. Data set](#data)" in md
    verdict = md.split("## 1. Verdict")[1].split("## 2. ")[0]
    assert "- Reconstruction (`recon_mse`, lower is better): best dae 0.01000 " \
           "(0.00980–0.01020), beyond noise." in verdict
    html = (tmp_path / "out/report.html").read_text()
    first = html.split('<section id="verdict">')[1].split("</section>")[0]
    assert "<li>Reconstruction (<code>recon_mse</code>, lower is better): best dae" in first


def test_one_line_per_criterion_from_the_verdict(tmp_path):
    inputs = load_inputs(write_inputs(tmp_path))
    lines, caveats = _lines(inputs)
    assert [line.split(" (`")[0] for line in lines[:5]] == [
        "Reconstruction", "Held-out class structure, kNN accuracy",
        "Held-out class structure, linear probe accuracy", "Neighbourhood preservation",
        "Match to the prior N(0, I)"]
    # kNN: dae on top, ae within noise of it, vae and pca behind beyond noise; t-SNE not ranked
    assert lines[1] == ("Held-out class structure, kNN accuracy (`knn_accuracy`, higher is "
                        "better): dae 0.9100 (0.8918–0.9282) and ae 0.9000 (0.8820–0.9180) tied "
                        "for best; behind them beyond noise: vae, pca.")
    assert lines[2].endswith("best pca 0.9700 (0.9506–0.9894), beyond noise.")
    assert lines[4].endswith("best vae 0.8000 (0.7840–0.8160), beyond noise.")
    assert lines[5] == ("Log-likelihood (the VAE only): log p(x) ≈ -32.50 nats per test image "
                        "(`test_log_px_nats`, the importance-weighted bound with K = 50 "
                        "samples), 0.4000 nats above the ELBO with the same samples "
                        "(`test_gap_nats`); not compared with anything: no other method has a "
                        "likelihood.")
    assert len(lines) == 6  # something is decided: no "cannot decide" line
    assert caveats == ["t-SNE (†) is transductive: train and test embedded jointly (section 4), "
                       "so its numbers are shown, not ranked."]


def test_without_labels_the_class_structure_line_says_so(tmp_path):
    lines, _ = _lines(load_inputs(write_inputs(tmp_path, labelled=False)))
    assert lines[1] == "Held-out class structure: no labels: kNN and probe accuracy are skipped."
    assert not any("knn_accuracy" in line or "probe_accuracy" in line for line in lines)


def test_when_nothing_is_decided_the_data_cannot_decide(tmp_path):
    everyone = {key: METHODS for key in ("knn_accuracy", "probe_accuracy", "trustworthiness",
                                         "recon_mse", "latent_kl_to_prior_nats")}
    lines, _ = _lines(load_inputs(write_inputs(tmp_path, tied=everyone)))
    assert lines[0].endswith("tied for best: the data cannot decide between them.")
    assert lines[-1] == (f"No criterion is decided: on these {N_TEST} test images the paired "
                         "intervals cannot separate the leaders of any, so the data cannot "
                         "decide which method is best.")
    assert not any("best dae" in line or "beyond noise" in line for line in lines)


def test_a_collapsed_vae_and_a_run_at_its_budget_are_caveats(tmp_path):
    paths = write_inputs(tmp_path, collapsed=True)
    _edit_json(paths.train_metrics["vae"],
               lambda o: o.update(stopped_early=False, best_epoch=12, epochs_run=12))
    _, caveats = _lines(load_inputs(paths))
    assert caveats[1] == ("The VAE's posterior collapsed (`posterior_collapse`; 2 of 4 latent "
                          "dimensions active, section 8): its codes match the prior trivially, "
                          "so it is flagged (‡), not ranked, on the match to the prior.")
    assert caveats[2] == ("VAE (best epoch 12 of 12) stopped at its epoch budget while still "
                          "improving (`stopped_early`: false, `best_epoch` = `epochs_run` in "
                          "`metrics/train/<model>.json`): more epochs (`train.common.epochs`) "
                          "may change its numbers.")
    # stopped early, or at the budget with an earlier best epoch: no caveat
    _edit_json(paths.train_metrics["vae"], lambda o: o.update(best_epoch=11))
    assert not any("epoch budget" in c for c in _lines(load_inputs(paths))[1])


def _mi_at(paths, mi: float) -> None:
    _edit_json(paths.latent_stats, lambda o: o["vae"].update(
        mutual_information_nats=mi, kl_minus_mi_nats=8.0 - mi))


def test_mutual_information_at_its_ceiling_is_not_interpreted(tmp_path):
    paths = write_inputs(tmp_path)
    log_n = math.log(N_TEST)
    _mi_at(paths, 0.97 * log_n)  # within 5 % of log N
    inputs = load_inputs(paths)
    caveat = _lines(inputs)[1][-1]
    assert caveat == (f"The VAE's I(x; z), 3.299 nats (`mutual_information_nats`), is within "
                      f"5.0% of its ceiling log N = 3.401 nats (`mutual_information_max_nats`, "
                      f"N = {N_TEST} test images): {CEILING} (section 8).")
    vae = _words(inputs)["vae"]
    assert f"within 5.0% of its ceiling, so the estimate is {CEILING}" in vae
    assert "pay for information about x" not in vae
    assert "is how far the aggregate posterior is from the prior" not in vae
    assert "is not read here as how far the aggregate posterior is from the prior" in vae

    _mi_at(paths, 0.9 * log_n)  # 10 % below: read as usual
    inputs = load_inputs(paths)
    assert not any(CEILING in c for c in _lines(inputs)[1])
    assert CEILING not in _words(inputs)["vae"]
    assert "is how far the aggregate posterior is from the prior" in _words(inputs)["vae"]


@pytest.mark.parametrize(("mi", "at"), [(0.95, True), (0.949, False), (1.0, True)])
def test_the_ceiling_is_five_percent_of_log_n(mi, at):
    vae = {"mutual_information_nats": mi * np.log(100), "mutual_information_max_nats":
           np.log(100)}
    assert sections_info.mi_at_ceiling(vae) is at


def test_summary_lines_are_the_sections_lines_as_plain_text(tmp_path):
    paths = write_inputs(tmp_path, collapsed=True)
    inputs = load_inputs(paths)
    lines, caveats = _lines(inputs)
    assert verdict_summary_lines(inputs, markdown=True) == lines + ["Caveat: " + c
                                                                    for c in caveats]
    plain = verdict_summary_lines(inputs)
    assert plain == [line.replace("`", "") for line in lines + ["Caveat: " + c
                                                                for c in caveats]]
    assert plain[0].startswith("Reconstruction (recon_mse, lower is better): best dae")
    assert not any("`" in line for line in plain)
    # pure: the same lines from the same inputs, and the section is what the report renders
    assert verdict_summary_lines(inputs) == plain
    refs = {n: FigureRef(n, "", "", "") for n in contents.captions(inputs, N_EXAMPLES)}
    assert contents.sections(inputs, refs)[0]["blocks"] == verdict_blocks(inputs)
