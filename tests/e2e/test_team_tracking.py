"""Shared tracking: the pipeline logs through a real `mlflow server` on a real PostgreSQL.

One throwaway PostgreSQL cluster and one MLflow server (separate artifact
root) serve the module. The whole pipeline runs on tiny params in a sandbox
with `MLFLOW_TRACKING_URI=http://…`, as `make repro` does; the server's REST
API must then show a FINISHED run per tracked stage and the VAE's per-epoch
ELBO terms, its artifact root must hold what the stages logged, and
PostgreSQL's own tables must hold the runs. Then three queued experiments run
on two `dvc queue` workers, and none may be lost. Last, `python -m
latentlab.team serve` prints a working export line and stops everything on
Ctrl-C.

PostgreSQL missing is a failure, not a skip: `make setup-test` (run by `make test`) installs it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from latentlab.pipeline.sandbox import SMOKE_PARAMS
from latentlab.team import TeamTrackingError
from latentlab.team.check import (
    VAE_HISTORY,
    VAE_STAGE,
    experiment_id,
    pipeline_sandbox,
    run_in,
    run_pipeline,
    stored_artifact,
    tracked_stages,
    verify_artifact,
    verify_backend,
    verify_elbo_histories,
    verify_stage_runs,
)
from latentlab.team.postgres import find_bindir
from latentlab.team.server import rest, run_params, run_tags, search_runs, shared_tracking

pytestmark = pytest.mark.e2e

SWEEP_BETAS = ("0.5", "2.0", "4.0")
QUEUE_DEADLINE = 900.0  # seconds for the three queued experiments


def _postgres_or_fail() -> None:
    try:
        find_bindir()
    except TeamTrackingError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def team():
    """PostgreSQL + `mlflow server` for the module; both stopped, and deleted, at its end."""
    _postgres_or_fail()
    with shared_tracking() as running:
        yield running


@pytest.fixture(scope="module")
def box(team, tmp_path_factory, repo_root):
    """The sandbox after `make repro`'s steps on tiny params, logging to the server."""
    sandbox = pipeline_sandbox(repo_root, tmp_path_factory.mktemp("team") / "latentlab",
                               team.url)
    sandbox.ran = run_pipeline(sandbox)
    return sandbox


def test_postgresql_server_programs_are_installed():
    _postgres_or_fail()


