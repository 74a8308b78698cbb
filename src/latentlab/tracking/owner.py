"""Who owns a RUNNING MLflow run: the process that will end it, recorded as tags.

A run is ended by one process: a stage's run by its tracking worker, the
wrapper's parent run by ``python -m latentlab.pipeline.run``, an experiment's
parent by the worker of the stage that reopened it, a replayed run by the
``replay`` command. If that process dies without ending the run (SIGKILL of the
whole process group, an OOM kill, a power cut), nothing else would, and MLflow
shows the run RUNNING for ever. So every run carries its owner's tags, set when
the run is created (or reopened), and :mod:`latentlab.tracking.reaper` ends the
runs whose owner is gone.

The tags: :data:`HOST_TAG` (``socket.gethostname()``), :data:`PID_TAG` and
:data:`START_TAG`, the process's start time (boot id and clock ticks since boot,
field 22 of ``/proc/<pid>/stat``), which tells a recycled pid from the owner
itself. Where there is no ``/proc`` the pid alone decides.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

HOST_TAG = "latentlab.host"
PID_TAG = "latentlab.pid"
START_TAG = "latentlab.pid_start"
ENDED_BY_TAG = "latentlab.ended_by"  # "reaper" when the reaper ended the run

ALIVE, DEAD, OTHER_HOST, UNKNOWN = "alive", "dead", "other host", "unknown"


def owner_tags(pid: int | None = None) -> dict[str, str]:
    """The tags naming process ``pid`` (default: this one) on this host as a run's owner."""
    pid = os.getpid() if pid is None else pid
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid)}
    start = process_start(pid)
    if start is not None:
        tags[START_TAG] = start
    return tags


def process_start(pid: int) -> str | None:
    """``<boot id>:<clock ticks from boot to the start of pid>``; None where it cannot be read
    (no ``/proc``, no such process)."""
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def process_started_at(pid: int | None = None) -> float | None:
    """When process ``pid`` (default: this one) started, in seconds since the epoch; None where
    ``/proc`` cannot tell.

    A stage's MLflow run starts here, not when its tracking worker got round to creating it
    (after importing mlflow, seconds later, more on a busy machine), so the run's Duration
    covers the stage's work. The boot time ``btime`` is whole seconds rounded down, so this is
    at most a second early, never late.
    """
    pid = os.getpid() if pid is None else pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        btime = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                     if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    ticks = int(stat[stat.rindex(")") + 2:].split()[22 - 3])
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def owner_state(tags: dict[str, str]) -> str:
    """Whether the owner named by a run's ``tags`` is :data:`ALIVE`, :data:`DEAD`, on an
    :data:`OTHER_HOST` (it cannot be checked from here) or :data:`UNKNOWN` (no owner tags)."""
    host, pid = tags.get(HOST_TAG), tags.get(PID_TAG, "")
    if host is None or not pid.isdigit():
        return UNKNOWN
    if host != socket.gethostname():
        return OTHER_HOST
    if not _exists(int(pid)):
        return DEAD
    stat = _proc_stat(int(pid))
    if stat is None:
        return ALIVE  # no /proc to read (or not ours to read): the pid exists
    state, start = stat
    if state == "Z":
        return DEAD  # a zombie: it has exited; only its exit status is left
    recorded = tags.get(START_TAG)
    if recorded is not None and recorded != start:
        return DEAD  # the pid was recycled by a later process (or the machine rebooted)
    return ALIVE


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """The state letter and ``<boot id>:<start ticks>`` of ``pid`` from ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": fields 3, 4, ...
    return fields[0], f"{boot}:{fields[22 - 3]}"


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
