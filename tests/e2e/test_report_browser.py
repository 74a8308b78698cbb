"""The report in a real browser: headless Chromium opens the sandbox's report.html.

Reuses the shared pipeline story (tests/e2e/conftest.py): the report is the one the
last `dvc repro` there rendered, from tiny params. The browser is driven by
tests/e2e/browser.py, which works for a file:// or an http:// URL alike.
"""

from __future__ import annotations

import re

import pytest

from browser import check_page

pytestmark = pytest.mark.e2e

METHODS = ["pca", "tsne", "ae", "dae", "vae"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def page(pipeline, tmp_path_factory):
    report = pipeline.root / "reports" / "report.html"
    return check_page(report.as_uri(), tmp_path_factory.mktemp("browser") / "report.png")


def test_every_image_loads(page, pipeline):
    html = (pipeline.root / "reports" / "report.html").read_text()
    figures = sorted((pipeline.root / "reports" / "figures").glob("*.png"))
    assert len(page.images) == html.count("<img") == len(figures) >= 13
    assert page.broken_images == []
    assert all(img.natural_width > 0 and img.natural_height > 0 for img in page.images)


def test_the_comparison_table_has_one_row_per_method(page):
    assert page.table_rows is not None
    assert [row[0] for row in page.table_rows] == METHODS + ["raw pixels (reference)"]
    assert len({len(row) for row in page.table_rows}) == 1


def test_the_page_is_self_contained(page):
    # nothing fetched but the page itself and its embedded (data:) images
    assert page.requests[0] == page.url
    assert all(url == page.url or url.startswith("data:image/png;base64,")
               for url in page.requests), [u[:80] for u in page.requests]


def test_the_screenshot_shows_the_whole_page(page):
    data = page.screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 1000 and height > 5000  # the full page, not one viewport
    assert page.title.startswith("latentlab:")


def test_the_report_names_no_commit(pipeline):
    md = (pipeline.root / "reports" / "report.md").read_text()
    assert "What changed" not in "".join(re.findall(r"^## .+$", md, flags=re.M))
    for head in (pipeline.steps["head_at_changes"], pipeline.run("git", "rev-parse", "HEAD")
                 .stdout.strip()):
        assert head[:7] not in md
    assert "HEAD when rendered" not in md and "identified by `dvc.lock`" in md


def test_what_changed_is_its_own_command_against_head(pipeline):
    head, text = pipeline.steps["head_at_changes"], pipeline.steps["changes"]
    # the sandbox's HEAD holds the repository's committed (full-params) metrics
    assert text.startswith("# What changed since the last commit\n")
    assert f"Against the metrics committed at `{head[:12]}`" in text
    assert re.search(r"\d+ values differ", text)
    assert (pipeline.root / "reports" / "changes.md").read_text() == text


def test_the_wrapped_repro_prints_what_changed_and_logs_it_to_the_parent(pipeline):
    written = pipeline.steps["changes_md_first"]
    assert written.startswith("# What changed since the last commit\n")
    assert written in pipeline.steps["first_output"]
    assert "reports/changes.md" not in pipeline.steps["git_status_first"]  # git-ignored
    (parent,) = pipeline.search_runs("tags.`latentlab.parent` = 'true' and "
                                     "attributes.run_name = 'dvc repro'")
    client = pipeline.mlflow_client()
    assert "report/changes.md" in {a.path for a in client.list_artifacts(parent.info.run_id,
                                                                         "report")}


def test_committing_the_results_reruns_nothing(pipeline):
    """The report reads no git state: committing moves HEAD, and nothing reruns."""
    before = (pipeline.root / "reports" / "report.html").read_bytes()
    pipeline.commit("results")
    assert pipeline.repro()[0] == set()
    assert (pipeline.root / "reports" / "report.html").read_bytes() == before
