"""The dashboard and a drift report in headless Chromium: no console error, no missing chart, nothing fetched.

Chromium is Debian's package; ``make test`` installs it (the ``chromium`` rule). Only where
apt-get does not exist is the test skipped. Screenshots go to the test's temporary folder, or
to ``DROPSCORE_SCREENSHOTS`` when that is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from shared.dashboard import build_dashboard, local_path
from tests.headless_chromium import CHART_PROBE, HeadlessChromium, chromium_binary
from tests.monitoring_world import build_world, monitored_home, trained_champion  # noqa: F401

pytestmark = pytest.mark.browser

DASHBOARD_CHARTS = {"rows_by_period", "positive_rate", "performance", "drift_trend", "model_timeline", "feature_importance", "labels_pie"}
DRIFT_REPORT_CHARTS = {"score", "feature:ventas_mensuales:numeric", "trend:ventas_mensuales:numeric", "feature:sector:categorical", "mini:ventas_mensuales:numeric"}


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        if shutil.which("apt-get") is None:
            pytest.skip("Debian's chromium is not installed and apt-get is not available to install it")
        pytest.fail("chromium is not installed: `make chromium` (run by `make test`) installs Debian's package")
    return binary


# Read at import: the suite's isolation fixture clears DROPSCORE_* variables before each test.
SCREENSHOTS = os.environ.get("DROPSCORE_SCREENSHOTS")


def screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(SCREENSHOTS or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def problems(browser: HeadlessChromium, url: str, expected_charts: set[str]) -> list[str]:
    """Everything a person would notice: console errors, charts missing or empty, outside requests."""
    errors_before, requests_before = len(browser.console_errors), len(browser.requests)
    browser.open(url)
    found = []
    figures = browser.evaluate(CHART_PROBE)
    names = {figure["name"] for figure in figures}
    found += [f"missing chart {name}" for name in sorted(expected_charts - names)]
    found += [f"empty chart {f['name']} ({f['marks']} marks, {f['width']:.0f}x{f['height']:.0f})" for f in figures if not f["marks"] or f["width"] < 20 or f["height"] < 20]
    found += browser.console_errors[errors_before:]
    found += [f"fetched {request}" for request in browser.requests[requests_before:] if not request.startswith(("file:", "data:"))]
    return found


def test_dashboard_and_drift_report_render_cleanly(chromium: str, monitored_home, synthetic_files, tmp_path: Path) -> None:  # noqa: F811
    world = build_world(monitored_home, synthetic_files, tmp_path)
    dashboard = build_dashboard(monitored_home)
    report = local_path(world.drifted.report_html)
    assert dashboard.path and report
    folder = screenshot_folder(tmp_path)
    with HeadlessChromium(chromium) as browser:
        assert problems(browser, Path(dashboard.path).as_uri(), DASHBOARD_CHARTS) == []
        title = browser.evaluate("document.querySelector('header h1').textContent")
        kpis = browser.evaluate("Array.from(document.querySelectorAll('.kpi b')).map(b => b.textContent)")
        banner = browser.evaluate("document.querySelector('#drift .banner').className")
        rows = browser.evaluate("document.querySelectorAll('table[data-table=recent] tbody tr').length")
        shot = browser.screenshot(folder / "dashboard.png")
        assert problems(browser, Path(report).as_uri(), DRIFT_REPORT_CHARTS) == []
        headline = browser.evaluate("document.querySelector('.banner').textContent")
        browser.screenshot(folder / "drift_report.png")
        assert problems(browser, Path(local_path(dashboard.uris["en"])).as_uri(), DASHBOARD_CHARTS) == []
    assert title.startswith("Tablero del modelo")
    assert kpis[0] == "4" and kpis[-1] == "v1"
    assert banner == "banner retrain" and rows == 20
    assert headline.startswith("Reentrenar.") and "ventas_mensuales" in headline
    assert shot.stat().st_size > 50_000, "a full page, not a blank one"
    print(f"screenshots: {folder}")


def test_the_checks_catch_a_console_error_and_a_missing_chart(chromium: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html><body><figure class="chart" data-chart="empty"><svg width="200" height="100"></svg></figure>'
        '<script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    with HeadlessChromium(chromium) as browser:
        found = problems(browser, broken.as_uri(), {"empty", "pie"})
    assert "missing chart pie" in found
    assert any(problem.startswith("empty chart empty") for problem in found)
    assert any("boom" in problem for problem in found)
