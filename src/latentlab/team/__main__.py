"""``python -m latentlab.team serve|check|bindir``: shared tracking on this machine.

* ``serve [--port N] [--artifacts-destination DIR]`` (``make team-server``):
  PostgreSQL and an MLflow server on it, until Ctrl-C (or SIGTERM, SIGHUP); prints the
  ``export MLFLOW_TRACKING_URI=…`` line for the shells that run the pipeline.
  Stopping deletes the database (and the artifacts, unless a destination was
  given).
* ``check`` (``make team-tracking-check``): the pipeline against such a
  server, and what the server must then hold (:mod:`latentlab.team.check`).
* ``bindir``: the folder of PostgreSQL's server programs, or exit 1 (what
  ``make setup-postgres`` asks before installing PostgreSQL).

Failures are one line on stderr (``error: …``) and exit 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from latentlab.team import TeamTrackingError

HEALTH_EVERY = 2.0  # seconds between checks that the server still answers while serving


def _stop_on_signals() -> None:
    """Ctrl-C, ``kill`` and a closed terminal all stop both servers cleanly.

    SIGINT is set explicitly too: a shell starts background commands with it
    ignored, and Python then keeps ignoring it. The first signal stops; later
    ones are ignored, so a second Ctrl-C cannot cut the clean-up short.
    """
    def _interrupt(signum, frame):  # noqa: ARG001
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)


def serve(port: int | None, artifacts: Path | None) -> int:
    from latentlab.team.server import healthy, shared_tracking

    _stop_on_signals()
    try:
        with shared_tracking(artifacts, port=port) as team:
            pg, server = team.postgres, team.server
            kept = "kept" if artifacts is not None else "deleted on exit"
            print(f"{pg.version} (pid {pg.pid}) on 127.0.0.1:{pg.port}, throwaway data in "
                  f"{pg.folder}")
            print(f"MLflow server (process group {server.pgid}) at {server.url}; artifacts in "
                  f"{server.artifacts} ({kept}); log {server.log}")
            print("In each shell that runs the pipeline (then `make repro`, `dvc exp run`, …):")
            print(f"export MLFLOW_TRACKING_URI={server.url}")
            print(f"Ctrl-C stops both and deletes the database"
                  f"{'' if artifacts is not None else ' and the artifacts'}.", flush=True)
            failures = 0
            while True:
                time.sleep(HEALTH_EVERY)
                failures = 0 if healthy(server.url) else failures + 1
                if failures >= 3:
                    raise TeamTrackingError(f"the MLflow server at {server.url} stopped "
                                            f"answering (log: {server.log})")
    except KeyboardInterrupt:
        gone = "the database" if artifacts is not None else "the database and the artifacts"
        print(f"stopped the MLflow server and PostgreSQL; deleted {gone}", flush=True)
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m latentlab.team",
                                 description="Shared MLflow tracking on PostgreSQL, on this "
                                             "machine.")
    sub = ap.add_subparsers(dest="command", required=True)
    serve_ap = sub.add_parser("serve", help="PostgreSQL + mlflow server until Ctrl-C")
    serve_ap.add_argument("--port", type=int, help="the MLflow server's port on 127.0.0.1 "
                          "(default: a free one)")
    serve_ap.add_argument("--artifacts-destination", type=Path,
                          help="the server's artifact root, kept on exit (default: a temporary "
                               "folder, deleted on exit)")
    sub.add_parser("check", help="run the pipeline against such a server and check its runs")
    sub.add_parser("bindir", help="print the folder of PostgreSQL's server programs")
    args = ap.parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args.port, args.artifacts_destination)
        if args.command == "check":
            from latentlab.team.check import run_check
            from latentlab.tracking.store import repo_root

            run_check(repo_root())
            print("team tracking check: ok", flush=True)
            return 0
        from latentlab.team.postgres import find_bindir

        print(find_bindir())
        return 0
    except TeamTrackingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; stopped the MLflow server and PostgreSQL", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
