"""Live training: a fragment that trains a time-boxed chunk, redraws, and ticks while running.

Each tick runs ``Trainer.step`` for at most ``CHUNK_SECONDS`` and then draws; the fragment is
re-declared on every full run with ``run_every`` set only while training, so Pause (a full rerun
with ``running`` False) stops the ticking at once. Timer ticks never pre-empt a tick in progress
(Streamlit queues them), and chunking by time cannot change results: a step is a step.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.guard import train_tick
from ui.show import guarded
from ui.state import Session, get_session

# A tick trains for about CHUNK_SECONDS, then draws (~0.1 s); ticks are requested every
# TICK_SECONDS, so charts refresh about 2-3 times a second and training gets most of the time.
CHUNK_SECONDS = 0.25
TICK_SECONDS = 0.3


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
        if current.running:
            # Memory check, a server-wide training slot, then a time-boxed chunk (ui.guard).
            train_tick(current, CHUNK_SECONDS)
            if current.budget_reached or current.diverged:
                current.running = False
                st.rerun()
        with st.container(key=f"live_{key}"), guarded(what):
            render(current)

    _panel()
