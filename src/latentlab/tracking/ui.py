"""``python -m latentlab.tracking ui [--port N] [--no-browser]`` (``make ui``): the runs, in MLflow.

MLflow 3.17's UI opens on its GenAI view (traces, prompts); this pipeline's
runs are in the experiment's runs table, behind the "Model training" switch.
So the command prints the URL of that table,
``http://127.0.0.1:5000/#/experiments/<id>/runs?workflowType=machine_learning``
(the experiment id read from the tracking store, the experiment created if the
store has none yet), starts ``mlflow ui --workers 1`` on the local store, and
opens the URL in a browser once the server answers, where a browser can open
(a desktop session, or ``BROWSER`` set; never on a bare terminal, never an
error when none is found). Ctrl-C stops the server.

With ``MLFLOW_TRACKING_URI`` pointing at a server (``http(s)://``) it starts
nothing and prints (and opens) the same view on that server.

No experiment tag sets the default view in 3.17: its UI takes the view from the
URL's ``workflowType`` (or the browser's last choice), not from the
``mlflow.experimentKind`` tag (with ``custom_model_development`` set, a bare
``#/experiments/<id>`` still opens the GenAI overview), so none is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

from latentlab.errors import TrackingError, one_line
from latentlab.team.server import healthy
from latentlab.tracking.store import (experiment_name, open_client, open_experiment,
                                      tracking_uri)

HOST = "127.0.0.1"
PORT = 5000
RUNS_VIEW = "#/experiments/{id}/runs?workflowType=machine_learning"
START_TIMEOUT = 120.0  # seconds for `mlflow ui` to answer /health before no browser is opened


def runs_url(base: str, experiment_id: str) -> str:
    """The experiment's runs table (the model-training view) on the UI at ``base``."""
    return f"{base.rstrip('/')}/{RUNS_VIEW.format(id=experiment_id)}"


def experiment_id(uri: str, create: bool) -> str | None:
    """The id of this pipeline's experiment in the store at ``uri``.

    A local store (``create``) gets the database and the experiment if missing; a
    server is only asked, and None comes back when it has no such experiment.
    """
    client = open_client()
    if create:
        return open_experiment(client, uri, experiment_name())
    experiment = client.get_experiment_by_name(experiment_name())
    return experiment.experiment_id if experiment is not None else None


def browser_available() -> bool:
    """Whether a graphical browser can open: macOS, Windows, a desktop session, or BROWSER."""
    if os.environ.get("BROWSER") or sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    """Open ``url`` where a browser is available (:func:`browser_available`); never raises."""
    if not browser_available():
        return False
    try:
        return webbrowser.open(url)
    except Exception:  # noqa: BLE001 - a browser that fails to start is no reason to stop
        return False


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _mlflow() -> str:
    beside = Path(sys.executable).parent / "mlflow"  # this environment's mlflow
    return str(beside) if beside.exists() else (shutil.which("mlflow") or "mlflow")


def serve(uri: str, port: int, browser: bool) -> int:
    """Print the runs URL, run ``mlflow ui`` on ``uri`` until it exits or Ctrl-C."""
    if not port_free(HOST, port):
        raise TrackingError(f"port {port} on {HOST} is in use (another `mlflow ui`?): stop it, "
                            f"or pick another port: make ui UI_PORT={port + 1}")
    try:
        exp_id = experiment_id(uri, create=True)
    except Exception as exc:  # noqa: BLE001 - whatever the store raised, said in one line
        raise TrackingError(f"the tracking store {uri} failed: {one_line(exc)}") from None
    base = f"http://{HOST}:{port}"
    url = runs_url(base, exp_id)
    print(f"ui: the runs: {url}\nui: starting mlflow ui on {base} (Ctrl-C stops it)", flush=True)
    server = subprocess.Popen([_mlflow(), "ui", "--backend-store-uri", uri, "--host", HOST,
                               "--port", str(port), "--workers", "1"])
    try:
        if browser and browser_available():
            deadline = time.monotonic() + START_TIMEOUT
            while server.poll() is None and time.monotonic() < deadline and not healthy(base):
                time.sleep(0.5)
            if server.poll() is None and healthy(base):
                open_in_browser(url)
        return server.wait()
    except KeyboardInterrupt:  # the server, in the same process group, got the Ctrl-C too
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait()
        return 128 + signal.SIGINT


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m latentlab.tracking ui",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=PORT, help=f"local port (default {PORT})")
    ap.add_argument("--no-browser", action="store_true", help="print the URL, open nothing")
    args = ap.parse_args(argv)
    uri = tracking_uri()
    if uri.startswith(("http://", "https://")):
        try:
            exp_id = experiment_id(uri, create=False)
        except Exception:  # noqa: BLE001 - unreachable: the server's own page is still the answer
            exp_id = None
        url = runs_url(uri, exp_id) if exp_id is not None else uri
        print(f"ui: the runs are on the tracking server: open {url}")
        if not args.no_browser:
            open_in_browser(url)
        return 0
    return serve(uri, args.port, browser=not args.no_browser)
