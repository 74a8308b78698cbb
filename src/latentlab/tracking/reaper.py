"""End the runs left RUNNING by a process that is gone: ``python -m latentlab.tracking reap``.

A run's owner (:mod:`latentlab.tracking.owner`) is the process that will end it.
When that process was killed outright (SIGKILL of the whole process group, an
OOM kill, a power cut), no one ends the run. The reaper looks at the RUNNING
runs of the experiment: one whose owner ran on this host and is no longer alive
is set KILLED and tagged ``latentlab.ended_by: reaper``. Runs of other hosts
(a shared tracking server) are left alone, since their owners cannot be checked
from here, and so are runs that name no owner (made before owners were
recorded, or by another tool).

A stage killed with its worker before the run was created left only its start
marker (:mod:`latentlab.tracking.run_record`): the reaper turns a marker whose
worker is gone into a KILLED run with the stage's name, params and tags (unless
a run with the marker's start id exists: the worker died just after creating
it), so no work goes unrecorded.

``python -m latentlab.pipeline.run`` (``make repro``) reaps in the background
thread that creates its parent run, after the stages have their parent's id;
every stage's tracking worker reaps once its own run is open.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from latentlab.tracking.owner import (DEAD, ENDED_BY_TAG, HOST_TAG, OTHER_HOST, PID_TAG,
                                      UNKNOWN, owner_state)
from latentlab.tracking.run_record import START_ID_TAG, started_dir
from latentlab.tracking.store import tracking_uri


@dataclass
class Reaped:
    """What one pass of the reaper did and left alone."""

    killed: list[tuple[str, str, str]] = field(default_factory=list)  # (run id, name, pid)
    recorded: list[tuple[str, str, str]] = field(default_factory=list)  # from start markers
    other_hosts: Counter = field(default_factory=Counter)  # host -> RUNNING runs left alone
    unowned: int = 0  # RUNNING runs that name no owner

    def lines(self) -> list[str]:
        """One line per run reaped (or "no orphaned runs"), then what was left alone."""
        out = [f"reaped run {run_id} ({name}): its owner, pid {pid} on this host, is gone; "
               "set KILLED" for run_id, name, pid in self.killed]
        out += [f"recorded run {run_id} ({name}): killed with its worker, pid {pid}, before the "
                "run was created; set KILLED" for run_id, name, pid in self.recorded]
        out = out or ["no orphaned runs"]
        if self.other_hosts:
            hosts = ", ".join(f"{host}: {n}" for host, n in sorted(self.other_hosts.items()))
            out.append(f"left alone: {sum(self.other_hosts.values())} RUNNING run(s) of other "
                       f"hosts ({hosts}); run the reaper there")
        if self.unowned:
            out.append(f"left alone: {self.unowned} RUNNING run(s) that name no owner (made "
                       "before owners were recorded, or by another tool)")
        return out


def reap(client, experiment_id: str, markers: Path | None = None) -> Reaped:
    """Set KILLED every RUNNING run of ``experiment_id`` whose owner on this host is gone, and
    record as KILLED runs the start markers (default: this repo's) whose worker is gone."""
    result = Reaped()
    record_unstarted(client, experiment_id, markers or started_dir(), result)
    for run in running_runs(client, experiment_id):
        tags = run.data.tags
        state = owner_state(tags)
        if state == DEAD:
            client.set_tag(run.info.run_id, ENDED_BY_TAG, "reaper")
            client.set_terminated(run.info.run_id, status="KILLED")
            result.killed.append((run.info.run_id, run.info.run_name, tags[PID_TAG]))
        elif state == OTHER_HOST:
            result.other_hosts[tags[HOST_TAG]] += 1
        elif state == UNKNOWN:
            result.unowned += 1
    return result


def record_unstarted(client, experiment_id: str, markers: Path, result: Reaped) -> None:
    """Turn each start marker of this experiment and store whose worker is dead into a KILLED
    run; delete the marker. Markers of live workers, other hosts or other stores stay."""
    from latentlab.tracking.run_params import log_params

    if not markers.is_dir():
        return
    experiment = client.get_experiment(experiment_id).name
    uri = tracking_uri()  # the store markers were written for, as every stage derives it
    for path in sorted(markers.glob("*.json")):
        try:
            marker = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # written atomically, so only a foreign file; not ours to judge
        if marker.get("experiment") != experiment or marker.get("uri") != uri:
            continue
        if owner_state(marker.get("owner", {})) != DEAD:
            continue
        start_id = marker["tags"].get(START_ID_TAG, "")
        made = client.search_runs([experiment_id], max_results=1,
                                  filter_string=f"tags.`{START_ID_TAG}` = '{start_id}'")
        if not made:
            run = client.create_run(experiment_id, run_name=marker["name"],
                                    start_time=marker.get("start_ms"),
                                    tags={**marker["tags"], ENDED_BY_TAG: "reaper"})
            log_params(client, run.info.run_id, marker.get("params", {}))
            client.set_terminated(run.info.run_id, status="KILLED")
            result.recorded.append((run.info.run_id, marker["name"],
                                    marker["owner"].get(PID_TAG, "?")))
        path.unlink(missing_ok=True)


def running_runs(client, experiment_id: str) -> list:
    """Every RUNNING run of the experiment, page by page."""
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'",
                                  max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs
