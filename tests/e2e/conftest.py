"""The end-to-end fixture shared by the e2e modules: one real pipeline story in a sandbox.

Running the pipeline is the expensive part (a couple of minutes on two cores),
so one session fixture runs every step once and records what each did; the
modules assert on the record.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from latentlab.pipeline.sandbox import Sandbox, set_params

TRACKED_STAGES = {"train@ae", "train@dae", "train@vae", "dae_sweep@0.0", "dae_sweep@0.5",
                  "baseline@pca", "baseline@tsne", "evaluate", "latent_stats", "report"}
ALL_STAGES = TRACKED_STAGES | {"download", "preprocess", "publish"}  # untracked: no run
TINY = {
    ("train", "common", "epochs"): 6,
    ("train", "common", "patience"): 6,
    ("train", "common", "hidden_sizes"): [32],
    ("baselines", "tsne", "max_iter"): 251,  # the least the validator allows
    ("baselines", "tsne", "perplexity"): 15.0,
    ("dae_sweep", "levels"): [0.0, 0.5],
    ("evaluate", "iwae_samples"): 50,
}


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, repo_root):
    ws = Sandbox(repo_root, tmp_path_factory.mktemp("e2e") / "latentlab")
    set_params(ws.root / "params.yaml", TINY)
    ws.commit("tiny params")
    repro = lambda *args: ws.repro(*args)[0]  # noqa: E731  (stages that ran)
    steps = {"first": ws.repro(wrapped=True)[0]}  # as `make repro`: under a parent MLflow run
    steps["first_output"] = ws.last_output  # ends with what changed since the last commit
    steps["changes_md_first"] = (ws.root / "reports/changes.md").read_text()
    steps["git_status_first"] = ws.run("git", "status", "--porcelain",
                                       "--untracked-files=all").stdout
    steps["vae_metrics_first"] = (ws.root / "metrics/train/vae.json").read_bytes()
    steps["status_clean"] = ask_rerun_status(ws)
    steps["noop"] = repro()
    set_params(ws.root / "params.yaml", {("train", "vae", "beta"): 0.5})
    steps["status_beta"] = ask_rerun_status(ws)
    steps["after_beta"] = repro()
    steps["vae_metrics_after_beta"] = (ws.root / "metrics/train/vae.json").read_bytes()
    steps["status_after_beta"] = ask_rerun_status(ws)
    set_params(ws.root / "params.yaml", {("baselines", "tsne", "perplexity"): 12.0})
    steps["after_perplexity"] = repro()
    with open(ws.root / "src/latentlab/analysis/baselines.py", "a") as code:
        code.write("# an edit that changes no behaviour\n")
    steps["status_code"] = ask_rerun_status(ws)
    steps["after_code"] = repro()
    steps["forced_ae_before"] = (ws.root / "metrics/train/ae.json").read_bytes()
    steps["forced_ae"] = repro("--force", "--single-item", "train@ae")
    steps["forced_ae_after"] = (ws.root / "metrics/train/ae.json").read_bytes()
    steps["settle"] = repro()  # no wall time is a DVC output: nothing downstream reruns
    # undo the β, t-SNE and code edits: DVC restores train@vae and both baselines (and what
    # follows from them) from its run-cache
    steps["tsne_runs_before_undo"] = count_runs(ws, "baseline@tsne")
    steps["vae_runs_before_undo"] = count_runs(ws, "train@vae")
    code = ws.root / "src/latentlab/analysis/baselines.py"
    code.write_text(code.read_text().replace("# an edit that changes no behaviour\n", ""))
    set_params(ws.root / "params.yaml", {("baselines", "tsne", "perplexity"): 15.0,
                                         ("train", "vae", "beta"): 1.0})
    steps["undo_ran"] = repro()
    steps["undo_restored"] = set(re.findall(r"Stage '([^']+)' is cached - skipping run",
                                            ws.last_output))
    steps["tsne_runs_after_undo"] = count_runs(ws, "baseline@tsne")
    steps["vae_runs_after_undo"] = count_runs(ws, "train@vae")
    steps["vae_metrics_after_undo"] = (ws.root / "metrics/train/vae.json").read_bytes()
    # what changed since the last commit, as `make changes` prints it (tests that commit in the
    # sandbox later move HEAD, so they read it here)
    steps["head_at_changes"] = ws.run("git", "rev-parse", "HEAD").stdout.strip()
    steps["changes"] = ws.run(sys.executable, "-m", "latentlab.report.changes").stdout
    ws.steps = steps
    ws.tracked_stages, ws.all_stages = TRACKED_STAGES, ALL_STAGES
    ws.json = lambda rel: json.loads((ws.root / rel).read_text())
    return ws


def count_runs(box: Sandbox, name: str) -> int:
    """How many MLflow runs named ``name`` the sandbox's store holds."""
    return len(box.search_runs(f"attributes.run_name = '{name}'"))


def ask_rerun_status(box: Sandbox) -> dict:
    """`python -m latentlab.pipeline.rerun_status` (text, --json) in the sandbox; both exit 0."""
    command = (sys.executable, "-m", "latentlab.pipeline.rerun_status")
    text, as_json = box.run(*command, check=False), box.run(*command, "--json", check=False)
    assert (text.returncode, as_json.returncode) == (0, 0), text.stderr + as_json.stderr
    return {"text": text.stdout.strip(), "lines": text.stdout.strip().splitlines(),
            "json": json.loads(as_json.stdout)}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    """Keep what shares a sandbox on one pytest-xdist worker (`--dist loadgroup`).

    Every test that uses the session's ``pipeline`` story runs on the same
    worker (so the story runs once); each other e2e module is a group of its
    own (its module-scoped sandbox is built once). Unit tests spread freely.

    ``tryfirst``: xdist turns the marks into groups in its own hook of this name,
    which pluggy would otherwise call before this one (the worker registers its
    plugin after the conftests), finding no mark: every shared sandbox was then
    built on both workers. tests/unit/test_xdist_groups.py checks it.
    """
    for item in items:
        if "pipeline" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group("pipeline"))
        elif item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
