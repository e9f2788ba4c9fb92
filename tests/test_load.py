"""Load and fault tests against ``streamlit run`` servers on 127.0.0.1 (bounded, self-stopping).

- Many sessions: N browser contexts (one Chromium) open the Playground on a server started here,
  press Train, and record in the page when the Step metric changes. Every session must make
  progress without an error, and the server must answer its health check within the
  Dockerfile's 5 s. The test prints p50/p95 of the time between a session's ticks as the server
  logs them (``DEQNET_TICK_LOG``, ui/live.py) and as the pages show them, the wait for a
  training slot, steps per second, and the server's CPU use and peak memory (VmHWM from /proc).
  The browsers share the machine with the server and draw every chart in software, so on a
  small machine they take much of the CPU a class's own computers would spend, and they ask
  for ticks less often (each tick is requested by its page).
- Disconnect: sessions closed mid-training stop costing CPU at once, and the server drops them
  after ``server.disconnectedSessionTTL`` (5 s for that server; the others keep the default).
- Restart: a shared link trained to its step budget gives the same final metrics after the
  server restarts (nothing a link needs lives in server memory).

``make test`` runs the reduced size (4 sessions, 10 s); ``make loadtest`` passes --full-load
(20 sessions, 20 s). Run with -s to see the numbers.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.conftest import CHROMIUM, CHROMIUM_ARGS, by_key, wait_for_app
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from ui.slots import max_trainings

pytestmark = [pytest.mark.load, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
SESSION_TTL = 5  # seconds; server.disconnectedSessionTTL of the disconnect test's server
START_SECONDS = 120
# A long step budget so training is still running when sampling ends; small data keeps the
# first page load quick.
LOAD_LINK = "?budget=5000"
REPRO_LINK = "?n=128&noise=0.2&budget=30&dseed=7&seed=3"

# In the page (the user's view, and no Playwright polling that would load the browsers): records
# [time, text] whenever the Step metric's value changes, and whether a busy notice or an
# exception box was ever shown.
RECORDER = """() => {
  window.__ticks = [];
  window.__busy = false;
  window.__exception = false;
  window.__reconnects = 0;
  let connecting = false;
  const read = () => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find((m) => m.innerText.startsWith('Step'));
    const value = metric && metric.querySelector('[data-testid="stMetricValue"]');
    return value ? value.innerText : null;
  };
  let last = read();
  new MutationObserver(() => {
    const now = read();
    if (now !== null && now !== last) { last = now; window.__ticks.push([Date.now(), now]); }
    if ([...document.querySelectorAll('[data-testid="stAlert"]')]
        .some((a) => a.textContent.includes('Server busy'))) { window.__busy = true; }
    if (document.querySelector('[data-testid="stException"]')) { window.__exception = true; }
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    const now_connecting = !!status && /connect/i.test(status.textContent);
    if (now_connecting && !connecting) { window.__reconnects += 1; }
    connecting = now_connecting;
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
FINDINGS = """() => [window.__ticks, window.__busy,
  window.__exception || document.body.textContent.includes('Something went wrong'),
  window.__reconnects]"""


# --------------------------------------------------------------------------------------------
# A server we start, measure and stop
# --------------------------------------------------------------------------------------------


class Server:
    """``streamlit run app.py`` on a free loopback port; ``stop()`` ends it (also on failure)."""

    def __init__(self, name: str, *, session_ttl: int | None = None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = ARTIFACTS / f"load-{name}-{self.port}.log"
        self.tick_log = ARTIFACTS / f"ticks-{name}-{self.port}.csv"
        command = [sys.executable, "-m", "streamlit", "run", "app.py",
                   "--server.headless", "true", "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                   "--server.fileWatcherType", "none"]  # fmt: skip
        if session_ttl is not None:
            command += ["--server.disconnectedSessionTTL", str(session_ttl)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "DEQNET_TICK_LOG": str(self.tick_log)}  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + START_SECONDS
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"streamlit did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.25)

    def _healthy(self, timeout: float = 2) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=timeout) as response:
                return response.read().strip() == b"ok"
        except OSError:
            return False

    def health_seconds(self) -> float:
        """How long /_stcore/health takes to answer "ok" (what a load balancer polls)."""
        start = time.monotonic()
        assert self._healthy(timeout=30), "the server did not answer its health check"
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

    def ticks(self, since: float) -> dict[str, list[tuple[float, int, float]]]:
        """Live ticks the server logged (ui/live.py) after epoch time ``since``, per session:
        [(end time, steps done, seconds waited for a slot)]."""
        out: dict[str, list[tuple[float, int, float]]] = {}
        for line in self.tick_log.read_text().splitlines():
            end, session, steps, waited, _, _ = line.split(",")
            if float(end) >= since:
                out.setdefault(session, []).append((float(end), int(steps), float(waited)))
        return out

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    started = Server(request.node.name.split("[")[0].removeprefix("test_"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _size(config: pytest.Config) -> tuple[int, float]:
    """(sessions, sampling seconds): reduced in `make test`, full with --full-load."""
    return (20, 20.0) if config.getoption("--full-load") else (4, 10.0)


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


def test_many_sessions_train_at_once(
    server: Server, browser: Browser, pytestconfig: pytest.Config
) -> None:
    n_sessions, seconds = _size(pytestconfig)
    began = time.monotonic()
    pages = _open_playgrounds(browser, server.url + LOAD_LINK, n_sessions)
    opened = time.monotonic()
    try:
        for page in pages:
            page.evaluate(RECORDER)
        _train(*pages)
        # Sample with every session training: only the server is asked (health, CPU); the
        # pages record their own updates.
        start, window_start = time.monotonic(), time.time()
        cpu_start = server.cpu_seconds()
        health = []  # seconds the server took to answer its health check, once a second
        while time.monotonic() - start < seconds:
            time.sleep(1.0)
            health.append(server.health_seconds())
        window = time.monotonic() - start
        cores_used = (server.cpu_seconds() - cpu_start) / window
        server_ticks = server.ticks(since=window_start)
        seen = [page.evaluate(FINDINGS) for page in pages]
        events = server.metric("session_events")
    finally:
        for page in pages:
            page.context.close()
    ticks = [series for series, _, _, _ in seen]
    busy_seen = sum(busy for _, busy, _, _ in seen)
    reconnects = [n for _, _, _, n in seen]
    print(f"\nStep counters seen: {[[t for _, t in series][-4:] for series in ticks]}")
    print(f"Reconnecting shown per page: {reconnects}; session events {events}")
    assert not any(exception for _, _, exception, _ in seen), "a page showed an error"
    gaps = []
    for i, series in enumerate(ticks):
        steps = [_step(text) for _, text in series]
        assert len(steps) >= 2 and steps[-1] > steps[0], f"session {i} made no progress: {steps}"
        assert steps == sorted(steps), f"session {i} went backwards: {steps}"
        # Intervals between updates while every session was training (not while pressing Train).
        shown = [t for t, _ in series if t >= window_start * 1000]
        gaps += [(b - a) / 1000 for a, b in zip(shown, shown[1:], strict=False)]
    # The same from the server's side: time between the ends of a session's ticks, the wait in
    # line, and steps per second per session.
    tick_gaps, waits, rates = [], [], []
    for series in server_ticks.values():
        tick_gaps += [b[0] - a[0] for a, b in zip(series, series[1:], strict=False)]
        waits += [waited for _, _, waited in series]
        rates.append((series[-1][1] - series[0][1]) / window)
    peak_mb = server.status("VmHWM") / 1024
    p50, p95 = _percentile(gaps, 50), _percentile(gaps, 95)
    s50, s95 = _percentile(tick_gaps, 50), _percentile(tick_gaps, 95)
    steps_each = [_step(s[-1][1]) for s in ticks]
    print(
        f"\nLoad: opened {n_sessions} sessions in {opened - began:.0f} s and pressed Train in "
        f"each within {start - opened:.0f} s; then over {seconds:.0f} s every session "
        f"progressed (steps {min(steps_each)}..{max(steps_each)}).\n"
        f"  Server ({max_trainings()} training slots; {len(server_ticks)} sessions ticked in the "
        f"window): a tick every "
        f"{s50:.2f} s (p50), {s95:.2f} s (p95) per session over {len(tick_gaps)} ticks; wait "
        f"in line p50 {_percentile(waits, 50):.2f} s; {min(rates):.1f}..{max(rates):.1f} "
        f"steps/s per session; {cores_used:.2f} of {os.cpu_count()} cores used (the browsers "
        f"had the rest); peak memory {peak_mb:.0f} MB; "
        f"health check answered in at most {max(health):.2f} s.\n"
        f"  Browsers: step counter updated every "
        f"{p50:.2f} s (p50), {p95:.2f} s (p95) over {len(gaps)} updates; busy notice shown in "
        f"{busy_seen} of {n_sessions} sessions; session events {events}"
    )
    (ARTIFACTS / f"load-{n_sessions}.json").write_text(
        json.dumps(
            {
                "sessions": n_sessions,
                "seconds": seconds,
                "p50": p50,
                "p95": p95,
                "server_tick_p50": s50,
                "server_tick_p95": s95,
                "steps_per_s": rates,
                "updates": len(gaps),
                "peak_mb": peak_mb,
                "busy_seen": busy_seen,
                "health_max": max(health),
                "server_cores": cores_used,
                "steps": steps_each,
            }
        )  # fmt: skip
    )
    assert "Traceback" not in server.log_text()
    # The Dockerfile's HEALTHCHECK gives the server 5 s: a class must not get it restarted.
    assert max(health) < 5.0


def test_sessions_closed_mid_training_stop_and_are_dropped(browser: Browser) -> None:
    server = Server("disconnect", session_ttl=SESSION_TTL)
    try:
        _closed_sessions(server, browser)
    finally:
        server.stop()


def _closed_sessions(server: Server, browser: Browser) -> None:
    pages = _open_playgrounds(browser, server.url + LOAD_LINK, 3)
    _train(*pages)
    expect(_metric_box(pages[-1], "Step")).not_to_contain_text("0 /", timeout=60_000)
    assert server.metric("active_sessions")[""] == 3
    for page in pages:
        page.context.close()
    # Ticks come from the browser: with the tabs gone, the server's CPU use stops at once.
    time.sleep(2.0)
    cpu_before, rss_closed = server.cpu_seconds(), server.status("VmRSS")
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
