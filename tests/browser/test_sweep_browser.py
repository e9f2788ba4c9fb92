"""The Sweep page in a real browser: a small sweep renders, a click on a heatmap picks a cell,
and "Open in Playground" loads that cell's settings into the sidebar.

Run with ``.venv/bin/python -m pytest -q -m browser tests/browser/test_sweep_browser.py``.
Saves artifacts/sweep.png.
"""

from __future__ import annotations

import re

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 120_000  # server warm-up on a busy box
SWEEP_TIMEOUT_MS = 300_000  # 4 cells x 100 steps on 45 points, then the pictures

# Page coordinates of the centre of heatmap cell (row, col) in the first panel of chart 0.
CELL_CENTRE = """([row, col]) => {
    const plot = document.querySelectorAll('.js-plotly-plot')[0];
    const box = plot.getBoundingClientRect();
    const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
    return {x: box.left + xa._offset + xa.l2p(col), y: box.top + ya._offset + ya.l2p(row)};
}"""


def _type(page: Page, key: str, text: str) -> None:
    field = by_key(page, key).locator("input")
    field.fill(text)
    field.press("Enter")
    wait_for_app(page)


def _choose(page: Page, key: str, option: str) -> None:
    by_key(page, key).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def test_a_small_sweep_renders_and_a_clicked_cell_opens_in_the_playground(
    app_server: str, page: Page
) -> None:
    page.goto(f"{app_server}/?n=64")
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    page.get_by_test_id("stSidebarNav").get_by_text("Sweep").click()
    expect(page).to_have_url(re.compile(r"/sweep"), timeout=LOAD_TIMEOUT_MS)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    sketch = page.get_by_text(re.compile(r"The grid to train: 12 cells, about \d+ s"))
    expect(sketch).to_be_visible()  # Model × Layers L, timed before Run
    _choose(page, "sweep_rows", "Learning rate")
    _choose(page, "sweep_cols", "Weight seed")
    _type(page, "sweep_values_lr", "0.01, 0.1")
    _type(page, "sweep_values_seed", "0, 1")
    expect(page.get_by_text("4 cells × 100 steps")).to_be_visible()

    by_key(page, "sweep_run").locator("button").click()
    expect(by_key(page, "sweep_open")).to_be_visible(timeout=SWEEP_TIMEOUT_MS)
    wait_for_app(page, timeout=SWEEP_TIMEOUT_MS)
    plots = page.locator(".js-plotly-plot")
    expect(plots).to_have_count(2)  # the heatmaps and the small multiples
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].every(p => p._fullLayout)"
    )
    panels = page.evaluate(
        "() => document.querySelectorAll('.js-plotly-plot')[1]._fullData"
        ".filter(t => t.type === 'heatmap').length"
    )
    assert panels == 4
    cell = by_key(page, "sweep_cell").locator("input")
    expect(cell).to_have_value("lr 0.01 · seed 0")

    centre = page.evaluate(CELL_CENTRE, [1, 1])
    page.mouse.click(centre["x"], centre["y"])
    expect(cell).to_have_value("lr 0.1 · seed 1", timeout=LOAD_TIMEOUT_MS)
    wait_for_app(page)
    screenshot(page, "sweep")

    by_key(page, "sweep_open").locator("button").click()
    expect(page).not_to_have_url(re.compile(r"/sweep"), timeout=LOAD_TIMEOUT_MS)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    expect(page.get_by_text("Opened the sweep cell lr 0.1 · seed 1")).to_be_visible()
    expect(by_key(page, "lr")).to_contain_text("0.1")
    expect(by_key(page, "seed").locator("input")).to_have_value("1")
    expect(by_key(page, "budget")).to_contain_text("100")
