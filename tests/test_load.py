"""Load and fault tests against ``streamlit run app.py`` on 127.0.0.1 (bounded, self-stopping).

- A class: N sessions train at once on a server started here, each watched through the live
  stream (ui/live_route.py). Most are light sessions: a protocol-level Streamlit tab
  (tests/light_client.py: the page runs and the Train click a browser tab sends) and one
  websocket on the live route that reads the binary frames (``deqnet.live.decode_frame``), as
  the Playground's live panel does. A few are real Chromium tabs, whose panel is sampled once
  per animation frame: 20 Chromium pages on these 2 cores would measure the browsers. Every
  session must get frames and train without an error, and the server must answer its health
  check within the Dockerfile's 5 s. Reported per class size: steps per second per session,
  frames per second per session (a Chromium tab's frames: the changes of its Step text on
  screen), the gap between a session's frames and between its pictures (frames with a new
  decision grid; p50, p95), the time from Train to a test accuracy of at least 95 %, the
  slowest health check, the server's peak memory and cores used, and the Chromium tabs'
  on-screen update rate.
- Disconnect: sessions closed mid-training stop training within ``STOPS_WITHIN`` seconds (the
  server's training log shows no more rounds: their sockets closed), and the server drops them
  after ``server.disconnectedSessionTTL`` (5 s for that server; the others keep the default).
- Restart: a shared link trained to its step budget gives the same final metrics after the
  server restarts (nothing a link needs lives in server memory).

``make test`` runs one reduced class (4 sessions: 3 light, 1 Chromium; 12 s); ``make loadtest``
passes --full-load: classes of 1 (a Chromium tab), 8 (6 + 2) and 30 (28 + 2), 20 s each, and
prints the table for the README ("Measured load"; `make loadtest` passes -s, run other
selections with -s to see the numbers).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from itertools import pairwise
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
from websockets.asyncio.client import ClientConnection, connect

from deqnet.live import decode_frame

pytestmark = [pytest.mark.load, pytest.mark.browser]
browser = browser_kit.browser  # the browser tests' headless Chromium fixture, shared

SESSION_TTL = 5  # seconds; server.disconnectedSessionTTL of the disconnect test's server
# Seconds after its socket closes within which a session's training stops (the route unwatches
# it at once, or its liveness check notices the tab gone within a second).
STOPS_WITHIN = 2.0
START_SECONDS = 120
# A long step budget so training is still running when sampling ends (one session alone takes
# over 100 steps a second).
LOAD_LINK = "budget=5000"
REPRO_LINK = "?n=128&noise=0.2&budget=30&dseed=7&seed=3"
TARGET = 0.95  # test accuracy (a fraction, as in the frames' curve_test)
PANEL = "deqnet_live_panel"  # the live panel's component name
SUBPROTOCOL = "deqnet.v1"

# In a Chromium page, once per animation frame: [Date.now(), text] whenever the live panel's
# Step value changes, the time its Test accuracy first reads >= 95 %, and whether an error was
# ever shown.
RECORDER = """() => {
  const seen = window.__seen = {steps: [], reached: null, error: false};
  const text = (name) =>
    document.querySelector(`.deqnet-live-panel [data-metric="${name}"]`)?.textContent ?? null;
  let last = text('step');
  const sample = () => {
    const step = text('step');
    if (step !== null && step !== last) { last = step; seen.steps.push([Date.now(), step]); }
    if (seen.reached === null && parseFloat(text('test-accuracy')) >= 95) {
      seen.reached = Date.now();
    }
    if (document.querySelector('[data-testid="stException"]')
        || document.body.textContent.includes('Something went wrong')) { seen.error = true; }
    requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}"""


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
        """Training rounds the server logged (deqnet/live/trainer.py): [(end time, sessions)]."""
        if not self.train_log.exists():
            return []
        lines = self.train_log.read_text().splitlines()
        return [(float(t), int(n)) for t, n, *_ in (line.split(",") for line in lines)]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_streamlit(self.process)


# (sessions, of them Chromium tabs): reduced in `make test`, full with --full-load.
REDUCED = [(4, 1)]
FULL = [(1, 1), (8, 2), (30, 2)]


def _seconds(config: pytest.Config) -> float:
    """How long every session of a class trains while it is measured."""
    return 20.0 if config.getoption("--full-load") else 12.0


def _open_playgrounds(browser: Browser, url: str, count: int, batch: int = 4) -> list[Page]:
    """``count`` new sessions (one browser context each) on ``url``, loaded ``batch`` at a time
    (a whole class arriving in the same second is not what we measure), each with its live
    panel's stream open."""
    pages: list[Page] = []
    while len(pages) < count:
        wave = []
        for _ in range(min(batch, count - len(pages))):
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(url, wait_until="commit", timeout=120_000)
            wave.append(page)
        for page in wave:
            wait_for_app(page, timeout=180_000)
            page.wait_for_selector(
                ".deqnet-live-panel[data-stream=open]", state="attached", timeout=60_000
            )
        pages += wave
    return pages


def _open_playground(browser: Browser, url: str) -> Page:
    return _open_playgrounds(browser, url, 1)[0]


def _metric(page: Page, name: str) -> Locator:
    """The live panel's value of metric ``name`` ("step", "test-accuracy", "loss", ...)."""
    return page.locator(f'.deqnet-live-panel [data-metric="{name}"]')


def _step(text: str) -> int:
    """The step count of a Step text ("12 / 2000" -> 12)."""
    return int(text.split("/")[0])


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return float("nan")  # reported as such: a class that got (almost) no frames
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def _train(*pages: Page) -> None:
    """Press Train in every page (as a class does, without waiting for each), then wait until
    every button says Pause."""
    for page in pages:
        by_key(page, "pg_train").get_by_role("button").click()
    for page in pages:
        expect(by_key(page, "pg_train")).to_contain_text("Pause", timeout=120_000)


# --------------------------------------------------------------------------------------------
# A class: light sessions reading the stream, Chromium tabs sampled on screen
# --------------------------------------------------------------------------------------------


@dataclass
class Seen:
    """What one session got, on the monotonic clock (seconds).

    Attributes:
        kind: "light" (frames read from its socket) or "chromium" (its panel on screen).
        clicked: when Train was clicked.
        updates: [(time, step)] per frame received (the header's ``step``), or per change of a
            Chromium tab's Step text.
        reached: when test accuracy first reached 95 % (the newest ``curve_test`` of a frame,
            or the Test accuracy shown), or None.
        error: what went wrong ("" if nothing).
        pictures: when a frame with a new decision grid arrived (light sessions only).
    """

    kind: str
    clicked: float
    updates: list[tuple[float, int]]
    reached: float | None
    error: str = ""
    pictures: list[float] = field(default_factory=list)


class StreamSession:
    """One light session: its :class:`LightTab` and one socket on the live route, read by a
    task that records every frame (``frames``: [(monotonic seconds, header step)])."""

    def __init__(self, tab: LightTab, socket: ClientConnection) -> None:
        self.tab, self.socket = tab, socket
        self.clicked = 0.0
        self.frames: list[tuple[float, int]] = []
        self.pictures: list[float] = []
        self.reached: float | None = None
        self.stopped: str | None = None
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url: str) -> StreamSession:
        """Open the Playground at ``url`` with ``LOAD_LINK``, then its stream with the token of
        its panel and the page's Origin, as the panel's JavaScript does."""
        tab = await LightTab.open(url, LOAD_LINK)
        await tab.wait_for(lambda: PANEL in tab.components, 60)
        data = tab.components[PANEL]
        socket = await connect(
            f"{url.replace('http', 'ws', 1)}/{data['path']}",
            subprotocols=[SUBPROTOCOL, data["token"]],
            origin=url,
            max_size=None,  # a browser takes frames of any size
        )
        return cls(tab, socket)

    async def _read(self) -> None:
        async for message in self.socket:
            header, arrays = decode_frame(message)
            now = time.monotonic()
            self.frames.append((now, header["step"]))
            if "grid" in header:
                self.pictures.append(now)
            test = arrays.get("curve_test")
            if self.reached is None and test is not None and len(test) and test[-1] >= TARGET:
                self.reached = now
            self.stopped = header["stopped"] or self.stopped

    def seen(self) -> Seen:
        problems = [*self.tab.exceptions, *([repr(self.tab.error)] if self.tab.error else [])]
        if self.reader.done():
            problems.append(
                f"stream ended early: {self.reader.exception() or self.socket.close_code}"
            )
        if self.stopped not in (None, "budget"):
            problems.append(f"training stopped: {self.stopped}")
        return Seen(
            "light",
            self.clicked,
            list(self.frames),
            self.reached,
            "; ".join(problems),
            list(self.pictures),
        )

    async def close(self) -> None:
        await self.socket.close()
        await self.tab.close()


