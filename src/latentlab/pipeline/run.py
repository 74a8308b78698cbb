"""``python -m latentlab.pipeline.run repro|exp run [DVC ARGS]``: DVC under one parent MLflow run.

``make repro`` runs this. DVC's stdout passes through :mod:`latentlab.pipeline.progress`,
which numbers the stages as DVC reaches them (``[3/14, 0:42] Running stage 'train@vae':``).
DVC starts at once; the parent run is created in a
thread meanwhile (importing MLflow and opening the store take ~2 s, which
would otherwise delay every ``repro``, even a no-op one), and its id reaches
the stages through the file named in ``LATENTLAB_PARENT_RUN_FILE`` (see
:mod:`latentlab.tracking.parent_run`). When DVC exits, the parent gets the comparison
table (as metrics ``<method>/<metric>`` and as ``comparison/`` artifacts) and
the report, if the report stage did not already log them, and ends FINISHED,
FAILED or KILLED with DVC's outcome (waiting out a locked store for up to a
minute). The exit code is DVC's. The same thread, once the stages have their
parent, ends the runs that killed processes left RUNNING
(:mod:`latentlab.tracking.reaper`) and says which when DVC is done.

When DVC succeeds, "What changed" since the last commit
(:mod:`latentlab.report.changes`, which no stage runs: it reads git) is printed,
written to the git-ignored ``reports/changes.md`` and logged to the parent as
``report/changes.md``; a failure there is one warning line and leaves the exit
code DVC's.

``exp run --queue`` / ``--run-all`` only queue or hand work to queue workers,
which run with ``DVC_EXP_NAME`` set and make their own parent per experiment,
so for those this command just runs DVC.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from latentlab.errors import one_line
from latentlab.pipeline import progress
from latentlab.tracking import parent_run
from latentlab.tracking.run_params import log_params
from latentlab.tracking.owner import owner_tags
from latentlab.tracking.reaper import reap
from latentlab.tracking.stage_run import standard_tags
from latentlab.tracking.store import experiment_name, open_client, open_experiment, tracking_uri
from latentlab.tracking.store_errors import describe, failure_line, retrying

USAGE = "usage: python -m latentlab.pipeline.run repro|exp run [DVC ARGS...]"
COMPARISON_TABLE = Path("metrics/latent_stats.json")
REPORT_DIR = Path("reports")
CHANGES = REPORT_DIR / "changes.md"  # "What changed" since the last commit; git-ignored
QUEUE_FLAGS = ("--queue", "--run-all")


def exit_status(returncode: int) -> str:
    """The parent run's status for DVC's exit code (a signal's 128+n or -n is KILLED)."""
    if returncode == 0:
        return "FINISHED"
    killed = {signal.SIGINT, signal.SIGTERM, signal.SIGKILL}
    if -returncode in killed or returncode - 128 in killed:
        return "KILLED"
    return "FAILED"


class ParentCreator(threading.Thread):
    """Creates the parent run off the critical path and hands its id to the stages; then
    ends the runs that killed processes left RUNNING (:mod:`latentlab.tracking.reaper`)."""

    def __init__(self, command: str, handoff: Path):
        super().__init__(name="mlflow-parent", daemon=True)
        self.command, self.handoff = command, handoff
        self.client, self.run_id, self.error = None, None, None
        self.reaped: list[str] = []  # the reaper's lines, or a warning

    def run(self) -> None:
        experiment_id = None
        try:
            self.client = open_client()
            experiment_id = open_experiment(self.client, tracking_uri(),
                                            experiment_name())
            source = "dvc exp run" if self.command.startswith("dvc exp") else "dvc repro"
            tags = {**parent_run.parent_tags(standard_tags("pipeline", "-"), self.command,
                                             source),
                    **owner_tags()}  # this process ends the parent; if it is killed, the reaper
            run = self.client.create_run(experiment_id, run_name=self.command, tags=tags)
            self.run_id = run.info.run_id
            log_params(self.client, self.run_id, parent_run.pipeline_params())
        except BaseException as exc:  # noqa: BLE001 - reported once, below
            self.error = exc
        finally:
            parent_run.write_parent_file(self.handoff, run_id=self.run_id,
                                         error=None if self.error is None else str(self.error))
        if experiment_id is not None:  # after the handoff: the stages never wait for this
            try:
                result = reap(self.client, experiment_id)
                self.reaped = [f"MLflow: {line}" for line in result.lines()
                               if line != "no orphaned runs"]
            except Exception as exc:  # noqa: BLE001 - the pipeline goes on without it
                self.reaped = [f"warning: the runs left RUNNING by killed processes were not "
                               f"checked: {describe(exc, tracking_uri())}"]


def report_changes() -> Path | None:
    """Print what changed since the last commit and write :data:`CHANGES`; the file, or
    None after one warning line (the pipeline's outcome stays DVC's)."""
    try:
        from latentlab.report.changes import write_changes  # local: only after DVC succeeds

        text = write_changes(".", CHANGES)
    except Exception as exc:  # noqa: BLE001 - a convenience after the results are done
        print(f"warning: what changed since the last commit was not written ({CHANGES}): "
              f"{one_line(exc)}", file=sys.stderr)
        return None
    print(text, end="", flush=True)
    return CHANGES


def finish_parent(client, run_id: str, returncode: int, changes: Path | None = None) -> None:
    """Log the comparison table and the report (unless the report stage did) and ``changes``
    (``report/changes.md``; a failure is one warning line), and end the run."""
    if returncode == 0 and COMPARISON_TABLE.exists():
        if not client.list_artifacts(run_id, "comparison"):  # the report stage did not run
            parent_run.log_comparison(client, run_id, COMPARISON_TABLE)
        if not client.list_artifacts(run_id, "report") and (REPORT_DIR / "report.html").exists():
            for name in ("report.html", "report.md"):
                client.log_artifact(run_id, str(REPORT_DIR / name), "report")
            if (REPORT_DIR / "figures").is_dir():
                client.log_artifacts(run_id, str(REPORT_DIR / "figures"), "report/figures")
    if returncode == 0 and changes is not None:  # after the check above (report/ is the stage's)
        try:
            client.log_artifact(run_id, str(changes), "report")
        except Exception as exc:  # noqa: BLE001 - the run still ends with DVC's outcome
            print(f"warning: {changes} was not logged to the parent MLflow run: "
                  f"{describe(exc, tracking_uri())}", file=sys.stderr)
    retrying(client.set_terminated, run_id, status=exit_status(returncode))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        args = ["repro"]
    if args[0] != "repro" and args[:2] != ["exp", "run"]:
        print(USAGE, file=sys.stderr)
        return 2
    if args[0] == "exp" and any(flag in args for flag in QUEUE_FLAGS):
        return subprocess.call(["dvc", *args])
    command = "dvc " + " ".join(args)
    with tempfile.TemporaryDirectory(prefix="latentlab-parent-") as tmp:
        handoff = Path(tmp) / "parent.json"
        env = {**os.environ, parent_run.PARENT_FILE_ENV: str(handoff),
               "PYTHONUNBUFFERED": "1"}  # stages' lines reach the pipe as they are printed
        lines = progress.StageLines(progress.visited_count(args[1:]),
                                    drop_push_hint=not progress.has_remote())
        proc = subprocess.Popen(["dvc", *args], env=env, stdout=subprocess.PIPE, text=True,
                                bufsize=1, errors="replace")
        creator = ParentCreator(command, handoff)
        creator.start()
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
        try:
            progress.pump(proc.stdout, lines, sys.stdout)
            returncode = proc.wait()
        except KeyboardInterrupt:  # the terminal sent SIGINT to DVC too; wait for it to stop
            progress.pump(proc.stdout, lines, sys.stdout)  # its last lines, or it blocks on them
            proc.wait()  # DVC exits 1 or 255 on Ctrl-C: the run was interrupted, not failed
            returncode = 128 + signal.SIGINT  # KILLED, and the shell's code for Ctrl-C
        finally:
            signal.signal(signal.SIGTERM, previous)
        changes = report_changes() if returncode == 0 else None
        creator.join()
        for line in creator.reaped:
            print(line, file=sys.stderr if line.startswith("warning") else sys.stdout)
        if creator.run_id is None:
            print(f"warning: no parent MLflow run: "
                  f"{failure_line(tracking_uri(), describe(creator.error, tracking_uri()))}",
                  file=sys.stderr)
            return returncode
        try:
            finish_parent(creator.client, creator.run_id, returncode, changes)
        except Exception as exc:  # noqa: BLE001 - DVC's outputs are done; say what is missing
            print(f"warning: the parent MLflow run {creator.run_id} could not be finished: "
                  f"{describe(exc, tracking_uri())}; `python -m latentlab.tracking reap` ends it "
                  "KILLED once this process has exited", file=sys.stderr)
        else:
            print(f"MLflow: parent run {creator.run_id} ({exit_status(returncode)}) at "
                  f"{tracking_uri()}")
    return returncode


if __name__ == "__main__":
    raise SystemExit(main())
