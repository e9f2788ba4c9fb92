"""Live training in a real browser: the streamed panel, Pause, a closed tab, the fallbacks.

Run with ``.venv/bin/python -m pytest -q -s tests/browser/test_playground_live_browser.py``.
Screenshots (artifacts/playground-live-*.png) are taken mid-training.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    ARTIFACTS,
    by_key,
    free_port,
    new_train_log,
    running_app,
    screenshot,
    start_streamlit,
    stop_streamlit,
    wait_for_app,
)
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

LINK = "/?budget=5000"  # a budget no test exhausts: training runs until Pause or close
PANEL = ".deqnet-live-panel"
BOUNDARY = f"{PANEL} [data-chart=boundary]"
CANVAS = f"{BOUNDARY} canvas.deqnet-shading"
FRAMES = f"() => Number(document.querySelector('{PANEL}')?.dataset.frames ?? 0)"
STEP = "() => document.querySelector('[data-metric=step]')?.textContent ?? ''"
X_RANGE = f"() => document.querySelector('{BOUNDARY}')._fullLayout.xaxis.range.slice()"
# Distinct Step texts seen on screen in one second, sampled at every animation frame.
STEP_CHANGES = """() => new Promise((resolve) => {
  const node = document.querySelector('[data-metric=step]');
  let last = node.textContent, changes = 0;
  const start = performance.now();
  const look = () => {
    if (node.textContent !== last) { changes += 1; last = node.textContent; }
    if (performance.now() - start < 1000) requestAnimationFrame(look); else resolve(changes);
  };
  requestAnimationFrame(look);
})"""


@pytest.fixture(scope="module")
def train_log() -> Path:
    return new_train_log("train")


@pytest.fixture(scope="module")
def live_server(train_log: Path) -> Iterator[str]:
    with running_app({"DEQNET_TRAIN_LOG": str(train_log)}) as url:
        yield url


def _steps(page: Page) -> int:
    """The streamed Step metric's count ("12 / 5000" -> 12)."""
    return int(page.evaluate(STEP).split("/")[0])


def _open(page: Page, url: str) -> None:
    page.goto(url + LINK)
    wait_for_app(page)
    page.wait_for_function(
        f"() => document.querySelector('{BOUNDARY}')?._fullLayout", timeout=60_000
    )
    page.wait_for_function(
        f"() => document.querySelector('{PANEL}').dataset.stream === 'open'", timeout=30_000
    )


def _train(page: Page) -> None:
    by_key(page, "pg_train").get_by_role("button").click()
    page.wait_for_function(f"({FRAMES})() >= 5 && ({STEP})().split('/')[0].trim() !== '0'")