class LightClass:
    """``count`` :class:`StreamSession` on their own asyncio loop in a thread."""

    def __init__(self, url: str, count: int) -> None:
        self.url, self.count = url, count
        self.sessions: list[StreamSession] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _run(self, coroutine, timeout: float = 600):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def open(self, batch: int = 4) -> None:
        async def opening() -> None:
            while len(self.sessions) < self.count:
                wave = min(batch, self.count - len(self.sessions))
                self.sessions += await asyncio.gather(
                    *[StreamSession.open(self.url) for _ in range(wave)]
                )

        self._run(opening())

    def train(self) -> None:
        """Click Train in every session, one after the other without waiting for its run."""

        async def clicking() -> None:
            for session in self.sessions:
                session.clicked = time.monotonic()
                await session.tab.click("pg_train")

        self._run(clicking())

    def seen(self) -> list[Seen]:
        async def reading() -> list[Seen]:  # on the loop: no frame is added meanwhile
            return [session.seen() for session in self.sessions]

        return self._run(reading())

    def close(self) -> None:
        async def closing() -> None:
            await asyncio.gather(*[s.close() for s in self.sessions], return_exceptions=True)

        self._run(closing())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def _browser_seen(page: Page, clicked: float, offset: float) -> Seen:
    """A Chromium page's records; ``offset``: monotonic minus epoch seconds."""
    seen = page.evaluate("window.__seen")
    steps = [(t / 1000 + offset, _step(text)) for t, text in seen["steps"]]
    reached = seen["reached"] / 1000 + offset if seen["reached"] else None
    return Seen("chromium", clicked, steps, reached, "an error was shown" if seen["error"] else "")


