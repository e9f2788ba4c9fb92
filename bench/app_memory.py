"""(g) Resident memory one trained browser session adds to the server process."""

from __future__ import annotations

import gc

from bench.apptest import app, check, rss_bytes
from bench.common import Table
from ui.state import train_chunk

TITLE = "(g) Resident memory added per trained session (AppTest sessions in one process)"


def _trained_session(query: dict[str, str]):
    """A session that opened the Playground, trained to its budget and drew the result."""
    at = check(app(query).run())
    session = at.session_state["deqnet"]
    while not session.budget_reached and not session.diverged:
        train_chunk(session, max_seconds=5.0)
    return check(at.run())


def run(quick: bool) -> Table:
    query = {"n": "64", "budget": "10"} if quick else {}
    count = 2 if quick else 5
    sessions = [_trained_session(query)]  # warm-up (imports, allocator pools): not counted
    gc.collect()
    before = rss_bytes()
    sessions += [_trained_session(query) for _ in range(count)]  # all kept alive
    gc.collect()
    after = rss_bytes()
    per_session = (after - before) / count
    table = Table(TITLE, ["sessions", "RSS before MB", "RSS after MB", "per session MB"])
    table.rows.append(
        [str(count), f"{before / 2**20:.0f}", f"{after / 2**20:.0f}", f"{per_session / 2**20:.1f}"]
    )
    table.notes = [
        f"{count} AppTest sessions of streamlit_app.py kept alive in this process, each "
        "opening the Playground at default settings"
        f"{' (quick: n=64, budget 10)' if quick else ''}, training to the step budget "
        "(ui.state.train_chunk: the steps the live trainer would take) and drawing the trained "
        "model; one session trained first as a warm-up is not counted. VmRSS from "
        "/proc/self/status after gc.collect(). It includes what AppTest itself keeps per "
        "session (the element tree of the last run), so it slightly over-states a browser "
        "session.",
    ]
    return table
