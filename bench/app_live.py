"""(f) One tab training live in Chromium: the stream against the polling fallback.

The same headless Chromium page setup on two servers of this checkout: the live stream (the
default) and the polling fallback (``DEQNET_LIVE=ticks``: the panel's Streamlit elements redrawn
by fragment reruns). Runs are interleaved (stream, ticks, stream, ...), each on a server started
for it and stopped after it: one server at a time beside the one Chromium, which already share
the machine's two cores.

In the page, once per animation frame from the Train click on (a capture-phase click listener
times it): the Step text (stream: ``[data-metric=step]`` of the live panel; ticks: the "Step"
``st.metric``), the test accuracy shown (``[data-metric=test-accuracy]`` / "Test accuracy"), and
whether the boundary's plot area shows its shading. A frame is *blank* when it does not:

- stream: the panel paints the shading on a ``<canvas class="deqnet-shading">`` under the
  Plotly chart in ``.deqnet-live-panel [data-chart=boundary]``; blank = no such canvas, one of
  zero size, or one whose pixel at the centre of the plot area is transparent (the shading
  covers the whole plot area, so a painted canvas is opaque there);
- ticks: the shading is the Plotly heatmap (an ``<image>`` in the chart's heatmap layer) of the
  ``st.plotly_chart`` keyed ``pg_boundary``; blank = no such chart, one of zero height, or no
  image with a picture in it.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench.common import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    by_key,
    running_app,
    wait_for_app,
)

TITLE = "(f) One tab training live in Chromium: the stream vs polling (DEQNET_LIVE=ticks)"
# Server environment per live panel; "stream" is the default, named so that no DEQNET_LIVE of
# the shell running the bench can change it.
MODES = {"stream": {"DEQNET_LIVE": "stream"}, "ticks": {"DEQNET_LIVE": "ticks"}}
# The panel is ready to train: its stream is open, or the polled boundary chart is drawn.
READY = {
    "stream": ".deqnet-live-panel[data-stream=open]",
    "ticks": ".st-key-pg_boundary .js-plotly-plot .main-svg",
}
WARMUP_MS = 1000  # Step updates are counted from this long after the click
LINK = "budget=2000"  # the default setup; one tab alone trains past 95 % within a few seconds

# window.__probe, from the Train click on: `updates` [performance.now()] of the Step text's
# changes, `reached` the first time the test accuracy shown is >= 95 %, `frames` animation
# frames sampled and `blank` how many of them showed no shading (see the module docstring).
PROBE = """(stream) => {
  const p = window.__probe = {clicked: null, updates: [], reached: null, frames: 0, blank: 0};
  const labels = {step: 'Step', 'test-accuracy': 'Test accuracy'};
  const value = (name) => {
    if (stream) {
      return document.querySelector(`.deqnet-live-panel [data-metric="${name}"]`)?.textContent;
    }
    const box = [...document.querySelectorAll('[data-testid="stMetric"]')].find((m) =>
      m.querySelector('[data-testid="stMetricLabel"]')?.innerText.trim() === labels[name]);
    return box?.querySelector('[data-testid="stMetricValue"]')?.innerText;
  };
  const canvasShaded = () => {
    const chart = document.querySelector('.deqnet-live-panel [data-chart=boundary]');
    const canvas = chart?.querySelector('canvas.deqnet-shading');
    const layout = chart?._fullLayout;
    if (!canvas || !canvas.width || !canvas.height || !canvas.clientWidth || !layout) {
      return false;
    }
    const ratio = canvas.width / canvas.clientWidth;
    const x = (layout.xaxis._offset + layout.xaxis._length / 2) * ratio;
    const y = (layout.yaxis._offset + layout.yaxis._length / 2) * ratio;
    const pixel = canvas.getContext('2d').getImageData(Math.floor(x), Math.floor(y), 1, 1);
    return pixel.data[3] > 0;
  };
  const heatmapShaded = () => {
    const chart = document.querySelector('.st-key-pg_boundary .js-plotly-plot');
    if (!chart || chart.getBoundingClientRect().height === 0) return false;
    return [...chart.querySelectorAll('.heatmaplayer image, .imagelayer image')]
      .some((image) => image.href.baseVal.length > 0);
  };
  const shaded = stream ? canvasShaded : heatmapShaded;
  document.addEventListener('click', (event) => {
    if (p.clicked === null && event.target.closest('.st-key-pg_train')) {
      p.clicked = performance.now();
    }
  }, true);
  let last = value('step');
  const sample = (now) => {
    if (p.clicked !== null) {
      const step = value('step');
      if (step !== last) { last = step; p.updates.push(now); }
      if (p.reached === null && parseFloat(value('test-accuracy')) >= 95) p.reached = now;
      p.frames += 1;
      if (!shaded()) p.blank += 1;
    }
    requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}"""


def _one_run(page: Page, url: str, mode: str, seconds: float) -> dict[str, float]:
    """Train for ``seconds`` in ``page``: Step updates per second on screen (after the first
    second, until the last update), seconds from the click to 95 % shown (nan: not within the
    run), and the share of sampled frames that were blank."""
    page.goto(f"{url}/?{LINK}")
    wait_for_app(page)
    page.wait_for_selector(READY[mode], state="attached", timeout=60_000)
    page.evaluate(PROBE, mode == "stream")
    by_key(page, "pg_train").get_by_role("button").click()
    page.wait_for_timeout(1000 * seconds)
    probe = page.evaluate("window.__probe")
    clicked, reached = probe["clicked"], probe["reached"]
    assert clicked is not None, "the page saw no click on Train"
    updates = [t for t in probe["updates"] if t > clicked + WARMUP_MS]
    span = (updates[-1] - clicked - WARMUP_MS) / 1000 if updates else 0.0
    return {
        "updates": len(updates) / span if span > 0 else 0.0,
        "to_95": (reached - clicked) / 1000 if reached is not None else math.nan,
        "blank": probe["blank"] / max(probe["frames"], 1),
    }


def run(quick: bool) -> Table:
    """Table (f): ``repeats`` interleaved runs per live panel, their medians."""
    repeats, seconds = (1, 4.0) if quick else (3, 10.0)
    load_start = os.getloadavg()[0]
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeats):
            for mode, env in MODES.items():
                with running_app(env) as url:
                    context = browser.new_context(viewport=VIEWPORT)
                    results[mode].append(_one_run(context.new_page(), url, mode, seconds))
                    context.close()
        browser.close()
    table = Table(
        TITLE,
        [
            "live panel",
            "Step updates / s on screen (median, min–max)",
            "Train → ≥ 95 % test accuracy shown (median)",
            "frames with a blank boundary (median)",
        ],
    )
    for mode, runs in results.items():
        updates = [r["updates"] for r in runs]
        table.rows.append(
            [
                mode,
                f"{statistics.median(updates):.1f} ({min(updates):.1f}–{max(updates):.1f})",
                _to_95([r["to_95"] for r in runs]),
                f"{statistics.median(r['blank'] for r in runs):.1%}",
            ]
        )
    table.notes = [
        f"Default setup with ?{LINK}; {repeats} runs per panel of {seconds:.0f} s from the Train "
        "click, interleaved, each on a fresh server. Step updates are counted from 1 s after the "
        "click to the last one; a frame is blank when the boundary's plot area shows no shading "
        "(stream: the shading canvas missing or transparent at the plot's centre; ticks: no "
        "heatmap image in the Plotly chart). Load average (1 min) "
        f"{load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.",
    ]
    return table


def _to_95(seconds: list[float]) -> str:
    """The median of the runs that showed 95 %, and how many did not (nan) if any."""
    reached = [s for s in seconds if not math.isnan(s)]
    text = f"{statistics.median(reached):.2f} s" if reached else "never"
    missed = len(seconds) - len(reached)
    return f"{text} ({missed} of {len(seconds)} runs never)" if reached and missed else text
