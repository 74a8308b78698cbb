"""``python -m latentlab.tracking init|uri|replay|reap|ui``: create the store, show its URI,
replay saved runs, end the runs whose owner process is gone, browse the runs
(:mod:`latentlab.tracking.ui`)."""

from __future__ import annotations

import sys

from latentlab.cli import run_stage
from latentlab.tracking.mlflow_runs import replay_pending
from latentlab.tracking.store import ensure_store, tracking_uri
from latentlab.tracking.store_errors import describe, failure_line

USAGE = "usage: python -m latentlab.tracking init|uri|replay|reap|ui [--port N] [--no-browser]"


def reap_orphans() -> list[str]:
    """Run the reaper (:mod:`latentlab.tracking.reaper`) on the experiment; its lines."""
    from latentlab.tracking.reaper import reap
    from latentlab.tracking.store import experiment_name, open_client, open_experiment

    client = open_client()
    return reap(client, open_experiment(client, tracking_uri(), experiment_name())).lines()


def main(argv: list[str] | None = None) -> int:
    """The command; a store that fails is one line, exit 1."""
    command = sys.argv[1:] if argv is None else argv
    if command[:1] == ["ui"]:
        from latentlab.tracking import ui

        return run_stage(ui.main, command[1:])
    if command not in (["init"], ["replay"], ["uri"], ["reap"]):
        print(USAGE, file=sys.stderr)
        return 2
    if command == ["uri"]:
        print(tracking_uri())
        return 0
    try:
        if command == ["init"]:
            print(f"tracking store ready: {ensure_store()}")
        elif command == ["reap"]:
            print("\n".join(reap_orphans()))
        else:
            print(f"replayed {len(replay_pending())} pending run(s) into {tracking_uri()}")
    except Exception as exc:  # noqa: BLE001 - whatever the store raised, said in one line
        uri = tracking_uri()
        print(f"error: {failure_line(uri, describe(exc, uri))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
