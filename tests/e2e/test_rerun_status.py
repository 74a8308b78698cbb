"""`python -m latentlab.pipeline.rerun_status`: why each stage will run on the next `dvc repro`.

The end-to-end half reads the shared pipeline story (tests/e2e/conftest.py):
the command is asked before each edit's `dvc repro`, and the stages DVC then
actually ran must be the ones it named, for a param edit and a code edit. The
unit half feeds :func:`explain` hand-written status, params and graphs (a chain,
a diamond, a frozen-out branch); no DVC.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from latentlab.pipeline.rerun_status import (
    UP_TO_DATE,
    explain,
    flatten,
    format_text,
    param_changes,
    topological_order,
    will_run,
)

pytestmark = pytest.mark.e2e

COMMAND = (sys.executable, "-m", "latentlab.pipeline.rerun_status")
AFTER_BETA = {"train@vae", "evaluate", "latent_stats", "report", "publish"}


def stages_named(lines: list[str]) -> set[str]:
    return {line.split(": ", 1)[0] for line in lines}


# --------------------------------------------------------------------------
# End to end: the real pipeline and the real `dvc repro`.
# --------------------------------------------------------------------------


def test_up_to_date_right_after_a_repro(pipeline):
    clean = pipeline.steps["status_clean"]
    assert clean["text"] == UP_TO_DATE
    assert clean["json"] == {}
    assert pipeline.steps["status_after_beta"]["json"] == {}


def test_a_beta_edit_names_the_leaf_key_and_the_stages_it_drags_along(pipeline):
    beta = pipeline.steps["status_beta"]
    assert "train@vae: params train.vae.beta: 1.0 → 0.5" in beta["lines"]
    for stage in ("evaluate", "latent_stats", "report"):
        upstream = [line for line in beta["lines"] if line.startswith(f"{stage}: upstream ")]
        assert len(upstream) == 1 and "train@vae" in upstream[0], (stage, beta["text"])
    assert "publish: upstream report will rerun" in beta["lines"]
    assert stages_named(beta["lines"]) == AFTER_BETA
    for untouched in ("train@ae", "train@dae", "baseline@", "dae_sweep@", "preprocess"):
        assert untouched not in beta["text"]
    assert "train.vae:" not in beta["text"]  # the section dvc.yaml lists, not its leaf


def test_the_json_form_says_the_same_in_structure(pipeline):
    answer = pipeline.steps["status_beta"]["json"]
    assert list(answer)[0] == "train@vae" and set(answer) == AFTER_BETA
    assert answer["train@vae"] == {"deps": {}, "params": {"train.vae.beta": {"old": 1.0,
                                                                             "new": 0.5}},
                                   "outs": {}, "stage": [], "upstream": []}
    assert answer["evaluate"]["upstream"] == ["train@vae"]
    assert answer["latent_stats"]["upstream"] == ["evaluate", "train@vae"]
    assert answer["report"]["upstream"] == ["evaluate", "latent_stats", "train@vae"]
    assert answer["publish"]["upstream"] == ["report"]
    for stage in ("evaluate", "latent_stats"):
        assert answer[stage]["params"] == answer[stage]["deps"] == {}


def test_the_prediction_is_what_dvc_repro_then_runs(pipeline):
    predicted = set(pipeline.steps["status_beta"]["json"])
    assert predicted == pipeline.steps["after_beta"] == AFTER_BETA
    # An edit that changes no behaviour: the edited stages run and write the same bytes, so DVC
    # skips what is downstream (no wall time or run id is in a DVC output). The tool predicted
    # those too, as running only because of upstream work: it cannot know the outputs will be
    # identical (its documented limit).
    code = pipeline.steps["status_code"]["json"]
    assert pipeline.steps["after_code"] == {"baseline@pca", "baseline@tsne"}
    assert {stage for stage, why in code.items() if why["deps"]} == pipeline.steps["after_code"]
    for stage in set(code) - pipeline.steps["after_code"]:
        assert code[stage]["upstream"] and not (code[stage]["deps"] or code[stage]["params"])


def test_a_code_edit_names_the_modified_dependency(pipeline):
    code = pipeline.steps["status_code"]
    for stage in ("baseline@pca", "baseline@tsne"):
        assert f"{stage}: deps src/latentlab/analysis/baselines.py modified" in code["lines"]
        assert code["json"][stage]["deps"] == {"src/latentlab/analysis/baselines.py": "modified"}
        assert code["json"][stage]["params"] == {}
    assert stages_named(code["lines"]) == {"baseline@pca", "baseline@tsne", "latent_stats",
                                           "report", "publish"}
    assert code["json"]["latent_stats"]["upstream"] == ["baseline@pca", "baseline@tsne"]


def test_outside_a_dvc_repository_one_line_and_exit_2(tmp_path):
    result = subprocess.run(COMMAND, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and "not inside a DVC repository" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------
# Unit: the pure explanation, on hand-written inputs.
# --------------------------------------------------------------------------

# a -> b -> d and a -> c -> d: the diamond; e depends on nothing that changes.
DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}
EMPTY = {"deps": {}, "params": {}, "outs": {}, "stage": []}


def test_diamond_a_change_at_the_top_runs_both_arms_and_the_join():
    why = explain({"a": [{"changed deps": {"raw.csv": "modified"}}]}, {}, DIAMOND)
    assert list(why) == ["a", "b", "c", "d"]
    assert why["a"] == {**EMPTY, "deps": {"raw.csv": "modified"}, "upstream": []}
    assert why["b"] == why["c"] == {**EMPTY, "upstream": ["a"]}
    assert why["d"] == {**EMPTY, "upstream": ["b", "c"]}  # the nearest, not a


def test_diamond_a_change_in_one_arm_names_only_that_arm():
    why = explain({"c": ["changed command"]}, {}, DIAMOND)
    assert list(why) == ["c", "d"]
    assert why["c"] == {**EMPTY, "stage": ["changed command"], "upstream": []}
    assert why["d"]["upstream"] == ["c"]


def test_own_changes_and_upstream_both_reported():
    status = {"b": [{"changed deps": {"params.yaml": {"train.vae": "modified"}}}],
              "d": [{"changed deps": {"params.yaml": "modified"}},
                    {"changed outs": {"out/d.npz": "not in cache"}}, "always changed"]}
    params = {"b": {"train.vae.beta": {"old": 1.0, "new": 0.5}},
              "e": {"seed": {"old": 0, "new": 1}}}  # e is not in status: DVC's call, no run
    why = explain(status, params, DIAMOND)
    assert list(why) == ["b", "d"]
    assert why["b"] == {**EMPTY, "params": params["b"], "upstream": []}  # no section-level dep
    assert why["d"] == {"deps": {"params.yaml": "modified"}, "params": {},
                        "outs": {"out/d.npz": "not in cache"}, "stage": ["always changed"],
                        "upstream": ["b"]}


def test_nothing_changed_is_up_to_date():
    assert explain({}, {}, DIAMOND) == {}
    assert format_text({}) == UP_TO_DATE


def test_a_stage_missing_from_the_graph_still_reported():
    assert explain({"lonely": ["not in dvc.lock"]}, {}, DIAMOND)["lonely"]["stage"] == [
        "not in dvc.lock"]


def test_will_run_follows_dependents_transitively():
    chain = {"x": [], "y": ["x"], "z": ["y"], "w": []}
    assert will_run(["x"], chain) == {"x", "y", "z"}
    assert will_run(["z"], chain) == {"z"}
    assert will_run([], chain) == set()


def test_topological_order_puts_dependencies_first_ties_by_name():
    assert topological_order(["d", "c", "b", "a"], DIAMOND) == ["a", "b", "c", "d"]
    assert topological_order(["d", "c"], DIAMOND) == ["c", "d"]
    names_out_of_order = {"prep": [], "train": ["prep"], "evaluate": ["train"]}
    assert topological_order(["evaluate", "prep", "train"], names_out_of_order) == [
        "prep", "train", "evaluate"]


def test_flatten_reports_leaves_and_keeps_lists_whole():
    tree = {"train.vae": {"beta": 1.0}, "train.common": {"hidden_sizes": [16], "opt": {"lr": 1}},
            "train.ae": {}, "seed": 0}
    assert flatten(tree) == {"train.vae.beta": 1.0, "train.common.hidden_sizes": [16],
                             "train.common.opt.lr": 1, "seed": 0}


def test_param_changes_at_leaf_level_with_added_and_removed_keys():
    old = {"train.vae": {"beta": 1.0, "gone": 3}, "train.common": {"hidden_sizes": [16, 8]},
           "seed": 0}
    new = {"train.vae": {"beta": 0.5, "added": "x"}, "train.common": {"hidden_sizes": (16, 8)},
           "seed": 0}
    assert param_changes(old, new) == {"train.vae.added": {"new": "x"},
                                       "train.vae.beta": {"old": 1.0, "new": 0.5},
                                       "train.vae.gone": {"old": 3}}
    assert param_changes(old, old) == {}
    assert param_changes({"x": None}, {}) == {"x": {"old": None}}  # a null is not an absence


def test_format_text_one_line_per_reason():
    why = {"t": {"deps": {"src/m.py": "modified"},
                 "params": {"k.a": {"old": 1.0, "new": 0.5}, "k.b": {"new": [16]},
                            "k.c": {"old": "pca"}},
                 "outs": {"o.npz": "deleted"}, "stage": ["changed command"], "upstream": []},
           "u": {**EMPTY, "upstream": ["s", "t"]}}
    assert format_text(why).splitlines() == [
        "t: deps src/m.py modified",
        "t: params k.a: 1.0 → 0.5",
        "t: params k.b: (absent) → [16]",
        't: params k.c: "pca" → (absent)',
        "t: outs o.npz deleted",
        "t: changed command",
        "u: upstream s, t will rerun",
    ]
