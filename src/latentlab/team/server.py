"""``mlflow server`` on a PostgreSQL store with its own artifact root, and its REST API.

The server is what a team's clients talk to: ``MLFLOW_TRACKING_URI=http://…``
is all a pipeline needs. It holds runs in PostgreSQL (``--backend-store-uri
postgresql://…``) and proxies artifacts to ``--artifacts-destination`` (a
folder here, an object store in production), so clients need neither the
database nor the artifact store. :func:`shared_tracking` starts a throwaway
PostgreSQL cluster and such a server on it, on free loopback ports; the server
runs in its own process group, which is what is stopped on exit (never a
process found by name).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from latentlab.team import TeamTrackingError
from latentlab.team.postgres import HOST, Cluster, free_port, throwaway_cluster

# MLflow's job runner (eight worker processes for GenAI evaluation jobs) is off unless the
# environment turns it on: the pipeline submits no jobs, and on a laptop it slows every start.
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
START_TIMEOUT = 180.0  # seconds: the first start migrates an empty database (~100 steps)
STOP_TIMEOUT = 20.0


@dataclass(frozen=True)
class Server:
    """A running ``mlflow server``: its URL, where artifacts land, its process group, its log."""

    url: str
    artifacts: Path
    pgid: int
    log: Path


@dataclass(frozen=True)
class SharedTracking:
    """PostgreSQL and the MLflow server on it, both running."""

    postgres: Cluster
    server: Server

    @property
    def url(self) -> str:
        """What clients set ``MLFLOW_TRACKING_URI`` to."""
        return self.server.url


def server_command(backend_store_uri: str, artifacts: Path, port: int) -> list[str]:
    """The ``mlflow server`` command line, with this interpreter's MLflow (and psycopg2)."""
    return [sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", backend_store_uri,
            "--artifacts-destination", str(artifacts),
            "--host", HOST, "--port", str(port), "--workers", "1"]


def healthy(url: str) -> bool:
    """Whether the MLflow server at ``url`` answers ``/health`` with 200 within 2 s."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _why(path: Path) -> str:
    """The log's last line that mentions an error (else its last line), for a one-line message."""
    with contextlib.suppress(OSError):
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()
                 if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        if errors or lines:
            return (errors or lines)[-1][:300]
    return "no output"


def _check_port_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise TeamTrackingError(f"port {port} on {HOST} is not free ({exc.strerror}); pass "
                                    "another --port, or none for a free one") from None


@contextlib.contextmanager
def mlflow_server(backend_store_uri: str, artifacts: Path, log: Path, *,
                  env: dict[str, str] | None = None, port: int | None = None) -> Iterator[Server]:
    """Start ``mlflow server --workers 1`` in its own process group; wait for ``/health``.

    ``env`` is added to the server's environment (``PGPASSWORD``, so the
    password is not on its command line), as is :data:`SERVER_ENV` where the
    environment does not set it; the output goes to ``log``. On exit the whole
    process group gets SIGTERM, then SIGKILL if any of it lingers.
    """
    if port:
        _check_port_free(port)
    port = port or free_port()
    url = f"http://{HOST}:{port}"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(server_command(backend_store_uri, artifacts, port),
                                env={**SERVER_ENV, **os.environ, **(env or {})},
                                stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not healthy(url):
            if proc.poll() is not None:
                raise TeamTrackingError(f"mlflow server exited {proc.returncode} on start: "
                                        f"{_why(log)}")
            if time.monotonic() > deadline:
                raise TeamTrackingError(f"mlflow server not healthy at {url}/health within "
                                        f"{START_TIMEOUT:.0f} s (log: {log})")
            time.sleep(0.3)
        yield Server(url=url, artifacts=artifacts, pgid=proc.pid, log=log)
    finally:
        stop_group(proc)


def _group_gone(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until no process of ``proc``'s group is left (``proc`` itself reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group; SIGKILL if any of it is left after a while.

    Returns once the whole group is gone: the uvicorn worker outlives the
    ``mlflow server`` process that started it by a moment.
    """
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        if _group_gone(proc, timeout):
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def shared_tracking(artifacts: Path | None = None, *, port: int | None = None,
                    workdir: Path | None = None) -> Iterator[SharedTracking]:
    """A throwaway PostgreSQL cluster and an MLflow server on it; both stopped on exit.

    Parameters
    ----------
    artifacts : Path, optional
        The server's ``--artifacts-destination``, kept on exit. By default a
        fresh temporary folder, deleted on exit like the database.
    port : int, optional
        The server's port on 127.0.0.1; a free one by default.
    workdir : Path, optional
        Where the server's log (and the default artifact folder) go; a fresh
        temporary folder, deleted on exit, by default.
    """
    own_workdir = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="latentlab-team-")) if own_workdir else Path(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        if artifacts is None:
            artifacts = workdir / "artifacts"
        artifacts = Path(artifacts).resolve()
        artifacts.mkdir(parents=True, exist_ok=True)
        with throwaway_cluster() as postgres, mlflow_server(
                postgres.uri(), artifacts, workdir / "mlflow-server.log", env=postgres.env(),
                port=port) as server:
            yield SharedTracking(postgres=postgres, server=server)
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def rest(url: str, endpoint: str, body: dict | None = None, **query) -> dict:
    """GET (with ``query``) or POST (with ``body``) ``/api/2.0/mlflow/<endpoint>``; the JSON."""
    address = f"{url}/api/2.0/mlflow/{endpoint}"
    if query:
        address += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(address, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise TeamTrackingError(f"{endpoint}: HTTP {exc.code} from {url}: "
                                f"{exc.read().decode(errors='replace')[:300]}") from None


def search_runs(url: str, experiment_id: str, filter_string: str = "") -> list[dict]:
    """Every run of the experiment that matches ``filter_string`` (all pages)."""
    runs, token = [], None
    while True:
        body = {"experiment_ids": [experiment_id], "filter": filter_string, "max_results": 1000}
        if token:
            body["page_token"] = token
        page = rest(url, "runs/search", body)
        runs.extend(page.get("runs", []))
        token = page.get("next_page_token")
        if not token:
            return runs


def metric_history(url: str, run_id: str, key: str) -> list[dict]:
    """``metrics/get-history`` of one metric: ``[{"key", "value", "step", "timestamp"}, …]``."""
    return rest(url, "metrics/get-history", run_id=run_id, metric_key=key,
                max_results=25000).get("metrics", [])


def run_tags(run: dict) -> dict[str, str]:
    """A REST run's tags as a dict."""
    return {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}


def run_params(run: dict) -> dict[str, str]:
    """A REST run's params as a dict."""
    return {param["key"]: param["value"] for param in run["data"].get("params", [])}
