"""(f) One tab training live in Chromium: the in-place component vs plain ``st.plotly_chart``.

Two servers on this machine, one per chart path (``DEQNET_LIVE_CHARTS``), each driven by a
fresh headless Chromium page, runs interleaved (component, Plotly, component, ...). Browser and
server share the two cores, as in the issue's measurements.

``python -m bench --before REV`` runs this table alone with a third server: the app as it was at git
revision ``REV`` (checked out in a temporary worktree), for a side-by-side run with an older
live loop that is not switchable any more (0628181: ticks that trained in the browser's rerun
and redrew every chart with ``st.plotly_chart``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench.common import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser.conftest import CHROMIUM, CHROMIUM_ARGS, running_app, wait_for_app  # noqa: E402

TITLE = "(f) One tab training live in Chromium: Step updates per second, time to 95 %, remounts"
PATHS = {"component": {}, "st.plotly_chart": {"DEQNET_LIVE_CHARTS": "plotly"}}

# In the page, from the moment Train is pressed: Step changes [time, text], the time the Test
# accuracy first reads >= 95 %, and per animation frame whether the boundary chart is the same
# DOM node as in the frame before (a re-created or missing node counts as a remount / a blank).
PROBE = """() => {
  window.__probe = {ticks: [], reached: null, remounts: 0, blank: 0, frames: 0};
  const p = window.__probe;
  const value = (label) => {
    const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find((e) => e.querySelector('[data-testid="stMetricLabel"]')?.innerText.trim() === label);
    return m ? m.querySelector('[data-testid="stMetricValue"]').innerText : null;
  };
  let last = value('Step');
  let node = null;
  const frame = () => {
    const now = value('Step');
    if (now !== last) { last = now; p.ticks.push([performance.now(), now]); }
    if (p.reached === null && parseFloat(value('Test accuracy')) >= 95) {
      p.reached = performance.now();
    }
    const chart = document.querySelector('.st-key-pg_boundary .js-plotly-plot');
    p.frames += 1;
    if (!chart || !chart.querySelector('.main-svg')) p.blank += 1;
    else if (node !== null && chart !== node) p.remounts += 1;
    node = chart ?? node;
    requestAnimationFrame(frame);
  };
  p.start = performance.now();
  requestAnimationFrame(frame);
}"""


def _one_run(page: Page, url: str, seconds: float, query: str) -> dict[str, float]:
    page.goto(f"{url}/?{query}")
    wait_for_app(page)
    page.wait_for_selector(".st-key-pg_boundary .js-plotly-plot .main-svg", timeout=60_000)
    page.evaluate(PROBE)
    page.locator(".st-key-pg_train button").click()
    page.wait_for_timeout(1000 * seconds)
    probe = page.evaluate("window.__probe")
    start = probe["start"]
    ticks = [t for t, _ in probe["ticks"] if t - start > 1000]  # after a second of training
    window = (probe["ticks"][-1][0] - start) / 1000 - 1 if ticks else seconds
    return {
        "updates": len(ticks) / max(window, 1e-9),
        "to_95": (probe["reached"] - start) / 1000 if probe["reached"] else float("nan"),
        "remounts": probe["remounts"],
        "blank": probe["blank"] / max(probe["frames"], 1),
    }


@contextmanager
def _checkout(revision: str) -> Iterator[Path]:
    """A temporary git worktree of this repository at ``revision`` (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="deqnet-before-") as parent:
        tree = Path(parent) / "app"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", str(tree), revision], check=True)
        try:
            yield tree
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)


def run(quick: bool, before: str | None = None) -> Table:
    """Table (f); with ``before``, one more row: the app at that git revision."""
    repeats, seconds = (1, 4.0) if quick else (3, 10.0)
    query = "n=64&budget=5000" if quick else "budget=5000"
    names = [*PATHS, *([f"before: {before}"] if before else [])]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    with ExitStack() as stack, sync_playwright() as playwright:
        urls = {name: stack.enter_context(running_app(env)) for name, env in PATHS.items()}
        if before:
            tree = stack.enter_context(_checkout(before))
            # Its own packages first: the old app must not import this checkout's deqnet.
            old = running_app({"PYTHONPATH": str(tree)}, root=tree)
            urls[names[-1]] = stack.enter_context(old)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeats):
            for name, url in urls.items():
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                results[name].append(_one_run(context.new_page(), url, seconds, query))
                context.close()
        browser.close()
    table = Table(
        TITLE,
        [
            "live charts",
            "Step updates / s (median, min–max)",
            "Train → ≥ 95 % on screen (median)",
            "boundary remounts during training",
            "frames with no boundary chart",
        ],
    )
    for name, runs in results.items():
        updates = [r["updates"] for r in runs]
        table.rows.append(
            [
                name,
                f"{statistics.median(updates):.1f} ({min(updates):.1f}–{max(updates):.1f})",
                f"{statistics.median(r['to_95'] for r in runs):.2f} s",
                f"{statistics.median(r['remounts'] for r in runs):.0f}",
                f"{statistics.median(r['blank'] for r in runs):.0%}",
            ]
        )
    table.notes = [
        f"Defaults with the step budget raised to 5000; {repeats} runs per path of "
        f"{seconds:.0f} s each, interleaved; updates are counted after the first second. "
        f"Remounts: animation frames in which the boundary's Plotly node was another one than "
        "in the frame before; no chart: frames in which it was missing or empty (a blank). "
        f"Load average when done: {_load()}.",
    ]
    if before:
        table.notes.append(
            f"before: {before} = the app at git revision {before}, served from a temporary "
            "worktree in the same runs (python -m bench --before REV)."
        )
    return table


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())
