"""Shared fixtures: the repository root and a tiny params file."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# What a stage's tracking reads from the environment: cleared so a test's store is its own.
TRACKING_ENV = ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_STAGE",
                "LATENTLAB_PARENT_RUN_FILE")


@pytest.fixture()
def store_dir(tmp_path, monkeypatch) -> Path:
    """A fresh repository root (a ``.dvc`` folder) as the working directory, with none of the
    tracking environment set: the stages' MLflow store is ``<tmp_path>/mlflow.db``."""
    (tmp_path / ".dvc").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in TRACKING_ENV:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture()
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
