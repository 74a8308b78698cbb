"""A throwaway copy of the repository, for end-to-end tests and benchmarks.

The copy holds what git would commit (tracked files and untracked files git
does not ignore), becomes its own git repository, and runs commands with the
current interpreter's environment and the copy's own ``src`` on the path, so a
test or benchmark exercises the working tree as a user's fresh clone would,
without touching the checkout's DVC cache, outputs or MLflow database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

GIT = ["git", "-c", "user.name=latentlab", "-c", "user.email=latentlab@localhost"]
# The smallest params that still run every stage: for tests that only need the pipeline to run.
SMOKE_PARAMS = {
    ("train", "common", "epochs"): 3,
    ("train", "common", "hidden_sizes"): [16],
    ("baselines", "tsne", "max_iter"): 251,  # the least the validator allows
    ("dae_sweep", "levels"): [0.0],
    ("evaluate", "iwae_samples"): 10,
}


def copy_worktree(src: Path, dst: Path) -> None:
    """Copy tracked and untracked-not-ignored files of ``src`` into ``dst``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=src, check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, listed):
        path = src / name.decode()
        if path.is_file():
            (dst / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst / name.decode())


def set_params(path: Path, updates: dict[tuple[str, ...], object]) -> None:
    """Set nested keys of a params file, e.g. ``{("train", "vae", "beta"): 0.5}``."""
    raw = yaml.safe_load(path.read_text())
    for keys, value in updates.items():
        node = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


class Sandbox:
    """A copy of the repository at ``root`` that runs commands like a user's shell would."""

    def __init__(self, source: Path, root: Path):
        self.root = root
        copy_worktree(source, root)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_STAGE")}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["PYTHONPATH"] = str(root / "src")  # the copy's code, not the checkout's
        self.run(*GIT, "init", "-q")
        self.commit("sandbox")

    def commit(self, message: str) -> None:
        self.run(*GIT, "add", "-A")
        self.run(*GIT, "commit", "-qm", message, "--allow-empty")  # HEAD always moves

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.root, env=self.env, capture_output=True, text=True,
                                timeout=1800)
        if check and result.returncode != 0:
            raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def mlflow_client(self):
        """An MlflowClient on the sandbox's own store (``<root>/mlflow.db``)."""
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=f"sqlite:///{self.root / 'mlflow.db'}")

    def search_runs(self, filter_string: str = "", order_by: list[str] | None = None) -> list:
        """Runs of the sandbox's ``latentlab`` experiment, up to 1000 (none before the first)."""
        client = self.mlflow_client()
        experiment = client.get_experiment_by_name("latentlab")
        if experiment is None:
            return []
        return client.search_runs([experiment.experiment_id], filter_string=filter_string,
                                  order_by=order_by, max_results=1000)

    def repro(self, *args: str, wrapped: bool = False) -> tuple[set[str], float]:
        """Run `dvc repro` (``wrapped``: as `make repro` does, under one parent MLflow run);
        return the stages that ran and the wall seconds."""
        started = time.perf_counter()
        command = (sys.executable, "-m", "latentlab.pipeline.run") if wrapped else ("dvc",)
        out = self.last_output = self.run(*command, "repro", *args).stdout
        return set(re.findall(r"Running stage '([^']+)'", out)), time.perf_counter() - started
