"""Does the pipeline work against a team's MLflow server? Run it and look.

:func:`run_check` (``python -m latentlab.team check``, ``make
team-tracking-check``) starts PostgreSQL and an MLflow server on it
(:mod:`latentlab.team.server`), runs the whole pipeline on tiny params in a
throwaway copy of the repository with ``MLFLOW_TRACKING_URI=http://…``, as
``make repro`` does (the store initialised once, then ``dvc repro`` under one
parent run), and then asks the server, over its REST API only, what a
teammate would see:

* one FINISHED run per tracked stage, under one FINISHED parent;
* the VAE's per-epoch history of every ELBO term, equal to the
  ``plots/train/vae.csv`` that DVC kept of the same run;
* an artifact stored under the server's ``--artifacts-destination``, byte for
  byte the file the stage logged, and no local ``mlflow.db`` or
  ``mlartifacts/`` in the copy: nothing bypassed the server;
* the runs in PostgreSQL itself.

Each ``verify_*`` function raises :class:`TeamTrackingError` with one line
naming what is missing; the e2e test calls the same functions.
"""

from __future__ import annotations

import csv
import math
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from latentlab.pipeline.sandbox import SMOKE_PARAMS, Sandbox, set_params
from latentlab.team import TeamTrackingError
from latentlab.team.postgres import Cluster
from latentlab.team.server import metric_history, rest, search_runs, shared_tracking
from latentlab.tracking.store import experiment_name

# what train@vae logs every epoch (src/latentlab/train/loop.py: "train/<term>", "val/<term>")
ELBO_TERMS = ("train/recon", "train/kl", "train/elbo", "val/recon", "val/kl", "val/elbo")
VAE_STAGE = "train@vae"
VAE_HISTORY = Path("plots/train/vae.csv")  # the DVC plot of the same epochs; also logged as-is
PROXY_SCHEME = "mlflow-artifacts:"  # an artifact URI the server resolves in its destination


def tracked_stages(root: Path) -> set[str]:
    """The stages of ``root``'s dvc.yaml that log an MLflow run.

    Those are the stages given a ``--link`` file: :func:`latentlab.tracking.stage_run.track_stage`
    writes it beside the run it makes.
    """
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {stage.name for stage in repo.index.stages
                if stage.cmd and "--link" in str(stage.cmd)}


def run_in(box: Sandbox, *argv: str) -> str:
    """Run a command in the sandbox; on failure, one line: the command and its error."""
    out = box.run(*argv, check=False)
    if out.returncode != 0:
        lines = [line.strip() for line in (out.stdout + out.stderr).splitlines() if line.strip()]
        # a stage's own one-line error names the cause; DVC's "ERROR: failed to reproduce"
        # comes after it; an uncaught exception ends with its message
        errors = [line for line in lines if line.startswith("error:")]
        errors += [line for line in lines if line.startswith("ERROR:")]
        why = errors[0] if errors else (lines[-1] if lines else "no output")
        shown = " ".join(("python", *argv[1:]) if argv[0] == sys.executable else argv)
        raise TeamTrackingError(f"`{shown}` failed (exit {out.returncode}): {why[:400]}")
    return out.stdout


def pipeline_sandbox(source: Path, root: Path, tracking_uri: str,
                     params: dict | None = None) -> Sandbox:
    """A copy of ``source`` on tiny params whose commands log to ``tracking_uri``."""
    box = Sandbox(source, root)
    set_params(root / "params.yaml", SMOKE_PARAMS if params is None else params)
    box.commit("tiny params")
    box.env["MLFLOW_TRACKING_URI"] = tracking_uri
    return box


def run_pipeline(box: Sandbox) -> set[str]:
    """What ``make repro`` runs: the store initialised once, then the wrapped ``dvc repro``."""
    run_in(box, sys.executable, "-m", "latentlab.tracking", "init")
    out = run_in(box, sys.executable, "-m", "latentlab.pipeline.run", "repro")
    return set(re.findall(r"Running stage '([^']+)'", out))