def _summary(seen: list[Seen], start: float, window: float) -> dict:
    """Per-session rates, gaps between frames and times to 95 % over the measured window
    ``[start, start + window]`` (monotonic seconds)."""
    steps_per_s, frames_per_s, chromium, gaps, to_95 = [], [], [], [], []
    picture_gaps = []
    for s in seen:
        pictures = [t for t in s.pictures if start <= t <= start + window]
        picture_gaps += [b - a for a, b in pairwise(pictures)]
        inside = [(t, step) for t, step in s.updates if start <= t <= start + window]
        if len(inside) >= 2 and inside[-1][1] > inside[0][1]:
            steps_per_s.append((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]))
        frames_per_s.append(len(inside) / window)
        if s.kind == "chromium":
            chromium.append(len(inside) / window)
        gaps += [b[0] - a[0] for a, b in pairwise(inside)]
        if s.reached is not None and s.reached <= start + window:
            to_95.append(s.reached - s.clicked)
    return {
        "sessions": len(seen),
        "chromium": len(chromium),
        "window": window,
        "steps_per_s": steps_per_s,
        "frames_per_s": frames_per_s,
        "gap_p50": _percentile(gaps, 50),
        "gap_p95": _percentile(gaps, 95),
        "picture_gap_p50": _percentile(picture_gaps, 50),
        "picture_gap_p95": _percentile(picture_gaps, 95),
        "reached_95": len(to_95),
        "to_95_max": max(to_95, default=None),
        "chromium_updates_per_s": chromium,
    }


