"""`make compare` runs the real `dvc exp show --json` in a throwaway copy (no pipeline run).

The copy's committed metrics are HEAD's; an edited params.yaml makes the workspace differ and a
queued experiment (queued only, never run) adds a row, so the table must show exactly the
params that differ, each row's state, and the committed numbers with their intervals.
"""

from __future__ import annotations

import json
import sys

import pytest

from latentlab.pipeline.sandbox import Sandbox, set_params

pytestmark = pytest.mark.e2e


def test_compare_shows_the_workspace_head_and_a_queued_experiment(tmp_path, repo_root):
    box = Sandbox(repo_root, tmp_path / "latentlab")
    box.run("dvc", "exp", "run", "--queue", "-S", "train.vae.beta=2.0", "-n", "beta-2")
    set_params(box.root / "params.yaml", {("seed",): 7})
    out = box.run(sys.executable, "-m", "latentlab.pipeline.compare").stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert lines[0].split() == ["params", "that", "differ", "seed", "vae.beta"]
    head = box.run("git", "rev-parse", "--short=7", "HEAD").stdout.strip()
    rows = {line.split()[0]: line.split()[-2:] for line in lines[1:4]}
    assert rows == {"workspace": ["7", "1.0"], head: ["0", "1.0"], "└": ["0", "2.0"]}
    assert "└ beta-2 (queued)" in lines[3]
    committed = json.loads((box.root / "metrics/latent_stats.json").read_text())["vae"]
    cell = (f"{committed['knn_accuracy']:.3f} ({committed['knn_accuracy_ci_low']:.3f}–"
            f"{committed['knn_accuracy_ci_high']:.3f})")
    vae = lines.index(next(line for line in lines if line.startswith("VAE")))
    assert lines[vae + 1].startswith("workspace") and cell in lines[vae + 1]
    assert cell in lines[vae + 2] and lines[vae + 3].split()[-5:] == ["—"] * 5
