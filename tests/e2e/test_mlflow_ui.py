"""`make ui` opens on the runs (issue 18, item 1): the printed URL shows the runs table.

MLflow 3.17's UI opens on its GenAI view. `python -m latentlab.tracking ui` (what `make ui`
runs) prints the experiment's runs-table URL and starts the real `mlflow ui`, here on a free
port, in its own process group, against a small SQLite store with one run; headless Chromium
opens the printed URL and must show that run's name, and its source (``mlflow.source.name``,
as stage runs are tagged), on the first screen. The "browser" the
command itself opens once the server answers is a script (BROWSER) that notes the URL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser import WINDOW, check_page
from latentlab.team.postgres import free_port
from mlflow_server import healthy, stop_group

pytestmark = pytest.mark.e2e

RUN_NAME = "ui-first-screen-run"


def _store_with_one_run(root, monkeypatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.setenv("DVC_ROOT", str(root))  # artifacts under root, not the checkout
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    from latentlab.tracking.store import experiment_name, open_client, open_experiment

    client = open_client()
    experiment_id = open_experiment(client, os.environ["MLFLOW_TRACKING_URI"], experiment_name())
    from latentlab.tracking.stage_run import source_tags

    # the tags a stage run gets: MLflow's runs table shows the source in its Source column
    run = client.create_run(experiment_id, run_name=RUN_NAME,
                            tags=source_tags(Path.cwd() / "stages" / "train.py"))
    client.log_metric(run.info.run_id, "vae/knn_accuracy", 0.93)
    client.set_terminated(run.info.run_id)
    return experiment_id


def test_make_ui_prints_the_runs_url_and_the_browser_shows_the_run_first(tmp_path, monkeypatch):
    experiment_id = _store_with_one_run(tmp_path, monkeypatch)
    port = free_port()
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": f"{browser} %s"}
    ui = subprocess.Popen([sys.executable, "-m", "latentlab.tracking", "ui", "--port", str(port)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                          start_new_session=True)
    try:
        first = ui.stdout.readline()  # printed before mlflow ui starts
        assert first == (f"ui: the runs: http://127.0.0.1:{port}/#/experiments/{experiment_id}"
                         "/runs?workflowType=machine_learning\n")
        url = re.search(r"http://\S+", first).group(0)
        deadline = time.monotonic() + 180
        while not healthy(f"http://127.0.0.1:{port}"):
            assert ui.poll() is None, f"make ui's mlflow ui exited {ui.returncode}"
            assert time.monotonic() < deadline, "mlflow ui did not answer within 180 s"
            time.sleep(0.5)
        while not opened.exists():  # the command opens the URL once the server answers
            assert time.monotonic() < deadline, "the command opened no browser"
            time.sleep(0.5)
        assert opened.read_text().strip() == url
        page = check_page(url, tmp_path / "ui.png", wait_for="body", text=RUN_NAME, timeout=180)
        assert page.title.startswith("Runs")
        assert page.text_top is not None and 0 <= page.text_top < WINDOW[1]  # no scrolling
        source = check_page(url, tmp_path / "source.png", wait_for="body", text="train.py",
                            timeout=120)  # the Source column, shown by default
        assert source.text_top is not None and 0 <= source.text_top < WINDOW[1]
    finally:
        stop_group(ui)
