"""The real pipeline: `dvc repro` in a temporary copy of the repository, on tiny params.

One module-scoped fixture runs the sequence a user lives through (a first full
run, a no-op rerun, a forced rerun of one stage, an edit of one `train.vae`
param) and the tests assert on what each step did. Nothing is mocked: real DVC,
real MLflow (its SQLite store in the copy), real PyTorch and scikit-learn.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

TRACKED_STAGES = {"train@ae", "train@dae", "train@vae", "baseline@pca", "baseline@tsne",
                  "latent_stats", "report"}
ALL_STAGES = TRACKED_STAGES | {"download", "preprocess"}
TINY = {
    ("train", "common", "epochs"): 6,
    ("train", "common", "patience"): 6,
    ("train", "common", "hidden_sizes"): [32],
    ("baselines", "tsne", "max_iter"): 250,
    ("baselines", "tsne", "perplexity"): 15.0,
}


def _copy_repo(src: Path, dst: Path) -> None:
    """Copy what git would commit (tracked + untracked-not-ignored files) into ``dst``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=src, check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, listed):
        path = src / name.decode()
        if path.is_file():
            (dst / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst / name.decode())


def _set_params(path: Path, updates: dict) -> None:
    raw = yaml.safe_load(path.read_text())
    for keys, value in updates.items():
        node = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_STAGE")}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["PYTHONPATH"] = str(root / "src")  # the copy's code, not the checkout's

    def run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.root, env=self.env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def repro(self, *args: str) -> set[str]:
        """Run `dvc repro`; return the names of the stages that ran."""
        out = self.run("dvc", "repro", *args).stdout
        return set(re.findall(r"Running stage '([^']+)'", out))

    def json(self, rel: str):
        return json.loads((self.root / rel).read_text())


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, repo_root):
    ws = Workspace(tmp_path_factory.mktemp("e2e") / "latentlab")
    _copy_repo(repo_root, ws.root)
    _set_params(ws.root / "params.yaml", TINY)
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost"]
    ws.run("git", "init", "-q")
    ws.run(*git, "add", "-A")
    ws.run(*git, "commit", "-qm", "tiny params")
    steps = {"first": ws.repro()}
    steps["vae_metrics_first"] = (ws.root / "metrics/train/vae.json").read_bytes()
    steps["noop"] = ws.repro()
    steps["forced_ae_before"] = (ws.root / "metrics/train/ae.json").read_bytes()
    steps["forced_ae"] = ws.repro("--force", "--single-item", "train@ae")
    steps["forced_ae_after"] = (ws.root / "metrics/train/ae.json").read_bytes()
    _set_params(ws.root / "params.yaml", {("train", "vae", "beta"): 0.5})
    steps["after_beta"] = ws.repro()
    ws.steps = steps
    return ws


def test_first_run_runs_every_stage(pipeline):
    assert pipeline.steps["first"] == ALL_STAGES


def test_every_declared_output_exists(pipeline):
    status = json.loads(pipeline.run("dvc", "status", "--json").stdout)
    assert status == {}
    lock = yaml.safe_load((pipeline.root / "dvc.lock").read_text())
    declared = [o["path"] for stage in lock["stages"].values() for o in stage.get("outs", [])]
    assert len(declared) >= 20
    for path in declared:
        assert (pipeline.root / path).exists(), path
    for name in ("report.html", "report.md"):
        assert (pipeline.root / "reports" / name).stat().st_size > 1000


def test_metrics_are_finite_and_in_range(pipeline):
    table = pipeline.json("metrics/latent_stats.json")
    assert set(table) == {"pca", "tsne", "ae", "dae", "vae"}
    for method, row in table.items():
        assert all(math.isfinite(v) for v in row.values()), method
        assert 0.0 <= row["knn_accuracy"] <= 1.0 and 0.5 <= row["trustworthiness"] <= 1.0
    assert table["pca"]["knn_accuracy"] > 0.8  # chance is 0.1 on ten digits
    assert "recon_mse" not in table["tsne"] and 0 < table["ae"]["recon_mse"] < 0.1
    vae = table["vae"]
    assert vae["test_kl_nats"] >= 0
    assert vae["test_elbo_nats"] == pytest.approx(-vae["test_recon_nats"] - vae["test_kl_nats"])


def test_second_repro_runs_nothing(pipeline):
    assert pipeline.steps["noop"] == set()


def test_same_params_and_seed_give_byte_identical_metrics(pipeline):
    assert pipeline.steps["forced_ae"] == {"train@ae"}
    assert pipeline.steps["forced_ae_after"] == pipeline.steps["forced_ae_before"]


def test_a_train_vae_edit_reruns_only_train_vae_and_downstream(pipeline):
    assert pipeline.steps["after_beta"] == {"train@vae", "latent_stats", "report"}
    assert (pipeline.root / "metrics/train/vae.json").read_bytes() != \
        pipeline.steps["vae_metrics_first"]


def test_mlflow_holds_a_vae_run_with_one_kl_point_per_epoch(pipeline):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{pipeline.root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("latentlab")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])
    names = [r.info.run_name for r in runs]
    assert TRACKED_STAGES <= set(names)
    assert all(r.info.status == "FINISHED" for r in runs)
    latest_vae = next(r for r in runs if r.info.run_name == "train@vae")
    assert latest_vae.data.params["train.vae.beta"] == "0.5"
    assert latest_vae.data.tags["dvc.stage"] == "train@vae"
    assert "mlflow.source.git.commit" in latest_vae.data.tags
    epochs_run = pipeline.json("metrics/train/vae.json")["epochs_run"]
    for key in ("train/recon", "train/kl", "train/elbo", "val/recon", "val/kl", "val/elbo"):
        history = client.get_metric_history(latest_vae.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, epochs_run + 1)), key