def test_without_postgresql_the_commands_say_to_run_make_setup(tmp_path):
    env = {**os.environ, "LATENTLAB_PG_BIN": str(tmp_path)}  # a folder without the programs
    for command in ("check", "serve"):
        out = subprocess.run([sys.executable, "-m", "latentlab.team", command], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 1, out.stdout + out.stderr
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: "), out.stderr
        assert "make setup" in out.stderr and "apt-get install postgresql" in out.stderr


def test_every_tracked_stage_has_one_finished_run_under_one_parent(team, box):
    stages = tracked_stages(box.root)
    assert {"train@vae", "evaluate", "latent_stats", "report"} <= stages
    assert stages <= box.ran  # a fresh copy: every stage ran, none restored from a cache
    runs = verify_stage_runs(team.url, stages)
    assert set(runs.stages) == stages
    parent_id = runs.parent["info"]["run_id"]
    assert all(run_tags(run)["mlflow.parentRunId"] == parent_id for run in runs.stages.values())
    assert run_tags(runs.stages[VAE_STAGE])["dvc.stage"] == VAE_STAGE


def test_the_vae_run_has_per_epoch_histories_of_its_elbo_terms(team, box):
    vae = verify_stage_runs(team.url, tracked_stages(box.root)).stages[VAE_STAGE]
    epochs = verify_elbo_histories(team.url, vae, box.root / VAE_HISTORY)
    assert epochs == json.loads((box.root / "metrics/train/vae.json").read_text())["epochs_run"]
    assert epochs == SMOKE_PARAMS[("train", "common", "epochs")]


def test_artifacts_go_to_the_server_artifact_root_and_nothing_is_stored_locally(team, box):
    vae = verify_stage_runs(team.url, tracked_stages(box.root)).stages[VAE_STAGE]
    stored = verify_artifact(vae, team.server.artifacts, box.root / VAE_HISTORY, box.root)
    assert stored.is_relative_to(team.server.artifacts)
    # the pyfunc encoder, an MLflow 3 logged model of the VAE's run (the Models tab), went
    # through the server's proxy too
    from mlflow.tracking import MlflowClient

    models = MlflowClient(tracking_uri=team.url).search_logged_models(
        [vae["info"]["experiment_id"]])
    (encoder,) = [m for m in models if m.source_run_id == vae["info"]["run_id"]]
    location = {"info": {"artifact_uri": encoder.artifact_location,
                         "run_id": vae["info"]["run_id"]}}
    assert stored_artifact(location, team.server.artifacts, "MLmodel").is_file()


def test_postgresql_itself_holds_the_runs(team, box):
    runs = verify_stage_runs(team.url, tracked_stages(box.root))
    ids = [runs.parent["info"]["run_id"], *(r["info"]["run_id"] for r in runs.stages.values())]
    assert set(verify_backend(team.postgres, ids).values()) == {"FINISHED"}


def _names_in(tree) -> set[str]:
    """Every ``"name"`` value anywhere in `dvc exp show --json`'s output."""
    if isinstance(tree, dict):
        found = {tree["name"]} if isinstance(tree.get("name"), str) else set()
        return found.union(*(_names_in(v) for v in tree.values()))
    if isinstance(tree, list):
        return set().union(*(_names_in(v) for v in tree))
    return set()


def _queue_busy(box) -> bool:
    out = box.run("dvc", "queue", "status").stdout
    return any(word in out for word in ("Queued", "Running"))


def test_three_queued_experiments_on_two_workers_lose_no_run(team, box):
    box.commit("the pipeline's results")
    names = {beta: "beta-" + beta.replace(".", "p") for beta in SWEEP_BETAS}
    for beta, name in names.items():
        # train@vae and what it needs: the stage each experiment changes, run on two workers
        box.run("dvc", "exp", "run", "--queue", "-S", f"train.vae.beta={beta}", "-n", name,
                VAE_STAGE)
    run_in(box, sys.executable, "-m", "latentlab.tracking", "init")  # before the workers start
    box.run("dvc", "queue", "start", "-j", "2")
    deadline = time.monotonic() + QUEUE_DEADLINE
    while _queue_busy(box):
        assert time.monotonic() < deadline, box.run("dvc", "queue", "status").stdout
        time.sleep(3)
    status = box.run("dvc", "queue", "status").stdout
    assert "Failed" not in status, status + "".join(
        box.run("dvc", "queue", "logs", name, check=False).stdout for name in names.values())
    shown = _names_in(json.loads(box.run("dvc", "exp", "show", "--json").stdout))
    assert set(names.values()) <= shown, shown

    eid = experiment_id(team.url)
    ids = []
    for beta, name in names.items():
        runs = search_runs(team.url, eid, f"tags.`dvc.exp_name` = '{name}'")
        parents = [r for r in runs if run_tags(r).get("latentlab.parent") == "true"]
        vaes = [r for r in runs if r["info"]["run_name"] == VAE_STAGE]
        assert len(parents) == 1 and len(vaes) == 1, (name, [r["info"] for r in runs])
        (parent,), (vae,) = parents, vaes
        assert parent["info"]["status"] == vae["info"]["status"] == "FINISHED", name
        assert run_tags(vae)["mlflow.parentRunId"] == parent["info"]["run_id"]
        assert run_params(vae)["train.vae.beta"] == beta
        ids += [parent["info"]["run_id"], vae["info"]["run_id"]]
    everything = search_runs(team.url, eid)
    assert not [r["info"]["run_name"] for r in everything if r["info"]["status"] == "RUNNING"]
    assert sum(r["info"]["run_name"] == VAE_STAGE for r in everything) == 1 + len(SWEEP_BETAS)
    assert set(verify_backend(team.postgres, ids).values()) == {"FINISHED"}


class _Output:
    """What a process prints, line by line, read by a thread (so reading can time out)."""

    def __init__(self, stream):
        self.lines: queue.Queue = queue.Queue()
        self.text = ""
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)  # the stream closed: the process exited

    def until(self, pattern: str, timeout: float) -> re.Match:
        """Read up to the first line that matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.text += line
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.text}")

    def rest(self) -> str:
        """Everything, once the process has exited."""
        self._reader.join(timeout=30)
        while not self.lines.empty():
            self.text += self.lines.get() or ""
        return self.text


def _gone(pid: int, group: bool = False) -> bool:
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_serve_prints_a_working_export_line_and_stops_both_on_ctrl_c(tmp_path):
    _postgres_or_fail()
    proc = subprocess.Popen([sys.executable, "-m", "latentlab.team", "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    out = _Output(proc.stdout)
    try:
        url = out.until(r"^export MLFLOW_TRACKING_URI=(http://\S+)$", 240).group(1)
        pg_pid = int(re.search(r"\(pid (\d+)\)", out.text).group(1))
        pg_folder = Path(re.search(r"throwaway data in (\S+)", out.text).group(1))
        server_group = int(re.search(r"process group (\d+)", out.text).group(1))
        assert pg_folder.is_dir() and not _gone(pg_pid) and not _gone(server_group, group=True)
        # what a teammate does with the printed line: the store is ready for queue workers
        env = {**os.environ, "MLFLOW_TRACKING_URI": url}
        init = subprocess.run([sys.executable, "-m", "latentlab.tracking", "init"], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert init.returncode == 0 and url in init.stdout, init.stderr
        found = rest(url, "experiments/get-by-name", experiment_name="latentlab")
        assert found["experiment"]["artifact_location"].startswith("mlflow-artifacts:")
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends (serve's children have own sessions)
        proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read()
    assert "stopped the MLflow server and PostgreSQL" in out.rest()
    assert _gone(pg_pid) and _gone(server_group, group=True)
    assert not pg_folder.exists()
