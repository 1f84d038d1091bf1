"""Issue 13: the report page in a real headless Chromium: every chart drawn, none blank, no
request beyond the file itself, and a printable page."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver import Chrome
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.report_page import report_html
from handlers.flows.loader import LoadedFlow
from handlers.ideas.report import Chart, Month, Report
from storage.report_queries import SqlReportSource
from tests.helpers.report_seed import seed_october

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# A chart whose picture is one colour (or nearly all background) was not drawn.
AT_LEAST_COLOURS = 8
AT_LEAST_INKED = 0.02


@pytest.fixture
def browser() -> Iterator[Chrome]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        # CI installs chromium (.ci/run): there a missing browser is a failure, not a skip.
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are required in CI")
        pytest.skip("chromium or chromedriver is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER)
    )
    try:
        yield driver
    finally:
        driver.quit()


def _requested(driver: Chrome) -> list[str]:
    """Every URL the page asked for, from Chromium's DevTools log."""
    urls = []
    # selenium leaves get_log untyped; its entries are dicts with a JSON "message".
    for entry in driver.get_log("performance"):  # type: ignore[no-untyped-call]
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _inked(png: bytes) -> tuple[int, float]:
    """How many colours the picture has, and the share of pixels that are not white."""
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    pixels: list[tuple[int, int, int]] = list(picture.get_flattened_data())  # type: ignore[arg-type]
    colours = len(set(pixels))
    inked = sum(1 for pixel in pixels if min(pixel) < 240) / len(pixels)
    return colours, inked


async def test_every_chart_renders_in_chromium_and_nothing_is_fetched(
    sqlite_sessions: async_sessionmaker[AsyncSession],
    shipped_flows: list[LoadedFlow],
    browser: Chrome,
    tmp_path: Path,
) -> None:
    await seed_october(sqlite_sessions, shipped_flows)
    data = await SqlReportSource(sqlite_sessions).gather(Month(2026, 10), timezone="UTC")
    page = tmp_path / "report.html"
    page.write_text(report_html(Report(data, timezone="UTC")), encoding="utf-8")

    browser.get(page.as_uri())
    figures = browser.find_elements("css selector", "figure.chart")
    assert [figure.get_attribute("id") for figure in figures] == [
        f"chart-{chart.value}" for chart in Chart
    ]
    for figure in figures:
        box = browser.execute_script(
            "const box = arguments[0].querySelector('svg').getBBox();"
            "return [box.width, box.height];",
            figure,
        )
        assert box[0] > 100, figure.get_attribute("id")
        assert box[1] > 100, figure.get_attribute("id")
        browser.execute_script("arguments[0].scrollIntoView();", figure)
        colours, inked = _inked(figure.screenshot_as_png)
        assert colours >= AT_LEAST_COLOURS, figure.get_attribute("id")
        assert inked >= AT_LEAST_INKED, figure.get_attribute("id")
    browser.save_screenshot(str(tmp_path / "report.png"))
    if os.environ.get("IDEABOT_KEEP_SCREENSHOT"):
        shutil.copy(tmp_path / "report.png", os.environ["IDEABOT_KEEP_SCREENSHOT"])
        shutil.copy(page, os.environ["IDEABOT_KEEP_SCREENSHOT"] + ".html")

    assert _requested(browser) == [page.as_uri()]
    # Printed, it is a real document of a few pages.
    printed = base64.b64decode(browser.print_page())
    assert printed.startswith(b"%PDF")
    assert len(printed) > 10_000