def experiment_id(url: str, name: str | None = None) -> str:
    """The id of the experiment the pipeline logs to, from the server."""
    name = name or experiment_name()
    try:
        return rest(url, "experiments/get-by-name", experiment_name=name)[
            "experiment"]["experiment_id"]
    except TeamTrackingError:
        raise TeamTrackingError(f"the server at {url} has no experiment {name!r}: no stage "
                                "logged to it") from None


@dataclass(frozen=True)
class PipelineRuns:
    """The runs one wrapped ``dvc repro`` made on the server (REST JSON)."""

    experiment_id: str
    parent: dict
    stages: dict[str, dict]  # stage name -> its run


def verify_stage_runs(url: str, stages: set[str]) -> PipelineRuns:
    """One FINISHED ``dvc repro`` parent, and under it one FINISHED run per stage in ``stages``."""
    eid = experiment_id(url)
    parents = search_runs(url, eid, "tags.`latentlab.parent` = 'true' and "
                                    "attributes.run_name = 'dvc repro'")
    if len(parents) != 1:
        raise TeamTrackingError(f"expected one parent run 'dvc repro' on {url}, found "
                                f"{len(parents)}")
    parent = parents[0]
    if parent["info"]["status"] != "FINISHED":
        raise TeamTrackingError(f"the parent run is {parent['info']['status']}, not FINISHED")
    children = search_runs(url, eid, f"tags.`mlflow.parentRunId` = "
                                     f"'{parent['info']['run_id']}'")
    by_name: dict[str, list[dict]] = {}
    for run in children:
        by_name.setdefault(run["info"]["run_name"], []).append(run)
    missing = sorted(stages - set(by_name))
    if missing:
        raise TeamTrackingError(f"no run on the server for stage(s) {', '.join(missing)}")
    twice = sorted(name for name, runs in by_name.items() if len(runs) > 1)
    if twice:
        raise TeamTrackingError(f"more than one run for stage(s) {', '.join(twice)}")
    unfinished = sorted(f"{name} ({runs[0]['info']['status']})" for name, runs in by_name.items()
                        if runs[0]["info"]["status"] != "FINISHED")
    if unfinished:
        raise TeamTrackingError(f"stage run(s) not FINISHED: {', '.join(unfinished)}")
    return PipelineRuns(eid, parent, {name: runs[0] for name, runs in by_name.items()})


def read_history_csv(path: Path) -> dict[str, dict[int, float]]:
    """A per-epoch plot CSV as ``{"train/kl": {epoch: value}, …}``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    columns = [c for c in (rows[0] if rows else {}) if c != "epoch"]
    return {column.replace("_", "/", 1): {int(row["epoch"]): float(row[column]) for row in rows}
            for column in columns}


def verify_elbo_histories(url: str, run: dict, history_csv: Path) -> int:
    """Every ELBO term of ``run`` has one point per epoch, equal to DVC's plot CSV.

    Returns the number of epochs.
    """
    expected = read_history_csv(history_csv)
    run_id = run["info"]["run_id"]
    epochs = 0
    for key in ELBO_TERMS:
        if key not in expected:
            raise TeamTrackingError(f"{history_csv} has no column {key.replace('/', '_')}")
        served = {point["step"]: point["value"] for point in metric_history(url, run_id, key)}
        if not served:
            raise TeamTrackingError(f"the {VAE_STAGE} run {run_id} has no history of {key}")
        if sorted(served) != sorted(expected[key]):
            raise TeamTrackingError(f"{key}: the server holds steps {sorted(served)}, the "
                                    f"epochs run were {sorted(expected[key])}")
        wrong = [step for step, value in expected[key].items()
                 if not math.isclose(float(served[step]), value, rel_tol=1e-9, abs_tol=1e-12)]
        if wrong:
            step = wrong[0]
            raise TeamTrackingError(f"{key} at epoch {step}: the server holds {served[step]}, "
                                    f"{history_csv.name} says {expected[key][step]}")
        epochs = len(served)
    return epochs


def stored_artifact(run: dict, artifacts: Path, name: str) -> Path:
    """Where the server keeps artifact ``name`` of ``run`` under its artifacts destination."""
    uri = run["info"]["artifact_uri"]
    if not uri.startswith(PROXY_SCHEME):
        raise TeamTrackingError(f"run {run['info']['run_id']} stores artifacts at {uri}, not "
                                f"through the server ({PROXY_SCHEME}/…)")
    return artifacts / uri[len(PROXY_SCHEME):].lstrip("/") / name


def verify_artifact(run: dict, artifacts: Path, logged: Path, sandbox_root: Path) -> Path:
    """``logged`` (as the stage logged it) is stored, byte for byte, in ``artifacts``.

    And nothing went to a local store in the copy (``mlflow.db``, ``mlartifacts/``).
    """
    stored = stored_artifact(run, artifacts, logged.name)
    if not stored.is_file():
        raise TeamTrackingError(f"{logged.name} of run {run['info']['run_id']} is not in the "
                                f"artifacts destination (looked for {stored})")
    if stored.read_bytes() != logged.read_bytes():
        raise TeamTrackingError(f"{stored} differs from the logged {logged}")
    local = [name for name in ("mlflow.db", "mlartifacts") if (sandbox_root / name).exists()]
    if local:
        raise TeamTrackingError(f"the pipeline wrote a local store ({', '.join(local)}) beside "
                                "the server: MLFLOW_TRACKING_URI did not reach every stage")
    return stored


def verify_backend(postgres: Cluster, run_ids: list[str]) -> dict[str, str]:
    """The runs are rows of PostgreSQL's ``runs`` table; returns ``{run_id: status}``."""
    conn = postgres.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT run_uuid, status FROM runs WHERE run_uuid = ANY(%s)",
                           (list(run_ids),))
            found = dict(cursor.fetchall())
    finally:
        conn.close()
    missing = sorted(set(run_ids) - set(found))
    if missing:
        raise TeamTrackingError(f"PostgreSQL lacks run(s) {', '.join(missing)}")
    return found


