"""What changed since the last commit (`python -m latentlab.report.changes`, `make changes`):
the inputs first (params, data set, code), then only the metrics whose change exceeds their
noise. No section of the report: it reads git, the report does not."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from test_report import (
    REPO,
    _commit_all,
    _edit_json,
    _git,
    md_table_rows,
    write_inputs,
)

from latentlab.cli import run_stage
from latentlab.params import flatten
from latentlab.report import changes, sections_changes
from latentlab.report.changes_inputs import load_changes, report_files
from latentlab.report.sections_changes import CHANGE_RTOL, changes_blocks, metrics_diff

METRICS = ("metrics/train/ae.json", "metrics/train/dae.json", "metrics/train/vae.json",
           "metrics/baseline/pca.json", "metrics/baseline/tsne.json", "metrics/evaluate.json",
           "metrics/latent_stats.json", "metrics/verdict.json", "metrics/dae_sweep_scores.json")


def _repo(tmp_path: Path, **kwargs):
    """The synthetic inputs and this repository's dvc.yaml in a fresh git repository, not
    committed yet; (root, paths)."""
    root = tmp_path / "repo"
    paths = write_inputs(root, **kwargs)
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    _git(root, "init", "-q")
    return root, paths


def _committed(tmp_path: Path, **kwargs):
    """As :func:`_repo`, committed; (root, paths, commit)."""
    root, paths = _repo(tmp_path, **kwargs)
    return root, paths, _commit_all(root)


def _inputs_said(root) -> list[str]:
    """The first list: what went in."""
    return next(b["items"] for b in changes_blocks(load_changes(root)) if b["kind"] == "list")


def _text(root) -> str:
    return " ".join(b.get("text", "") for b in changes_blocks(load_changes(root)))


def test_the_compared_files_are_the_report_stages_metrics_deps():
    source, metrics = report_files(REPO)
    assert source == "data/raw/source.json"
    assert sorted(metrics) == sorted(METRICS)  # the report's metrics inputs, no wall time


def test_the_command_on_a_repository(tmp_path, capsys):
    root, paths, commit = _committed(tmp_path)
    assert run_stage(changes.main, ["--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# What changed since the last commit\n\n")
    assert f"Against the metrics committed at `{commit[:12]}` (HEAD" in out
    assert "): no metric value differs." in out
    assert (root / "reports/changes.md").read_text() == out

    paths.params.write_text(paths.params.read_text().replace("beta: 1.0", "beta: 4.0"))
    assert run_stage(changes.main, ["--root", str(root), "--out", str(tmp_path / "c.md")]) == 0
    out = capsys.readouterr().out
    went_in = out.split("What went in:\n\n", 1)[1]
    assert went_in.startswith("- params: `train.vae.beta` 1.0 → 4.0\n"
                              "- data set: unchanged, digits (sha256 `abababababab…`)\n"
                              "- code: unchanged under `src/`, `stages/` and `dvc.yaml`\n")
    assert (tmp_path / "c.md").read_text() == out
    assert _git(root, "status", "--porcelain", "--", "params.yaml") == "M params.yaml"


def test_a_missing_metrics_file_is_one_line_and_a_non_zero_exit(tmp_path):
    root, paths, _ = _committed(tmp_path)
    paths.latent_stats.unlink()
    out = subprocess.run([sys.executable, "-m", "latentlab.report.changes"], cwd=root,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == ("error: metrics/latent_stats.json: missing; run `dvc repro` to "
                          "produce it\n")
    assert not (root / "reports/changes.md").exists()


def test_a_changed_beta_is_the_first_thing_named(tmp_path):
    root, paths, commit = _committed(tmp_path)
    paths.params.write_text(paths.params.read_text().replace("beta: 1.0", "beta: 2.0"))
    text = changes.write_changes(root)
    intro, rest = text.split("What went in:\n\n", 1)
    assert "`" + commit[:12] + "`" in intro and "beta" not in intro
    assert rest.startswith("- params: `train.vae.beta` 1.0 → 2.0\n")
    assert _inputs_said(root) == [
        "params: `train.vae.beta` 1.0 → 2.0",
        "data set: unchanged, digits (sha256 `abababababab…`)",
        "code: unchanged under `src/`, `stages/` and `dvc.yaml`"]


def test_params_changes_list_old_and_new_values_and_absent_keys():
    before = {"seed": 0, "train.common.hidden_sizes": [16], "train.vae.beta": 1.0,
              "data.mirror": None, "gone": True}
    now = {"seed": 0, "train.common.hidden_sizes": [32, 16], "train.vae.beta": 1,
           "data.mirror": "http://x", "added": 0.001}
    assert sections_changes.params_changes(before, now) == [
        "`train.common.hidden_sizes` [16] → [32, 16]", "`data.mirror` null → http://x",
        "`added` absent → 0.001", "`gone` true → absent"]


def _nudge(obj, by: float):
    """Every non-zero float of a JSON object moved by ``by``."""
    if isinstance(obj, dict):
        return {k: _nudge(v, by) for k, v in obj.items()}
    if isinstance(obj, float) and obj != 0.0:
        return obj + by
    return obj


def test_only_tiny_differences_are_numerical_noise(tmp_path):
    root, paths, _ = _committed(tmp_path)
    nudged = 0
    for relative in METRICS:
        path = root / relative
        before = json.loads(path.read_text())
        path.write_text(json.dumps(_nudge(before, 1e-12)))
        nudged += sum(1 for key, v in flatten(before).items()
                      if isinstance(v, float) and v != 0.0
                      and not key.endswith(("_ci_low", "_ci_high"))
                      and not (relative.endswith("verdict.json") and key.startswith("criteria.")))
    blocks = changes_blocks(load_changes(root))
    assert not any(b["kind"] == "table" for b in blocks)
    assert f"no change beyond numerical noise ({nudged} values differ by less than their " \
           "noise: half the width of the value's interval in today's file where it has one, " \
           "else a relative change of 1e-6)." in _text(root)
    assert _inputs_said(root) == ["params: unchanged (`params.yaml`)",
                                  "data set: unchanged, digits (sha256 `abababababab…`)",
                                  "code: unchanged under `src/`, `stages/` and `dvc.yaml`"]


def test_noise_is_half_the_interval_else_relative():
    now = {"m.json": {"vae": {"knn_accuracy": 0.86, "knn_accuracy_ci_low": 0.84,
                              "knn_accuracy_ci_high": 0.90, "kl_nats": 8.0 + 4e-6,
                              "elbo": -33.0 + 1e-4}},  # 3e-6 relative
           "verdict.json": {"criteria": {"knn_accuracy": {"decided": True, "differences": {
               "ae": {"low": 0.2, "high": 0.3}}}}, "protocol": {"seed": 1}}}
    before = {"m.json": {"vae": {"knn_accuracy": 0.88, "knn_accuracy_ci_low": 0.85,
                                 "knn_accuracy_ci_high": 0.91, "kl_nats": 8.0, "elbo": -33.0}},
              "verdict.json": {"criteria": {"knn_accuracy": {"decided": False, "differences": {
                  "ae": {"low": -0.1, "high": 0.3}}}}, "protocol": {"seed": 0}}}
    found = {c.key: c for c in metrics_diff(before, now)}
    # interval bounds and the verdict's criteria are not changes on their own
    assert sorted(found) == ["protocol.seed", "vae.elbo", "vae.kl_nats", "vae.knn_accuracy"]
    knn = found["vae.knn_accuracy"]
    assert knn.from_interval and abs(knn.noise - 0.03) < 1e-12 and not knn.beyond_noise
    assert found["vae.kl_nats"].noise == CHANGE_RTOL * (8.0 + 4e-6)
    assert not found["vae.kl_nats"].beyond_noise  # 5e-7 relative
    assert found["vae.elbo"].beyond_noise and found["protocol.seed"].beyond_noise


def test_metrics_diff_is_dvc_metrics_diff_on_numbers_and_booleans():
    before = {"a.json": {"x": 1.0, "n": 3, "flag": False, "msg": "old", "gone": 2.0,
                         "nested": {"y": 0.5, "same": 7}}}
    now = {"a.json": {"x": 1.5, "n": 5, "flag": True, "msg": "new", "new": 4.0,
                      "nested": {"y": 0.25, "same": 7}}, "b.json": {"z": 1.0}}
    found = metrics_diff(before, now)
    assert [(c.path, c.key, c.old, c.new) for c in found] == [
        ("a.json", "flag", False, True), ("a.json", "gone", 2.0, None),
        ("a.json", "n", 3, 5), ("a.json", "nested.y", 0.5, 0.25), ("a.json", "new", None, 4.0),
        ("a.json", "x", 1.0, 1.5), ("b.json", "z", None, 1.0)]
    table = sections_changes.change_table("t", found, "abc")["table"]
    cells = {row["cells"][0]["text"]: [c["text"] for c in row["cells"][1:4]]
             for row in table["rows"]}
    assert cells["n"] == ["3", "5", "+2"] and cells["nested.y"] == ["0.5000", "0.2500",
                                                                     "-0.2500"]
    assert cells["flag"] == ["false", "true", "changed"] and cells["gone"][2] == "removed"
    assert cells["new"] == ["—", "4.000", "new"]


def test_the_metrics_that_moved_beyond_their_noise_are_listed(tmp_path):
    root, paths, commit = _committed(tmp_path)
    # changes that keep the verdict's rankings true: vae.knn_accuracy by 0.02, more than half
    # its interval's width (0.0176); vae.probe_accuracy by 0.005, less than half of its own
    # (0.0182); test.elbo (no interval) by 1.5 %
    _edit_json(paths.latent_stats, lambda t: t["vae"].update(knn_accuracy=0.86,
                                                             probe_accuracy=0.905))
    _edit_json(paths.train_metrics["vae"], lambda t: t["test"].update(elbo=-32.5))
    params_file = root / "params.yaml"
    params_file.write_text(params_file.read_text().replace("seed: 0", "seed: 1"))
    text = changes.write_changes(root)
    assert f"Against the metrics committed at `{commit[:12]}`" in text
    assert "What went in:\n\n- params: `seed` 0 → 1\n" in text
    assert "2 values differ beyond their noise" in text
    assert "in 2 files; 1 value differs by less than its noise, not listed" in text
    header = f"| file | metric | at {commit[:12]} | now | change | noise |"
    assert text.count(header) == 2
    assert md_table_rows(text, "file") == [
        ["metrics/latent_stats.json", "vae.knn_accuracy", "0.8800", "0.8600", "-0.02000",
         "0.0176 (½ interval)"]]
    full = text.split("All 2 values changed beyond noise:\n\n")[1]
    assert [row[:2] for row in md_table_rows(full, "file")] == [
        ["metrics/train/vae.json", "test.elbo"], ["metrics/latent_stats.json",
                                                  "vae.knn_accuracy"]]
    assert "probe_accuracy" not in text


def test_a_changed_verdict_is_said_in_words(tmp_path):
    root, paths, _ = _committed(tmp_path)
    # the same numbers, but kNN accuracy now decided for dae
    _edit_json(paths.verdict, lambda o: o["criteria"]["knn_accuracy"].update(
        leaders=["dae"], decided=True,
        differences={**o["criteria"]["knn_accuracy"]["differences"],
                     "ae": {"low": 0.001, "high": 0.02}}))
    text = _text(root)
    assert "The verdict changed (best or tied leaders, `metrics/verdict.json`): " \
           "`knn_accuracy` tied dae, ae → best dae." in text
    assert "no metric value differs." in text  # the verdict's differences are not listed


def test_a_changed_data_set_is_named(tmp_path):
    root, paths, commit = _committed(tmp_path)
    _edit_json(paths.source, lambda o: o.update(name="digits-v2", sha256="cd" * 32))
    _edit_json(paths.latent_stats, lambda o: o["vae"].update(kl_nats=8.5))
    said = _inputs_said(root)
    assert said[1] == (f"data set: CHANGED, digits (sha256 `abababababab…`) at `{commit[:12]}` → "
                       "digits-v2 (sha256 `cdcdcdcdcdcd…`) now: every metric comparison below is "
                       "across data sets, not a change of the models")
    assert "Across two data sets, so no difference here is the models' alone." in _text(root)


def _dvc_tracked_source(tmp_path: Path, cached: bool):
    """source.json kept out of git, as DVC does, with dvc.lock recording its md5 and (if
    ``cached``) its bytes in the local DVC cache; (root, paths, commit)."""
    root, paths = _repo(tmp_path)
    data = paths.source.read_bytes()
    md5 = hashlib.md5(data).hexdigest()
    (root / ".gitignore").write_text("/data/raw/source.json\n/.dvc/cache/\n")
    (root / "dvc.lock").write_text(f"schema: '2.0'\nstages:\n  download:\n    outs:\n"
                                   f"    - path: data/raw/source.json\n      hash: md5\n"
                                   f"      md5: {md5}\n      size: {len(data)}\n")
    if cached:
        blob = root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
        blob.parent.mkdir(parents=True)
        blob.write_bytes(data)
    return root, paths, _commit_all(root)


def test_a_dvc_tracked_data_set_is_read_through_dvc_lock_and_the_cache(tmp_path):
    root, paths, commit = _dvc_tracked_source(tmp_path, cached=True)
    assert _inputs_said(root)[1] == "data set: unchanged, digits (sha256 `abababababab…`)"
    _edit_json(paths.source, lambda o: o.update(name="fashion_mnist", sha256="ef" * 32))
    assert _inputs_said(root)[1].startswith(
        f"data set: CHANGED, digits (sha256 `abababababab…`) at `{commit[:12]}` → "
        "fashion_mnist (sha256 `efefefefefef…`) now")


def test_a_dvc_tracked_data_set_missing_from_the_cache_is_compared_by_md5(tmp_path):
    root, paths, commit = _dvc_tracked_source(tmp_path / "a", cached=False)
    assert _inputs_said(root)[1] == (
        "data set: unchanged, digits (sha256 `abababababab…`) (`source.json` has the md5 "
        f"`dvc.lock` recorded at `{commit[:12]}`)")
    _edit_json(paths.source, lambda o: o.update(name="mnist"))
    assert _inputs_said(root)[1].startswith(
        "data set: CHANGED: `source.json` (mnist (sha256 `abababababab…`) now) differs from "
        f"the version `dvc.lock` recorded at `{commit[:12]}`, which the local DVC cache no "
        "longer holds")


def test_changed_code_is_listed(tmp_path):
    root, paths, _ = _committed(tmp_path)
    (root / "src/latentlab").mkdir(parents=True)
    (root / "src/latentlab/model.py").write_text("x = 1\n")
    (root / "stages").mkdir()
    (root / "stages/train.py").write_text("y = 2\n")
    assert _inputs_said(root)[2] == ("code: 2 files under `src/`, `stages/` and `dvc.yaml` "
                                     "differ from the commit (uncommitted): "
                                     "`src/latentlab/model.py`, `stages/train.py`")


def test_outside_git_there_is_nothing_to_compare(tmp_path):
    root = tmp_path / "plain"
    write_inputs(root)
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    inputs = load_changes(root)
    assert inputs.git.commit is None and inputs.metrics_before is None
    assert _text(root).startswith("Nothing to compare with: not a git repository")


def test_when_head_lacks_the_metrics(tmp_path):
    root, _ = _repo(tmp_path)
    (root / "README").write_text("no results yet\n")
    _git(root, "add", "README")
    _git(root, "commit", "-qm", "start")
    assert "holds none of the metrics files the report reads" in _text(root)
