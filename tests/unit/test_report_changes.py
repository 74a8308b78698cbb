"""The report's "What changed": the inputs first (params, data set, code), then only the
metrics whose change exceeds their noise."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from test_report import (
    N_EXAMPLES,
    PARAMS_YAML,
    _commit_all,
    _edit_json,
    _git,
    write_inputs,
)

from latentlab.params import flatten
from latentlab.report import sections_changes
from latentlab.report.build import build_report, load_inputs
from latentlab.report.sections_changes import CHANGE_RTOL, changes_blocks, metrics_diff

METRICS = ("metrics/train/ae.json", "metrics/train/dae.json", "metrics/train/vae.json",
           "metrics/baseline/pca.json", "metrics/baseline/tsne.json", "metrics/evaluate.json",
           "metrics/latent_stats.json", "metrics/verdict.json", "metrics/dae_sweep_scores.json")


def _committed(tmp_path: Path, **kwargs):
    """The synthetic inputs in a fresh git repository, committed; (root, paths, commit)."""
    root = tmp_path / "repo"
    paths = write_inputs(root, **kwargs)
    _git(root, "init", "-q")
    return root, paths, _commit_all(root)


def _inputs_said(paths) -> list[str]:
    """The section's first list: what went in."""
    blocks = changes_blocks(load_inputs(paths))
    return next(b["items"] for b in blocks if b["kind"] == "list")


def _text(paths) -> str:
    return " ".join(b.get("text", "") for b in changes_blocks(load_inputs(paths)))


def test_a_changed_beta_is_the_first_thing_named(tmp_path):
    root, paths, commit = _committed(tmp_path)
    paths.params.write_text(PARAMS_YAML.replace("beta: 1.0", "beta: 2.0"))
    out = tmp_path / "out"
    build_report(load_inputs(paths), out, N_EXAMPLES)
    md = (out / "report.md").read_text()
    section = md.split("## 2. What changed")[1].split("## 3. ")[0]
    intro, rest = section.split("What went in:\n\n", 1)
    assert "`" + commit[:12] + "`" in intro and "beta" not in intro
    assert rest.startswith("- params: `train.vae.beta` 1.0 → 2.0\n")
    assert _inputs_said(paths) == [
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
    inputs = load_inputs(paths)
    blocks = changes_blocks(inputs)
    assert not any(b["kind"] == "table" for b in blocks)
    assert f"no change beyond numerical noise ({nudged} values differ by less than their " \
           "noise: half the width of the value's interval in today's file where it has one, " \
           "else a relative change of 1e-6)." in _text(paths)
    assert _inputs_said(paths) == ["params: unchanged (`params.yaml`)",
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
    changes = {c.key: c for c in metrics_diff(before, now)}
    # interval bounds and the verdict's criteria are not changes on their own
    assert sorted(changes) == ["protocol.seed", "vae.elbo", "vae.kl_nats", "vae.knn_accuracy"]
    knn = changes["vae.knn_accuracy"]
    assert knn.from_interval and abs(knn.noise - 0.03) < 1e-12 and not knn.beyond_noise
    assert changes["vae.kl_nats"].noise == CHANGE_RTOL * (8.0 + 4e-6)
    assert not changes["vae.kl_nats"].beyond_noise  # 5e-7 relative
    assert changes["vae.elbo"].beyond_noise and changes["protocol.seed"].beyond_noise


def test_a_changed_verdict_is_said_in_words(tmp_path):
    root, paths, _ = _committed(tmp_path)
    # the same numbers, but kNN accuracy now decided for dae
    _edit_json(paths.verdict, lambda o: o["criteria"]["knn_accuracy"].update(
        leaders=["dae"], decided=True,
        differences={**o["criteria"]["knn_accuracy"]["differences"],
                     "ae": {"low": 0.001, "high": 0.02}}))
    text = _text(paths)
    assert "The verdict changed (best or tied leaders, `metrics/verdict.json`): " \
           "`knn_accuracy` tied dae, ae → best dae." in text
    assert "no metric value differs." in text  # the verdict's differences are not listed


def test_a_changed_data_set_is_named(tmp_path):
    root, paths, commit = _committed(tmp_path)
    _edit_json(paths.source, lambda o: o.update(name="digits-v2", sha256="cd" * 32))
    _edit_json(paths.latent_stats, lambda o: o["vae"].update(kl_nats=8.5))
    said = _inputs_said(paths)
    assert said[1] == (f"data set: CHANGED, digits (sha256 `abababababab…`) at `{commit[:12]}` → "
                       "digits-v2 (sha256 `cdcdcdcdcdcd…`) now: every metric comparison below is "
                       "across data sets, not a change of the models")
    assert "Across two data sets, so no difference here is the models' alone." in _text(paths)


def _dvc_tracked_source(tmp_path: Path, cached: bool):
    """source.json kept out of git, as DVC does, with dvc.lock recording its md5 and (if
    ``cached``) its bytes in the local DVC cache."""
    root = tmp_path / "repo"
    paths = write_inputs(root)
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
    _git(root, "init", "-q")
    return paths, _commit_all(root)


def test_a_dvc_tracked_data_set_is_read_through_dvc_lock_and_the_cache(tmp_path):
    paths, commit = _dvc_tracked_source(tmp_path, cached=True)
    assert _inputs_said(paths)[1] == "data set: unchanged, digits (sha256 `abababababab…`)"
    _edit_json(paths.source, lambda o: o.update(name="fashion_mnist", sha256="ef" * 32))
    assert _inputs_said(paths)[1].startswith(
        f"data set: CHANGED, digits (sha256 `abababababab…`) at `{commit[:12]}` → "
        "fashion_mnist (sha256 `efefefefefef…`) now")


def test_a_dvc_tracked_data_set_missing_from_the_cache_is_compared_by_md5(tmp_path):
    paths, commit = _dvc_tracked_source(tmp_path / "a", cached=False)
    assert _inputs_said(paths)[1] == (
        "data set: unchanged, digits (sha256 `abababababab…`) (`source.json` has the md5 "
        f"`dvc.lock` recorded at `{commit[:12]}`)")
    _edit_json(paths.source, lambda o: o.update(name="mnist"))
    assert _inputs_said(paths)[1].startswith(
        "data set: CHANGED: `source.json` (mnist (sha256 `abababababab…`) now) differs from "
        f"the version `dvc.lock` recorded at `{commit[:12]}`, which the local DVC cache no "
        "longer holds")


def test_changed_code_is_listed(tmp_path):
    root, paths, _ = _committed(tmp_path)
    (root / "src/latentlab").mkdir(parents=True)
    (root / "src/latentlab/model.py").write_text("x = 1\n")
    (root / "stages").mkdir()
    (root / "stages/train.py").write_text("y = 2\n")
    assert _inputs_said(paths)[2] == ("code: 2 files under `src/`, `stages/` and `dvc.yaml` "
                                      "differ from the commit (uncommitted): "
                                      "`src/latentlab/model.py`, `stages/train.py`")
