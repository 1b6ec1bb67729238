"""Each dashboard in a real headless chromium: charts render with data, the page logs no
errors, hostile text from the API stays text. Screenshots go to tests/artifacts/."""

import os
import shutil
from pathlib import Path

import pytest

from conftest import HOSTILE_TITLE

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        message = "Debian's chromium is not installed (make test installs it when it can: make browser)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def open_dashboard(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    problems, chart_rows = [], {}
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))

    def record(response):
        if ".json?sql=" in response.url:
            chart_rows[response.url] = len(response.json().get("rows", [])) if response.ok else -response.status

    page.on("response", record)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page, problems, chart_rows


@pytest.mark.parametrize("slug", ["overview", "meeting", "health"])
def test_dashboard_renders_every_chart_with_data(served, browser, slug):
    from test_viewer import DASHBOARDS
    charts = DASHBOARDS[slug]["charts"]
    page, problems, chart_rows = open_dashboard(browser, f"{served.viewer_url}/-/dashboards/{slug}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{slug}.png"), full_page=True)
    assert problems == []
    assert len(chart_rows) == len(charts)  # one data request per chart, each answered
    assert [url for url, rows in chart_rows.items() if rows <= 0] == []
    for chart_slug, chart in charts.items():
        card = page.locator(f"#chart-{chart_slug}")
        if chart["library"] in ("vega", "vega-lite"):
            assert card.locator("svg, canvas").count() >= 1, chart_slug
        elif chart["library"] == "metric":
            assert card.inner_text().strip(), chart_slug
        elif chart["library"] == "table":
            assert card.locator("tbody tr").count() >= 1, chart_slug
    if slug == "health":   # the revoked second organisation is named where a person looks first
        assert page.locator("#chart-reauth").inner_text().strip().endswith("LOGIN NEEDED: emea")
    page.close()


def test_hostile_text_from_the_api_is_shown_not_run(served, browser):
    meeting = served.sql("select id from meetings where title = ?", HOSTILE_TITLE)[0][0]
    page, problems, _ = open_dashboard(browser, f"{served.viewer_url}/-/dashboards/meeting?meeting={meeting}")
    assert problems == []
    assert page.evaluate("window.__pwned") is None
    assert HOSTILE_TITLE in page.locator("#chart-meeting-facts").inner_text()
    table = browser.new_page()
    table.goto(f"{served.viewer_url}/meetq/meetings?title__startswith=%3Cimg")
    assert table.evaluate("window.__pwned") is None and table.locator("td.col-title").count() == 1
    page.close()
    table.close()
