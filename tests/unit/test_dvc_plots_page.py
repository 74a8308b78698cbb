"""The offline page of `dvc plots`: DVC uses it, and it inlines what DVC's own page loads.

(Rendering it in Chromium, offline: tests/e2e/test_dvc_plots_offline.py.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vendor():
    spec = importlib.util.spec_from_file_location("vendor_vega", ROOT / "scripts/vendor_vega.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # (dataclasses)
    spec.loader.exec_module(module)
    return module


def test_dvc_uses_the_offline_page_by_default(vendor):
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        template = repo.config["plots"]["html_template"]
        assert (Path(repo.dvc_dir) / template).resolve() == vendor.PAGE


def test_the_page_inlines_the_versions_dvc_asks_for_as_recorded(vendor):
    _, pins = vendor.dvc_pins()
    assert set(pins) == {"vega", "vega-lite", "vega-embed"}
    assert vendor.check(vendor.PAGE, pins) == []
    text = vendor.PAGE.read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net/npm" not in text and '<meta charset="utf-8">' in text
    assert vendor.PAGE.stat().st_size < 1_000_000  # the three minified builds, ~0.8 MB


def test_the_check_notices_an_edited_library_or_another_version(vendor, tmp_path):
    _, pins = vendor.dvc_pins()
    page = tmp_path / "page.html"
    text = vendor.PAGE.read_text(encoding="utf-8")
    page.write_text(text.replace('"use strict";var e="5.20.2"', '"use strict";var e="5.20.3"'),
                    encoding="utf-8")
    assert [p for p in vendor.check(page, pins) if "vega build/vega.min.js" in p]
    assert vendor.check(vendor.PAGE, {**pins, "vega": "5.21.0"})  # DVC upgraded: rerun it
