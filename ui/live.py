"""Live training on the Playground: Train and Pause, the picture a page run draws, and the
polling fallback.

Training runs off the browser's clock, in the server's live trainer (``ui.live_trainer``). The
live panel normally streams (``ui.live_panel``): no script runs while training. Where the
stream cannot be used (``DEQNET_LIVE=ticks``, or a browser whose socket does not open: a proxy
that strips websocket upgrades), :func:`polling_panel` draws the panel in a fragment that
reruns every ``tick_seconds()``: each rerun says "this tab is watching" for ``WATCH_SECONDS``
(which keeps the session in training) and draws the latest picture. When the trainer stops a
session (step budget, divergence, memory), the next tick reruns the whole page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from deqnet.live import GRID_POINTS, LIVE_GRID_POINTS, Picture, make_picture
from ui.budget import memory_problem
from ui.live_trainer import live_trainer
from ui.show import guarded
from ui.slots import run_turn
from ui.state import Session, get_session, memo, note

# A polling tab alone reruns its panel 4 times a second; a class shares about
# TICKS_PER_SECOND_SERVER reruns a second (each costs the server a script run), and a session
# whose tab has not polled for WATCH_SECONDS (at least three ticks) stops training.
FASTEST_TICK = 0.25
SLOWEST_TICK = 4.0
TICKS_PER_SECOND_SERVER = 8.0
WATCH_SECONDS = 2.0


def page_run_only(callback: Callable[[Session], None]) -> Callable[[Session], None]:
    """``callback`` for a button outside the polling panel: it acts only in a whole-page run.

    Streamlit can deliver a click twice: in the whole-page run the click asks for, and in a
    polling tick's rerun the browser sends right after it (a tick only reruns the fragment, so
    the button keeps the callback of the run that drew it). The tick's copy ran the callback
    of a button that had already changed: Pause, then Train again, and training went on after
    the user paused it; Step would step twice. A click always reaches a whole-page run, so
    ignoring it in ticks loses nothing. (The streaming panel has no ticks.)
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
        live_trainer().wake()


@page_run_only
def pause_training(session: Session) -> None:
    """The Pause button. Train and Pause are two callbacks, not one toggle, so that a click
    delivered twice cannot undo itself."""
    session.live.running = False


def live_picture(session: Session) -> Picture:
    """What a page run draws: while training, the trainer's newest picture of this training;
    otherwise the current model's at full resolution (memoised per model version)."""
    picture = session.live.picture
    if (
        session.live.running
        and picture is not None
        and picture.serial == session.trainer.serial
        and picture.paths is not None
    ):
        return picture
    n = LIVE_GRID_POINTS if session.live.running else GRID_POINTS

    def draw() -> Picture:
        return make_picture(session.model, session.data, serial=0, step=session.steps_done, n=n)

    if session.live.running:  # the trainer may step the weights: draw them under the lock
        with session.lock:
            picture = memo(session, f"picture_{n}", draw, shared=False)
    else:  # still weights, shared by every session with this model (a class draws it once)
        picture = memo(session, f"picture_{n}", draw)
    return replace(picture, serial=session.trainer.serial)  # which training it shows


def tick_seconds() -> float:
    """Seconds between two polls of a tab, for the number of sessions training now."""
    training = len(live_trainer().training())
    return min(SLOWEST_TICK, max(FASTEST_TICK, training / TICKS_PER_SECOND_SERVER))


def polling_panel(render: Callable[[Session], None], *, what: str) -> None:
    """Draw ``render(session)`` in a fragment that reruns while the session trains."""
    session = get_session()
    trainer = live_trainer()
    interval = None
    if session.live.running:
        trainer.watch_for(session, WATCH_SECONDS)  # training starts now, not at the first tick
        interval = tick_seconds()

    @st.fragment(run_every=interval)
    def _panel() -> None:
        # A tick is a script run of its own; a whole-page run already holds a turn.
        with nullcontext() if full_run() else run_turn():
            current = get_session()
            if interval is not None:
                if not current.live.running:
                    st.rerun()  # stopped by the trainer (budget, divergence, memory) or elsewhere
                trainer.watch_for(current, max(WATCH_SECONDS, 3 * interval))
            with st.container(key="live_polled"), guarded(what):
                render(current)

    _panel()


def full_run() -> bool:
    """True in a whole-page run, False in a fragment's own rerun (a tick)."""
    ctx = get_script_run_ctx()
    return not (ctx and ctx.fragment_ids_this_run)
