"""`make ui` (python -m latentlab.tracking ui): the runs URL, the browser, its one-line errors."""

from __future__ import annotations

import socket

import pytest

from latentlab.errors import TrackingError
from latentlab.tracking import ui


def test_the_url_is_the_experiments_runs_table_in_the_model_training_view():
    assert ui.runs_url("http://127.0.0.1:5000/", "3") == (
        "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning")


def test_no_browser_is_tried_on_a_bare_terminal(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(ui.sys, "platform", "linux")
    monkeypatch.setattr(ui.webbrowser, "open", lambda url: pytest.fail("opened a browser"))
    assert not ui.browser_available() and ui.open_in_browser("http://x") is False
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(ui.webbrowser, "open", lambda url: (_ for _ in ()).throw(OSError("no")))
    assert ui.browser_available() and ui.open_in_browser("http://x") is False  # never raises


def test_a_port_in_use_is_one_line_naming_another_port(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with socket.socket() as taken:
        taken.bind((ui.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TrackingError, match=f"port {port} .* in use.*UI_PORT={port + 1}"):
            ui.main(["--port", str(port), "--no-browser"])
    assert not (tmp_path / "mlflow.db").exists()  # refused before touching the store


def test_on_a_tracking_server_it_starts_nothing_and_prints_the_runs_url(monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    monkeypatch.setattr(ui, "experiment_id", lambda uri, create: "7")
    assert ui.main(["--no-browser"]) == 0
    assert capsys.readouterr().out == (
        "ui: the runs are on the tracking server: open http://mlflow.example:5000/#/experiments/7"
        "/runs?workflowType=machine_learning\n")
    monkeypatch.setattr(ui, "experiment_id",
                        lambda uri, create: (_ for _ in ()).throw(OSError("unreachable")))
    assert ui.main(["--no-browser"]) == 0
    assert capsys.readouterr().out.endswith("open http://mlflow.example:5000\n")
