"""Edits of params.yaml as DVC sees them: a comment reruns nothing; `-S` changes one line.

Both on this repository's own files: `dvc status` in a sandbox copy (no outputs needed, since
the statuses before and after an edit are compared), and DVC's own `-S` writer
(`dvc.utils.hydra.apply_overrides`, what `dvc exp run -S` calls) on a copy of params.yaml.
"""

from __future__ import annotations

import difflib
import json
import shutil

import pytest

from latentlab.pipeline.sandbox import Sandbox

pytestmark = pytest.mark.e2e


def _status(box: Sandbox) -> dict:
    return json.loads(box.run("dvc", "status", "--json").stdout)


def test_a_comment_or_tracking_edit_reruns_no_stage_and_a_value_edit_does(tmp_path, repo_root):
    box = Sandbox(repo_root, tmp_path / "repo")
    params = box.root / "params.yaml"
    before = _status(box)
    text = params.read_text()
    params.write_text(text.replace("report:\n", "report:                       # edited\n")
                      .replace("on_failure: fail", "on_failure: warn"))
    assert _status(box) == before
    params.write_text(text.replace("n_examples: 10", "n_examples: 12"))
    assert _status(box)["report"] != before["report"]


@pytest.mark.parametrize("override", ["train.vae.beta=2.0", "data.mirror=http://m.lan/",
                                      "dae_sweep.noise_type=gaussian"])
def test_dvc_exp_run_set_param_changes_one_line_of_params_yaml(tmp_path, repo_root, override):
    from dvc.utils.hydra import apply_overrides

    copy = tmp_path / "params.yaml"
    shutil.copy(repo_root / "params.yaml", copy)
    apply_overrides(str(copy), [override])
    diff = [line for line in difflib.unified_diff(
        (repo_root / "params.yaml").read_text().splitlines(), copy.read_text().splitlines(),
        lineterm="", n=0) if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(diff) == 2, "\n".join(diff)  # one line out, one in
