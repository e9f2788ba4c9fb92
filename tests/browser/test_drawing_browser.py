"""The Playground's data-set thumbnails and drawn points in a real browser.

Run with ``.venv/bin/python -m pytest -q -s tests/browser/test_drawing_browser.py``.
Screenshots: artifacts/playground-drawing-*.png.
"""

from __future__ import annotations

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Browser, Page, expect

from deqnet.sharing import decode_points

pytestmark = pytest.mark.browser

PANEL = ".deqnet-live-panel"
BOUNDARY = f"{PANEL} [data-chart=boundary]"
NOTE = f"{PANEL} .dl-draw-note"
STEP = "() => parseInt(document.querySelector('[data-metric=step]')?.textContent ?? '0')"
# Every point the boundary chart draws, as sorted [x1, x2, trace name] (Plotly's own data).
POINTS = f"""() => {{
  const div = document.querySelector('{BOUNDARY}');
  const out = [];
  for (const t of div._fullData) {{
    if (!t.type.startsWith('scatter') || !t.x) continue;
    for (let i = 0; i < t.x.length; i += 1) out.push([t.x[i], t.y[i], t.name]);
  }}
  return out.sort();
}}"""
# Three empty corners of the plot (the data sits in its middle), as fractions of its box.
CORNERS = ((0.06, 0.06), (0.94, 0.06), (0.94, 0.94))


def _open(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.wait_for_function(
        f"() => document.querySelector('{BOUNDARY}')?._fullLayout", timeout=60_000
    )
    page.wait_for_function(
        f"() => document.querySelector('{PANEL}').dataset.stream === 'open'", timeout=30_000
    )


def _draw_three(page: Page, chosen: int) -> None:
    """Draw mode, class ``chosen``, three clicks into empty corners of the plot."""
    page.locator(f"{PANEL} .dl-draw-toggle").click()
    page.locator(f"{PANEL} [data-draw-class='{chosen}']").click()
    box = page.locator(f"{BOUNDARY} .nsewdrag").first.bounding_box()
    for fx, fy in CORNERS:
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def _link_points(page: Page):
    query = page.evaluate("() => new URLSearchParams(window.location.search).get('pts')")
    return decode_points(query)


def test_a_thumbnail_click_chooses_the_data_set_and_the_link(app_server: str, page: Page) -> None:
    _open(page, f"{app_server}/?n=100")
    expect(page.locator("[data-dataset=moons]")).to_have_attribute("aria-pressed", "true")
    page.locator("[data-dataset=xor]").click()
    page.wait_for_url("**dataset=xor**", timeout=30_000)
    expect(page.locator("[data-dataset=xor]")).to_have_attribute("aria-pressed", "true")
    expect(by_key(page, "dataset").get_by_role("combobox")).to_match_aria_snapshot(
        '- combobox "Dataset": Xor'
    )
    expect(page.get_by_text("The data changed")).to_be_visible()
    # The keyboard: a thumbnail is a real button.
    page.locator("[data-dataset=circles]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**dataset=circles**", timeout=30_000)
    expect(page.locator("[data-dataset=circles]")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "playground-drawing-thumbnails")


def test_three_clicks_add_three_points_of_the_chosen_class_and_training_uses_them(
    app_server: str, page: Page
) -> None:
    _open(page, f"{app_server}/?n=100&budget=5000")
    by_key(page, "pg_train").get_by_role("button").click()
    page.wait_for_function(f"({STEP})() >= 5", timeout=60_000)
    _draw_three(page, chosen=1)
    expect(page.locator(NOTE)).to_contain_text("103 points:", timeout=30_000)
    drawn = _link_points(page)
    assert len(drawn) == 103 and drawn.y[-3:].tolist() == [1, 1, 1]
    # The model was reset and trains on the 103 points: the step count starts again and grows.
    expect(page.locator(NOTE)).to_contain_text("training goes on")
    expect(page.locator(f"{PANEL} [data-status]")).to_contain_text("Training", timeout=30_000)
    page.wait_for_function(f"({STEP})() >= 20", timeout=60_000)
    shown = page.evaluate(POINTS)
    assert len(shown) == 103  # every drawn point is on the chart (test points as rings)
    assert sum(name.startswith("class 1") for *_, name in shown) == 53
    screenshot(page, "playground-drawing-training")


def test_a_drawn_sets_link_opened_elsewhere_shows_the_same_points(
    app_server: str, page: Page, browser: Browser
) -> None:
    _open(page, f"{app_server}/?n=60")
    _draw_three(page, chosen=0)
    expect(page.locator(NOTE)).to_contain_text("63 points:", timeout=30_000)
    page.wait_for_function(f"() => ({POINTS})().length === 63")
    link, points = page.url, page.evaluate(POINTS)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        other = context.new_page()
        _open(other, link)
        assert other.evaluate(POINTS) == points
        expect(other.locator(NOTE)).to_contain_text("63 points:")
        expect(other.get_by_text("Some settings in the link were changed")).to_have_count(0)
    finally:
        context.close()