def run_check(source: Path, say: Callable[[str], None] = print) -> None:
    """The whole check (see the module docstring); ``say`` gets one line per step."""
    from latentlab.team.postgres import find_bindir

    find_bindir()  # say what to install before anything slow
    started = time.perf_counter()

    def step(text: str) -> None:
        say(f"[{time.perf_counter() - started:5.0f} s] {text}")

    with tempfile.TemporaryDirectory(prefix="latentlab-team-check-") as tmp:
        with shared_tracking(workdir=Path(tmp) / "server") as team:
            step(f"{team.postgres.version} on 127.0.0.1:{team.postgres.port}; MLflow server "
                 f"at {team.url}, artifacts in {team.server.artifacts}")
            box = pipeline_sandbox(source, Path(tmp) / "latentlab", team.url)
            ran = run_pipeline(box)
            stages = tracked_stages(box.root)
            step(f"pipeline ran {len(ran)} stages (tiny params) with "
                 f"MLFLOW_TRACKING_URI={team.url}")
            runs = verify_stage_runs(team.url, stages)
            step(f"runs/search: parent 'dvc repro' and one FINISHED run for each of the "
                 f"{len(stages)} tracked stages ({', '.join(sorted(stages))})")
            vae = runs.stages[VAE_STAGE]
            epochs = verify_elbo_histories(team.url, vae, box.root / VAE_HISTORY)
            step(f"metrics/get-history: {VAE_STAGE} has {epochs} epochs of "
                 f"{', '.join(ELBO_TERMS)}, equal to {VAE_HISTORY}")
            stored = verify_artifact(vae, team.server.artifacts, box.root / VAE_HISTORY,
                                     box.root)
            step(f"artifact {VAE_HISTORY.name} of {VAE_STAGE} is in the artifacts destination "
                 f"({stored.relative_to(team.server.artifacts)}); no local store in the copy")
            ids = [runs.parent["info"]["run_id"]] + [r["info"]["run_id"]
                                                     for r in runs.stages.values()]
            statuses = verify_backend(team.postgres, ids)
            step(f"PostgreSQL's runs table holds all {len(statuses)} runs "
                 f"({', '.join(sorted(set(statuses.values())))})")
    step("stopped the MLflow server and PostgreSQL; deleted the database, artifacts and copy")
