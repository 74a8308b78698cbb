"""End the runs left RUNNING by a process that is gone: ``python -m latentlab.tracking reap``.

A run's owner (:mod:`latentlab.tracking.owner`) is the process that will end it.
When that process was killed outright (SIGKILL of the whole process group, an
OOM kill, a power cut), no one ends the run. The reaper looks at the RUNNING
runs of the experiment: one whose owner ran on this host and is no longer alive
is set KILLED and tagged ``latentlab.ended_by: reaper``. Runs of other hosts
(a shared tracking server) are left alone, since their owners cannot be checked
from here, and so are runs that name no owner (made before owners were
recorded, or by another tool).

``python -m latentlab.pipeline.run`` (``make repro``) reaps in the background
thread that creates its parent run, after the stages have their parent's id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from latentlab.tracking.owner import (DEAD, ENDED_BY_TAG, HOST_TAG, OTHER_HOST, PID_TAG,
                                      UNKNOWN, owner_state)


@dataclass
class Reaped:
    """What one pass of the reaper did and left alone."""

    killed: list[tuple[str, str, str]] = field(default_factory=list)  # (run id, name, pid)
    other_hosts: Counter = field(default_factory=Counter)  # host -> RUNNING runs left alone
    unowned: int = 0  # RUNNING runs that name no owner

    def lines(self) -> list[str]:
        """One line per run reaped (or "no orphaned runs"), then what was left alone."""
        out = [f"reaped run {run_id} ({name}): its owner, pid {pid} on this host, is gone; "
               "set KILLED" for run_id, name, pid in self.killed] or ["no orphaned runs"]
        if self.other_hosts:
            hosts = ", ".join(f"{host}: {n}" for host, n in sorted(self.other_hosts.items()))
            out.append(f"left alone: {sum(self.other_hosts.values())} RUNNING run(s) of other "
                       f"hosts ({hosts}); run the reaper there")
        if self.unowned:
            out.append(f"left alone: {self.unowned} RUNNING run(s) that name no owner (made "
                       "before owners were recorded, or by another tool)")
        return out


def reap(client, experiment_id: str) -> Reaped:
    """Set KILLED every RUNNING run of ``experiment_id`` whose owner on this host is gone."""
    result = Reaped()
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
