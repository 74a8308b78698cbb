"""Shared results through a DVC remote: push from one clone, pull into another, nothing reruns.

Clone A is the pipeline story's sandbox after its last `dvc repro`. Its work is
committed to a branch the way a user would commit and push it (through a
separate index, so the story's own HEAD, index and working tree stay as the
other tests expect), with a default remote that is a local directory — the
stand-in for S3, GCS or SSH, which take the same commands. Clone B is a
`git clone` of that branch: it has the code, params, dvc.lock and the metrics
git tracks, but no DVC cache and no outputs until `dvc pull`.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from latentlab.pipeline.sandbox import GIT

pytestmark = pytest.mark.e2e
BRANCH = "shared-results"


def _outs(box) -> list[str]:
    """Every output path dvc.lock records for the stages the pipeline has now.

    dvc.lock keeps the entries of stages that left the pipeline (the story runs
    two of the five default DAE sweep levels); those are nobody's outputs.
    """
    names = set(box.run("dvc", "stage", "list", "--name-only").stdout.split())
    lock = yaml.safe_load((box.root / "dvc.lock").read_text())
    return sorted({out["path"] for name, stage in lock["stages"].items() if name in names
                   for out in stage.get("outs", [])})


def _digest(path: Path) -> str:
    """sha256 of a file, or of a directory's (relative name, content) pairs."""
    sha = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        sha.update(str(file.relative_to(path.parent)).encode())
        sha.update(file.read_bytes())
    return sha.hexdigest()


@pytest.fixture(scope="module")
def clones(pipeline, tmp_path_factory):
    """Clone A pushes; clone B is cloned, looked at, pulled and reproduced; facts recorded.

    Everything that must happen in order happens here, so each test reads a
    finished state (pytest-xdist may interleave other modules' tests of the
    story between this module's, and a module fixture is then set up again).
    """
    a = pipeline
    base = tmp_path_factory.mktemp("remote")
    remote, b_root = base / "storage", base / "clone-b"
    config = a.root / ".dvc" / "config"
    original_config = config.read_bytes()
    try:
        a.run("dvc", "remote", "add", "--default", "shared", str(remote))
        pushed = a.run("dvc", "push").stdout
        _commit_worktree_to_branch(a, BRANCH)
    finally:
        config.write_bytes(original_config)  # the story's sandbox is shared with other tests
    a.run(*GIT, "clone", "--quiet", "--branch", BRANCH, str(a.root), str(b_root))
    env = {**a.env, "PYTHONPATH": str(b_root / "src")}
    facts = SimpleNamespace(a=a, b_root=b_root, env=env, remote=remote, pushed=pushed)
    facts.before_pull = {
        "cache": (b_root / ".dvc" / "cache").exists(),
        "vae_model": (b_root / "outputs" / "train" / "vae" / "model.pt").exists(),
        "remotes": _run(b_root, env, "dvc", "remote", "list").stdout,
        "a_config": config.read_text(),
    }
    _run(b_root, env, "dvc", "pull")
    facts.status_after_pull = _run(b_root, env, "dvc", "status").stdout
    facts.repro_after_pull = _run(b_root, env, "dvc", "repro").stdout
    return facts


def _commit_worktree_to_branch(box, branch: str) -> None:
    """``git add -A && git commit`` into ``branch`` through a temporary index (HEAD unmoved)."""
    index = box.root / ".git" / "shared-results.index"
    env = {**box.env, "GIT_INDEX_FILE": str(index)}
    try:
        _run(box.root, env, *GIT, "add", "-A")
        tree = _run(box.root, env, *GIT, "write-tree").stdout.strip()
        head = box.run(*GIT, "rev-parse", "HEAD").stdout.strip()
        commit = box.run(*GIT, "commit-tree", tree, "-p", head, "-m", "results").stdout.strip()
        box.run(*GIT, "update-ref", f"refs/heads/{branch}", commit)
    finally:
        index.unlink(missing_ok=True)


def _run(cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"{args} failed in {cwd}:\n{result.stdout}\n{result.stderr}")
    return result


def _in_b(clones, *args: str) -> subprocess.CompletedProcess:
    return _run(clones.b_root, clones.env, *args)


def test_push_uploads_the_cached_outputs_to_the_remote(clones):
    count = re.search(r"(\d+) files? pushed", clones.pushed)
    assert count and int(count.group(1)) > 0, clones.pushed
    assert any(p.is_file() for p in (clones.remote / "files" / "md5").rglob("*"))


def test_the_fresh_clone_has_the_remote_but_no_outputs_before_pull(clones):
    before = clones.before_pull
    assert not before["cache"] and not before["vae_model"]
    assert "shared" in before["remotes"] and str(clones.remote) in before["remotes"]
    assert "shared" not in before["a_config"]  # A left as it was


def test_pull_restores_every_output_byte_for_byte_and_repro_runs_nothing(clones):
    a, b_root = clones.a, clones.b_root
    outs = _outs(a)
    assert "outputs/train/vae/model.pt" in outs and "reports/report.html" in outs
    for rel in outs:
        assert (b_root / rel).exists(), f"{rel} not restored by dvc pull"
        assert _digest(b_root / rel) == _digest(a.root / rel), f"{rel} differs from clone A's"
    assert "up to date" in clones.status_after_pull, clones.status_after_pull
    assert "Running stage" not in clones.repro_after_pull, clones.repro_after_pull
    assert not (b_root / "mlflow.db").exists()  # nothing ran, so no MLflow run either


def test_an_edit_in_clone_b_reruns_only_what_it_touches(clones):
    from latentlab.pipeline.sandbox import set_params

    params = clones.b_root / "params.yaml"
    before = params.read_text()
    try:
        set_params(params, {("latent_stats", "plot_points"): 321})
        status = _in_b(clones, "dvc", "status", "--json").stdout
        changed = yaml.safe_load(status)
        assert set(changed) == {"latent_stats", "report"}, status
    finally:
        params.write_text(before)
