"""`dvc plots show` / `dvc plots diff` pages render every plot with no network (issue 18).

Real DVC on a throwaway copy of the repository (the committed plot data and figures are
enough: no pipeline run), the page loaded in headless Chromium with every http(s) request
refused. DVC's own page loads vega from a CDN, so there every vega plot stays blank
("vegaEmbed is not defined"); the project's page (.dvc/config: plots.html_template, written
by scripts/vendor_vega.py) inlines the libraries.
"""

from __future__ import annotations

import json

import pytest

from browser import check_page
from latentlab.pipeline.sandbox import Sandbox

pytestmark = pytest.mark.e2e

RENDERED = "div.vega-embed canvas.marks, div.vega-embed svg.marks"  # a chart vega drew
VEGA_PLOTS = 16  # dvc.yaml: 6 top-level curve plots, 3 + 2 stage curves, 5 scatters


@pytest.fixture(scope="module")
def box(tmp_path_factory, repo_root):
    box = Sandbox(repo_root, tmp_path_factory.mktemp("plots-offline") / "latentlab")
    shown = json.loads(box.run("dvc", "plots", "show", "--json").stdout)
    assert not shown.get("errors"), shown.get("errors")
    box.vega = [name for name, plots in shown["data"].items() if plots[0]["type"] == "vega"]
    box.images = [name for name, plots in shown["data"].items() if plots[0]["type"] == "image"]
    return box


def _render(box: Sandbox, out, *command: str, timeout: float = 60.0):
    """Run `dvc plots <command> -o out` in the sandbox; load its page offline."""
    box.run("dvc", "plots", *command, "-o", str(out))
    page = out / "index.html"
    assert page.read_text(encoding="utf-8").count("vegaEmbed('#") == len(box.vega)
    return check_page(page.as_uri(), out / "page.png", wait_for="body", count=RENDERED,
                      min_count=len(box.vega), offline=True, timeout=timeout)


def _problems(console: list[str]) -> list[str]:
    # warnings are vega's own chatter (a hover layer's empty extent, "$schema v5 vs v5.2.0")
    return [line for line in console if not line.startswith(("console.warning", "log.warning"))]


@pytest.mark.parametrize("command", [("show",), ("diff", "HEAD")], ids=["show", "diff"])
def test_every_plot_renders_offline(box, tmp_path, command):
    assert len(box.vega) == VEGA_PLOTS, box.vega
    page = _render(box, tmp_path / "page", *command)
    assert page.count == len(box.vega), f"{page.count} of {len(box.vega)} vega plots drawn"
    assert not _problems(page.console), page.console
    assert [url for url in page.requests if not url.startswith(("file:", "data:"))] == []
    revisions = 2 if command[0] == "diff" else 1  # diff: HEAD's figure beside the workspace's
    assert len(page.images) == revisions * len(box.images) and not page.broken_images


def test_dvcs_own_cdn_page_renders_no_plot_offline(box, tmp_path):
    """The check has teeth: the page DVC writes without our template draws nothing offline."""
    from dvc_render.html import PAGE_HTML

    default = tmp_path / "dvc_default.html"
    default.write_text(PAGE_HTML, encoding="utf-8")
    page = _render(box, tmp_path / "page", "show", "--html-template", str(default),
                   timeout=15.0)
    assert page.count == 0
    assert any("vegaEmbed is not defined" in line for line in page.console), page.console
    assert any(url.startswith("https://cdn.jsdelivr.net/") for url in page.requests)
