"""A real MLflow UI / tracking server on a free loopback port, stopped by its process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from latentlab.team.postgres import free_port
from latentlab.team.server import healthy, rest  # noqa: F401  (rest: for the tests)


@contextlib.contextmanager
def mlflow_server(backend_store_uri: str, *, command: str = "ui",
                  timeout: float = 120.0) -> Iterator[str]:
    """``mlflow ui`` (or ``server``) ``--workers 1`` in its own process group; yields its URL.

    ``make ui`` runs the same command, so the test sees what a user's browser sees.
    """
    port = free_port()
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [str(mlflow_cli), command, "--backend-store-uri", backend_store_uri,
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"mlflow server exited {proc.returncode}: "
                                     f"{proc.stderr.read().decode()[-2000:]}")
            if healthy(url):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"mlflow server not healthy within {timeout} s")
            time.sleep(0.3)
        yield url
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a process started with ``start_new_session=True`` and all its children, by its
    process group (never by name): SIGTERM, then SIGKILL after 20 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