def _measure_class(
    server: Server, browser: Browser, n: int, n_chromium: int, seconds: float
) -> tuple[list[Seen], dict]:
    """One class on ``server``: open, Train everywhere, sample health for ``seconds``."""
    light = LightClass(server.url, n - n_chromium)
    pages: list[Page] = []
    try:
        pages = _open_playgrounds(browser, f"{server.url}/?{LOAD_LINK}", n_chromium)
        light.open()
        for page in pages:
            page.evaluate(RECORDER)
        offset = time.monotonic() - time.time()
        clicks = []
        for page in pages:
            clicks.append(time.monotonic())
            by_key(page, "pg_train").get_by_role("button").click()
        light.train()
        start, cpu_start = time.monotonic(), server.cpu_seconds()
        health = []
        while time.monotonic() - start < seconds:
            time.sleep(1.0)
            health.append(server.health_seconds())
        cores = (server.cpu_seconds() - cpu_start) / (time.monotonic() - start)
        seen = light.seen() + [
            _browser_seen(page, clicked, offset)
            for page, clicked in zip(pages, clicks, strict=True)
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


def _span(values: list[float]) -> str:
    """The range of ``values`` as "min–max" (one number when both ends round alike)."""
    low, high = f"{min(values, default=0):.0f}", f"{max(values, default=0):.0f}"
    return low if low == high else f"{low}–{high}"


def _pair(p50: float, p95: float) -> str:
    """ "p50 / p95 s", or "–" where no light session measured them (Chromium tabs only)."""
    return "–" if math.isnan(p50) else f"{p50:.2f} / {p95:.2f} s"


def _row(r: dict) -> str:
    """One line of the README's "Measured load" table."""
    to95 = (
        f"{r['reached_95']} of {r['sessions']}, slowest after {r['to_95_max']:.1f} s"
        if r["reached_95"] else f"0 of {r['sessions']}"
    )  # fmt: skip
    return (
        f"| {r['sessions']} ({r['chromium']} Chromium) | "
        f"{len(r['steps_per_s'])} of {r['sessions']} | {_span(r['steps_per_s'])} | "
        f"{_span(r['frames_per_s'])} | {r['gap_p50']:.2f} / {r['gap_p95']:.2f} s | "
        f"{_pair(r['picture_gap_p50'], r['picture_gap_p95'])} | {to95} | "
        f"{r['health_max']:.2f} s | {r['peak_mb']:.0f} MB | {r['server_cores']:.2f} | "
        f"{', '.join(f'{x:.1f}' for x in r['chromium_updates_per_s'])} |"
    )


def _table(rows: list[dict], seconds: float) -> str:
    return (
        "| sessions | sessions updating | steps/s per session | frames/s per session "
        "| gap between frames p50 / p95 | gap between pictures p50 / p95 "
        f"| reached 95 % test accuracy in {seconds:.0f} s | slowest health check "
        "| server peak RSS | server cores | Chromium updates/s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(_row(r) for r in rows)
    )


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_a_class_trains_at_once(browser: Browser, pytestconfig: pytest.Config) -> None:
    sizes = FULL if pytestconfig.getoption("--full-load") else REDUCED
    seconds = _seconds(pytestconfig)
    load_start = os.getloadavg()[0]
    rows, classes = [], []
    for n, n_chromium in sizes:
        server = Server(f"class{n}")
        try:
            seen, summary = _measure_class(server, browser, n, n_chromium, seconds)
            log = server.log_text()
        finally:
            server.stop()
        rows.append(summary)
        classes.append((n, seen, log))
        (ARTIFACTS / f"load-{n}.json").write_text(json.dumps(summary, indent=1))
    # The table first: a failure below still leaves the numbers of every class size.
    print(
        f"\nA class training at once, {seconds:.0f} s each (load average "
        f"{load_start:.2f} at the start, {os.getloadavg()[0]:.2f} now):\n" + _table(rows, seconds)
    )
    for (n, seen, log), summary in zip(classes, rows, strict=True):
        for i, s in enumerate(seen):
            assert not s.error, f"class of {n}, session {i} ({s.kind}): {s.error}"
            steps = [step for _, step in s.updates]
            assert steps == sorted(steps), f"class of {n}, session {i} went backwards: {steps}"
            assert len(steps) >= 2 and steps[-1] > steps[0], (
                f"class of {n}, session {i} ({s.kind}) got no frames of training"
            )
        assert "Traceback" not in log
        # The Dockerfile's HEALTHCHECK gives the server 5 s: a class must not get it restarted.
        assert summary["health_max"] < 5.0


def test_sessions_closed_mid_training_stop_and_are_dropped(browser: Browser) -> None:
    server = Server("disconnect", session_ttl=SESSION_TTL)
    try:
        _closed_sessions(server, browser)
    finally:
        server.stop()


def _closed_sessions(server: Server, browser: Browser) -> None:
    pages = _open_playgrounds(browser, f"{server.url}/?{LOAD_LINK}", 3)
    _train(*pages)
    expect(_metric(pages[-1], "step")).to_have_text(re.compile(r"^[1-9]\d* /"), timeout=60_000)
    assert server.metric("active_sessions")[""] == 3
    for page in pages:
        page.context.close()
    closed = time.time()
    # Training follows the open sockets: with the tabs gone, it stops within STOPS_WITHIN.
    time.sleep(STOPS_WITHIN + 1.0)
    cpu_before, rss_closed = server.cpu_seconds(), server.status("VmRSS")
    late = [t for t, _ in server.rounds() if t > closed + STOPS_WITHIN]
    assert not late, f"{len(late)} training rounds more than {STOPS_WITHIN} s after the close"
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
            expect(_metric(page, "step")).to_have_text("30 / 30")
            result = tuple(
                _metric(page, name).inner_text()
                for name in ("train-accuracy", "test-accuracy", "loss")
            )
            page.context.close()
            return result
        finally:
            server.stop()

    first = train_to_budget()
    second = train_to_budget()  # a new server process: nothing carried over
    print(f"\nLink {REPRO_LINK}: {first} before and {second} after a restart")
    assert first == second
