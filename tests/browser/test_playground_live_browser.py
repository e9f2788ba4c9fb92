"""Live training in a real browser: charts that update in place, Pause, a closed tab, the switch.

Run with ``.venv/bin/python -m pytest -q -s tests/browser/test_playground_live_browser.py``.
Screenshots (artifacts/playground-live-*.png) are taken mid-training.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ARTIFACTS, by_key, running_app, screenshot, wait_for_app
from playwright.sync_api import Browser, Page, expect
from ui.class_trainer import WATCH_SECONDS

pytestmark = pytest.mark.browser

LINK = "/?budget=5000"  # a budget no test exhausts: training runs until Pause or close
CHART = ".st-key-pg_boundary .deqnet-live-chart"
UPDATES = f"() => Number(document.querySelector('{CHART}')?.dataset.updates ?? 0)"
X_RANGE = f"() => document.querySelector('{CHART}')._fullLayout.xaxis.range.slice()"


@pytest.fixture(scope="module")
def train_log() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"train-{time.monotonic_ns()}.csv"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def live_server(train_log: Path) -> Iterator[str]:
    with running_app({"DEQNET_TRAIN_LOG": str(train_log)}) as url:
        yield url


def _step(page: Page) -> int:
    """The Step metric's count ("12 / 5000" -> 12)."""
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_text("Step", exact=True)).first
    return int(box.get_by_test_id("stMetricValue").inner_text().split("/")[0])


def _open(page: Page, url: str) -> None:
    page.goto(url + LINK)
    wait_for_app(page)
    expect(page.locator(CHART)).to_have_count(1, timeout=60_000)
    page.wait_for_function(f"() => document.querySelector('{CHART}')?._fullLayout", timeout=60_000)


def _zoom_in(page: Page) -> list[float]:
    """Drag a zoom box over the middle of the boundary plot, as a user does; the new x range."""
    before = page.evaluate(X_RANGE)
    box = page.locator(f"{CHART} .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.6 * box["height"], steps=8)
    page.mouse.up()
    page.wait_for_function(f"({X_RANGE})()[0] !== {before[0]}", timeout=10_000)
    return page.evaluate(X_RANGE)


def test_the_boundary_updates_in_place_keeps_the_zoom_and_pause_stops_it(
    live_server: str, page: Page
) -> None:
    _open(page, live_server)
    by_key(page, "pg_train").get_by_role("button").click()
    page.wait_for_function(f"({UPDATES})() >= 2", timeout=60_000)
    page.evaluate(f"() => {{ document.querySelector('{CHART}').__original = true; }}")
    zoom = _zoom_in(page)
    start = page.evaluate(UPDATES)
    page.wait_for_function(f"({UPDATES})() >= {start + 20}", timeout=120_000)
    screenshot(page, "playground-live-training")
    same_node = page.evaluate(
        f"() => document.querySelector('{CHART}').__original === true"
        f" && document.querySelector('{CHART}').isConnected"
    )
    assert same_node, "the boundary chart was re-created during training"
    assert page.evaluate(X_RANGE) == pytest.approx(zoom), "training reset the user's zoom"
    # The shading canvas follows the zoom: it is painted under Plotly's (transparent) layers.
    expect(page.locator(f"{CHART} canvas.deqnet-shading")).to_have_count(1)

    by_key(page, "pg_train").get_by_role("button").click()  # Pause
    expect(by_key(page, "pg_train")).to_contain_text("Train", timeout=30_000)
    wait_for_app(page)
    paused_step, paused_updates = _step(page), page.evaluate(UPDATES)
    page.wait_for_timeout(2000)
    assert _step(page) == paused_step
    assert page.evaluate(UPDATES) == paused_updates
    screenshot(page, "playground-live-paused")


def test_a_closed_tab_stops_training_on_the_server(
    live_server: str, browser: Browser, train_log: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _open(page, live_server)
    by_key(page, "pg_train").get_by_role("button").click()
    page.wait_for_function(f"({UPDATES})() >= 5", timeout=60_000)
    context.close()
    closed = time.time()
    time.sleep(WATCH_SECONDS + 3)
    rounds = [float(line.split(",")[0]) for line in train_log.read_text().splitlines()]
    assert any(t < closed for t in rounds), "the server never trained this tab"
    after = [t for t in rounds if t > closed + WATCH_SECONDS + 1]
    assert not after, f"{len(after)} training rounds more than {WATCH_SECONDS + 1} s after close"


def test_with_the_component_switched_off_the_charts_are_plotly_charts(browser: Browser) -> None:
    with running_app({"DEQNET_LIVE_CHARTS": "plotly"}) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            page.goto(url + LINK)
            wait_for_app(page)
            by_key(page, "pg_train").get_by_role("button").click()
            deadline = time.monotonic() + 60
            while _step(page) < 10:
                assert time.monotonic() < deadline, "training did not show progress"
                page.wait_for_timeout(200)
            expect(page.get_by_test_id("stPlotlyChart")).to_have_count(3)
            expect(page.locator(".deqnet-live-chart")).to_have_count(0)
            screenshot(page, "playground-live-plotly-path")
        finally:
            context.close()
