"""Load and fault tests against ``streamlit run`` servers on 127.0.0.1 (bounded, self-stopping).

- A class: N sessions train at once on a server started here. Most are light protocol-level
  clients (tests/light_client.py: they send the rerun requests a tab sends and read the page
  the server draws), a few are real Chromium tabs: 20 Chromium pages on these 2 cores took most
  of the CPU last time and measured the browsers. Every session must make progress without an
  error, and the server must answer its health check within the Dockerfile's 5 s. Reported per
  class size: steps per second per session, the gap between a session's Step updates (p50,
  p95), the time from Train to a displayed test accuracy of at least 95 %, the slowest health
  check, the server's peak memory and cores used, and the Chromium tabs' on-screen update rate.
- Disconnect: sessions closed mid-training stop costing CPU within ``WATCH_SECONDS`` (the
  server's training log shows no more rounds), and the server drops them after
  ``server.disconnectedSessionTTL`` (5 s for that server; the others keep the default).
- Restart: a shared link trained to its step budget gives the same final metrics after the
  server restarts (nothing a link needs lives in server memory).

``make test`` runs one reduced class (4 sessions: 3 light, 1 Chromium; 12 s); ``make loadtest``
passes --full-load: classes of 1 (a Chromium tab), 8 (6 + 2) and 30 (28 + 2), 20 s each, and
prints the table for bench/RESULTS.md. Run with -s to see the numbers.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser import conftest as browser_kit
from browser.conftest import (
    ARTIFACTS,
    by_key,
    free_port,
    healthy,
    start_streamlit,
    stop_streamlit,
    wait_for_app,
)
from light_client import LightTab
from playwright.sync_api import Browser, Locator, Page, expect
from ui.class_trainer import WATCH_SECONDS

pytestmark = [pytest.mark.load, pytest.mark.browser]
browser = browser_kit.browser  # the browser tests' headless Chromium fixture, shared

SESSION_TTL = 5  # seconds; server.disconnectedSessionTTL of the disconnect test's server
START_SECONDS = 120
# A long step budget so training is still running when sampling ends.
LOAD_LINK = "budget=5000"
REPRO_LINK = "?n=128&noise=0.2&budget=30&dseed=7&seed=3"
TARGET_ACCURACY = 95.0

# In a Chromium page: records [time, text] whenever the Step metric's value changes, the time
# the Test accuracy metric first reads >= 95 %, and whether an exception box was ever shown.
RECORDER = """() => {
  window.__ticks = [];
  window.__reached = null;
  window.__exception = false;
  const value = (label) => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find((m) => m.querySelector('[data-testid="stMetricLabel"]')?.innerText.trim() === label);
    const shown = metric && metric.querySelector('[data-testid="stMetricValue"]');
    return shown ? shown.innerText : null;
  };
  let last = value('Step');
  new MutationObserver(() => {
    const now = value('Step');
    if (now !== null && now !== last) { last = now; window.__ticks.push([Date.now(), now]); }
    const accuracy = parseFloat(value('Test accuracy'));
    if (window.__reached === null && accuracy >= 95) { window.__reached = Date.now(); }
    if (document.querySelector('[data-testid="stException"]')) { window.__exception = true; }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
FINDINGS = """() => [window.__ticks, window.__reached,
  window.__exception || document.body.textContent.includes('Something went wrong')]"""


# --------------------------------------------------------------------------------------------
# A server we start, measure and stop
# --------------------------------------------------------------------------------------------


class Server:
    """``streamlit run app.py`` on a free loopback port; ``stop()`` ends it (also on failure)."""

    def __init__(self, name: str, *, session_ttl: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ARTIFACTS / f"load-{name}-{self.port}.log"
        self.train_log = ARTIFACTS / f"train-{name}-{self.port}.csv"
        ttl = [] if session_ttl is None else ["--server.disconnectedSessionTTL", str(session_ttl)]
        self.process = start_streamlit(
            self.port,
            self.log,
            options=ttl,
            env={"DEQNET_TRAIN_LOG": str(self.train_log)},
            start_seconds=START_SECONDS,
        )

    def health_seconds(self) -> float:
        """How long /_stcore/health takes to answer "ok" (what a load balancer polls)."""
        start = time.monotonic()
        assert healthy(self.url, timeout=30), "the server did not answer its health check"
        return time.monotonic() - start

    def status(self, field: str) -> int:
        """A /proc/<pid>/status field in kB (VmHWM: peak resident memory; VmRSS: now)."""
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metric(self, family: str) -> dict[str, float]:
        """Samples of one /_stcore/metrics family (OpenMetrics text): labels -> value."""
        url = f"{self.url}/_stcore/metrics?families={family}"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        out = {}
        for line in text.splitlines():
            match = re.match(rf"{family}(?:_total)?(\{{[^}}]*\}})?\s+([0-9.eE+-]+)$", line)
            if match:
                out[match.group(1) or ""] = float(match.group(2))
        return out

    def rounds(self) -> list[tuple[float, int]]:
        """Training rounds the server logged (ui/class_trainer.py): [(end time, sessions)]."""
        if not self.train_log.exists():
            return []
        lines = self.train_log.read_text().splitlines()
        return [(float(t), int(n)) for t, n, *_ in (line.split(",") for line in lines)]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_streamlit(self.process)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    started = Server(request.node.name.split("[")[0].removeprefix("test_"))
    yield started
    started.stop()


# (sessions, of them Chromium tabs): reduced in `make test`, full with --full-load.
REDUCED = [(4, 1)]
FULL = [(1, 1), (8, 2), (30, 2)]
# Every session of a class this size must progress within the window and the health check
# answer within 5 s; beyond it (30: more than two cores serve today, see README "Measured
# load") the numbers are reported, not asserted.
MOST_ASSERTED = 8


def _seconds(config: pytest.Config) -> float:
    """How long every session of a class trains while it is measured."""
    return 20.0 if config.getoption("--full-load") else 12.0


def _open_playgrounds(browser: Browser, url: str, count: int, batch: int = 4) -> list[Page]:
    """``count`` new sessions (one browser context each) on ``url``, loaded ``batch`` at a time
    (a whole class arriving in the same second is not what we measure)."""
    pages: list[Page] = []
    while len(pages) < count:
        wave = []
        for _ in range(min(batch, count - len(pages))):
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(url, wait_until="commit", timeout=120_000)
            wave.append(page)
        for page in wave:
            wait_for_app(page, timeout=180_000)
        pages += wave
    return pages


def _open_playground(browser: Browser, url: str) -> Page:
    return _open_playgrounds(browser, url, 1)[0]


def _metric_box(page: Page, label: str) -> Locator:
    """The st.metric whose label is exactly ``label`` ("Step", not "ms per step")."""
    label_box = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=label_box)


def _metric(page: Page, label: str) -> str:
    return _metric_box(page, label).get_by_test_id("stMetricValue").inner_text()


def _step(text: str) -> int:
    return int(text.split("/")[0])


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return float("nan")  # reported as such: a class that showed (almost) no updates
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def _train(*pages: Page) -> None:
    """Press Train in every page (as a class does, without waiting for each), then wait until
    every button says Pause."""
    for page in pages:
        by_key(page, "pg_train").get_by_role("button").click()
    for page in pages:
        expect(by_key(page, "pg_train")).to_contain_text("Pause", timeout=120_000)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


@dataclass
class Seen:
    """What one session showed: Step changes [(seconds, step)], the seconds from Train to a
    test accuracy of at least 95 % on screen (None: not within the test), any error."""

    kind: str
    clicked: float = 0.0
    steps: list[tuple[float, int]] = field(default_factory=list)
    reached: float | None = None
    error: str = ""


class LightClass:
    """``count`` light tabs on their own asyncio loop in a thread: open, Train, watch, close."""

    def __init__(self, url: str, count: int) -> None:
        self.url, self.count = url, count
        self.tabs: list[LightTab] = []
        self.clicked: list[float] = []
        self.reached: list[float | None] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _run(self, coroutine, timeout: float = 600):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def open(self, batch: int = 4) -> None:
        async def opening() -> None:
            while len(self.tabs) < self.count:
                wave = min(batch, self.count - len(self.tabs))
                self.tabs += await asyncio.gather(
                    *[LightTab.open(self.url, LOAD_LINK) for _ in range(wave)]
                )

        self._run(opening())

    def train(self) -> None:
        """Click Train in every tab; a task per tab notes when 95 % test accuracy shows."""

        async def clicking() -> None:
            for tab in self.tabs:
                self.clicked.append(time.monotonic())
                await tab.click("pg_train")
                self.reached.append(None)
                asyncio.ensure_future(watch(len(self.reached) - 1, tab))

        async def watch(i: int, tab: LightTab) -> None:
            try:
                await tab.wait_for(lambda: _percent(tab.metric("Test accuracy")) >= 95, 600)
                self.reached[i] = time.monotonic()
            except (TimeoutError, ConnectionError):
                return

        self._run(clicking())

    def seen(self) -> list[Seen]:
        out = []
        for tab, clicked, reached in zip(self.tabs, self.clicked, self.reached, strict=True):
            steps = [(t, _step(text)) for t, text in tab.step_changes]
            error = "; ".join(tab.exceptions) or (repr(tab.error) if tab.error else "")
            out.append(Seen("light", clicked, steps, reached and reached - clicked, error))
        return out

    def close(self) -> None:
        async def closing() -> None:
            await asyncio.gather(*[tab.close() for tab in self.tabs], return_exceptions=True)

        self._run(closing())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def _percent(text: str | None) -> float:
    match = re.match(r"\s*([\d.]+)\s*%", text or "")
    return float(match.group(1)) if match else -1.0


def _browser_seen(page: Page, clicked_wall: float, clicked: float) -> Seen:
    """A Chromium page's records, on the monotonic clock of the light tabs."""
    ticks, reached, exception = page.evaluate(FINDINGS)
    offset = clicked - clicked_wall  # monotonic minus epoch seconds
    steps = [(t / 1000 + offset, _step(text)) for t, text in ticks]
    return Seen(
        "chromium",
        clicked,
        steps,
        reached / 1000 - clicked_wall if reached else None,
        "an error box was shown" if exception else "",
    )


def _summary(seen: list[Seen], start: float, window: float) -> dict:
    """Per-session rates, gaps between updates and times to 95 % over the sampling window."""
    rates, gaps, browser_rates = [], [], []
    for s in seen:
        inside = [(t, step) for t, step in s.steps if start <= t <= start + window]
        if len(inside) >= 2:
            rates.append((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]))
        gaps += [b[0] - a[0] for a, b in zip(inside, inside[1:], strict=False)]
        if s.kind == "chromium":
            browser_rates.append(len(inside) / window)
    reached = [s.reached for s in seen if s.reached is not None]
    return {
        "sessions": len(seen),
        "chromium": sum(s.kind == "chromium" for s in seen),
        "steps_per_s": [round(r, 1) for r in rates],
        "gap_p50": _percentile(gaps, 50),
        "gap_p95": _percentile(gaps, 95),
        "updates": len(gaps),
        "reached_95": len(reached),
        "to_95_max": max(reached) if reached else None,
        "to_95_median": statistics.median(reached) if reached else None,
        "chromium_updates_per_s": [round(r, 1) for r in browser_rates],
    }


def _measure_class(server: Server, browser: Browser, n: int, n_chromium: int, seconds: float):
    """One class on ``server``: open, Train everywhere, sample health for ``seconds``."""
    light = LightClass(server.url, n - n_chromium)
    pages: list[Page] = []
    try:
        pages = _open_playgrounds(browser, f"{server.url}/?{LOAD_LINK}", n_chromium)
        light.open()
        for page in pages:
            page.evaluate(RECORDER)
        clicks = []
        for page in pages:
            clicks.append((time.time(), time.monotonic()))
            by_key(page, "pg_train").get_by_role("button").click()
        light.train()
        start = time.monotonic()
        cpu_start = server.cpu_seconds()
        health = []
        while time.monotonic() - start < seconds:
            time.sleep(1.0)
            health.append(server.health_seconds())
        cores = (server.cpu_seconds() - cpu_start) / (time.monotonic() - start)
        seen = light.seen() + [
            _browser_seen(page, wall, mono)
            for page, (wall, mono) in zip(pages, clicks, strict=True)
        ]
    finally:
        light.close()
        for page in pages:
            page.context.close()
    summary = _summary(seen, start, seconds)
    summary.update(
        health_max=max(health), peak_mb=server.status("VmHWM") / 1024, server_cores=cores
    )
    return seen, summary


def _row(r: dict) -> str:
    to95 = (
        f"{r['reached_95']} of {r['sessions']}, slowest {r['to_95_max']:.1f} s"
        if r["reached_95"] else f"0 of {r['sessions']}"
    )  # fmt: skip
    rates = r["steps_per_s"] or [0.0]
    moving = f"{len(r['steps_per_s'])} of {r['sessions']}"
    return (
        f"| {r['sessions']} ({r['chromium']} Chromium) | {moving} | "
        f"{min(rates):.0f}–{max(rates):.0f} | "
        f"{r['gap_p50']:.2f} / {r['gap_p95']:.2f} s | {to95} | {r['health_max']:.2f} s | "
        f"{r['peak_mb']:.0f} MB | {r['server_cores']:.2f} | "
        f"{', '.join(f'{x:.1f}' for x in r['chromium_updates_per_s'])} |"
    )


def test_a_class_trains_at_once(browser: Browser, pytestconfig: pytest.Config) -> None:
    sizes = FULL if pytestconfig.getoption("--full-load") else REDUCED
    seconds = _seconds(pytestconfig)
    rows = []
    for n, n_chromium in sizes:
        server = Server(f"class{n}")
        try:
            seen, summary = _measure_class(server, browser, n, n_chromium, seconds)
            log = server.log_text()
        finally:
            server.stop()
        rows.append(summary)
        (ARTIFACTS / f"load-{n}.json").write_text(json.dumps(summary, indent=1))
        for i, s in enumerate(seen):
            assert not s.error, f"session {i} ({s.kind}): {s.error}"
            steps = [step for _, step in s.steps]
            assert steps == sorted(steps), f"session {i} went backwards: {steps}"
            if n <= MOST_ASSERTED:
                assert len(steps) >= 2 and steps[-1] > steps[0], f"session {i} made no progress"
        assert "Traceback" not in log
        # The Dockerfile's HEALTHCHECK gives the server 5 s: a class must not get it restarted.
        if n <= MOST_ASSERTED:
            assert summary["health_max"] < 5.0
    uptime = os.getloadavg()
    print(
        f"\nA class training at once, {seconds:.0f} s each (load average now "
        f"{uptime[0]:.2f}):\n"
        "| sessions | sessions updating | steps/s per session | gap between updates p50 / p95 "
        "| reached 95 % test accuracy | slowest health check | server peak RSS | server cores "
        "| Chromium updates/s |\n|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(_row(r) for r in rows)
    )


def test_sessions_closed_mid_training_stop_and_are_dropped(browser: Browser) -> None:
    server = Server("disconnect", session_ttl=SESSION_TTL)
    try:
        _closed_sessions(server, browser)
    finally:
        server.stop()


def _closed_sessions(server: Server, browser: Browser) -> None:
    pages = _open_playgrounds(browser, f"{server.url}/?{LOAD_LINK}", 3)
    _train(*pages)
    expect(_metric_box(pages[-1], "Step")).not_to_contain_text("0 /", timeout=60_000)
    assert server.metric("active_sessions")[""] == 3
    for page in pages:
        page.context.close()
    closed = time.time()
    # Training follows the tabs' ticks: with the tabs gone, it stops within WATCH_SECONDS.
    time.sleep(WATCH_SECONDS + 1.0)
    cpu_before, rss_closed = server.cpu_seconds(), server.status("VmRSS")
    late = [t for t, _ in server.rounds() if t > closed + WATCH_SECONDS + 0.5]
    assert not late, f"{len(late)} training rounds after the tabs closed"
    assert any(t < closed for t, _ in server.rounds()), "the server never trained these tabs"
    time.sleep(SESSION_TTL + 3)
    idle_cpu = server.cpu_seconds() - cpu_before
    assert server.metric("active_sessions")[""] == 0
    events = server.metric("session_events")
    # Past the TTL, Streamlit's session storage (a TTL cache) expires the closed sessions on its
    # next write, which a new visitor's connection makes; their models, data and histories go
    # with them. Memory settles: the visitor does not push the server above where it was.
    for _ in range(2):
        _open_playground(browser, server.url).context.close()
    time.sleep(2.0)
    rss_after = server.status("VmRSS")
    print(
        f"\nClosed 3 training sessions: server CPU {idle_cpu:.2f} s over the next "
        f"{SESSION_TTL + 3} s; RSS {rss_closed / 1024:.0f} MB after closing, "
        f"{rss_after / 1024:.0f} MB after the TTL and two new visitors; events {events}"
    )
    assert idle_cpu < 1.0  # seconds of CPU in 8 s: nothing trains any more
    assert events.get('{type="disconnect"}', 0) == 3
    assert rss_after <= 1.05 * rss_closed


def test_a_shared_link_reproduces_its_run_after_a_server_restart(browser: Browser) -> None:
    def train_to_budget() -> tuple[str, str, str]:
        server = Server("restart")
        try:
            page = _open_playground(browser, server.url + REPRO_LINK)
            _train(page)
            expect(by_key(page, "pg_train")).to_contain_text("Train", timeout=120_000)
            wait_for_app(page)
            assert _metric(page, "Step") == "30 / 30"
            result = (_metric(page, "Train accuracy"), _metric(page, "Test accuracy"),
                      _metric(page, "Loss"))  # fmt: skip
            page.context.close()
            return result
        finally:
            server.stop()

    first = train_to_budget()
    second = train_to_budget()  # a new server process: nothing carried over
    print(f"\nLink {REPRO_LINK}: {first} before and {second} after a restart")
    assert first == second
