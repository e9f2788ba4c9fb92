"""Live training on the page: a fragment that ticks while the server's trainer trains.

Training runs off the browser's clock, in the server's one trainer thread
(``ui.class_trainer``). A tick only says "this tab is watching" (which keeps the session in
training), and draws the latest picture; Pause (a full rerun with ``running`` False), a closed
tab, another page or a tab that stops ticking takes the session out of training. The fragment
is re-declared on every full run, ticking only while training, at a rate that slows as more
sessions train (``ClassTrainer.tick_seconds``): every tick costs the server a script run.

When the trainer thread stops a session (step budget, divergence, a step too large for the
server's memory), the next tick reruns the whole page so its buttons and messages show it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import nullcontext

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.budget import memory_problem
from ui.class_trainer import class_trainer
from ui.show import guarded
from ui.slots import run_turn
from ui.state import (
    GRID_POINTS,
    LIVE_GRID_POINTS,
    Picture,
    Session,
    get_session,
    make_picture,
    memo,
    note,
)


def page_run_only(callback: Callable[[Session], None]) -> Callable[[Session], None]:
    """``callback`` for a button outside the live panel: it acts only in a whole-page run.

    Streamlit can deliver a click twice: in the whole-page run the click asks for, and in a
    live tick's rerun the browser sends right after it (a tick only reruns the fragment, so
    the button keeps the callback of the run that drew it). The tick's copy ran the callback
    of a button that had already changed: Pause, then Train again, and training went on after
    the user paused it (seen once in CI); Step would step twice, Regenerate draw twice. A click
    always reaches a whole-page run (its own, or a tick's rerun folded into it), so ignoring
    it in ticks loses nothing.
    """

    @functools.wraps(callback)
    def in_page_run(session: Session) -> None:
        if full_run():
            callback(session)

    return in_page_run


@page_run_only
def start_training(session: Session) -> None:
    """The Train button: start live training, unless there is nothing left to do or one step
    would need more memory than the server allows (then say so)."""
    if session.live.running or session.diverged or session.budget_reached:
        return
    problem = memory_problem(session)
    if problem:
        note(session, problem)
    else:
        session.live.running = True


@page_run_only
def pause_training(session: Session) -> None:
    """The Pause button. Train and Pause are two callbacks, not one toggle, so that a click
    delivered twice cannot undo itself."""
    session.live.running = False


def live_picture(session: Session) -> Picture:
    """What the live panel draws: while training, the trainer thread's latest picture (made from
    the weights it trains, see ``ui.class_trainer``); otherwise the current model's, at full
    resolution (memoised per model version)."""
    picture = session.live.picture
    if session.live.running and picture is not None and picture.shows[0] == id(session.model):
        return picture
    n = LIVE_GRID_POINTS if session.live.running else GRID_POINTS
    with session.lock:
        return memo(session, f"picture_{n}", lambda: make_picture(session, n))


def live_fragment(render: Callable[[Session], None], *, key: str, what: str) -> None:
    """Draw ``render(session)`` in a fragment that ticks while the session trains.

    ``key`` names the container (class ``st-key-live_<key>``): the frame's CSS keeps its
    elements from fading while a tick recomputes them.
    """
    session = get_session()
    trainer = class_trainer()
    ctx = get_script_run_ctx()
    connection = ctx.session_id if ctx else None
    interval = None
    if session.live.running:
        trainer.touch(session, connection)  # training starts now, not at the first tick
        interval = trainer.tick_seconds()

    @st.fragment(run_every=interval)
    def _panel() -> None:
        # A tick is a script run of its own; a whole-page run already holds a turn.
        with nullcontext() if full_run() else run_turn():
            current = get_session()
            if interval is not None:
                if not current.live.running:
                    st.rerun()  # stopped by the trainer (budget, divergence, memory) or elsewhere
                trainer.touch(current, connection)
                wanted = trainer.tick_seconds()
                if not interval / 2 <= wanted <= interval * 2:
                    st.rerun()  # the class grew or shrank: tick at the rate that fits it now
            with st.container(key=f"live_{key}"), guarded(what):
                render(current)

    _panel()


def full_run() -> bool:
    """True in a whole-page run, False in a fragment's own rerun (a tick)."""
    ctx = get_script_run_ctx()
    return not (ctx and ctx.fragment_ids_this_run)