def _zoom_in(page: Page) -> list[float]:
    """Drag a zoom box over the middle of the boundary plot, as a user does; the new x range."""
    before = page.evaluate(X_RANGE)
    box = page.locator(f"{BOUNDARY} .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.6 * box["height"], steps=8)
    page.mouse.up()
    page.wait_for_function(f"({X_RANGE})()[0] !== {before[0]}", timeout=10_000)
    return page.evaluate(X_RANGE)


def test_the_stream_updates_in_place_at_display_rate_keeps_the_zoom_and_pause_stops_it(
    live_server: str, page: Page
) -> None:
    _open(page, live_server)
    page.evaluate(f"() => {{ document.querySelector('{CANVAS}').__original = true; }}")
    _train(page)
    zoom = _zoom_in(page)
    rates = [page.evaluate(STEP_CHANGES) for _ in range(3)]
    start = page.evaluate(FRAMES)
    page.wait_for_function(f"({FRAMES})() >= {start + 50}", timeout=60_000)
    screenshot(page, "playground-live-training")
    assert max(rates) >= 20, f"Step changed only {rates} times a second on screen"
    same_canvas = page.evaluate(f"() => document.querySelector('{CANVAS}').__original === true")
    assert same_canvas, "the boundary's canvas was re-created during training"
    assert page.evaluate(X_RANGE) == pytest.approx(zoom), "training reset the user's zoom"
    # The curves follow the training: their step axis reaches a step shown a second ago.
    shown = _steps(page)
    page.wait_for_function(
        f"() => document.querySelector('{PANEL} [data-chart=curves]')"
        f"._fullLayout.xaxis.range[1] >= {shown}",
        timeout=10_000,
    )
    # The metrics row is the streamed one, and it says what the trainer does.
    expect(page.locator(f"{PANEL} [data-status]")).to_contain_text("Training… step")
    for name in ("train-accuracy", "test-accuracy", "loss", "nfe", "ms-per-step"):
        expect(page.locator(f"[data-metric={name}]")).not_to_have_text("–")

    by_key(page, "pg_train").get_by_role("button").click()  # Pause
    expect(by_key(page, "pg_train")).to_contain_text("Train", timeout=30_000)
    wait_for_app(page)
    page.wait_for_timeout(500)
    paused_step, paused_frames = _steps(page), page.evaluate(FRAMES)
    page.wait_for_timeout(2000)
    assert _steps(page) == paused_step
    assert page.evaluate(FRAMES) == paused_frames
    expect(page.locator(f"{PANEL} [data-status]")).to_contain_text(f"Paused at step {paused_step}")
    screenshot(page, "playground-live-paused")


def test_a_closed_tab_stops_training_on_the_server_within_a_second(
    live_server: str, browser: Browser, train_log: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _open(page, live_server)
    _train(page)
    context.close()
    closed = time.time()
    time.sleep(3)
    rounds = [float(line.split(",")[0]) for line in train_log.read_text().splitlines()]
    assert any(t < closed for t in rounds), "the server never trained this tab"
    after = [t for t in rounds if t > closed + 1]
    assert not after, f"{len(after)} training rounds more than 1 s after the tab closed"


def _assert_polling_trains(page: Page) -> None:
    """The polling fallback: Streamlit's own metrics and charts, updated by page ticks."""
    by_key(page, "pg_train").get_by_role("button").click()
    fresh = page.locator("[data-testid='stElementContainer']:not([data-stale='true'])")
    metric = fresh.get_by_test_id("stMetric").filter(has=page.get_by_text("Step", exact=True))
    deadline = time.monotonic() + 60
    while int(metric.first.get_by_test_id("stMetricValue").inner_text().split("/")[0]) < 10:
        assert time.monotonic() < deadline, "training did not show progress"
        page.wait_for_timeout(200)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(3)
    expect(page.locator(PANEL)).to_have_count(0)


def test_a_browser_whose_socket_cannot_open_falls_back_to_polling(
    live_server: str, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        # As a proxy that strips websocket upgrades: the stream's socket never opens.
        page.route_web_socket("**/_deq/live", lambda ws: ws.close(code=1011))
        page.goto(live_server + LINK)
        expect(page.get_by_text("The live stream could not start")).to_be_visible(timeout=60_000)
        wait_for_app(page)
        _assert_polling_trains(page)
        screenshot(page, "playground-live-fallback")
    finally:
        context.close()


def test_after_a_server_restart_the_panel_reconnects_and_trains(browser: Browser) -> None:
    port = free_port()
    log = ARTIFACTS / f"streamlit-restart-{port}.log"
    server = start_streamlit(port, log)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        _open(page, f"http://127.0.0.1:{port}")
        stop_streamlit(server)
        page.wait_for_function(
            f"() => document.querySelector('{PANEL}')?.dataset.stream !== 'open'", timeout=30_000
        )
        server = start_streamlit(port, log)
        page.wait_for_function(
            f"() => document.querySelector('{PANEL}')?.dataset.stream === 'open'", timeout=90_000
        )
        wait_for_app(page)
        _train(page)
        assert _steps(page) > 0
    finally:
        context.close()
        stop_streamlit(server)


def test_under_a_base_url_path_the_stream_follows_the_pages_address(browser: Browser) -> None:
    port = free_port()
    log = ARTIFACTS / f"streamlit-base-{port}.log"
    server = start_streamlit(port, log, options=["--server.baseUrlPath", "deq"], base_path="deq")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        _open(page, f"http://127.0.0.1:{port}/deq")  # the stream opens: /deq/_deq/live
        _train(page)
        expect(page.get_by_text("The live stream could not start")).to_have_count(0)
    finally:
        context.close()
        stop_streamlit(server)
