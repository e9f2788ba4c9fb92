"""Live training: a fragment that trains a time-boxed chunk, redraws, and ticks while running.

Each tick waits for a server slot (``ui.slots.busy_turn``), runs ``Trainer.step`` for at most
``CHUNK_SECONDS`` and then draws; the fragment is re-declared on every full run with
``run_every`` set only while training, so Pause (a full rerun with ``running`` False) stops the
ticking at once. Timer ticks never pre-empt a tick in progress (Streamlit queues them), and
chunking by time cannot change results: a step is a step.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.guard import train_tick
from ui.show import guarded
from ui.slots import busy_turn
from ui.state import Session, get_session

# A tick trains for about CHUNK_SECONDS, then draws (~0.1 s); ticks are requested every
# TICK_SECONDS, so charts refresh about 2-3 times a second and training gets most of the time.
CHUNK_SECONDS = 0.25
TICK_SECONDS = 0.3
# For capacity planning (and tests/test_load.py): a CSV file that gets one line per live tick,
# "end time, session, steps done, seconds waiting for a slot, training, drawing".
TICK_LOG = os.environ.get("DEQNET_TICK_LOG", "")
_tick_log_lock = threading.Lock()


def _log_tick(session: Session, began: float, granted: float, trained: float) -> None:
    """Append one tick's timings to TICK_LOG (times from ``time.monotonic()``)."""
    now = time.monotonic()
    ctx = get_script_run_ctx()
    line = (
        f"{time.time():.3f},{ctx.session_id if ctx else '-'},{session.steps_done},"
        f"{granted - began:.4f},{trained - granted:.4f},{now - trained:.4f}\n"
    )
    with _tick_log_lock, open(TICK_LOG, "a", encoding="utf-8") as log:
        log.write(line)


def toggle_training(session: Session) -> None:
    """Train/Pause button: start (unless there is nothing left to do) or stop live training."""
    if session.running:
        session.running = False
    elif not session.diverged and not session.budget_reached:
        session.running = True


def live_fragment(render: Callable[[Session], None], *, key: str, what: str) -> None:
    """Draw ``render(session)`` in a fragment that trains one chunk before drawing while running.

    When the step budget is reached or training diverges, it stops and reruns the whole page so
    the Train/Pause button and the rest of the page show the final state. ``key`` names the
    container (class ``st-key-live_<key>``): the frame's CSS keeps its elements from fading
    while a tick recomputes them, so live charts do not flicker.
    """
    session = get_session()

    @st.fragment(run_every=TICK_SECONDS if session.running else None)
    def _panel() -> None:
        current = get_session()
        # Always there, so the charts below keep their positions whether or not a tick waits.
        notice = st.empty()
        if not current.running:
            _draw(current)
            return
        # Training and drawing both hold a server slot (ui.slots.busy_turn): a class of tabs
        # takes turns at the CPU instead of starving the server's event loop.
        began = time.monotonic()
        with busy_turn(notice):
            granted = time.monotonic()
            train_tick(current, CHUNK_SECONDS)  # memory check, then a time-boxed chunk
            if current.budget_reached or current.diverged:
                current.running = False
                st.rerun()
            trained = time.monotonic()
            _draw(current)
        if TICK_LOG:
            _log_tick(current, began, granted, trained)

    def _draw(current: Session) -> None:
        with st.container(key=f"live_{key}"), guarded(what):
            render(current)

    _panel()
