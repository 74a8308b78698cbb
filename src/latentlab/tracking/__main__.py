"""``python -m latentlab.tracking init|uri|replay|ui``: create the store, show its URI, replay runs,
browse them (:mod:`latentlab.tracking.ui`)."""

from __future__ import annotations

import sys

from latentlab.cli import run_stage
from latentlab.errors import one_line
from latentlab.tracking.mlflow_runs import replay_pending
from latentlab.tracking.store import ensure_store, tracking_uri


def main(argv: list[str] | None = None) -> int:
    """``python -m latentlab.tracking init|uri|replay|ui``; a failing store: one line, exit 1."""
    command = sys.argv[1:] if argv is None else argv
    if command[:1] == ["ui"]:
        from latentlab.tracking import ui

        return run_stage(ui.main, command[1:])
    if command not in (["init"], ["replay"], ["uri"]):
        print("usage: python -m latentlab.tracking init|uri|replay|ui [--port N] [--no-browser]",
              file=sys.stderr)
        return 2
    if command == ["uri"]:
        print(tracking_uri())
        return 0
    try:
        if command == ["init"]:
            print(f"tracking store ready: {ensure_store()}")
        else:
            print(f"replayed {len(replay_pending())} pending run(s) into {tracking_uri()}")
    except Exception as exc:  # noqa: BLE001 - whatever the store raised, said in one line
        print(f"error: MLflow tracking at {tracking_uri()} failed: {one_line(exc)}; start the "
              "server, or unset MLFLOW_TRACKING_URI to use the local mlflow.db", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
