"""The e2e suite's shared sandboxes are built once per `make test`, not once per worker.

`make test` runs on two pytest-xdist workers with ``--dist loadgroup``; the grouping
hook of tests/e2e/conftest.py puts every test of the shared pipeline story on one
worker and each other e2e module on one worker, so the story (~3 minutes) and each
module's sandbox are built once. Twice it silently went wrong, each time doubling
those builds with every test still passing: the hook ran after xdist's own (no
``tryfirst``), and pytest 9.2's node ids undo xdist's grouping (pytest-xdist#1386).
This runs a small suite with the real hook, pytest and xdist of the venv, and counts
the builds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

E2E_CONFTEST = Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"

CONFTEST = f'''
import importlib.util
import os

import pytest

_spec = importlib.util.spec_from_file_location("e2e_conftest", {str(E2E_CONFTEST)!r})
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
pytest_collection_modifyitems = _e2e.pytest_collection_modifyitems  # the hook under test


def _record(what):
    with open(os.environ["BUILD_LOG"], "a") as log:
        log.write(what + "\\n")


@pytest.fixture(scope="session")
def pipeline():
    _record("story")


@pytest.fixture(scope="module")
def box(request):
    _record(request.module.__name__)
'''


def test_the_story_and_each_module_sandbox_are_built_once_across_two_workers(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(CONFTEST)
    body = "import pytest\npytestmark = pytest.mark.e2e\n"
    for name, fixture in (("story_a", "pipeline"), ("story_b", "pipeline"),
                          ("sandbox_c", "box"), ("sandbox_d", "box")):
        tests = "".join(f"def test_{i}({fixture}): pass\n" for i in range(6))
        (suite / f"test_{name}.py").write_text(body + tests)
    (suite / "test_unit.py").write_text("".join(f"def test_{i}(): pass\n" for i in range(30)))
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    e2e: end to end\n")
    log = tmp_path / "builds.log"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--dist", "loadgroup", "-c", str(tmp_path / "pytest.ini"), str(suite)],
        cwd=tmp_path, env={"BUILD_LOG": str(log), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    builds = sorted(log.read_text().split())
    assert builds == ["story", "test_sandbox_c", "test_sandbox_d"], (
        f"built {builds}: xdist spread a shared sandbox's tests over both workers")
