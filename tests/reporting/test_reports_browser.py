"""The dashboard and a drift report in headless Chromium: no console error, no missing chart, nothing fetched.

Chromium is Debian's package; ``make test`` installs it (the ``chromium`` rule). Only where
apt-get does not exist is the test skipped. Screenshots go to the test's temporary folder, or
to ``DROPSCORE_SCREENSHOTS`` when that is set.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from shared.model import registered
from shared.reporting.dashboard import build_dashboard, local_path
from tests.headless_chromium import (
    CHART_PROBE,
    CLIPPED_TEXT_PROBE,
    VISIBLE_TEXT_PROBE,
    HeadlessChromium,
    chromium_binary,
)
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


# Numbers that can only be read one way. "1.234" and "1,234" are ambiguous and not counted.
# (a leading "0," or "0." is always a decimal mark: no number is grouped after a zero)
ENGLISH_STYLE = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+\.\d+|0\.\d+|\d+\.\d{1,2}|\d+\.\d{4,})(?![\w.,]*\d)")
SPANISH_STYLE = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:\.\d{3})+,\d+|0,\d+|\d+,\d{1,2}|\d+,\d{4,})(?![\w.,]*\d)")
NOT_NUMBERS = re.compile(r"\S*(?:/|\\|\+src|\.csv|\.yaml|\.json|\.html|\.py)\S*|v?\d+\.\d+\.\d+\S*")


def number_styles(text: str) -> dict[str, list[str]]:
    """The unambiguous number tokens of each style in ``text`` (paths, versions and file names left out)."""
    words = NOT_NUMBERS.sub(" ", text)
    return {"en": sorted(set(ENGLISH_STYLE.findall(words))), "es": sorted(set(SPANISH_STYLE.findall(words)))}


def readability_problems(browser: HeadlessChromium, url: str, language: str) -> list[str]:
    """Text cut at an edge, and numbers written in the other language's style (or in both)."""
    browser.open(url)
    found = list(browser.evaluate(CLIPPED_TEXT_PROBE))
    styles = number_styles(browser.evaluate(VISIBLE_TEXT_PROBE))
    other = "en" if language == "es" else "es"
    if styles[other]:
        found.append(f"{other}-style numbers on a {language} page: {styles[other][:8]}")
    return found


def test_number_styles_tell_the_two_conventions_apart() -> None:
    assert number_styles("3.979 filas, 0,834 y 12,5 % el 5 dic 2026") == {"en": [], "es": ["0,834", "12,5"]}
    assert number_styles("2,000 rows at 0.83 and 1,234.5") == {"en": ["0.83", "1,234.5"], "es": []}
    assert number_styles("v1 code 0.1.0+src.abc file:///tmp/x_1.5.csv") == {"en": [], "es": []}


def test_reports_are_readable_in_both_languages(chromium: str, monitored_home, synthetic_files, tmp_path: Path) -> None:  # noqa: F811
    """Dashboard, drift report and model card: nothing cut at an edge, one number style per page; screenshots kept."""
    world = build_world(monitored_home, synthetic_files, tmp_path)
    dashboard = build_dashboard(monitored_home)
    folder = screenshot_folder(tmp_path)
    reports = Path(local_path(monitored_home.object_uri("reports", "drift/x"))).parent
    # the champion's model card, rendered from what the registry keeps (this world registers without `train`)
    from shared.backends import services
    from shared.reporting.model_card import model_cards

    champion = registered.load(services.registry(monitored_home), "champion")
    card_folder = tmp_path / "cards"
    card_folder.mkdir()
    for file_name, content in model_cards(dict(champion.meta), champion.contract, champion.version).items():
        (card_folder / file_name).write_text(content, encoding="utf-8")
    pages = {
        "dashboard": {language: Path(local_path(dashboard.uris[language])) for language in ("es", "en")},
        "drift_report": {language: reports / f"{world.drifted.check_id}.{language}.html" for language in ("es", "en")},
        "model_card": {language: card_folder / f"model_card.{language}.html" for language in ("es", "en")},
    }
    found = []
    with HeadlessChromium(chromium, width=1280) as browser:
        for name, by_language in pages.items():
            for language, path in by_language.items():
                found += [f"{name}.{language}: {problem}" for problem in readability_problems(browser, path.as_uri(), language)]
                browser.screenshot(folder / f"{name}.{language}.png")
        # a narrow laptop window: charts shrink with their card, nothing is cut
        browser.send("Emulation.setDeviceMetricsOverride", width=900, height=900, deviceScaleFactor=1, mobile=False)
        browser.width = 900
        found += [f"dashboard.es at 900 px: {problem}" for problem in readability_problems(browser, pages["dashboard"]["es"].as_uri(), "es")]
        browser.screenshot(folder / "dashboard.es.900px.png")
    assert found == []
    print(f"screenshots: {folder}")


def test_the_readability_checks_catch_a_cut_label_and_mixed_numbers(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html lang="es"><body><figure class="chart" data-chart="cut"><svg viewBox="0 0 100 40" width="100" height="40">'
        '<text x="90" y="20" data-role="legend">sensibilidad ≥ 0,65</text></svg></figure>'
        '<div style="width:60px;overflow:hidden;white-space:nowrap">mayor efecto (clave)</div><p>Filas: 2,000.5 y 0,834</p></body></html>',
        encoding="utf-8",
    )
    with HeadlessChromium(chromium) as browser:
        found = readability_problems(browser, page.as_uri(), "es")
    assert any("sensibilidad" in problem and "leaves the chart" in problem for problem in found), found
    assert any("mayor efecto" in problem and "is cut" in problem for problem in found), found
    assert any("en-style numbers" in problem and "2,000.5" in problem for problem in found), found
